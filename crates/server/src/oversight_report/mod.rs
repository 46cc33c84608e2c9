//! The annual oversight report (OVR-03): the use of facial recognition, digital cameras and
//! thermographic cameras over a chosen period `[from, to)`, and the safeguards around them
//! (approvals, outside agencies, disclosures, breaches, FOIL, dispositions, legal holds,
//! training and access changes, the algorithm searches ran on), generated from what the
//! database records. One [`OversightReport`] is built and then shown as JSON, as CSV (one row
//! per figure and breakdown) and as PDF (title page, contents, a section per topic with its
//! tables and charts), on the page `/oversight`, and by `probity report oversight`.
//!
//! Every figure is counted over the period on one stated time column (the store's
//! [`probity_store::oversight`] documents which); aggregates only, no names and no case
//! numbers. Who may generate it is decided by the pack (`OVR-03.oversight-reports`); every
//! generation is written to the audit trail with its period and format.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Json;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use minijinja::context;
use probity_domain::bases::{DcPurpose, DisclosureBasis, ThermalBasis};
use probity_domain::oversight::{breach_status, BreachStatus};
use probity_domain::{FrAuthorizedUse, FrRequest, FrState};
use probity_store::oversight::{self as ostore, Count, Period};
use probity_store::{audit, Store};
use serde::{Deserialize, Serialize};

use crate::authz::Authorized;
use crate::breach::csv_field;
use crate::error::ApiError;
use crate::routes::{Access, RouteTable};
use crate::state::AppState;
use crate::web::{error_response, page};

mod charts;

/// The longest period one report covers.
const MAX_DAYS: i64 = 3660;

/// The rule the report answers.
pub const RULE: &str = "OVR-03";

/// Declares the oversight report routes.
pub fn routes(t: RouteTable) -> RouteTable {
    use Method as M;
    t.add(
        M::GET,
        "/api/oversight/report",
        Access::action("report.oversight"),
        "Annual oversight report (OVR-03): every figure for a period, as JSON",
        get(report_api),
    )
    .add(
        M::GET,
        "/api/oversight/report.csv",
        Access::action("report.oversight"),
        "Annual oversight report (OVR-03) as CSV: one row per figure",
        get(report_csv),
    )
    .add(
        M::GET,
        "/api/oversight/report.pdf",
        Access::action("report.oversight"),
        "Annual oversight report (OVR-03) as PDF, with contents, tables and charts",
        get(report_pdf),
    )
    .add(
        M::GET,
        "/oversight",
        Access::action("report.oversight"),
        "Oversight report page (OVR-03): a period, the figures, PDF and CSV",
        get(report_page),
    )
}

// ------------------------------------------------------------------ the report

/// The period asked for: two dates, `from` inclusive and `to` exclusive.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct OversightReportQuery {
    /// First day of the period (`YYYY-MM-DD`, inclusive).
    pub from: Option<String>,
    /// Day after the period (`YYYY-MM-DD`, exclusive): `2027-01-01` for the year 2026.
    pub to: Option<String>,
}

/// One value of a figure: its breakdown key (`suspect / possible_match`, `2026-03`, `all`) and
/// the count (or the number of seconds, for times).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OversightValue {
    pub key: String,
    pub value: i64,
}

/// One figure: a table of values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OversightFigure {
    /// Stable key (`requests_by_use_and_outcome`), the CSV's `figure` column.
    pub key: String,
    pub title: String,
    /// What the breakdown key is (`authorized use / outcome`).
    pub breakdown: String,
    /// What the values count (`requests`, `seconds`).
    pub unit: String,
    pub values: Vec<OversightValue>,
}

/// One topic of the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OversightSection {
    /// Stable key (`fr_requests`), the CSV's `section` column.
    pub key: String,
    pub title: String,
    /// The rules whose use the section counts.
    pub rules: String,
    /// How the figures are counted, and what the database does not record.
    pub notes: Vec<String>,
    pub figures: Vec<OversightFigure>,
}

/// The annual oversight report (OVR-03) for a period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OversightReport {
    /// First day, inclusive (`YYYY-MM-DD`).
    pub from: String,
    /// Day after the last, exclusive (`YYYY-MM-DD`).
    pub to: String,
    pub generated_at: String,
    pub generated_by: String,
    /// The pack rule that permitted the generation (none from the command line).
    pub rule: Option<String>,
    pub sections: Vec<OversightSection>,
}

impl OversightReport {
    /// The figure `figure` of section `section`.
    pub fn figure(&self, section: &str, figure: &str) -> Option<&OversightFigure> {
        self.sections
            .iter()
            .find(|s| s.key == section)
            .and_then(|s| s.figures.iter().find(|f| f.key == figure))
    }
}

/// Checks the period: two dates, the first before the second, at most ten years apart.
pub fn parse_period(q: &OversightReportQuery) -> Result<Period, ApiError> {
    let field = |name: &str, v: &Option<String>| -> Result<NaiveDate, ApiError> {
        let raw = v
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                ApiError::bad_field(
                    name,
                    format!("{RULE}: the report needs the period: give {name} as YYYY-MM-DD"),
                )
            })?;
        NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| {
            ApiError::bad_field(
                name,
                format!("{RULE}: {name} '{raw}' is not a date: give YYYY-MM-DD"),
            )
        })
    };
    let from = field("from", &q.from)?;
    let to = field("to", &q.to)?;
    if from >= to {
        return Err(ApiError::bad_field(
            "to",
            format!(
                "{RULE}: the period is empty or inverted: from {from} is not before to {to} \
                 (the day after the period, exclusive)"
            ),
        ));
    }
    if (to - from).num_days() > MAX_DAYS {
        return Err(ApiError::bad_field(
            "to",
            format!("{RULE}: a report covers at most ten years; narrow the period"),
        ));
    }
    let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    match (midnight(from), midnight(to)) {
        (Some(from), Some(to)) => Ok(Period { from, to }),
        _ => Err(ApiError::bad_request(format!(
            "{RULE}: the period is out of range"
        ))),
    }
}

