//! People and access administration: accounts, assignments, training records, contracts, API tokens
//! (SEC-02, OVR-01, EXT-06). Shared by the JSON API and the web pages.

use std::str::FromStr;

use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use probity_auth::{IssuedToken, TokenKind};
use probity_domain::{CommandCode, Course, PersonKind, Rank, Role};
use probity_store::{assignments, audit, tokens, training, users, vendors, Tx};
use serde::{Deserialize, Serialize};

use crate::authz::Authorized;
use crate::error::ApiError;
use crate::listing::{non_empty, Links, Page, Paged};
use crate::principal;
use crate::state::AppState;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserView {
    pub username: String,
    pub display_name: String,
    pub rank: Option<String>,
    pub command: Option<String>,
    pub kind: String,
    pub roles: Vec<String>,
    pub locked: bool,
    /// Deactivated accounts sign in to nothing (SEC-02).
    pub deactivated: bool,
    pub deactivation_reason: Option<String>,
    pub directory_account: bool,
    pub second_factor_enrolled: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AccessView {
    /// Roles held now, with the command and when each ends by itself.
    pub granted: Vec<String>,
    /// Roles assigned but not held now, with the reason (training expired, assignment ended, ...).
    pub refused: Vec<String>,
    pub intelligence_division: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AssignmentView {
    pub id: String,
    pub role: Option<String>,
    pub command: String,
    pub starts: String,
    pub ends: Option<String>,
    /// Why an administrator ended it early (SEC-02).
    pub end_reason: Option<String>,
    /// In force now.
    pub current: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TrainingView {
    pub id: String,
    pub course: String,
    pub completed: String,
    pub expires: Option<String>,
    /// When and why an administrator revoked it (SEC-02); a revoked record proves nothing.
    pub revoked_at: Option<String>,
    pub revocation_reason: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserDetail {
    pub user: UserView,
    pub access: AccessView,
    pub assignments: Vec<AssignmentView>,
    pub training: Vec<TrainingView>,
    /// Vendor contracts and agency agreements (EXT-06, EXT-07).
    pub contracts: Vec<ContractRecordView>,
}

/// A vendor contract or an agency agreement as recorded.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ContractRecordView {
    pub contract_ref: String,
    pub starts: String,
    /// Last day in force.
    pub ends: String,
    /// Technologies a vendor contract covers (EXT-06).
    pub technologies: Vec<String>,
    /// The agency an agreement is with, when its terms are recorded (EXT-07).
    pub agency: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewUserInput {
    pub username: String,
    pub display_name: String,
    pub rank: String,
    pub command: String,
    /// `member` (default), `vendor`, `external_agency` or `service`.
    pub kind: Option<String>,
    /// Initial password; omitted for directory accounts and service accounts.
    pub password: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct AssignmentInput {
    pub role: String,
    pub command: String,
    pub starts: NaiveDate,
    pub ends: Option<NaiveDate>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TrainingInput {
    pub course: String,
    pub completed: NaiveDate,
    pub expires: Option<NaiveDate>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ContractInput {
    pub contract_ref: String,
    pub starts: NaiveDate,
    /// Last day in force (inclusive).
    pub ends: NaiveDate,
    /// A vendor contract: the technologies in scope (facial_recognition, digital_cameras,
    /// thermographic_cameras); it covers only those (EXT-06).
    #[serde(default)]
    pub technologies: Vec<String>,
    /// An agreement with another government agency: its terms (EXT-07).
    pub agreement: Option<AgreementInput>,
}

/// The terms an agency agreement records (EXT-07); without all of them it grants nothing.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct AgreementInput {
    #[serde(default)]
    pub agency: String,
    /// The systems the agency may access, case by case.
    #[serde(default)]
    pub systems: Vec<String>,
    #[serde(default)]
    pub maintains_security_and_confidentiality: bool,
    #[serde(default)]
    pub no_onward_disclosure_without_approval: bool,
    #[serde(default)]
    pub notifies_of_subpoenas_and_legal_process: bool,
    /// Why the agency has access; civil immigration enforcement is refused (EXT-02).
    #[serde(default)]
    pub purpose: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TokenInput {
    pub label: String,
    pub expires: Option<NaiveDate>,
    /// Usable only from the configured local networks (default). An unbound token is a remote
    /// credential that presents no second factor, so the policy refuses it (SEC-01).
    #[serde(default = "bound_by_default")]
    pub bound_to_local_networks: bool,
}

fn bound_by_default() -> bool {
    true
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IssuedTokenView {
    /// Shown once; only its hash is stored.
    pub token: String,
    pub label: String,
    pub expires: Option<String>,
    pub bound_to_local_networks: bool,
}

fn day_start(d: NaiveDate) -> DateTime<Utc> {
    d.and_time(chrono::NaiveTime::MIN).and_utc()
}

pub fn assignment_view(a: &assignments::Assignment, now: DateTime<Utc>) -> AssignmentView {
    AssignmentView {
        id: a.id.to_string(),
        role: a.role.clone(),
        command: a.command.clone(),
        starts: a.starts_at.date_naive().to_string(),
        ends: a.ends_at.map(|e| e.date_naive().to_string()),
        end_reason: a.end_reason.clone(),
        current: a.starts_at <= now && a.ends_at.is_none_or(|e| e > now),
    }
}

pub fn training_view(t: &training::TrainingRecord) -> TrainingView {
    TrainingView {
        id: t.id.to_string(),
        course: t.course.clone(),
        completed: t.completed_at.date_naive().to_string(),
        expires: t.expires_at.map(|e| e.date_naive().to_string()),
        revoked_at: t.revoked_at.map(|r| r.to_rfc3339()),
        revocation_reason: t.revocation_reason.clone(),
    }
}

pub async fn user_view(
    tx: &mut Tx,
    u: &users::User,
    now: DateTime<Utc>,
) -> Result<UserView, ApiError> {
    let roles = assignments::current(tx, u.id, now)
        .await
        .map_err(crate::store_error)?
        .into_iter()
        .filter_map(|a| a.role)
        .collect();
    Ok(UserView {
        username: u.username.clone(),
        display_name: u.display_name.clone(),
        rank: u.rank.clone(),
        command: u.command.clone(),
        kind: u.kind.clone(),
        roles,
        locked: u.locked_until.is_some_and(|t| t > now),
        deactivated: u.deactivated_at.is_some(),
        deactivation_reason: u.deactivation_reason.clone(),
        directory_account: u.password_hash.is_none(),
        second_factor_enrolled: u.totp_secret.is_some(),
    })
}

pub fn access_view(access: &probity_domain::EffectiveAccess) -> AccessView {
    AccessView {
        granted: access
            .grants
            .iter()
            .map(|g| match g.until {
                Some(t) => format!("{} in {} (until {})", g.role, g.command, t.date_naive()),
                None => format!("{} in {}", g.role, g.command),
            })
            .collect(),
        refused: access
            .refusals
            .iter()
            .map(|r| format!("{} ({})", r.reason, r.rule))
            .collect(),
        intelligence_division: access.intelligence_division,
    }
}

async fn user_by_name(tx: &mut Tx, username: &str) -> Result<users::User, ApiError> {
    users::get_by_username(tx, username)
        .await
        .map_err(crate::store_error)?
        .ok_or_else(|| ApiError::not_found(format!("person {username}")))
}

/// The query string of the list of people: paging (see [`crate::listing`]), sort by
/// `username` (default), `name`, `command` or `rank`, `q` (part of the username or display
/// name), `command` and `kind`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct UserListParams {
    pub limit: Option<u32>,
    pub offset: Option<u64>,
    pub sort: Option<String>,
    pub order: Option<String>,
    pub q: Option<String>,
    pub command: Option<String>,
    pub kind: Option<String>,
}

const USER_SORTS: &[&str] = &["username", "name", "command", "rank"];

/// One page of people. The whole list is one decision (`user.list`), so the total is exact.
pub async fn list(
    state: &AppState,
    auth: &Authorized,
    params: &UserListParams,
    path: &str,
) -> Result<Paged<UserView>, ApiError> {
    let page = Page::parse(
        params.limit,
        params.offset,
        params.sort.as_deref(),
        params.order.as_deref(),
        params.q.as_deref(),
        USER_SORTS,
        false,
    )?;
    let filter = users::UserFilter {
        q: page.q.clone(),
        command: non_empty(params.command.as_deref()),
        kind: non_empty(params.kind.as_deref()),
        sort: match page.sort {
            "name" => users::UserSort::DisplayName,
            "command" => users::UserSort::Command,
            "rank" => users::UserSort::Rank,
            _ => users::UserSort::Username,
        },
        descending: page.descending,
        limit: page.limit,
        offset: page.offset,
    };
    let now = Utc::now();
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    let (rows, total) = users::list_page(&mut tx, &filter)
        .await
        .map_err(crate::store_error)?;
    let mut out = Vec::with_capacity(rows.len());
    for u in &rows {
        out.push(user_view(&mut tx, u, now).await?);
    }
    append(&mut tx, auth, "user.list", "*", None).await?;
    tx.commit().await.map_err(crate::store_error)?;
    let more = page.offset.saturating_add(out.len() as u64) < total;
    let links = Links::new(path)
        .filter("q", filter.q.as_deref())
        .filter("command", filter.command.as_deref())
        .filter("kind", filter.kind.as_deref());
    Ok(Paged::offset_page(out, &page, &links, total, true, more))
}

pub async fn detail(
    state: &AppState,
    auth: &Authorized,
    username: &str,
) -> Result<UserDetail, ApiError> {
    let now = Utc::now();
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    let u = user_by_name(&mut tx, username).await?;
    let view = user_view(&mut tx, &u, now).await?;
    let assignments = assignments::for_user(&mut tx, u.id)
        .await
        .map_err(crate::store_error)?
        .into_iter()
        .map(|a| assignment_view(&a, now))
        .collect();
    let training = training::for_user(&mut tx, u.id)
        .await
        .map_err(crate::store_error)?
        .into_iter()
        .map(|t| training_view(&t))
        .collect();
    let contracts = vendors::for_user(&mut tx, u.id)
        .await
        .map_err(crate::store_error)?
        .into_iter()
        .map(|c| ContractRecordView {
            contract_ref: c.contract_ref,
            starts: c.starts_at.date_naive().to_string(),
            ends: (c.ends_at - chrono::Duration::milliseconds(1))
                .date_naive()
                .to_string(),
            technologies: c.technologies,
            agency: c
                .agreement_terms
                .as_deref()
                .and_then(|t| serde_json::from_str::<probity_domain::AgencyAgreementTerms>(t).ok())
                .map(|t| t.agency),
        })
        .collect();
    let p = principal::load(&mut tx, u.clone(), &state.commands, now).await?;
    append(&mut tx, auth, "user.read", &u.username, None).await?;
    tx.commit().await.map_err(crate::store_error)?;
    Ok(UserDetail {
        user: view,
        access: access_view(&p.access),
        assignments,
        training,
        contracts,
    })
}

pub async fn create(
    state: &AppState,
    auth: &Authorized,
    input: NewUserInput,
) -> Result<UserView, ApiError> {
    let username = input.username.trim();
    if username.is_empty()
        || !username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    {
        return Err(ApiError::bad_field(
            "username",
            "a username is letters, digits, '.', '_' or '-'",
        ));
    }
    if input.display_name.trim().is_empty() {
        return Err(ApiError::bad_field(
            "display_name",
            "give the person's name",
        ));
    }
    let rank = Rank::from_str(input.rank.trim())
        .map_err(|e| ApiError::bad_field("rank", e.to_string()))?;
    let command = CommandCode::parse(&input.command).map_err(crate::domain_error)?;
    let kind = match input.kind.as_deref().unwrap_or("member") {
        "service" => "service".to_string(),
        k => PersonKind::from_str(k)
            .map_err(|e| ApiError::bad_field("kind", e.to_string()))?
            .as_str()
            .to_string(),
    };
    let password_hash =
        match input.password.as_deref().filter(|p| !p.is_empty()) {
            Some(_) if state.directory.is_some() => return Err(ApiError::bad_field(
                "password",
                "passwords are kept by the directory (LDAP); no local password is stored (SEC-01)",
            )),
            Some(pw) => Some(
                state
                    .passwords
                    .hash(username, pw)
                    .map_err(|e| ApiError::bad_field("password", e.to_string()))?,
            ),
            None => None,
        };
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    let u = users::create(
        &mut tx,
        &users::NewUser {
            username: username.to_string(),
            display_name: input.display_name.trim().to_string(),
            rank: Some(rank.as_str().to_string()),
            command: Some(command.as_str().to_string()),
            password_hash,
            kind,
        },
    )
    .await
    .map_err(crate::store_error)?;
    append(&mut tx, auth, "user.create", &u.username, None).await?;
    let v = user_view(&mut tx, &u, Utc::now()).await?;
    tx.commit().await.map_err(crate::store_error)?;
    Ok(v)
}

pub async fn add_assignment(
    state: &AppState,
    auth: &Authorized,
    username: &str,
    input: AssignmentInput,
) -> Result<AssignmentView, ApiError> {
    let role = Role::from_str(input.role.trim())
        .map_err(|e| ApiError::bad_field("role", e.to_string()))?;
    let command = CommandCode::parse(&input.command).map_err(crate::domain_error)?;
    if input.ends.is_some_and(|e| e <= input.starts) {
        return Err(ApiError::bad_field(
            "ends",
            "an assignment ends after it starts",
        ));
    }
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    let u = user_by_name(&mut tx, username).await?;
    let a = assignments::create(
        &mut tx,
        &assignments::NewAssignment {
            user_id: u.id,
            role: Some(role.as_str().to_string()),
            unit: None,
            command: command.as_str().to_string(),
            starts_at: day_start(input.starts),
            ends_at: input.ends.map(day_start),
        },
    )
    .await
    .map_err(crate::store_error)?;
    append(
        &mut tx,
        auth,
        "user.assign",
        &u.username,
        Some(serde_json::json!({ "role": role.as_str(), "command": command.as_str(), "starts": input.starts, "ends": input.ends })),
    )
    .await?;
    tx.commit().await.map_err(crate::store_error)?;
    Ok(assignment_view(&a, Utc::now()))
}

pub async fn add_training(
    state: &AppState,
    auth: &Authorized,
    username: &str,
    input: TrainingInput,
) -> Result<TrainingView, ApiError> {
    let course = Course::from_str(input.course.trim())
        .map_err(|e| ApiError::bad_field("course", e.to_string()))?;
    if input.expires.is_some_and(|x| x <= input.completed) {
        return Err(ApiError::bad_field(
            "expires",
            "training expires after it was completed",
        ));
    }
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    let u = user_by_name(&mut tx, username).await?;
    let t = training::create(
        &mut tx,
        &training::NewTraining {
            user_id: u.id,
            course: course.as_str().to_string(),
            completed_at: day_start(input.completed),
            expires_at: input.expires.map(day_start),
        },
    )
    .await
    .map_err(crate::store_error)?;
    append(
        &mut tx,
        auth,
        "user.training",
        &u.username,
        Some(serde_json::json!({ "course": course.as_str(), "completed": input.completed, "expires": input.expires })),
    )
    .await?;
    tx.commit().await.map_err(crate::store_error)?;
    Ok(training_view(&t))
}

pub async fn add_contract(
    state: &AppState,
    auth: &Authorized,
    username: &str,
    input: ContractInput,
) -> Result<serde_json::Value, ApiError> {
    if input.contract_ref.trim().is_empty() {
        return Err(
            ApiError::bad_field("contract_ref", "give the contract or agreement number")
                .with_rule("EXT-06"),
        );
    }
    if input.ends < input.starts {
        return Err(
            ApiError::bad_field("ends", "a contract ends on or after the day it starts")
                .with_rule("EXT-06"),
        );
    }
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    let u = user_by_name(&mut tx, username).await?;
    let (technologies, agreement_terms) = if u.kind == "external_agency" {
        let a = input.agreement.as_ref().ok_or_else(|| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "missing",
                "an agreement with another agency records its terms (EXT-07)",
            )
            .with_rule("EXT-07")
            .with_missing(vec!["agreement".into()])
        })?;
        let purpose =
            probity_domain::DisclosurePurpose::from_str(a.purpose.trim()).map_err(|_| {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "missing",
                    "an agreement states its purpose (EXT-07)",
                )
                .with_rule("EXT-07")
                .with_missing(vec!["agreement.purpose".into()])
            })?;
        let terms = probity_domain::AgencyAgreementTerms {
            agreement_reference: input.contract_ref.trim().to_string(),
            agency: a.agency.trim().to_string(),
            systems: a.systems.iter().map(|x| x.trim().to_string()).collect(),
            maintains_security_and_confidentiality: a.maintains_security_and_confidentiality,
            no_onward_disclosure_without_approval: a.no_onward_disclosure_without_approval,
            notifies_of_subpoenas_and_legal_process: a.notifies_of_subpoenas_and_legal_process,
            purpose,
        };
        terms.validate().map_err(crate::domain_error)?;
        let json = serde_json::to_string(&terms).map_err(|e| ApiError::internal(e.to_string()))?;
        (Vec::new(), Some(json))
    } else {
        let mut techs = Vec::new();
        for t in &input.technologies {
            let tech = probity_domain::Technology::from_str(t.trim()).map_err(|e| {
                ApiError::bad_field("technologies", e.to_string()).with_rule("EXT-06")
            })?;
            if !techs.contains(&tech.as_str().to_string()) {
                techs.push(tech.as_str().to_string());
            }
        }
        if techs.is_empty() {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "missing",
                "a vendor contract names the technologies it covers (EXT-06)",
            )
            .with_rule("EXT-06")
            .with_missing(vec!["technologies".into()]));
        }
        (techs, None)
    };
    vendors::create(
        &mut tx,
        &vendors::NewVendorContract {
            user_id: u.id,
            contract_ref: input.contract_ref.trim().to_string(),
            starts_at: day_start(input.starts),
            // Stored as the first instant after the last day in force.
            ends_at: day_start(input.ends + chrono::Days::new(1)),
            technologies: technologies.clone(),
            agreement_terms: agreement_terms.clone(),
        },
    )
    .await
    .map_err(crate::store_error)?;
    append(
        &mut tx,
        auth,
        "user.contract",
        &u.username,
        Some(serde_json::json!({ "contract_ref": input.contract_ref, "starts": input.starts, "ends": input.ends, "technologies": technologies, "agreement": agreement_terms })),
    )
    .await?;
    tx.commit().await.map_err(crate::store_error)?;
    Ok(serde_json::json!({
        "contract_ref": input.contract_ref, "starts": input.starts, "ends": input.ends,
        "technologies": technologies,
        "agreement": agreement_terms.and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok()),
    }))
}

pub async fn issue_token(
    state: &AppState,
    auth: &Authorized,
    username: &str,
    input: TokenInput,
) -> Result<IssuedTokenView, ApiError> {
    if input.label.trim().is_empty() {
        return Err(ApiError::bad_field("label", "say what the token is for"));
    }
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    let u = user_by_name(&mut tx, username).await?;
    if u.kind != "service" {
        return Err(ApiError::bad_field(
            "username",
            "API tokens are for service accounts; people sign in with their password",
        ));
    }
    let issued = IssuedToken::generate(TokenKind::Api);
    tokens::create_with_binding(
        &mut tx,
        &tokens::NewApiToken {
            token_hash: issued.hash().to_hex(),
            user_id: u.id,
            label: input.label.trim().to_string(),
            expires_at: input.expires.map(day_start),
        },
        input.bound_to_local_networks,
    )
    .await
    .map_err(crate::store_error)?;
    append(
        &mut tx,
        auth,
        "user.token",
        &u.username,
        Some(serde_json::json!({
            "label": input.label,
            "expires": input.expires,
            "bound_to_local_networks": input.bound_to_local_networks,
        })),
    )
    .await?;
    tx.commit().await.map_err(crate::store_error)?;
    Ok(IssuedTokenView {
        token: issued.secret().to_string(),
        label: input.label,
        expires: input.expires.map(|e| e.to_string()),
        bound_to_local_networks: input.bound_to_local_networks,
    })
}

async fn append(
    tx: &mut Tx,
    auth: &Authorized,
    action: &str,
    username: &str,
    detail: Option<serde_json::Value>,
) -> Result<(), ApiError> {
    let mut d = detail.unwrap_or_else(|| serde_json::json!({}));
    d["rule"] = serde_json::Value::String(auth.rule.clone());
    audit::append(
        tx,
        &audit::AuditEvent {
            actor: auth.principal.actor(),
            action: action.to_string(),
            record_type: "user".into(),
            record_id: username.to_string(),
            reason: None,
            outcome: audit::Outcome::Success,
            detail: d,
        },
    )
    .await
    .map(|_| ())
    .map_err(crate::store_error)
}
