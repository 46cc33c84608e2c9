//! Thermographic cameras in the server (TH-01..TH-06, RET-10, RET-11).
//!
//! - Deployment authorization (TH-05): a supervisor of the command records the facts considered
//!   (safety risks to personnel, civilians and suspects; the legitimate purpose), one basis
//!   (exigent emergency, or a place exposed to public observation), the thermal source, a start
//!   and an expiry. The domain validates ([`probity_domain::DeploymentAuthorization`]); the
//!   store keeps it with its audit entry. Refusals say why: no authorization, expired, not yet
//!   started, wrong source, not a supervisor.
//! - Live view (TH-01, TH-03): a source (an API-token service account named like the source)
//!   pushes frames over HTTPS; monitors with `thermal.live.view` get palette-rendered frames with
//!   spot, minimum and maximum temperatures. Frames live in memory only ([`live`]): the latest
//!   frame of each session sits in a watch channel and is zeroed when replaced. No frame or
//!   temperature reaches the disk, the database, the log or the metrics; only the session's
//!   start and stop and who watched are audited.
//! - Autonomous security robot (TH-04, RET-10): the one exception. Its frames are stored
//!   encrypted in the blob store and destroyed by crypto-shredding with a disposition
//!   certificate once the domain's 30-day rule allows ([`robot::run_retention`]); a frame moved
//!   into a case follows the case's schedule instead.
//! - No biometrics (TH-06): no route of this module hands thermal data to any other module, and
//!   [`refuse_for_biometrics`] is the check facial recognition uploads call.
//! - Oversight (OVR-03): deployments counted by basis.

pub mod live;
pub mod pages;
pub mod robot;

use axum::extract::{Query, State};
use axum::http::Method;
use axum::routing::{delete, get, post};
use axum::Json;
use chrono::{DateTime, Duration, Utc};
use probity_domain::{CommandCode, DeploymentAuthorization, ThermalBasis, UseOf, UserId};
use probity_policy::{Action, Context, Resource};
use probity_store::{audit, thermal as tstore, Tx};
use serde::{Deserialize, Serialize};

use crate::authz::{Authorized, SignedIn};
use crate::error::ApiError;
use crate::listing::{non_empty, Links, Page, Paged, Visible};
use crate::principal::Principal;
use crate::routes::{Access, RouteTable};
use crate::state::AppState;

/// Declares every thermal route.
pub fn routes(t: RouteTable) -> RouteTable {
    use Method as M;
    t.add(
        M::GET,
        "/api/thermal/authorizations",
        Access::rows("thermal.authorize"),
        "Thermal deployment authorizations of the caller's commands (TH-05)",
        get(list_authorizations_api),
    )
    .add(
        M::POST,
        "/api/thermal/authorizations",
        Access::in_handler("thermal.authorize"),
        "Authorize a thermal deployment: facts considered, basis, source, start, expiry (TH-05)",
        post(create_authorization_api),
    )
    .add(
        M::POST,
        "/api/thermal/live/{source}/frames",
        Access::in_handler("thermal.live.push"),
        "Push one live frame from a thermal source; memory only (TH-01, TH-03)",
        post(live::push),
    )
    .add(
        M::DELETE,
        "/api/thermal/live/{source}",
        Access::in_handler("thermal.live.push"),
        "End the live session of a thermal source (TH-03)",
        delete(live::stop),
    )
    .add(
        M::GET,
        "/api/thermal/live/{source}/view",
        Access::in_handler("thermal.live.view"),
        "The latest rendered frame with spot, minimum and maximum (waits for a newer one)",
        get(live::view),
    )
    .add(
        M::GET,
        "/thermal/live/{source}/stream",
        Access::in_handler("thermal.live.view"),
        "Live heat-signature video as an MJPEG stream (TH-02, TH-03)",
        get(live::stream),
    )
    .add(
        M::GET,
        "/api/thermal/robot/frames",
        Access::rows("thermal.robot.read"),
        "Retained autonomous security robot frames (TH-04)",
        get(robot::list_api),
    )
    .add(
        M::GET,
        "/api/thermal/robot/frames/{id}/image",
        Access::in_handler("thermal.robot.read"),
        "One robot frame rendered with a palette (TH-04)",
        get(robot::image),
    )
    .add(
        M::POST,
        "/api/cases/{case}/thermal/robot-frames",
        Access::on_case("thermal.robot.attach_to_case"),
        "Move a robot frame into the case as relevant to the investigation (TH-04)",
        post(robot::attach_api),
    )
    .add(
        M::POST,
        "/api/thermal/robot/retention",
        Access::action("retention.dispose"),
        "Run the robot data retention: crypto-shred frames past 30 days (RET-10, RET-11)",
        post(robot::retention_api),
    )
    .add(
        M::GET,
        "/api/thermal/oversight",
        Access::action("report.oversight"),
        "Thermal deployments counted by basis (OVR-03, TH-05)",
        get(oversight_api),
    )
    .add(
        M::GET,
        "/thermal",
        Access::rows("thermal.authorize"),
        "Thermal deployment authorizations page",
        get(pages::authorizations_page),
    )
    .add(
        M::POST,
        "/thermal/authorizations",
        Access::in_handler("thermal.authorize"),
        "Authorize a thermal deployment (form)",
        post(pages::authorize_submit),
    )
    .add(
        M::GET,
        "/thermal/live/{source}",
        Access::in_handler("thermal.live.view"),
        "Live view page",
        get(pages::live_page),
    )
    .add(
        M::GET,
        "/thermal/robot",
        Access::rows("thermal.robot.read"),
        "Robot data page",
        get(pages::robot_page),
    )
}