/// What the store returned for a period, before it is put into figures.
struct Facts {
    fr: Vec<ostore::FrRequestRow>,
    fr_reports: Vec<Count>,
    fr_external: Vec<Count>,
    disclosures: Vec<Count>,
    breaches: Vec<ostore::BreachRow>,
    foil: Vec<ostore::FoilRow>,
    foil_appeals: Vec<ostore::FoilAppealRow>,
    dispositions_proposed: Vec<Count>,
    dispositions_decided: Vec<Count>,
    objects_destroyed: Vec<Count>,
    holds_placed: Vec<Count>,
    holds_released: u64,
    holds_in_force: u64,
    thermal: Vec<Count>,
    camera_intakes: Vec<Count>,
    camera_files: Vec<Count>,
    training_completed: Vec<Count>,
    training_revoked: Vec<Count>,
    access_changes: Vec<Count>,
    /// The active face algorithm version.
    active_algorithm: Option<String>,
    /// The latest evaluation record of the active version and of each version searched.
    evaluations: Vec<probity_store::algorithms::Evaluation>,
}

async fn read_facts(tx: &mut probity_store::Tx, p: &Period) -> probity_store::Result<Facts> {
    Ok(Facts {
        fr: ostore::fr_requests(tx, p).await?,
        fr_reports: ostore::fr_reports_by_kind(tx, p).await?,
        fr_external: ostore::fr_external_by_agency(tx, p).await?,
        disclosures: ostore::disclosures_by_basis(tx, p).await?,
        breaches: ostore::breaches(tx, p).await?,
        foil: ostore::foil_requests(tx, p).await?,
        foil_appeals: ostore::foil_appeals(tx, p).await?,
        dispositions_proposed: ostore::dispositions_proposed(tx, p).await?,
        dispositions_decided: ostore::dispositions_decided(tx, p).await?,
        objects_destroyed: ostore::objects_destroyed(tx, p).await?,
        holds_placed: ostore::holds_placed(tx, p).await?,
        holds_released: ostore::holds_released(tx, p).await?,
        holds_in_force: ostore::holds_in_force_at_end(tx, p).await?,
        thermal: ostore::thermal_by_basis(tx, p).await?,
        camera_intakes: ostore::camera_intakes(tx, p).await?,
        camera_files: ostore::camera_files(tx, p).await?,
        training_completed: ostore::training_completed(tx, p).await?,
        training_revoked: ostore::training_revoked(tx, p).await?,
        access_changes: ostore::access_changes(tx, p).await?,
        active_algorithm: None,
        evaluations: Vec::new(),
    })
}

/// The active version and the latest evaluation of it and of every version searched (FR-23).
async fn read_evaluations(tx: &mut probity_store::Tx, f: &mut Facts) -> probity_store::Result<()> {
    use probity_store::algorithms;
    let active = algorithms::state(tx).await?.active;
    let mut versions: Vec<String> = vec![active.clone()];
    for r in parsed_requests(f) {
        if let Some(s) = r.search {
            if !versions.contains(&s.algorithm_version) {
                versions.push(s.algorithm_version);
            }
        }
    }
    for v in versions {
        if let Some(e) = algorithms::latest_evaluation(tx, &v).await? {
            f.evaluations.push(e);
        }
    }
    f.active_algorithm = Some(active);
    Ok(())
}

/// Reads the figures of `period`, builds the report and writes its generation to the audit
/// trail (`report.oversight`, with the period, the format and the rule) in the same
/// transaction. `actor` is `user:<name>` for a request, `cli` for the command line.
pub async fn generate(
    store: &Store,
    period: Period,
    actor: &str,
    rule: Option<&str>,
    format: &str,
    now: DateTime<Utc>,
) -> Result<OversightReport, ApiError> {
    let mut tx = store.begin().await.map_err(crate::store_error)?;
    let mut facts = read_facts(&mut tx, &period)
        .await
        .map_err(crate::store_error)?;
    read_evaluations(&mut tx, &mut facts)
        .await
        .map_err(crate::store_error)?;
    let report = build(&period, &facts, actor, rule, now);
    audit::append(
        &mut tx,
        &audit::AuditEvent {
            actor: actor.to_string(),
            action: "report.oversight".into(),
            record_type: "oversight_report".into(),
            record_id: format!("{}..{}", report.from, report.to),
            reason: None,
            outcome: audit::Outcome::Success,
            detail: serde_json::json!({
                "rule": rule.unwrap_or(RULE),
                "from": report.from,
                "to": report.to,
                "format": format,
                "sections": report.sections.len(),
            }),
        },
    )
    .await
    .map_err(crate::store_error)?;
    tx.commit().await.map_err(crate::store_error)?;
    Ok(report)
}

// ------------------------------------------------------------------ figures

fn value(key: impl Into<String>, value: u64) -> OversightValue {
    OversightValue {
        key: key.into(),
        value: i64::try_from(value).unwrap_or(i64::MAX),
    }
}

fn figure(
    key: &str,
    title: &str,
    breakdown: &str,
    unit: &str,
    values: Vec<OversightValue>,
) -> OversightFigure {
    OversightFigure {
        key: key.into(),
        title: title.into(),
        breakdown: breakdown.into(),
        unit: unit.into(),
        values,
    }
}

fn total(n: u64, unit: &str, key: &str, title: &str) -> OversightFigure {
    figure(key, title, "all", unit, vec![value("all", n)])
}

/// Counts by their keys joined with " / ", with `expected` keys listed first (zeros included),
/// then any other key the database holds.
fn counted(
    counts: impl IntoIterator<Item = (String, u64)>,
    expected: &[String],
) -> Vec<OversightValue> {
    let mut by: BTreeMap<String, u64> = BTreeMap::new();
    for (k, n) in counts {
        *by.entry(k).or_default() += n;
    }
    let mut out: Vec<OversightValue> = expected
        .iter()
        .map(|k| value(k.clone(), by.remove(k).unwrap_or(0)))
        .collect();
    out.extend(by.into_iter().map(|(k, n)| value(k, n)));
    out
}

/// Counts keyed by the key columns `cols` of each stored count, joined with " / ".
fn keyed(counts: &[Count], cols: &[usize]) -> Vec<(String, u64)> {
    counts
        .iter()
        .map(|c| {
            let k: Vec<&str> = cols
                .iter()
                .map(|i| c.keys.get(*i).map_or("(none)", String::as_str))
                .collect();
            (k.join(" / "), c.n)
        })
        .collect()
}

