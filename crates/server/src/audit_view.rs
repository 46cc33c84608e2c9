//! Reading the audit trail: focused audits (SEC-05) and custody histories.

use probity_store::audit;

use crate::api::AuditQueryParams;
use crate::authz::Authorized;
use crate::error::ApiError;
use crate::state::AppState;

pub fn entry_json(e: &audit::AuditEntry) -> serde_json::Value {
    let detail =
        serde_json::from_str::<serde_json::Value>(&e.detail).unwrap_or(serde_json::Value::Null);
    serde_json::json!({
        "seq": e.seq,
        "at": e.at.to_rfc3339(),
        "actor": e.actor,
        "action": e.action,
        "record_type": e.record_type,
        "record_id": e.record_id,
        "reason": e.reason,
        "outcome": e.outcome,
        // The rule that decided and the pack revision it belongs to (OVR-02), when the entry
        // follows a policy decision.
        "rule": detail.get("rule").cloned().unwrap_or(serde_json::Value::Null),
        "policy": detail.get("policy").cloned().unwrap_or(serde_json::Value::Null),
        "detail": detail,
        "hash": e.hash,
    })
}

/// Runs a focused audit and records that it was run (the auditors are audited too).
pub async fn focused(
    state: &AppState,
    auth: &Authorized,
    q: &AuditQueryParams,
) -> Result<Vec<serde_json::Value>, ApiError> {
    let limit = q.limit.unwrap_or(200).min(5000);
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    let entries = audit::query(
        &mut tx,
        &audit::AuditQuery {
            actor: q.actor.clone(),
            action: q.action.clone(),
            record_type: q.record_type.clone(),
            from: q.from,
            to: q.to,
            after_seq: q.after_seq,
            limit,
        },
    )
    .await
    .map_err(crate::store_error)?;
    audit::append(
        &mut tx,
        &audit::AuditEvent {
            actor: auth.principal.actor(),
            action: "audit.read".into(),
            record_type: "audit".into(),
            record_id: "*".into(),
            reason: None,
            outcome: audit::Outcome::Success,
            detail: serde_json::json!({
                "rule": auth.rule,
                "actor": q.actor, "action": q.action, "record_type": q.record_type,
                "from": q.from, "to": q.to, "returned": entries.len(),
            }),
        },
    )
    .await
    .map_err(crate::store_error)?;
    tx.commit().await.map_err(crate::store_error)?;
    Ok(entries.iter().map(entry_json).collect())
}
