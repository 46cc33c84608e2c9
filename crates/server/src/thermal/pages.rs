//! Thermal web pages: authorizations (supervisors), the live view, robot data. They call the same
//! operations as the JSON API.

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use minijinja::context;
use probity_domain::ThermalBasis;
use serde::Deserialize;

use crate::authz::SignedIn;
use crate::extract::FormBody;
use crate::state::AppState;
use crate::web::{check_csrf, error_response, page};
use probity_policy::Action;

use super::{AuthorizeInput, SourceKind};

pub async fn authorizations_page(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    headers: HeaderMap,
    Query(params): Query<super::AuthorizationListParams>,
) -> Response {
    // The bases TH-05 lists, then those addenda in force have added (OVR-04).
    let mut bases: Vec<String> = ThermalBasis::ALL
        .iter()
        .map(|b| b.as_str().to_string())
        .collect();
    match crate::policy_packs::new_uses_in_force(&state, crate::policy_packs::THERMAL_BASIS).await {
        Ok(added) => bases.extend(added.into_iter().map(|(code, _)| code)),
        Err(e) => return error_response(&state, true, e),
    }
    match super::list_authorizations(&state, &p, Utc::now(), &params, "/thermal").await {
        Ok(list) => {
            let live: Vec<bool> = list
                .items
                .iter()
                .map(|a| super::live::is_live(&state, &a.source))
                .collect();
            page(
                &state,
                &headers,
                Some(&p),
                "thermal_authorizations.html",
                "/thermal",
                context! {
                    // Only shapes the page: the form's post is decided on the deployment it names.
                    can_authorize => crate::decision::hint(&state, &p, "thermal.authorize"),
                    list => list,
                    live => live,
                    q => params.q,
                    status => params.status,
                    basis => params.basis,
                    source_kind => params.source_kind,
                    bases => bases,
                    kinds => SourceKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
                },
            )
        }
        Err(e) => error_response(&state, true, e),
    }
}

#[derive(Deserialize)]
pub struct AuthorizeForm {
    #[serde(default)]
    pub csrf: String,
    pub source: String,
    pub source_kind: String,
    pub basis: String,
    #[serde(default)]
    pub risks_to_personnel: String,
    #[serde(default)]
    pub risks_to_civilians: String,
    #[serde(default)]
    pub risks_to_suspects: String,
    #[serde(default)]
    pub legitimate_purpose: String,
    pub duration_minutes: Option<String>,
}

pub async fn authorize_submit(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    headers: HeaderMap,
    FormBody(form): FormBody<AuthorizeForm>,
) -> Response {
    if let Err(e) = check_csrf(&headers, &form.csrf) {
        return error_response(&state, true, e);
    }
    let duration = form
        .duration_minutes
        .as_deref()
        .and_then(|m| m.trim().parse::<u32>().ok());
    let input = AuthorizeInput {
        source: form.source,
        source_kind: form.source_kind,
        basis: form.basis,
        risks_to_personnel: form.risks_to_personnel,
        risks_to_civilians: form.risks_to_civilians,
        risks_to_suspects: form.risks_to_suspects,
        legitimate_purpose: form.legitimate_purpose,
        starts_at: None,
        expires_at: None,
        duration_minutes: duration,
        command: None,
    };
    match super::authorize(&state, &p, input, Utc::now()).await {
        Ok(_) => Redirect::to("/thermal").into_response(),
        Err(e) => error_response(&state, true, e),
    }
}

pub async fn live_page(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    headers: HeaderMap,
    Path(source): Path<String>,
) -> Response {
    // The page is decided on the deployment in force for this source, as its video is.
    if let Err(e) =
        super::live::may_view(&state, &p, &source, Action::ThermalLiveView, Utc::now()).await
    {
        return error_response(&state, true, e);
    }
    page(
        &state,
        &headers,
        Some(&p),
        "thermal_live.html",
        "/thermal",
        context! { source => source },
    )
}

pub async fn robot_page(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    headers: HeaderMap,
) -> Response {
    match super::robot::list(&state, &p).await {
        Ok(frames) => page(
            &state,
            &headers,
            Some(&p),
            "thermal_robot.html",
            "/thermal/robot",
            context! { frames => frames },
        ),
        Err(e) => error_response(&state, true, e),
    }
}
