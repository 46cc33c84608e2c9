//! # probity-server
//!
//! The HTTP boundary of Probity: the JSON API (with its OpenAPI document), the server-rendered web
//! UI, sessions, metrics and health.
//!
//! Architecture invariants:
//! - Every route is declared in [`app::router`] through [`routes::RouteTable`] with its access rule;
//!   a handler runs only after [`authz::authorize`] made a policy decision (or the route is public).
//! - Handlers never decide policy: they call the policy engine (through [`state::AppState::decide`])
//!   and the domain crate's rules.
//! - Every change of protected data is written through `probity-store` with its audit entry in the
//!   same transaction; refusals are audited too.
//! - Errors leave as `application/problem+json` naming the field or the rule at fault; causes go to
//!   the log only.

// ApiError carries the message, field, rule and missing parts of a refusal; it is built once per
// failed request, so its size does not matter and boxing it would only obscure the handlers.
#![allow(clippy::result_large_err)]
#![forbid(unsafe_code)]

pub mod access_changes;
pub mod account;
pub mod api;
pub mod app;
pub mod audit_view;
pub mod auth_flow;
pub mod authz;
pub mod breach;
pub mod cases;
pub mod config;
pub mod decision;
pub mod demo;
pub mod disclosures;
pub mod drain;
pub mod error;
pub mod evidence;
pub mod extract;
pub mod focused_audit;
pub mod foil;
pub mod fr;
pub mod holds;
pub mod inspections;
pub mod limits;
pub mod listing;
pub mod misuse;
pub mod observability;
pub mod openapi;
pub mod oversight_report;
pub mod pages;
pub mod pdf;
pub mod people;
pub mod policy_in_force;
pub mod policy_packs;
pub mod principal;
pub mod progress;
pub mod records;
pub mod routes;
pub mod scheduler;
pub mod search;
pub mod session;
pub mod state;
pub mod thermal;
pub mod web;
pub mod worklist;

use std::net::SocketAddr;
use std::path::PathBuf;

use axum::http::StatusCode;
pub use config::Config;
use error::ApiError;
use probity_store::StoreError;
pub use state::AppState;

/// Maps a store failure to the client's view of it.
pub fn store_error(e: StoreError) -> ApiError {
    match &e {
        StoreError::Unavailable(_) => ApiError::unavailable(&e),
        StoreError::NotFound { .. } => {
            ApiError::new(StatusCode::NOT_FOUND, "not-found", e.to_string())
        }
        StoreError::AlreadyExists { .. } => ApiError::conflict(e.to_string()),
        StoreError::Conflict(_) => ApiError::conflict(e.to_string()),
        StoreError::Invalid(_) => ApiError::bad_request(e.to_string()),
        StoreError::Destroyed(_) => ApiError::new(StatusCode::GONE, "destroyed", e.to_string()),
        _ => ApiError::internal(&e),
    }
}

/// Maps a domain refusal or validation failure: the rule it names travels with it.
pub fn domain_error(e: probity_domain::DomainError) -> ApiError {
    use probity_domain::DomainError as D;
    match &e {
        D::InvalidField { field, .. } => ApiError::bad_field(field.to_string(), e.to_string()),
        D::UnknownValue { .. } => ApiError::bad_request(e.to_string()),
        D::Missing { rule, missing } => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "missing", e.to_string())
                .with_rule(rule.to_string())
                .with_missing(missing.iter().map(|m| m.to_string()).collect())
        }
        D::Refused { rule, .. } => ApiError::forbidden(rule.to_string(), e.to_string()),
    }
}

/// Opens the store and builds the state from the configuration.
pub async fn build_state(config: Config) -> anyhow::Result<AppState> {
    let mut store_config =
        probity_store::StoreConfig::new(config.data_dir.clone(), config.database_url.clone());
    store_config.acquire_timeout = std::time::Duration::from_secs(5);
    store_config.object_store = config.blob_store().map_err(anyhow::Error::msg)?;
    let store = probity_store::Store::open(store_config).await?;
    let policy = policy_in_force::PolicyInForce::embedded()?;
    policy_in_force::record_release(&store, chrono::Utc::now()).await?;
    policy.reload(&store, chrono::Utc::now()).await?;
    let templates = web::environment()?;
    let networks = probity_auth::NetworkConfig::from_cidrs(&config.local_networks)?;
    let lockout = probity_auth::LockoutPolicy {
        max_failures: config.lockout_threshold,
        lock_seconds: config.lockout_minutes * 60,
    };
    let directory = match &config.ldap {
        Some(l) => Some(probity_auth::ldap::Directory::new(l.clone())?),
        None => None,
    };
    let tls = config.tls;
    let commands = config
        .commands
        .iter()
        .map(|c| {
            Ok(probity_domain::Command {
                code: probity_domain::CommandCode::parse(&c.code)?,
                name: c.name.clone(),
                intelligence_division: c.intelligence_division,
            })
        })
        .collect::<Result<Vec<_>, probity_domain::DomainError>>()?;
    Ok(AppState::new(state::Inner {
        config,
        store,
        policy,
        templates,
        passwords: probity_auth::PasswordService::default(),
        lockout,
        networks,
        directory,
        commands,
        routes: std::sync::OnceLock::new(),
        tls,
        clock: state::Clock::default(),
        access_cache: Default::default(),
        usernames: Default::default(),
    }))
}

/// Serves until the process is stopped. Prints the URL once listening.
pub async fn serve(state: AppState) -> anyhow::Result<()> {
    let addr = state.config.listen;
    if let (probity_store::Backend::Postgres, Some(url)) =
        (state.store.backend(), state.config.database_url.clone())
    {
        // Several nodes on one database: follow the face index changes the others commit.
        tokio::spawn(fr::engine::follow_changes(state.clone(), url));
    }
    let app = app::router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    if state.config.tls {
        let (cert, key) = tls_files(&state.config)?;
        let rustls = probity_auth::tls::tls_server_config(&cert, &key)?;
        let config = axum_server::tls_rustls::RustlsConfig::from_config(rustls);
        tracing::info!(%addr, "serving HTTPS");
        let handle = axum_server::Handle::new();
        let on_signal = handle.clone();
        tokio::spawn(async move {
            drain::on_signal().await;
            on_signal.graceful_shutdown(None);
        });
        axum_server::bind_rustls(addr, config)
            .handle(handle)
            .serve(app)
            .await?;
    } else {
        tracing::info!(%addr, "serving plain HTTP (TLS is expected to end in front of this server)");
        let listener = tokio::net::TcpListener::bind(addr).await?;
        axum::serve(listener, app)
            .with_graceful_shutdown(drain::on_signal())
            .await?;
    }
    // Requests in flight are answered; a scheduler job running here finishes and clears its lease.
    if !drain::jobs_finished(drain::JOB_WAIT).await {
        tracing::warn!("drained without waiting longer for the running job: its lease will expire");
    }
    tracing::warn!("drained");
    Ok(())
}

/// The configured certificate and key, or a self-signed pair generated in the data directory.
pub fn tls_files(config: &Config) -> anyhow::Result<(PathBuf, PathBuf)> {
    if let (Some(c), Some(k)) = (&config.tls_cert, &config.tls_key) {
        return Ok((c.clone(), k.clone()));
    }
    let paths = probity_auth::tls::TlsPaths::in_dir(&config.data_dir.join("tls"));
    probity_auth::tls::ensure_self_signed(&paths, &[])?;
    Ok((paths.cert, paths.key))
}