/// The kind of thermal source an authorization covers (TH-01).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// Handheld camera with a wired monitor (pushed through a relay).
    Handheld,
    /// Wireless camera with a remote monitor over an encrypted link.
    Wireless,
    /// The autonomous security robot: its frames are retained (TH-04).
    Robot,
}

impl SourceKind {
    pub const ALL: [SourceKind; 3] = [
        SourceKind::Handheld,
        SourceKind::Wireless,
        SourceKind::Robot,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Handheld => "handheld",
            SourceKind::Wireless => "wireless",
            SourceKind::Robot => "robot",
        }
    }
    pub fn parse(s: &str) -> Result<SourceKind, ApiError> {
        SourceKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s.trim())
            .ok_or_else(|| {
                ApiError::bad_field(
                    "source_kind",
                    format!("{s:?} is not a thermal source kind: give handheld, wireless or robot (TH-01)"),
                )
            })
    }
}

/// A request to authorize a deployment.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct AuthorizeInput {
    /// The thermal source: the service account that will push its frames.
    pub source: String,
    /// `handheld`, `wireless` or `robot`.
    pub source_kind: String,
    /// `exigent_emergency` or `public_observation`.
    pub basis: String,
    #[serde(default)]
    pub risks_to_personnel: String,
    #[serde(default)]
    pub risks_to_civilians: String,
    #[serde(default)]
    pub risks_to_suspects: String,
    #[serde(default)]
    pub legitimate_purpose: String,
    /// Defaults to the moment of authorization.
    pub starts_at: Option<DateTime<Utc>>,
    /// Either `expires_at` or `duration_minutes`.
    pub expires_at: Option<DateTime<Utc>>,
    pub duration_minutes: Option<u32>,
    /// Defaults to the supervisor's command.
    pub command: Option<String>,
}

/// An authorization as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuthorizationView {
    pub id: String,
    pub command: String,
    pub source: String,
    pub source_kind: String,
    pub basis: String,
    pub risks_to_personnel: String,
    pub risks_to_civilians: String,
    pub risks_to_suspects: String,
    pub legitimate_purpose: String,
    pub starts_at: String,
    pub expires_at: String,
    pub authorized_at: String,
    /// Whether the authorization covers the present moment.
    pub in_force: bool,
    pub status: &'static str,
}

fn view_of(a: &tstore::Authorization, now: DateTime<Utc>) -> AuthorizationView {
    let status = if now < a.starts_at {
        "scheduled"
    } else if now >= a.expires_at {
        "expired"
    } else {
        "in force"
    };
    AuthorizationView {
        id: a.id.to_string(),
        command: a.command.clone(),
        source: a.source.clone(),
        source_kind: a.source_kind.clone(),
        basis: a.basis.clone(),
        risks_to_personnel: a.risks_to_personnel.clone(),
        risks_to_civilians: a.risks_to_civilians.clone(),
        risks_to_suspects: a.risks_to_suspects.clone(),
        legitimate_purpose: a.legitimate_purpose.clone(),
        starts_at: a.starts_at.to_rfc3339(),
        expires_at: a.expires_at.to_rfc3339(),
        authorized_at: a.authorized_at.to_rfc3339(),
        in_force: status == "in force",
        status,
    }
}

