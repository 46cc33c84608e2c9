//! Reading the audit trail (SEC-04): one page at a time, by `seq`, with filters.

use probity_store::audit;

use crate::api::AuditQueryParams;
use crate::authz::Authorized;
use crate::error::ApiError;
use crate::listing::{Links, Page, Paged};
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

fn clean(s: &Option<String>) -> Option<String> {
    crate::listing::non_empty(s.as_deref())
}

/// One page of the audit trail (SEC-04), paged by `seq` with the cursors `after_seq` and
/// `before_seq`, filtered by actor, action, record (type and id) and time range; and records that
/// it was read (the auditors are audited too). `newest_first` is the order when the request does
/// not say (the page reads newest first; the API oldest first, as it always has).
pub async fn trail(
    state: &AppState,
    auth: &Authorized,
    q: &AuditQueryParams,
    path: &str,
    newest_first: bool,
) -> Result<Paged<serde_json::Value>, ApiError> {
    let page = Page::parse(
        q.limit,
        None,
        None,
        q.order.as_deref(),
        None,
        &["seq"],
        newest_first,
    )?;
    let from = clean(&q.from)
        .map(|t| crate::focused_audit::parse_time("from", &t, false))
        .transpose()?;
    let to = clean(&q.to)
        .map(|t| crate::focused_audit::parse_time("to", &t, true))
        .transpose()?;
    if let (Some(f), Some(t)) = (from, to) {
        if t <= f {
            return Err(ApiError::bad_field(
                "to",
                "the end of the range is after its start",
            ));
        }
    }
    let record_type = clean(&q.record_type);
    let record_id = clean(&q.record_id);
    if record_id.is_some() && record_type.is_none() {
        return Err(ApiError::bad_field(
            "record_type",
            "a record is named by its type and its id: record_type is missing",
        ));
    }
    // The page is fetched from its cursor outwards: after `after_seq` upwards, before
    // `before_seq` (or from the newest) downwards; then shown in the order asked for.
    let upwards = if page.descending {
        q.after_seq.is_some() && q.before_seq.is_none()
    } else {
        q.before_seq.is_none()
    };
    let query = audit::AuditPageQuery {
        actor: clean(&q.actor),
        action: clean(&q.action),
        record_type,
        record_id,
        from,
        to,
        after_seq: q.after_seq,
        before_seq: q.before_seq,
        descending: !upwards,
        limit: page.limit + 1,
    };
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    let mut entries = audit::page(&mut tx, &query)
        .await
        .map_err(crate::store_error)?;
    let total = audit::count(&mut tx, &query)
        .await
        .map_err(crate::store_error)?;
    // One more than the page was read: it says whether the trail goes on beyond the page.
    let beyond = entries.len() > page.limit as usize;
    entries.truncate(page.limit as usize);
    // Fetched in the order shown (ascending and upwards, or descending and downwards), or the
    // other way round.
    let as_fetched = upwards != page.descending;
    if !as_fetched {
        entries.reverse();
    }
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
                "actor": query.actor, "action": query.action,
                "record_type": query.record_type, "record_id": query.record_id,
                "from": from, "to": to, "after_seq": q.after_seq, "before_seq": q.before_seq,
                "returned": entries.len(),
            }),
        },
    )
    .await
    .map_err(crate::store_error)?;
    tx.commit().await.map_err(crate::store_error)?;

    let links = Links::new(path)
        .filter("actor", query.actor.as_deref())
        .filter("action", query.action.as_deref())
        .filter("record_type", query.record_type.as_deref())
        .filter("record_id", query.record_id.as_deref())
        .filter("from", clean(&q.from))
        .filter("to", clean(&q.to));
    let first = entries.first().map(|e| e.seq);
    let last = entries.last().map(|e| e.seq);
    // Going "next" continues in the order shown; "prev" goes back. Whether rows lie beyond the
    // far end is known from the extra row; on the near end, from the cursor the page came by.
    let (toward_next_known, toward_prev_known) = if as_fetched {
        (beyond, q.after_seq.is_some() || q.before_seq.is_some())
    } else {
        (q.after_seq.is_some() || q.before_seq.is_some(), beyond)
    };
    let (next_cursor, prev_cursor) = if page.descending {
        ("before_seq", "after_seq")
    } else {
        ("after_seq", "before_seq")
    };
    let link = |cursor: &str, seq: u64| {
        links.url(&[
            ("limit", page.limit.to_string()),
            ("order", page.order().to_string()),
            (cursor, seq.to_string()),
        ])
    };
    let next = last
        .filter(|_| toward_next_known)
        .map(|s| link(next_cursor, s));
    let prev = first
        .filter(|_| toward_prev_known)
        .map(|s| link(prev_cursor, s));
    Ok(Paged {
        items: entries.iter().map(entry_json).collect(),
        total,
        total_exact: true,
        limit: page.limit,
        offset: 0,
        sort: "seq".into(),
        order: page.order().into(),
        next,
        prev,
        base: links.url(&[("limit", page.limit.to_string())]),
    })
}