fn sum(counts: &[Count]) -> u64 {
    counts.iter().map(|c| c.n).sum()
}

/// The outcome of an FR request as oversight counts it.
pub fn fr_outcome(state: &str) -> &'static str {
    match state {
        "approved_possible_match" => "possible_match",
        "negative" => "negative",
        _ => "open",
    }
}

/// The months `YYYY-MM` the period touches, in order.
fn months(p: &Period) -> Vec<String> {
    let mut out = Vec::new();
    let last = p.to - Duration::milliseconds(1);
    let (mut y, mut m) = (p.from.year(), p.from.month());
    while (y, m) <= (last.year(), last.month()) {
        out.push(format!("{y:04}-{m:02}"));
        (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    }
    out
}

/// Time-in-state buckets, in order.
pub const TIME_BUCKETS: [&str; 4] = [
    "under 1 hour",
    "1 to 24 hours",
    "1 to 7 days",
    "over 7 days",
];

fn bucket(seconds: i64) -> &'static str {
    match seconds {
        s if s < 3600 => TIME_BUCKETS[0],
        s if s < 86_400 => TIME_BUCKETS[1],
        s if s < 7 * 86_400 => TIME_BUCKETS[2],
        _ => TIME_BUCKETS[3],
    }
}

fn percentile(sorted: &[i64], pct: usize) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (sorted.len() * pct).div_ceil(100).max(1);
    sorted[rank.min(sorted.len()) - 1]
}

fn build(
    p: &Period,
    f: &Facts,
    actor: &str,
    rule: Option<&str>,
    now: DateTime<Utc>,
) -> OversightReport {
    let sections = vec![
        fr_section(p, f),
        workflow_section(f),
        approvals_section(f),
        external_section(f),
        disclosures_section(f),
        breaches_section(f, now),
        foil_section(f),
        dispositions_section(f),
        holds_section(f),
        thermal_section(f),
        cameras_section(f),
        training_section(f),
        algorithm_section(f),
    ];
    OversightReport {
        from: p.from.date_naive().format("%Y-%m-%d").to_string(),
        to: p.to.date_naive().format("%Y-%m-%d").to_string(),
        generated_at: now.to_rfc3339(),
        generated_by: actor.to_string(),
        rule: rule.map(str::to_string),
        sections,
    }
}

fn parsed_requests(f: &Facts) -> Vec<FrRequest> {
    f.fr.iter()
        .filter_map(|r| serde_json::from_str::<FrRequest>(&r.data).ok())
        .collect()
}

fn fr_section(p: &Period, f: &Facts) -> OversightSection {
    let uses: Vec<String> = FrAuthorizedUse::ALL
        .iter()
        .flat_map(|u| {
            ["possible_match", "negative", "open"]
                .iter()
                .map(move |o| format!("{} / {o}", u.as_str()))
        })
        .collect();
    let by_use = counted(
        f.fr.iter().map(|r| {
            (
                format!(
                    "{} / {}",
                    r.authorized_use.as_deref().unwrap_or("(none)"),
                    fr_outcome(&r.state)
                ),
                1,
            )
        }),
        &uses,
    );
    let by_month = counted(
        f.fr.iter()
            .map(|r| (r.created_at.format("%Y-%m").to_string(), 1)),
        &months(p),
    );
    let reports = counted(
        keyed(&f.fr_reports, &[0]),
        &["possible_match".to_string(), "negative".to_string()],
    );
    let external = f.fr.iter().filter(|r| r.external).count() as u64;
    OversightSection {
        key: "fr_requests".into(),
        title: "Facial recognition requests".into(),
        rules: "FR-05, FR-13, FR-14, FR-20".into(),
        notes: vec![
            "Requests for analysis created in the period, by the authorized use stated on the \
             request and where the request stands now: possible match approved, negative \
             report, or open (still in the workflow)."
                .into(),
            "Reports are counted when issued in the period, whatever the request's creation \
             date."
                .into(),
        ],
        figures: vec![
            total(
                f.fr.len() as u64,
                "requests",
                "requests",
                "Requests for analysis",
            ),
            figure(
                "requests_by_use_and_outcome",
                "Requests by authorized use and outcome",
                "authorized use / outcome",
                "requests",
                by_use,
            ),
            figure(
                "requests_by_month",
                "Requests by month",
                "month",
                "requests",
                by_month,
            ),
            figure(
                "reports_by_kind",
                "Possible-match and negative reports issued",
                "report",
                "reports",
                reports,
            ),
            total(
                external,
                "requests",
                "requests_for_outside_agencies",
                "Requests run for an outside agency's documented request",
            ),
        ],
    }
}

fn workflow_section(f: &Facts) -> OversightSection {
    let mut stays: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for req in parsed_requests(f) {
        for pair in req.history.windows(2) {
            let secs = (pair[1].at - pair[0].at).num_seconds().max(0);
            stays
                .entry(pair[0].to.as_str().to_string())
                .or_default()
                .push(secs);
        }
    }
    let order: Vec<String> = FrState::ALL
        .iter()
        .map(|s| s.as_str().to_string())
        .collect();
    let states: Vec<&String> = order
        .iter()
        .filter(|s| stays.contains_key(*s))
        .chain(stays.keys().filter(|k| !order.contains(k)))
        .collect();
    let mut n = Vec::new();
    let mut median = Vec::new();
    let mut p90 = Vec::new();
    let mut max = Vec::new();
    let mut buckets = Vec::new();
    for s in states {
        let mut v = stays.get(s).cloned().unwrap_or_default();
        v.sort_unstable();
        n.push(value(s.clone(), v.len() as u64));
        median.push(OversightValue {
            key: s.clone(),
            value: percentile(&v, 50),
        });
        p90.push(OversightValue {
            key: s.clone(),
            value: percentile(&v, 90),
        });
        max.push(OversightValue {
            key: s.clone(),
            value: v.last().copied().unwrap_or(0),
        });
        for b in TIME_BUCKETS {
            let c = v.iter().filter(|x| bucket(**x) == b).count() as u64;
            buckets.push(value(format!("{s} / {b}"), c));
        }
    }
    OversightSection {
        key: "fr_workflow".into(),
        title: "Time in each workflow state".into(),
        rules: "FR-05 to FR-14".into(),
        notes: vec![
            "Each completed stay in a state of the requests created in the period: from the \
             step that entered the state to the next step. The state a request is in now is \
             not a completed stay and is not counted."
                .into(),
        ],
        figures: vec![
            figure("stays_by_state", "Completed stays", "state", "stays", n),
            figure(
                "median_seconds_by_state",
                "Median time in state",
                "state",
                "seconds",
                median,
            ),
            figure(
                "p90_seconds_by_state",
                "90th percentile of time in state",
                "state",
                "seconds",
                p90,
            ),
            figure(
                "max_seconds_by_state",
                "Longest time in state",
                "state",
                "seconds",
                max,
            ),
            figure(
                "stays_by_state_and_duration",
                "Distribution of time in state",
                "state / duration",
                "stays",
                buckets,
            ),
        ],
    }
}