/// The domain's view of a stored authorization.
pub fn domain_authorization(
    a: &tstore::Authorization,
) -> Result<DeploymentAuthorization, ApiError> {
    Ok(DeploymentAuthorization {
        authorized_by: UserId(a.authorized_by),
        authorized_at: a.authorized_at,
        // A new basis was checked against its addendum when authorized (OVR-04); a stored
        // authorization is read here for its times only.
        basis: UseOf::parse("basis", &a.basis)
            .map_err(|e| ApiError::internal(format!("stored authorization {}: {e}", a.id)))?,
        risks_to_personnel: a.risks_to_personnel.clone(),
        risks_to_civilians: a.risks_to_civilians.clone(),
        risks_to_suspects: a.risks_to_suspects.clone(),
        legitimate_purpose: a.legitimate_purpose.clone(),
        starts_at: a.starts_at,
        expires_at: a.expires_at,
    })
}

pub(crate) fn context(p: &Principal) -> Context {
    p.context()
}

/// The policy resource for a deployment under `a` at `now`.
pub(crate) fn deployment_resource(
    a: &tstore::Authorization,
    now: DateTime<Utc>,
) -> Result<Resource, ApiError> {
    let d = domain_authorization(a)?;
    Ok(Resource::ThermalDeployment {
        id: a.id.to_string(),
        command: CommandCode::parse(&a.command)
            .map_err(|e| ApiError::internal(format!("stored authorization {}: {e}", a.id)))?,
        authorization_in_force: d.covers(now).is_ok(),
    })
}

/// Asks the policy about `action` on the deployment under `a`; a refusal is audited.
pub(crate) async fn decide_deployment(
    state: &AppState,
    p: &Principal,
    action: Action,
    a: &tstore::Authorization,
    now: DateTime<Utc>,
) -> Result<String, ApiError> {
    let resource = deployment_resource(a, now)?;
    let principal = probity_policy::Principal::from_access(&p.person, &p.access);
    let d = crate::decision::decide_on(state, &principal, action, &resource, &context(p));
    if d.allowed {
        return Ok(d.rule);
    }
    state
        .audit_denial(
            p,
            action.as_str(),
            "thermal_deployment",
            &a.id.to_string(),
            &d.rule,
        )
        .await?;
    Err(ApiError::forbidden(
        d.rule,
        format!(
            "you may not {} on the deployment of {} ({}): {}",
            action.as_str(),
            a.source,
            a.command,
            d.reason
        ),
    ))
}

/// The authorization in force for `source` at `now`, or a refusal that says why (TH-05).
pub fn authorization_in_force(
    source: &str,
    all: &[tstore::Authorization],
    now: DateTime<Utc>,
) -> Result<tstore::Authorization, ApiError> {
    let mut latest_expiry: Option<DateTime<Utc>> = None;
    let mut next_start: Option<DateTime<Utc>> = None;
    for a in all {
        let d = domain_authorization(a)?;
        match d.covers(now) {
            Ok(()) => return Ok(a.clone()),
            Err(_) if now < a.starts_at => {
                next_start = Some(next_start.map_or(a.starts_at, |s| s.min(a.starts_at)))
            }
            Err(_) => {
                latest_expiry = Some(latest_expiry.map_or(a.expires_at, |e| e.max(a.expires_at)))
            }
        }
    }
    let detail = match (next_start, latest_expiry) {
        (None, None) => format!(
            "no deployment authorization names thermal source {source}: a supervisor must \
             authorize the deployment before it starts (TH-05)"
        ),
        (Some(s), _) => format!(
            "the deployment authorization for thermal source {source} is not yet in force: it \
             starts at {} (TH-05)",
            s.to_rfc3339()
        ),
        (None, Some(e)) => format!(
            "the deployment authorization for thermal source {source} expired at {}: a \
             supervisor must authorize the deployment again (TH-05)",
            e.to_rfc3339()
        ),
    };
    Err(ApiError::forbidden("TH-05", detail))
}

