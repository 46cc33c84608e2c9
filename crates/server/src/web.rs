//! Server-rendered pages: the template environment, the page frame (navigation by role, CSRF token)
//! and turning errors into pages for browsers.

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use minijinja::{context, Environment, Value};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::principal::Principal;
use crate::session::{credential, Credential};
use crate::state::AppState;

macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../templates/", $name)))),*]
    };
}

const TEMPLATES: &[(&str, &str)] = templates!(
    "base.html",
    "login.html",
    "totp.html",
    "home.html",
    "cases.html",
    "case.html",
    "admin_users.html",
    "admin_user.html",
    "error.html",
    "audit.html",
    "fr_queue.html",
    "fr_new.html",
    "fr_request.html",
    "fr_compare.html",
    "fr_report.html",
    "fr_external.html",
    "fr_oversight.html",
    "fr_gallery.html",
    "fr_gallery_quality.html",
    "fr_algorithms.html",
    "evidence_gallery.html",
    "evidence_item.html",
    "evidence_devices.html",
    "thermal_authorizations.html",
    "thermal_live.html",
    "thermal_robot.html",
    "holds.html",
    "breaches.html",
    "breach.html",
    "breach_suspect.html",
    "records.html",
    "personal_files.html",
    "disclosures.html",
    "misuse.html",
    "misuse_allegation.html",
    "inspections.html",
    "foil_queue.html",
    "foil_request.html",
    "foil_public.html",
    "account_second_factor.html",
    "operations.html",
    "focused_audit.html",
    "oversight.html",
    "policy_packs.html",
    "policy_pack.html",
    "policy_diff.html",
    "_list.html",
    "search.html",
);

pub const STYLESHEET: &str = include_str!("../static/probity.css");

/// The template environment; a template that does not parse fails at start-up, not on a request.
pub fn environment() -> Result<Environment<'static>, minijinja::Error> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Lenient);
    for (name, source) in TEMPLATES {
        env.add_template(name, source)?;
    }
    Ok(env)
}

/// "title version" of each policy pack in force, for the page footer.
pub fn pack_labels(state: &AppState) -> Vec<String> {
    state
        .engine()
        .packs()
        .iter()
        .map(|p| format!("{} {}", p.title, p.version))
        .collect()
}

/// True when the client asked for HTML (a browser) rather than JSON.
pub fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"))
}

/// The CSRF token of a session: derived from the session secret, so it needs no storage and changes
/// with every session. Forms carry it; state-changing form posts check it.
pub fn csrf_token(headers: &HeaderMap) -> String {
    match credential(headers) {
        Some(Credential::Session(s)) => {
            let digest = Sha256::digest(format!("probity-csrf\0{s}").as_bytes());
            hex::encode(&digest[..16])
        }
        _ => String::new(),
    }
}

pub fn check_csrf(headers: &HeaderMap, presented: &str) -> Result<(), ApiError> {
    let expected = csrf_token(headers);
    // Constant time: the comparison must not tell an attacker how much of a guess was right.
    let same: bool =
        subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), presented.as_bytes()).into();
    if expected.is_empty() || !same {
        return Err(ApiError::forbidden(
            "SEC-04.csrf",
            "the form is stale or did not come from this site; reload the page and try again",
        ));
    }
    Ok(())
}

/// Navigation entries the principal may use: each is shown only if the policy allows its action.
/// `counts` (the person's worklist snapshot) puts the number of items waiting beside Home and
/// beside each workflow's page.
fn navigation(
    state: &AppState,
    p: &Principal,
    current: &str,
    counts: Option<&crate::worklist::Counts>,
) -> Vec<Value> {
    const ITEMS: &[(&str, &str, &str)] = &[
        ("/", "Home", ""),
        ("/cases", "Cases", "case.list"),
        ("/admin/users", "People and access", "user.list"),
        ("/audit", "Audit trail", "audit.read"),
        ("/audit/focused", "Focused audits", "audit.focused"),
        ("/fr", "Facial recognition", "fr.queue.read"),
        (
            "/fr/external-requests",
            "Outside agencies",
            "fr.external_request.read",
        ),
        ("/fr/gallery", "Photo repository", "fr.gallery.seal"),
        ("/fr/oversight", "FR oversight", "report.oversight"),
        ("/fr/algorithms", "FR algorithms", "fr.algorithm.read"),
        ("/oversight", "Oversight report", "report.oversight"),
        ("/devices", "Cameras", "case.list"),
        ("/thermal", "Thermal", "thermal.authorize"),
        ("/holds", "Legal holds", "retention.legal_hold"),
        ("/records", "Records due", "retention.read"),
        ("/personal-files", "Personal files", "personal_file.manage"),
        ("/foil", "FOIL requests", "foil.read"),
        ("/breaches", "Breaches", "breach.read"),
        ("/breaches/suspect", "Report a breach", "breach.suspect"),
        ("/disclosures", "Disclosures", ""),
        ("/misuse", "Misuse allegations", "misuse.read"),
        ("/inspections", "Tour inspections", "inspection.read"),
        ("/operations", "Operations", "operations.read"),
        ("/policy", "Published policy", "policy.read"),
    ];
    ITEMS
        .iter()
        .filter(|(_, _, action)| action.is_empty() || crate::decision::hint(state, p, action))
        .map(|(href, label, _)| {
            let count = counts
                .map(|c| {
                    if *href == "/" {
                        c.total
                    } else {
                        c.by_link.get(*href).copied().unwrap_or(0)
                    }
                })
                .unwrap_or(0);
            context! { href => href, label => label, active => *href == current, count => count }
        })
        .collect()
}

/// Renders a page inside the frame.
pub fn page(
    state: &AppState,
    headers: &HeaderMap,
    principal: Option<&Principal>,
    template: &str,
    current: &str,
    ctx: Value,
) -> Response {
    let frame = context! {
        me => principal.map(|p| context! {
            username => p.user.username.clone(),
            display_name => p.user.display_name.clone(),
            rank => crate::cases::humanize(p.person.rank.as_str()),
            command => p.user.command.clone().unwrap_or_default(),
        }),
        nav => principal
            .map(|p| {
                let counts = crate::worklist::nav_counts(state, p);
                navigation(state, p, current, counts.as_ref())
            })
            .unwrap_or_default(),
        csrf => csrf_token(headers),
        packs => pack_labels(state),
        // EXT-05: the open breach clocks, on every page of the privacy staff.
        breach_clock => principal.and_then(|p| crate::breach::banner(state, p)),
    };
    let merged = context! { ..ctx, ..frame };
    match state
        .templates
        .get_template(template)
        .and_then(|t| t.render(merged))
    {
        Ok(html) => Html(html).into_response(),
        Err(e) => ApiError::internal(format!("template {template}: {e}")).into_response(),
    }
}

/// An error as a page for browsers, as problem+json for everyone else.
pub fn error_response(state: &AppState, html: bool, err: ApiError) -> Response {
    if !html {
        return err.into_response();
    }
    let status = err.status;
    if status == StatusCode::UNAUTHORIZED {
        return axum::response::Redirect::to("/login").into_response();
    }
    if let Some(cause) = &err.cause {
        tracing::warn!(code = err.code, %cause, "request failed");
    }
    let ctx = context! {
        title => status.canonical_reason().unwrap_or("Error"),
        detail => err.detail.clone(),
        rule => err.rule.clone(),
    };
    let body = state
        .templates
        .get_template("error.html")
        .and_then(|t| t.render(context! { packs => pack_labels(state), ..ctx }))
        .unwrap_or_else(|_| err.detail.clone());
    (status, Html(body)).into_response()
}
