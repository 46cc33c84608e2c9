//! Web pages for evidence and cameras, over the same operations as the API.

use axum::extract::{Multipart, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use probity_domain::bases::{CaptureBasis, DcPurpose, ExigencyStatute};
use serde::Deserialize;

use super::api::{case_of, read_upload};
use super::{devices, intake, view};
use crate::authz::{Authorized, SignedIn};
use crate::cases::humanize;
use crate::error::ApiError;
use crate::extract::FormBody;
use crate::state::AppState;
use crate::web::{check_csrf, error_response, page};

fn fail(state: &AppState, e: ApiError) -> Response {
    error_response(state, true, e)
}

/// The form's lists: the purposes DC-01 lists, then those addenda in force have added (OVR-04).
fn choices(added: &[(String, probity_domain::PolicyAddendum)]) -> minijinja::Value {
    let mut purposes: Vec<_> = DcPurpose::ALL
        .iter()
        .map(|p| context! { id => p.as_str(), label => humanize(p.as_str()) })
        .collect();
    purposes.extend(added.iter().map(|(code, a)| {
        context! { id => code, label => format!("{} (addendum {}, OVR-04)", humanize(code), a.version) }
    }));
    context! {
        purposes => purposes,
        bases => CaptureBasis::KINDS.iter().map(|k| context! { id => *k, label => humanize(k) }).collect::<Vec<_>>(),
        statutes => ExigencyStatute::ALL.iter().map(|s| context! { id => s.as_str(), label => s.as_str().replace('_', " ").to_uppercase() }).collect::<Vec<_>>(),
    }
}

async fn render_gallery(
    state: &AppState,
    auth: &Authorized,
    headers: &HeaderMap,
    params: &view::ItemListParams,
    report: Option<intake::IntakeReport>,
) -> Response {
    let case = match case_of(auth) {
        Ok(c) => c,
        Err(e) => return fail(state, e),
    };
    let path = format!(
        "/cases/{}/evidence",
        crate::listing::encode(&case.case_number)
    );
    let list = match view::gallery(state, &auth.principal, &case, params, &path).await {
        Ok(i) => i,
        Err(e) => return fail(state, e),
    };
    let formats = view::formats(state, &case).await.unwrap_or_default();
    let intakes = view::intakes(state, &auth.principal, &case)
        .await
        .unwrap_or_default();
    let added =
        match crate::policy_packs::new_uses_in_force(state, crate::policy_packs::CAMERA_PURPOSE)
            .await
        {
            Ok(a) => a,
            Err(e) => return fail(state, e),
        };
    let can_ingest = intake::evidence_resource(&case, "new")
        .map(|r| {
            crate::decision::decide_for(
                state,
                &auth.principal,
                probity_policy::Action::EvidenceIngest,
                &r,
            )
            .allowed
        })
        .unwrap_or(false);
    page(
        state,
        headers,
        Some(&auth.principal),
        "evidence_gallery.html",
        "/cases",
        context! {
            case_number => case.case_number,
            political_activity => case.political_activity,
            list => list,
            q => params.q,
            format => params.format,
            formats => formats,
            intakes => intakes,
            can_ingest => can_ingest,
            report => report,
            choices => choices(&added),
        },
    )
}

pub async fn gallery(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    Query(params): Query<view::ItemListParams>,
) -> Response {
    render_gallery(&state, &auth, &headers, &params, None).await
}

pub async fn upload(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    multipart: Multipart,
) -> Response {
    let result = async {
        let case = case_of(&auth)?;
        let (filename, bytes, fields) = read_upload(multipart).await?;
        check_csrf(
            &headers,
            fields.get("csrf").map(String::as_str).unwrap_or(""),
        )?;
        let record = intake::capture_record_from_fields(&fields)?;
        intake::ingest_upload(&state, &auth.principal, &case, record, &filename, bytes).await
    }
    .await;
    match result {
        Ok(report) => {
            let params = view::ItemListParams::default();
            render_gallery(&state, &auth, &headers, &params, Some(report)).await
        }
        Err(e) => fail(&state, e),
    }
}

pub async fn item(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    Path((_, item)): Path<(String, String)>,
) -> Response {
    let result = async {
        let case = case_of(&auth)?;
        let id = view::parse_item(&item)?;
        view::read(&state, &auth.principal, &case, id).await
    }
    .await;
    match result {
        Ok((item, custody)) => {
            let metadata = serde_json::to_string_pretty(&item.metadata).unwrap_or_default();
            page(
                &state,
                &headers,
                Some(&auth.principal),
                "evidence_item.html",
                "/cases",
                context! { item => item, custody => custody, metadata_json => metadata },
            )
        }
        Err(e) => fail(&state, e),
    }
}

/// How many overdue cameras the page lists above the table; the rest are a link away.
const OVERDUE_SHOWN: u32 = 10;

pub async fn devices(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    headers: HeaderMap,
    Query(params): Query<devices::DeviceListParams>,
) -> Response {
    let list = match devices::list(&state, &p, &params, "/devices").await {
        Ok(l) => l,
        Err(e) => return fail(&state, e),
    };
    let overdue_params = devices::DeviceListParams {
        limit: Some(OVERDUE_SHOWN),
        overdue: Some("true".into()),
        ..Default::default()
    };
    let overdue = match devices::list(&state, &p, &overdue_params, "/devices").await {
        Ok(l) => l,
        Err(e) => return fail(&state, e),
    };
    let overdue_more = overdue.next.is_some();
    let overdue: Vec<_> = overdue
        .items
        .into_iter()
        .filter(|d| d.can_inspect)
        .collect();
    let flagged = devices::flagged(&state, &p).await.unwrap_or_default();
    page(
        &state,
        &headers,
        Some(&p),
        "evidence_devices.html",
        "/devices",
        context! {
            list => list,
            q => params.q,
            command => params.command,
            device_type => params.device_type,
            overdue_filter => params.overdue,
            overdue => overdue,
            overdue_more => overdue_more,
            flagged => flagged,
            default_interval => devices::DEFAULT_INTERVAL_DAYS,
        },
    )
}

#[derive(Deserialize)]
pub struct DeviceForm {
    #[serde(default)]
    pub csrf: String,
    pub device_type: String,
    pub make: String,
    pub model: String,
    pub serial: String,
    pub storage_location: String,
    #[serde(default)]
    pub command: Option<String>,
    #[serde(default)]
    pub inspection_interval_days: Option<u32>,
}

pub async fn create_device(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    headers: HeaderMap,
    FormBody(f): FormBody<DeviceForm>,
) -> Response {
    if let Err(e) = check_csrf(&headers, &f.csrf) {
        return fail(&state, e);
    }
    let input = devices::NewDeviceInput {
        device_type: f.device_type,
        make: f.make,
        model: f.model,
        serial: f.serial,
        storage_location: f.storage_location,
        command: f.command,
        inspection_interval_days: f.inspection_interval_days,
    };
    match devices::create(&state, &p, input).await {
        Ok(_) => Redirect::to("/devices").into_response(),
        Err(e) => fail(&state, e),
    }
}

#[derive(Deserialize)]
pub struct AssignForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub member: Option<String>,
}

pub async fn assign_device(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    headers: HeaderMap,
    Path(device): Path<String>,
    FormBody(f): FormBody<AssignForm>,
) -> Response {
    if let Err(e) = check_csrf(&headers, &f.csrf) {
        return fail(&state, e);
    }
    match devices::assign(
        &state,
        &p,
        &device,
        devices::AssignInput { member: f.member },
    )
    .await
    {
        Ok(_) => Redirect::to("/devices").into_response(),
        Err(e) => fail(&state, e),
    }
}

#[derive(Deserialize)]
pub struct InspectForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub accounted_for: Option<String>,
    #[serde(default)]
    pub notes: String,
}

pub async fn inspect_device(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    headers: HeaderMap,
    Path(device): Path<String>,
    FormBody(f): FormBody<InspectForm>,
) -> Response {
    if let Err(e) = check_csrf(&headers, &f.csrf) {
        return fail(&state, e);
    }
    let input = devices::InspectInput {
        accounted_for: f.accounted_for.is_some(),
        notes: f.notes,
    };
    match devices::inspect(&state, &p, &device, input).await {
        Ok(_) => Redirect::to("/devices").into_response(),
        Err(e) => fail(&state, e),
    }
}