fn approvals_section(f: &Facts) -> OversightSection {
    let reqs = parsed_requests(f);
    let outside_searches = reqs
        .iter()
        .filter(|r| r.search.as_ref().is_some_and(|s| s.outside_repository))
        .count() as u64;
    let with_approvals = reqs
        .iter()
        .filter(|r| !r.outside_repository_approvals.is_empty())
        .count() as u64;
    let by_role = counted(
        reqs.iter().flat_map(|r| {
            r.outside_repository_approvals
                .iter()
                .map(|a| (a.role.as_str().to_string(), 1))
        }),
        &[],
    );
    let requested = reqs.iter().filter(|r| r.unforeseen_use.is_some()).count() as u64;
    let approved = reqs
        .iter()
        .filter(|r| r.unforeseen_use.as_ref().is_some_and(|u| u.check().is_ok()))
        .count() as u64;
    OversightSection {
        key: "fr_approvals".into(),
        title: "Outside-repository and unforeseen-use approvals".into(),
        rules: "FR-18, FR-19".into(),
        notes: vec![
            "Of the requests created in the period. An unforeseen use is approved when the \
             Chief of Department, the Chief of Detectives and the Deputy Commissioner of \
             Intelligence and Counterterrorism have each approved it with a reason."
                .into(),
        ],
        figures: vec![
            total(
                with_approvals,
                "requests",
                "outside_repository_requests_approved",
                "Requests with outside-repository approvals",
            ),
            figure(
                "outside_repository_approvals_by_official",
                "Outside-repository approvals by official",
                "official",
                "approvals",
                by_role,
            ),
            total(
                outside_searches,
                "searches",
                "outside_repository_searches",
                "Searches run outside the photo repository",
            ),
            figure(
                "unforeseen_uses",
                "Unforeseen uses",
                "stage",
                "requests",
                vec![
                    value("requested", requested),
                    value("approved_by_three_officials", approved),
                ],
            ),
        ],
    }
}

fn external_section(f: &Facts) -> OversightSection {
    OversightSection {
        key: "outside_agencies".into(),
        title: "Outside-agency requests".into(),
        rules: "FR-20, EXT-02".into(),
        notes: vec![
            "Outside agencies' requests documented in the period, by agency and stated purpose \
             (requests documented before purposes were recorded have none)."
                .into(),
        ],
        figures: vec![
            total(
                sum(&f.fr_external),
                "requests",
                "documented",
                "Requests documented",
            ),
            figure(
                "by_agency_and_purpose",
                "Requests by agency and purpose",
                "agency / purpose",
                "requests",
                counted(keyed(&f.fr_external, &[0, 1]), &[]),
            ),
        ],
    }
}

