//! Shared server state: the store, the policy engine, the configuration, the templates.

use std::sync::Arc;

use chrono::Utc;
use probity_auth::{LockoutPolicy, NetworkConfig, PasswordService};
use probity_domain::Command;
use probity_policy::PolicyEngine;
use probity_store::{audit, cases, Store};

use crate::config::Config;
use crate::error::ApiError;
use crate::principal::Principal;
use crate::routes::RouteSpec;

#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

pub struct Inner {
    pub config: Config,
    pub store: Store,
    /// The policy packs in force, from the store's revisions (OVR-02); read through
    /// [`AppState::engine`].
    pub policy: crate::policy_in_force::PolicyInForce,
    pub templates: minijinja::Environment<'static>,
    pub passwords: PasswordService,
    pub lockout: LockoutPolicy,
    pub networks: NetworkConfig,
    /// The LDAP / Active Directory server, when configured (then no local passwords, SEC-01).
    pub directory: Option<probity_auth::ldap::Directory>,
    pub commands: Vec<Command>,
    /// Filled once the route table is built (the OpenAPI document and the route test read it).
    pub routes: std::sync::OnceLock<Vec<RouteSpec>>,
    /// True when served over TLS: decides the cookie name and `Secure`.
    pub tls: bool,
    /// The time the records lifecycle reads (retention facts, holds, dispositions, closure,
    /// scheduler runs).
    pub clock: Clock,
    /// The access rows of recent callers, reused while their access version is unchanged.
    pub access_cache: crate::principal::AccessCache,
    /// Usernames by account id, as read from the database: a username never changes once the
    /// account exists, so a name read once stays true.
    pub usernames: std::sync::Mutex<std::collections::HashMap<uuid::Uuid, String>>,
}

/// The server's clock: the system time plus an offset that only code in this process can move
/// (no route, setting or flag reaches it). A simulated-clock test moves it forward to drive
/// decades of retention through the running server; in service the offset is always zero.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_ms: Arc<std::sync::atomic::AtomicI64>,
}

impl Clock {
    pub fn now(&self) -> chrono::DateTime<Utc> {
        let offset = self.offset_ms.load(std::sync::atomic::Ordering::SeqCst);
        Utc::now() + chrono::Duration::milliseconds(offset)
    }

    /// Back to the system time (a test starting a new simulated history).
    pub fn reset(&self) {
        self.offset_ms.store(0, std::sync::atomic::Ordering::SeqCst);
    }

    /// Moves the clock forward by `by` (a test's simulated day passing).
    pub fn advance(&self, by: chrono::Duration) {
        self.offset_ms
            .fetch_add(by.num_milliseconds(), std::sync::atomic::Ordering::SeqCst);
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.inner
    }
}

/// The outcome of a policy decision as the server uses it.
#[derive(Debug, Clone)]
pub struct Decision {
    pub allowed: bool,
    /// The policy id that permitted or refused, or the deny-by-default rule.
    pub rule: String,
    /// A sentence for the person refused.
    pub reason: String,
}

impl AppState {
    /// The retention schedule of the packs in force (RET-01..RET-10).
    pub fn schedule(&self) -> Result<&'static probity_domain::RetentionSchedule, ApiError> {
        self.engine().retention_schedule().ok_or_else(|| {
            ApiError::internal("the policy packs in force make no whole retention schedule")
        })
    }

    /// The policy engine in force now (the revision approved last that has taken effect).
    pub fn engine(&self) -> &'static PolicyEngine {
        self.policy_now().engine
    }

    /// The engine in force with the revision of each pack: the request's own while one is
    /// being served ([`crate::policy_in_force::request_scope`]), otherwise the one in force now.
    pub fn policy_now(&self) -> crate::policy_in_force::Engine {
        crate::policy_in_force::request_engine().unwrap_or_else(|| self.policy.at(self.clock.now()))
    }

    pub fn new(inner: Inner) -> Self {
        AppState {
            inner: Arc::new(inner),
        }
    }

    pub fn routes(&self) -> &[RouteSpec] {
        self.inner.routes.get().map(Vec::as_slice).unwrap_or(&[])
    }

    /// The username of account `id` (`None` when there is no such account).
    pub async fn username(&self, id: uuid::Uuid) -> Result<Option<String>, ApiError> {
        let cached =
            |names: &std::collections::HashMap<uuid::Uuid, String>| names.get(&id).cloned();
        if let Some(name) = cached(&self.usernames.lock().unwrap_or_else(|p| p.into_inner())) {
            return Ok(Some(name));
        }
        let mut tx = self.store.begin_read().await.map_err(crate::store_error)?;
        let user = probity_store::users::get(&mut tx, id)
            .await
            .map_err(crate::store_error)?;
        tx.commit().await.map_err(crate::store_error)?;
        let Some(user) = user else {
            return Ok(None);
        };
        let mut names = self.usernames.lock().unwrap_or_else(|p| p.into_inner());
        // Bounded: a department's accounts fit many times over.
        if names.len() >= 100_000 {
            names.clear();
        }
        names.insert(id, user.username.clone());
        Ok(Some(user.username))
    }

    pub async fn load_case(&self, number: &str) -> Result<Option<cases::Case>, ApiError> {
        let mut tx = self.store.begin_read().await.map_err(crate::store_error)?;
        let case = cases::get_by_number(&mut tx, number)
            .await
            .map_err(crate::store_error)?;
        tx.commit().await.map_err(crate::store_error)?;
        Ok(case)
    }

    /// Records a refused attempt in the audit trail (SEC-04: every access, allowed or not).
    pub async fn audit_denial(
        &self,
        principal: &Principal,
        action: &str,
        record_type: &str,
        record_id: &str,
        rule: &str,
    ) -> Result<(), ApiError> {
        audit::record(
            &self.store,
            &audit::AuditEvent {
                actor: principal.actor(),
                action: action.to_string(),
                record_type: record_type.to_string(),
                record_id: record_id.to_string(),
                reason: None,
                outcome: audit::Outcome::Denied,
                detail: serde_json::json!({ "rule": rule, "at": Utc::now().to_rfc3339() }),
            },
        )
        .await
        .map_err(crate::store_error)?;
        Ok(())
    }
}