/// Loads the authorizations naming `source`.
pub async fn authorizations_for(
    state: &AppState,
    source: &str,
) -> Result<Vec<tstore::Authorization>, ApiError> {
    let mut tx = state.store.begin_read().await.map_err(crate::store_error)?;
    let all = tstore::authorizations_for_source(&mut tx, source)
        .await
        .map_err(crate::store_error)?;
    tx.commit().await.map_err(crate::store_error)?;
    Ok(all)
}

/// Records a deployment authorization (TH-05). `now` is the moment of authorization.
pub async fn authorize(
    state: &AppState,
    p: &Principal,
    input: AuthorizeInput,
    now: DateTime<Utc>,
) -> Result<AuthorizationView, ApiError> {
    let source = input.source.trim();
    if source.is_empty() {
        return Err(ApiError::bad_field(
            "source",
            "name the thermal source (its service account) the deployment uses (TH-05)",
        ));
    }
    let kind = SourceKind::parse(&input.source_kind)?;
    // A listed basis, or a new one that an addendum in force records (OVR-04).
    let basis = crate::policy_packs::resolve_use::<ThermalBasis>(
        state,
        "basis",
        crate::policy_packs::THERMAL_BASIS,
        &input.basis,
    )
    .await
    .map_err(|e| {
        if e.status.is_server_error() {
            return e;
        }
        ApiError::bad_field(
            "basis",
            format!(
                "{}; a thermal deployment rests on exigent_emergency (an emergency with exigent \
                 circumstances), public_observation (a place exposed to public observation), or \
                 a new basis an addendum to the policy records (OVR-04)",
                e.detail
            ),
        )
        .with_rule("TH-05")
    })?;
    let command = match input.command.as_deref().filter(|c| !c.trim().is_empty()) {
        Some(c) => CommandCode::parse(c.trim()).map_err(crate::domain_error)?,
        None => p.access.primary_command().cloned().ok_or_else(|| {
            ApiError::bad_field("command", "give the command deploying the camera")
        })?,
    };
    let starts_at = input.starts_at.unwrap_or(now);
    let expires_at = match (input.expires_at, input.duration_minutes) {
        (Some(e), _) => e,
        (None, Some(m)) if m > 0 => starts_at + Duration::minutes(i64::from(m)),
        _ => {
            return Err(ApiError::bad_field(
                "expires_at",
                "an authorization expires: give expires_at or duration_minutes (TH-05)",
            ))
        }
    };
    let d = DeploymentAuthorization {
        authorized_by: p.person.id,
        authorized_at: now,
        basis,
        risks_to_personnel: input.risks_to_personnel.trim().to_string(),
        risks_to_civilians: input.risks_to_civilians.trim().to_string(),
        risks_to_suspects: input.risks_to_suspects.trim().to_string(),
        legitimate_purpose: input.legitimate_purpose.trim().to_string(),
        starts_at,
        expires_at,
    };
    d.validate().map_err(crate::domain_error)?;
    // The route asked about a deployment of the caller's own command; ask about the real one.
    let resource = Resource::ThermalDeployment {
        id: String::new(),
        command: command.clone(),
        authorization_in_force: false,
    };
    let principal = probity_policy::Principal::from_access(&p.person, &p.access);
    let decision = crate::decision::decide_on(
        state,
        &principal,
        Action::ThermalAuthorize,
        &resource,
        &context(p),
    );
    if !decision.allowed {
        state
            .audit_denial(
                p,
                "thermal.authorize",
                "thermal_deployment",
                command.as_str(),
                &decision.rule,
            )
            .await?;
        return Err(ApiError::forbidden(
            decision.rule,
            format!(
                "only a supervisor of {command} may authorize its thermal deployments (TH-05): {}",
                decision.reason
            ),
        ));
    }
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    let stored = tstore::create_authorization(
        &mut tx,
        &tstore::NewAuthorization {
            command: command.as_str().to_string(),
            source: source.to_string(),
            source_kind: kind.as_str().to_string(),
            basis: d.basis.as_str().to_string(),
            risks_to_personnel: d.risks_to_personnel,
            risks_to_civilians: d.risks_to_civilians,
            risks_to_suspects: d.risks_to_suspects,
            legitimate_purpose: d.legitimate_purpose,
            starts_at,
            expires_at,
            authorized_by: p.person.id.0,
            authorized_at: now,
        },
    )
    .await
    .map_err(crate::store_error)?;
    append(
        &mut tx,
        p,
        "thermal.authorize",
        &stored.id.to_string(),
        serde_json::json!({
            "rule": decision.rule,
            "source": stored.source,
            "source_kind": stored.source_kind,
            "basis": stored.basis,
            // A new basis names the addendum that allows it (OVR-04).
            "addendum": match &d.basis {
                UseOf::New(n) => serde_json::to_value(&n.addendum).unwrap_or_default(),
                UseOf::Listed(_) => serde_json::Value::Null,
            },
            "command": stored.command,
            "starts_at": stored.starts_at.to_rfc3339(),
            "expires_at": stored.expires_at.to_rfc3339(),
        }),
    )
    .await?;
    tx.commit().await.map_err(crate::store_error)?;
    Ok(view_of(&stored, now))
}