fn disclosures_section(f: &Facts) -> OversightSection {
    let bases: Vec<String> = DisclosureBasis::ALL
        .iter()
        .map(|b| b.as_str().to_string())
        .collect();
    let statuses: Vec<String> = ["proposed", "approved", "rejected", "released"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    OversightSection {
        key: "disclosures".into(),
        title: "Disclosures by basis".into(),
        rules: "EXT-01 to EXT-04".into(),
        notes: vec![
            "Disclosures proposed in the period, by the basis stated (a disclosure of no \
             identifying information needs none: '(none)') and where each stands now."
                .into(),
        ],
        figures: vec![
            figure(
                "by_basis",
                "Disclosures by basis",
                "basis",
                "disclosures",
                counted(keyed(&f.disclosures, &[0]), &bases),
            ),
            figure(
                "by_status",
                "Disclosures by status",
                "status",
                "disclosures",
                counted(keyed(&f.disclosures, &[1]), &statuses),
            ),
        ],
    }
}

fn breaches_section(f: &Facts, now: DateTime<Utc>) -> OversightSection {
    let statuses: Vec<String> = ["suspected", "recorded", "dismissed"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let timeliness: Vec<String> = [
        "reported_within_24_hours",
        "reported_late",
        "not_reported_clock_running",
        "not_reported_overdue",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let recorded: Vec<&ostore::BreachRow> = f
        .breaches
        .iter()
        .filter(|b| b.status == "recorded")
        .collect();
    let clock = recorded.iter().filter_map(|b| {
        let aware = b.discovered_at?;
        Some(match breach_status(aware, b.cpo_reported_at, now) {
            BreachStatus::ReportedInTime { .. } => ("reported_within_24_hours".to_string(), 1),
            BreachStatus::ReportedLate { .. } => ("reported_late".to_string(), 1),
            BreachStatus::Running { .. } => ("not_reported_clock_running".to_string(), 1),
            BreachStatus::Escalate { .. } => ("not_reported_overdue".to_string(), 1),
        })
    });
    OversightSection {
        key: "breaches".into(),
        title: "Breaches and their timeliness".into(),
        rules: "EXT-05".into(),
        notes: vec![
            "Breaches raised in the period. Timeliness is the 24-hour clock from discovery to \
             the report to the City Chief Privacy Officer, for the breaches recorded; a clock \
             still running is stated as of the report's generation."
                .into(),
        ],
        figures: vec![
            figure(
                "by_status",
                "Breaches by status",
                "status",
                "breaches",
                counted(f.breaches.iter().map(|b| (b.status.clone(), 1)), &statuses),
            ),
            figure(
                "recorded_by_kind",
                "Recorded breaches by kind",
                "kind",
                "breaches",
                counted(
                    recorded
                        .iter()
                        .map(|b| (b.kind.clone().unwrap_or_else(|| "(none)".into()), 1)),
                    &[],
                ),
            ),
            figure(
                "timeliness",
                "Report to the City Chief Privacy Officer",
                "timeliness",
                "breaches",
                counted(clock, &timeliness),
            ),
            figure(
                "notification_decisions",
                "Notification decisions",
                "decision",
                "breaches",
                counted(
                    recorded.iter().map(|b| {
                        (
                            b.notification_decision
                                .clone()
                                .unwrap_or_else(|| "undecided".into()),
                            1,
                        )
                    }),
                    &[],
                ),
            ),
        ],
    }
}

fn foil_section(f: &Facts) -> OversightSection {
    use probity_domain::foil::acknowledge_by;
    let mut ack = BTreeMap::new();
    let mut dec = BTreeMap::new();
    for r in &f.foil {
        let a = match (r.received_on, r.acknowledged_on) {
            (Some(rec), Some(on)) if on <= acknowledge_by(rec) => "acknowledged_in_time",
            (_, Some(_)) => "acknowledged_late",
            (_, None) => "not_acknowledged",
        };
        *ack.entry(a.to_string()).or_insert(0u64) += 1;
        let d = match (r.decision_by, r.decided_on) {
            (Some(by), Some(on)) if on <= by => "decided_by_the_date_given",
            (None, Some(_)) => "decided_by_the_date_given",
            (_, Some(_)) => "decided_late",
            (_, None) => "not_decided",
        };
        *dec.entry(d.to_string()).or_insert(0u64) += 1;
    }
    let appeals = f.foil_appeals.iter().map(|a| {
        let k = match (a.decide_by, a.decided_on) {
            (Some(by), Some(on)) if on <= by => "decided_in_time",
            (_, Some(_)) => "decided_late",
            (_, None) => "not_decided",
        };
        (k.to_string(), 1)
    });
    let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<String>>();
    OversightSection {
        key: "foil".into(),
        title: "FOIL requests and deadlines met".into(),
        rules: "PUB-01".into(),
        notes: vec![
            "Requests received in the period. Acknowledgement is due within five business days \
             of receipt (New York calendar); the decision by the date the acknowledgement gave; \
             an appeal within ten business days of its receipt."
                .into(),
        ],
        figures: vec![
            figure(
                "received_by_channel",
                "Requests received",
                "channel",
                "requests",
                counted(f.foil.iter().map(|r| (r.channel.clone(), 1)), &[]),
            ),
            figure(
                "by_outcome",
                "Requests by outcome",
                "outcome",
                "requests",
                counted(
                    f.foil
                        .iter()
                        .map(|r| (r.outcome.clone().unwrap_or_else(|| "undecided".into()), 1)),
                    &names(&["grant", "deny", "undecided"]),
                ),
            ),
            figure(
                "acknowledgement_deadline",
                "Acknowledgement within five business days",
                "deadline",
                "requests",
                counted(
                    ack,
                    &names(&[
                        "acknowledged_in_time",
                        "acknowledged_late",
                        "not_acknowledged",
                    ]),
                ),
            ),
            figure(
                "decision_deadline",
                "Decision by the date given",
                "deadline",
                "requests",
                counted(
                    dec,
                    &names(&["decided_by_the_date_given", "decided_late", "not_decided"]),
                ),
            ),
            figure(
                "appeals",
                "Appeals received and decided",
                "deadline",
                "appeals",
                counted(
                    appeals,
                    &names(&["decided_in_time", "decided_late", "not_decided"]),
                ),
            ),
        ],
    }
}

fn dispositions_section(f: &Facts) -> OversightSection {
    OversightSection {
        key: "dispositions".into(),
        title: "Dispositions by rule".into(),
        rules: "RET-01 to RET-11".into(),
        notes: vec![
            "Dispositions proposed in the period, and those decided in it (executed by \
             crypto-shredding with a signed certificate, or rejected by the records manager); \
             and every stored object destroyed in the period with its certificate, by the rule \
             that ended it."
                .into(),
        ],
        figures: vec![
            figure(
                "proposed_by_rule",
                "Dispositions proposed",
                "rule",
                "dispositions",
                counted(keyed(&f.dispositions_proposed, &[0]), &[]),
            ),
            figure(
                "decided_by_rule_and_status",
                "Dispositions decided",
                "rule / decision",
                "dispositions",
                counted(keyed(&f.dispositions_decided, &[0, 1]), &[]),
            ),
            figure(
                "objects_destroyed_by_rule",
                "Stored objects destroyed with a certificate",
                "rule",
                "objects",
                counted(keyed(&f.objects_destroyed, &[0]), &[]),
            ),
        ],
    }
}

fn holds_section(f: &Facts) -> OversightSection {
    OversightSection {
        key: "legal_holds".into(),
        title: "Legal holds".into(),
        rules: "RET-11".into(),
        notes: vec![
            "Holds placed and released in the period, and those in force at its end.".into(),
        ],
        figures: vec![
            figure(
                "placed_by_record_kind",
                "Holds placed",
                "record held",
                "holds",
                counted(keyed(&f.holds_placed, &[0]), &[]),
            ),
            total(f.holds_released, "holds", "released", "Holds released"),
            total(
                f.holds_in_force,
                "holds",
                "in_force_at_end",
                "Holds in force at the end of the period",
            ),
        ],
    }
}

fn thermal_section(f: &Facts) -> OversightSection {
    let bases: Vec<String> = ThermalBasis::ALL
        .iter()
        .map(|b| b.as_str().to_string())
        .collect();
    OversightSection {
        key: "thermal".into(),
        title: "Thermal deployments by basis".into(),
        rules: "TH-05".into(),
        notes: vec![
            "Deployments of a thermal source authorized by a supervisor, counted by the start \
             of the authorization. Live frames are never stored (TH-03): there is nothing else \
             to count of them."
                .into(),
        ],
        figures: vec![
            figure(
                "by_basis",
                "Deployments by basis",
                "basis",
                "deployments",
                counted(keyed(&f.thermal, &[0]), &bases),
            ),
            figure(
                "by_source_kind",
                "Deployments by kind of source",
                "source",
                "deployments",
                counted(keyed(&f.thermal, &[1]), &[]),
            ),
        ],
    }
}

/// The stored purpose or legal basis of a capture (JSON of the domain's `ImagePurpose` or
/// `CaptureBasis`) by its name: the `field` of the object, or the text when it is not one.
fn json_name(counts: Vec<(String, u64)>, field: &str) -> Vec<(String, u64)> {
    counts
        .into_iter()
        .map(|(k, n)| {
            let name = serde_json::from_str::<serde_json::Value>(&k)
                .ok()
                .and_then(|v| v.get(field).and_then(|f| f.as_str()).map(str::to_string))
                .unwrap_or(k);
            (name, n)
        })
        .collect()
}

fn cameras_section(f: &Facts) -> OversightSection {
    let purposes: Vec<String> = DcPurpose::ALL
        .iter()
        .map(|b| b.as_str().to_string())
        .collect();
    OversightSection {
        key: "cameras".into(),
        title: "Camera intake by purpose".into(),
        rules: "DC-01, DC-02, DC-05".into(),
        notes: vec![
            "Intakes (a memory card or an upload) started in the period, and the files taken \
             in, by the purpose and legal basis of capture recorded at intake."
                .into(),
        ],
        figures: vec![
            figure(
                "intakes_by_purpose",
                "Intakes by purpose",
                "purpose",
                "intakes",
                counted(
                    json_name(keyed(&f.camera_intakes, &[0]), "purpose"),
                    &purposes,
                ),
            ),
            figure(
                "intakes_by_legal_basis",
                "Intakes by legal basis",
                "legal basis",
                "intakes",
                counted(json_name(keyed(&f.camera_intakes, &[1]), "kind"), &[]),
            ),
            figure(
                "files_by_purpose",
                "Files taken in by purpose",
                "purpose",
                "files",
                counted(
                    json_name(keyed(&f.camera_files, &[0]), "purpose"),
                    &purposes,
                ),
            ),
        ],
    }
}

fn training_section(f: &Facts) -> OversightSection {
    OversightSection {
        key: "training_and_access".into(),
        title: "Training and access changes".into(),
        rules: "SEC-02, FR-21".into(),
        notes: vec![
            "Training completed and revoked in the period, by course; accounts, roles and \
             assignments created, and access ended, in the period."
                .into(),
        ],
        figures: vec![
            figure(
                "training_completed_by_course",
                "Training completed",
                "course",
                "records",
                counted(keyed(&f.training_completed, &[0]), &[]),
            ),
            figure(
                "training_revoked_by_course",
                "Training records revoked",
                "course",
                "records",
                counted(keyed(&f.training_revoked, &[0]), &[]),
            ),
            figure(
                "access_changes",
                "Access changes",
                "change",
                "changes",
                counted(keyed(&f.access_changes, &[0]), &[]),
            ),
        ],
    }
}

/// A fraction (0.9863) in hundredths of a percent (9863).
fn hundredths_of_percent(x: f64) -> i64 {
    (x * 10_000.0).round() as i64
}

fn algorithm_section(f: &Facts) -> OversightSection {
    let reqs = parsed_requests(f);
    let by_version = counted(
        reqs.iter()
            .filter_map(|r| r.search.as_ref())
            .map(|s| (s.algorithm_version.clone(), 1)),
        &[],
    );
    let mut notes = vec![
        "Searches of the requests created in the period, by the algorithm version each \
         search recorded (FR-08)."
            .to_string(),
    ];
    let mut overall = Vec::new();
    let mut groups = Vec::new();
    let mut roc = Vec::new();
    for e in &f.evaluations {
        let a = &e.algorithm;
        for (name, v) in [
            ("verification_accuracy", Some(e.verification_accuracy)),
            ("tar_at_far", e.tar_at_far),
            ("rank1", e.rank1),
            ("fnir_at_fpir", e.fnir_at_fpir),
            ("group_differential", e.group_differential),
        ] {
            if let Some(v) = v.filter(|v| v.is_finite()) {
                overall.push(OversightValue {
                    key: format!("{a} / {name}"),
                    value: hundredths_of_percent(v),
                });
            }
        }
        // The ROC curve kept with the evaluation: TAR (hundredths of a percent) by FAR.
        for point in e
            .figures
            .get("roc")
            .and_then(|r| r.as_array())
            .into_iter()
            .flatten()
        {
            let far = point.get(0).and_then(|v| v.as_f64());
            let tar = point.get(1).and_then(|v| v.as_f64());
            if let (Some(far), Some(tar)) = (far, tar) {
                if far.is_finite() && far > 0.0 && tar.is_finite() {
                    roc.push(OversightValue {
                        key: format!("{a} / {far:.6}"),
                        value: hundredths_of_percent(tar),
                    });
                }
            }
        }
        for g in e.group_figures.as_array().into_iter().flatten() {
            let name = g.get("group").and_then(|v| v.as_str());
            let acc = g
                .get("verification_accuracy")
                .or_else(|| g.get("accuracy"))
                .and_then(|v| v.as_f64());
            if let (Some(name), Some(acc)) = (name, acc.filter(|v| v.is_finite())) {
                groups.push(OversightValue {
                    key: format!("{a} / {name}"),
                    value: hundredths_of_percent(acc),
                });
            }
        }
        notes.push(format!(
            "{a}: latest evaluation record, measured {} on {} ({}), recorded {} by {}{}.",
            e.evaluated_at,
            e.dataset,
            e.command,
            e.recorded_at.to_rfc3339(),
            e.recorded_by,
            match (e.far, e.fpir) {
                (Some(far), Some(fpir)) => format!("; TAR at FAR {far}, FNIR at FPIR {fpir}"),
                _ => String::new(),
            }
        ));
    }
    if f.evaluations.is_empty() {
        notes.push(
            "No evaluation record is kept for the active version or the versions searched, so \
             no accuracy figures are stated here (FR-23: an evaluation is recorded before a \
             version is activated)."
                .into(),
        );
    }
    notes.push(
        "Evaluation figures are in hundredths of a percent (9863 = 98.63 %), from the latest \
         evaluation record of each version, whenever it was recorded. The ROC curve is the \
         one kept with that record (true accept rate at false accept rates from 0.0001 to 1); \
         a record given as figures only has none."
            .into(),
    );
    let active = f
        .active_algorithm
        .iter()
        .map(|a| value(a.clone(), 1))
        .collect();
    OversightSection {
        key: "algorithm".into(),
        title: "Accuracy of the face algorithm".into(),
        rules: "FR-23, FR-24, OVR-03".into(),
        notes,
        figures: vec![
            figure(
                "active_algorithm",
                "Active algorithm version",
                "algorithm version",
                "active",
                active,
            ),
            figure(
                "searches_by_algorithm_version",
                "Searches by algorithm version",
                "algorithm version",
                "searches",
                by_version,
            ),
            figure(
                "evaluation",
                "Evaluation figures, overall",
                "algorithm version / figure",
                "hundredths of a percent",
                overall,
            ),
            figure(
                "evaluation_by_group",
                "Verification accuracy by demographic group",
                "algorithm version / group",
                "hundredths of a percent",
                groups,
            ),
            figure(
                "roc",
                "ROC curve: true accept rate by false accept rate",
                "algorithm version / false accept rate",
                "hundredths of a percent",
                roc,
            ),
        ],
    }
}

// ------------------------------------------------------------------ CSV

/// A cell as CSV: a cell a spreadsheet would read as a formula (starting with `=`, `+`, `-`
/// or `@`) gets a leading quote, then RFC 4180 quoting.
pub fn csv_cell(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@']) {
        csv_field(&format!("'{s}"))
    } else {
        csv_field(s)
    }
}

/// The report as CSV: a header row, then one row per figure and breakdown key:
/// `section,figure,breakdown,value`.
pub fn csv_text(r: &OversightReport) -> String {
    let mut out = String::from("section,figure,breakdown,value\r\n");
    for s in &r.sections {
        for f in &s.figures {
            for v in &f.values {
                let row = [
                    csv_cell(&s.key),
                    csv_cell(&f.key),
                    csv_cell(&v.key),
                    csv_cell(&v.value.to_string()),
                ];
                out.push_str(&row.join(","));
                out.push_str("\r\n");
            }
        }
    }
    out
}

// ------------------------------------------------------------------ PDF

/// Seconds in words, for the tables of times.
fn duration_words(secs: i64) -> String {
    match secs {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s if s < 2 * 86_400 => format!("{:.1} h", s as f64 / 3600.0),
        s => format!("{:.1} days", s as f64 / 86_400.0),
    }
}

/// The charts of a section, drawn as SVG: (caption, SVG).
fn charts_of(s: &OversightSection) -> Result<Vec<(String, String)>, ApiError> {
    let mut out = Vec::new();
    let figure = |key: &str| s.figures.iter().find(|f| f.key == key);
    if s.key == "fr_requests" {
        if let Some(f) = figure("requests_by_month") {
            let values: Vec<(String, i64)> =
                f.values.iter().map(|v| (v.key.clone(), v.value)).collect();
            out.push((
                "Figure: facial recognition requests by month".to_string(),
                charts::bars_by_month("FR requests by month", "requests", &values)?,
            ));
        }
    }
    if s.key == "fr_workflow" {
        if let Some(f) = figure("stays_by_state_and_duration") {
            let mut rows: Vec<(String, Vec<i64>)> = Vec::new();
            for v in &f.values {
                let Some((state, bucket)) = v.key.split_once(" / ") else {
                    continue;
                };
                let Some(b) = TIME_BUCKETS.iter().position(|x| *x == bucket) else {
                    continue;
                };
                if rows.last().is_none_or(|(s, _)| s != state) {
                    rows.push((state.to_string(), vec![0; TIME_BUCKETS.len()]));
                }
                if let Some((_, counts)) = rows.last_mut() {
                    counts[b] = v.value;
                }
            }
            if !rows.is_empty() {
                out.push((
                    "Figure: distribution of the time spent in each workflow state".to_string(),
                    charts::stacked_by_state("Time in each workflow state", &TIME_BUCKETS, &rows)?,
                ));
            }
        }
    }
    if s.key == "algorithm" {
        if let Some(f) = figure("roc") {
            let mut curves: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
            for v in &f.values {
                let Some((algorithm, far)) = v.key.rsplit_once(" / ") else {
                    continue;
                };
                let Ok(far) = far.parse::<f64>() else {
                    continue;
                };
                if curves.last().is_none_or(|(a, _)| a != algorithm) {
                    curves.push((algorithm.to_string(), Vec::new()));
                }
                if let Some((_, points)) = curves.last_mut() {
                    points.push((far, v.value as f64 / 10_000.0));
                }
            }
            if !curves.is_empty() {
                out.push((
                    "Figure: ROC curve of each evaluated algorithm version".to_string(),
                    charts::roc_curves("ROC curve (verification)", &curves)?,
                ));
            }
        }
    }
    Ok(out)
}

/// The report as a PDF document: a title page, the contents with page numbers, then a section
/// per topic on its own page with its notes, charts (vector graphics) and tables.
pub fn document(r: &OversightReport) -> Result<crate::pdf::Document, ApiError> {
    let mut doc = crate::pdf::Document::new("Annual oversight report");
    doc.subtitle(&format!(
        "Use of facial recognition, digital cameras and thermographic cameras (OVR-03), \
         from {} to {} (exclusive)",
        r.from, r.to
    ))
    .field("Period", &format!("{} to {} (exclusive)", r.from, r.to))
    .field("Generated at", &r.generated_at)
    .field("Generated by", &r.generated_by)
    .field(
        "Permitted by",
        r.rule.as_deref().unwrap_or("command line (OVR-03)"),
    )
    .paragraph(
        "Every figure is counted from what the database records for the period, on the time \
         column each section states. Aggregates only: no names and no case numbers. The same \
         figures are available as CSV.",
    )
    .page_break()
    .contents();
    for s in &r.sections {
        doc.page_break().heading(&s.title);
        doc.field("Rules", &s.rules);
        for n in &s.notes {
            doc.paragraph(n);
        }
        for (caption, svg) in charts_of(s)? {
            doc.svg(&caption, &svg)?;
        }
        for f in &s.figures {
            let rows: Vec<Vec<String>> = f
                .values
                .iter()
                .map(|v| {
                    vec![
                        v.key.clone(),
                        if f.unit == "seconds" {
                            duration_words(v.value)
                        } else {
                            v.value.to_string()
                        },
                    ]
                })
                .collect();
            doc.paragraph(&f.title);
            if rows.is_empty() {
                doc.paragraph("None recorded in the period.");
            } else {
                let unit = if f.unit == "seconds" {
                    "time"
                } else {
                    f.unit.as_str()
                };
                doc.table(&[f.breakdown.as_str(), unit], &rows);
            }
        }
    }
    Ok(doc)
}

/// The report as PDF bytes.
pub fn pdf_bytes(r: &OversightReport) -> Result<Vec<u8>, ApiError> {
    Ok(document(r)?.render())
}

// ------------------------------------------------------------------ handlers

async fn run(
    state: &AppState,
    auth: &Authorized,
    q: &OversightReportQuery,
    format: &str,
) -> Result<OversightReport, ApiError> {
    let period = parse_period(q)?;
    generate(
        &state.store,
        period,
        &auth.principal.actor(),
        Some(&auth.rule),
        format,
        state.clock.now(),
    )
    .await
}

async fn report_api(
    State(state): State<AppState>,
    auth: Authorized,
    Query(q): Query<OversightReportQuery>,
) -> Result<Json<OversightReport>, ApiError> {
    Ok(Json(run(&state, &auth, &q, "json").await?))
}

fn filename(r: &OversightReport, ext: &str) -> String {
    format!("oversight-report-{}-{}.{ext}", r.from, r.to)
}

async fn report_csv(
    State(state): State<AppState>,
    auth: Authorized,
    Query(q): Query<OversightReportQuery>,
) -> Result<Response, ApiError> {
    let r = run(&state, &auth, &q, "csv").await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", filename(&r, "csv")),
            ),
        ],
        csv_text(&r),
    )
        .into_response())
}