/// The query string of the deployment list: paging (see [`crate::listing`]), sort by
/// `authorized` (default, newest first), `starts`, `expires`, `source` or `command`, `q` (part of
/// the source), `status` (`in_force`, `expired` or `scheduled`), `basis`, `source_kind` and
/// `command`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct AuthorizationListParams {
    pub limit: Option<u32>,
    pub offset: Option<u64>,
    pub sort: Option<String>,
    pub order: Option<String>,
    pub q: Option<String>,
    pub status: Option<String>,
    pub basis: Option<String>,
    pub source_kind: Option<String>,
    pub command: Option<String>,
}

/// The sort keys of the deployment list; the first is the default.
const AUTHORIZATION_SORTS: &[&str] = &["authorized", "starts", "expires", "source", "command"];

/// One page of the authorizations the caller may see, each decided on its own command
/// (`thermal.authorize`); the page is filled from those the policy allows (see
/// [`crate::listing::Visible`]), so the total is "at least". The read is audited.
pub async fn list_authorizations(
    state: &AppState,
    p: &Principal,
    now: DateTime<Utc>,
    params: &AuthorizationListParams,
    path: &str,
) -> Result<Paged<AuthorizationView>, ApiError> {
    let page = Page::parse(
        params.limit,
        params.offset,
        params.sort.as_deref(),
        params.order.as_deref(),
        params.q.as_deref(),
        AUTHORIZATION_SORTS,
        true,
    )?;
    let status = match non_empty(params.status.as_deref()).as_deref() {
        None => None,
        Some("in_force") => Some(tstore::AuthorizationStatus::InForce),
        Some("expired") => Some(tstore::AuthorizationStatus::Expired),
        Some("scheduled") => Some(tstore::AuthorizationStatus::Scheduled),
        Some(_) => {
            return Err(ApiError::bad_field(
                "status",
                "status is in_force, expired or scheduled",
            ))
        }
    };
    let mut filter = tstore::AuthorizationFilter {
        q: page.q.clone(),
        basis: non_empty(params.basis.as_deref()),
        source_kind: non_empty(params.source_kind.as_deref()),
        command: non_empty(params.command.as_deref()),
        status: status.map(|s| (s, now)),
        sort: match page.sort {
            "starts" => tstore::AuthorizationSort::Starts,
            "expires" => tstore::AuthorizationSort::Expires,
            "source" => tstore::AuthorizationSort::Source,
            "command" => tstore::AuthorizationSort::Command,
            _ => tstore::AuthorizationSort::Authorized,
        },
        descending: page.descending,
        limit: 0,
        offset: 0,
    };
    let principal = probity_policy::Principal::from_access(&p.person, &p.access);
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    let mut visible = Visible::new(&page);
    loop {
        filter.limit = visible.batch();
        filter.offset = visible.read();
        let batch = tstore::authorizations_page(&mut tx, &filter)
            .await
            .map_err(crate::store_error)?;
        let done = visible.offer(batch, |a| {
            deployment_resource(a, now).is_ok_and(|resource| {
                crate::decision::decide_on(
                    state,
                    &principal,
                    Action::ThermalAuthorize,
                    &resource,
                    &context(p),
                )
                .allowed
            })
        });
        if done {
            break;
        }
    }
    let at_least = visible.at_least();
    let more = visible.more;
    let out: Vec<AuthorizationView> = visible.items.iter().map(|a| view_of(a, now)).collect();
    append(
        &mut tx,
        p,
        "thermal.authorization.list",
        "*",
        serde_json::json!({
            "rule": "thermal.authorize decided per authorization",
            "count": out.len(),
            "offset": page.offset,
        }),
    )
    .await?;
    tx.commit().await.map_err(crate::store_error)?;
    let links = Links::new(path)
        .filter("q", filter.q.as_deref())
        .filter("status", non_empty(params.status.as_deref()))
        .filter("basis", filter.basis.as_deref())
        .filter("source_kind", filter.source_kind.as_deref())
        .filter("command", filter.command.as_deref());
    Ok(Paged::offset_page(
        out, &page, &links, at_least, false, more,
    ))
}