async fn report_pdf(
    State(state): State<AppState>,
    auth: Authorized,
    Query(q): Query<OversightReportQuery>,
) -> Result<Response, ApiError> {
    let r = run(&state, &auth, &q, "pdf").await?;
    let bytes = pdf_bytes(&r)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{}\"", filename(&r, "pdf")),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// The default period of the form: this year so far (1 January to tomorrow).
fn default_period(now: DateTime<Utc>) -> (String, String) {
    let today = now.date_naive();
    let first = NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today);
    let tomorrow = today.succ_opt().unwrap_or(today);
    (
        first.format("%Y-%m-%d").to_string(),
        tomorrow.format("%Y-%m-%d").to_string(),
    )
}

async fn report_page(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    Query(q): Query<OversightReportQuery>,
) -> Response {
    let asked = q.from.as_deref().is_some_and(|s| !s.trim().is_empty())
        || q.to.as_deref().is_some_and(|s| !s.trim().is_empty());
    let (dfrom, dto) = default_period(state.clock.now());
    let form = context! {
        from => q.from.clone().filter(|s| !s.trim().is_empty()).unwrap_or(dfrom),
        to => q.to.clone().filter(|s| !s.trim().is_empty()).unwrap_or(dto),
    };
    let render = |status: StatusCode, report: Option<OversightReport>, error: Option<String>| {
        let query = report
            .as_ref()
            .map(|r| format!("from={}&to={}", r.from, r.to));
        let mut resp = page(
            &state,
            &headers,
            Some(&auth.principal),
            "oversight.html",
            "/oversight",
            context! { form => form.clone(), report => report, error => error, query => query },
        );
        if resp.status().is_success() {
            *resp.status_mut() = status;
        }
        resp
    };
    if !asked {
        return render(StatusCode::OK, None, None);
    }
    match run(&state, &auth, &q, "page").await {
        Ok(r) => render(StatusCode::OK, Some(r), None),
        Err(e) if e.status == StatusCode::BAD_REQUEST => render(e.status, None, Some(e.detail)),
        Err(e) => error_response(&state, true, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(from: &str, to: &str) -> OversightReportQuery {
        OversightReportQuery {
            from: Some(from.into()),
            to: Some(to.into()),
        }
    }

    #[test]
    fn ovr_03_period_is_two_dates_in_order() {
        let p = parse_period(&q("2026-01-01", "2027-01-01")).expect("a year");
        assert_eq!(p.from.to_rfc3339(), "2026-01-01T00:00:00+00:00");
        assert_eq!(p.to.to_rfc3339(), "2027-01-01T00:00:00+00:00");
        assert_eq!(months(&p).len(), 12);
        for bad in [
            q("2026-01-01", "2026-01-01"),
            q("2026-02-01", "2026-01-01"),
            q("2026-13-01", "2027-01-01"),
            q("2000-01-01", "2027-01-01"),
            OversightReportQuery::default(),
        ] {
            let e = parse_period(&bad).expect_err("refused");
            assert_eq!(e.status, StatusCode::BAD_REQUEST);
            assert!(e.detail.contains("OVR-03"), "{}", e.detail);
        }
    }

    #[test]
    fn ovr_03_csv_guards_spreadsheet_formulas() {
        assert_eq!(csv_cell("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(csv_cell("+1"), "'+1");
        assert_eq!(csv_cell("-2"), "'-2");
        assert_eq!(csv_cell("@x"), "'@x");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("suspect / open"), "suspect / open");
    }

    #[test]
    fn ovr_03_percentiles_and_buckets() {
        let v = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        assert_eq!(percentile(&v, 50), 5);
        assert_eq!(percentile(&v, 90), 9);
        assert_eq!(percentile(&[], 90), 0);
        assert_eq!(bucket(10), TIME_BUCKETS[0]);
        assert_eq!(bucket(7200), TIME_BUCKETS[1]);
        assert_eq!(bucket(3 * 86_400), TIME_BUCKETS[2]);
        assert_eq!(bucket(30 * 86_400), TIME_BUCKETS[3]);
    }
}