/// Appends an audit entry for a thermal record.
pub(crate) async fn append(
    tx: &mut Tx,
    p: &Principal,
    action: &str,
    record_id: &str,
    detail: serde_json::Value,
) -> Result<(), ApiError> {
    audit::append(
        tx,
        &audit::AuditEvent {
            actor: p.actor(),
            action: action.to_string(),
            record_type: "thermal_deployment".into(),
            record_id: record_id.to_string(),
            reason: None,
            outcome: audit::Outcome::Success,
            detail,
        },
    )
    .await
    .map(|_| ())
    .map_err(crate::store_error)
}

async fn create_authorization_api(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Json(input): Json<AuthorizeInput>,
) -> Result<(axum::http::StatusCode, Json<AuthorizationView>), ApiError> {
    let v = authorize(&state, &p, input, Utc::now()).await?;
    Ok((axum::http::StatusCode::CREATED, Json(v)))
}

async fn list_authorizations_api(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Query(params): Query<AuthorizationListParams>,
) -> Result<Json<Paged<AuthorizationView>>, ApiError> {
    Ok(Json(
        list_authorizations(
            &state,
            &p,
            Utc::now(),
            &params,
            "/api/thermal/authorizations",
        )
        .await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct OversightQuery {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// Deployments by basis for oversight reporting (OVR-03).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OversightView {
    pub exigent_emergency: u64,
    pub public_observation: u64,
    pub total: u64,
}

/// Counts deployments by basis (starts within `from..to`); the read is audited.
pub async fn oversight(
    state: &AppState,
    auth: &Authorized,
    q: &OversightQuery,
) -> Result<OversightView, ApiError> {
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    let counts = tstore::count_by_basis(&mut tx, q.from, q.to)
        .await
        .map_err(crate::store_error)?;
    let get = |b: ThermalBasis| {
        counts
            .iter()
            .find(|(k, _)| k == b.as_str())
            .map_or(0, |(_, n)| *n)
    };
    let v = OversightView {
        exigent_emergency: get(ThermalBasis::ExigentEmergency),
        public_observation: get(ThermalBasis::PublicObservation),
        total: counts.iter().map(|(_, n)| n).sum(),
    };
    append(
        &mut tx,
        &auth.principal,
        "thermal.oversight",
        "*",
        serde_json::json!({ "rule": auth.rule }),
    )
    .await?;
    tx.commit().await.map_err(crate::store_error)?;
    Ok(v)
}

async fn oversight_api(
    State(state): State<AppState>,
    auth: Authorized,
    Query(q): Query<OversightQuery>,
) -> Result<Json<OversightView>, ApiError> {
    Ok(Json(oversight(&state, &auth, &q).await?))
}

/// TH-06: refuses thermal content wherever facial recognition or any biometric measurement
/// would take an image (FR requests, probe uploads). Call it on every uploaded still.
pub fn refuse_for_biometrics(bytes: &[u8]) -> Result<(), ApiError> {
    if probity_thermal::is_radiometric_jpeg(bytes) || probity_thermal::is_thermal_content(bytes) {
        return Err(ApiError::forbidden(
            "TH-06",
            "this file is a thermal (radiometric) image; thermal frames never reach facial \
             recognition or any biometric measurement (TH-06)",
        ));
    }
    Ok(())
}
