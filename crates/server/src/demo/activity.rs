//! Demonstration work in progress: facial recognition requests in every state of the workflow,
//! camera evidence with its card certificate, thermal deployment authorizations (one in force,
//! one expired), robot frames of different ages and FOIL requests for the records officer. Every
//! step goes through the same operations the HTTP handlers call (the policy decides, the domain
//! checks, the store writes with the audit entry), performed as the demonstration person who
//! would do it.
//!
//! Idempotent: each item is remembered by a `demo.seed` audit entry on `("demo_seed", key)`; a
//! re-run skips what is done and takes an FR request that stopped half-way on to its state.

use std::path::{Path, PathBuf};
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, Utc};
use probity_domain::fr_request::FrState;
use probity_store::{assignments, audit, cases, training, users};
use uuid::Uuid;

use crate::error::ApiError;
use crate::fr::workflow as wf;
use crate::principal::Principal;
use crate::state::AppState;

/// The FR case the demonstration requests are made on (det.rivera's).
pub const FR_CASE: &str = "2026-019-000101";
/// The case the demonstration camera card goes into (det.rivera's).
pub const EVIDENCE_CASE: &str = "2026-019-000102";
/// The thermal source that replays a sample file as a live view (service account).
pub const LIVE_SOURCE: &str = "thermal.demo";
/// The autonomous security robot whose frames are kept (TH-04).
pub const ROBOT_SOURCE: &str = "robot.demo";

/// Where the demonstration should look for its real sample files.
pub fn test_data() -> PathBuf {
    std::env::var_os("PROBITY_TEST_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("../shared/data"))
}

/// What the seeding did.
#[derive(Debug, Default)]
pub struct ActivityReport {
    /// Items written in this run.
    pub seeded: Vec<String>,
    /// Items already there from an earlier run.
    pub present: Vec<String>,
    /// Items that could not be seeded, with the reason.
    pub skipped: Vec<String>,
    pub elapsed: StdDuration,
}

/// One demonstration FR request: the state it is taken to, and the LFW identity of its probe.
struct FrItem {
    key: &'static str,
    /// The state in words, for the demo's report.
    label: &'static str,
    target: FrState,
    identity: usize,
    authorized_use: &'static str,
    needs_repository: bool,
}

const FR_ITEMS: &[FrItem] = &[
    FrItem {
        key: "fr:submitted",
        label: "submitted",
        target: FrState::Submitted,
        identity: 0,
        authorized_use: "suspect",
        needs_repository: false,
    },
    FrItem {
        key: "fr:returned_unsuitable",
        label: "returned as unsuitable",
        target: FrState::ReturnedUnsuitable,
        identity: 1,
        authorized_use: "suspect",
        needs_repository: false,
    },
    FrItem {
        key: "fr:searched",
        label: "searched, with its candidate pool",
        target: FrState::Searched,
        identity: 2,
        authorized_use: "suspect",
        needs_repository: true,
    },
    FrItem {
        key: "fr:identification",
        label: "identified, awaiting the background check",
        target: FrState::Identification,
        identity: 6,
        authorized_use: "suspect",
        needs_repository: true,
    },
    FrItem {
        key: "fr:peer_review",
        label: "in peer review",
        target: FrState::PeerReview,
        identity: 7,
        authorized_use: "suspect",
        needs_repository: true,
    },
    FrItem {
        key: "fr:approved_possible_match",
        label: "possible match report",
        target: FrState::ApprovedPossibleMatch,
        identity: 8,
        authorized_use: "suspect",
        needs_repository: true,
    },
    FrItem {
        key: "fr:negative",
        label: "negative report",
        target: FrState::Negative,
        identity: 9,
        authorized_use: "suspect",
        needs_repository: true,
    },
];

/// Seeds the demonstration work in progress (after [`super::seed`]). Safe to run again.
pub async fn seed_activity(state: &AppState) -> anyhow::Result<ActivityReport> {
    let started = Instant::now();
    let mut report = ActivityReport::default();
    let data = test_data();
    seed_fr(state, &data, &mut report).await?;
    seed_evidence(state, &data, &mut report).await?;
    seed_thermal(state, &data, &mut report).await?;
    seed_foil(state, &mut report).await?;
    report.elapsed = started.elapsed();
    Ok(report)
}

// ------------------------------------------------------------------------------------------------
// Markers and people

/// The record a demonstration item was seeded as, if it was.
async fn marker(state: &AppState, key: &str) -> anyhow::Result<Option<String>> {
    let mut tx = state.store.begin_read().await?;
    let entries = audit::for_record(&mut tx, "demo_seed", key).await?;
    tx.commit().await?;
    Ok(entries
        .iter()
        .rev()
        .find(|e| e.action == "demo.seed")
        .map(|e| {
            serde_json::from_str::<serde_json::Value>(&e.detail)
                .ok()
                .and_then(|d| d["record"].as_str().map(str::to_string))
                .unwrap_or_default()
        }))
}

async fn mark(state: &AppState, key: &str, record: &str) -> anyhow::Result<()> {
    let mut tx = state.store.begin().await?;
    audit::append(
        &mut tx,
        &audit::AuditEvent {
            actor: "system:demo".into(),
            action: "demo.seed".into(),
            record_type: "demo_seed".into(),
            record_id: key.into(),
            reason: Some("demonstration data".into()),
            outcome: audit::Outcome::Success,
            detail: serde_json::json!({ "demo": true, "record": record }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A demonstration person with the access the server computes for them now.
pub async fn principal(state: &AppState, username: &str) -> anyhow::Result<Principal> {
    let mut tx = state.store.begin_read().await?;
    let user = users::get_by_username(&mut tx, username)
        .await?
        .ok_or_else(|| anyhow::anyhow!("demo account {username} is missing"))?;
    let p = crate::principal::load(&mut tx, user, &state.commands, Utc::now())
        .await
        .map_err(api)?;
    tx.commit().await?;
    Ok(p)
}

fn api(e: ApiError) -> anyhow::Error {
    match &e.rule {
        Some(rule) => anyhow::anyhow!("{} [{rule}]", e.detail),
        None => anyhow::anyhow!("{}", e.detail),
    }
}

async fn case(state: &AppState, number: &str) -> anyhow::Result<cases::Case> {
    let mut tx = state.store.begin_read().await?;
    let c = cases::get_by_number(&mut tx, number)
        .await?
        .ok_or_else(|| anyhow::anyhow!("demo case {number} is missing"))?;
    tx.commit().await?;
    Ok(c)
}

// ------------------------------------------------------------------------------------------------
// Facial recognition (FR-04..FR-15)

async fn seed_fr(state: &AppState, data: &Path, report: &mut ActivityReport) -> anyhow::Result<()> {
    let lfw = data.join("faces").join("lfw");
    let names = crate::fr::demo_identities(&lfw);
    let repository = repository_records(state).await.unwrap_or(0);
    for item in FR_ITEMS {
        let label = format!("FR request {} (case {FR_CASE})", item.label);
        let existing = marker(state, item.key).await?;
        if existing.is_none() {
            if names.len() <= item.identity {
                report.skipped.push(format!(
                    "{label}: no development faces in {} (set PROBITY_TEST_DATA)",
                    lfw.display()
                ));
                continue;
            }
            if item.needs_repository && repository == 0 {
                report.skipped.push(format!(
                    "{label}: the photo repository is empty (run with PROBITY_DEMO_GALLERY=1, as scripts/demo does)"
                ));
                continue;
            }
        }
        let created = existing.is_none();
        let id = match existing {
            Some(id) => id,
            None => {
                let name = &names[item.identity];
                let file = lfw.join(name).join(format!("{name}_0001.jpg"));
                let bytes = std::fs::read(&file)
                    .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
                let id = match create_request(state, item, bytes).await {
                    Ok(id) => id,
                    Err(e) => {
                        report.skipped.push(format!("{label}: {e}"));
                        continue;
                    }
                };
                mark(state, item.key, &id).await?;
                id
            }
        };
        match drive(state, &id, item.target).await {
            Ok(moved) if moved || created => report.seeded.push(label),
            Ok(_) => report.present.push(label),
            Err(e) => report.skipped.push(format!("{label}: {e}")),
        }
    }
    Ok(())
}

async fn repository_records(state: &AppState) -> anyhow::Result<i64> {
    let spec = crate::fr::engine::active_spec(&state.store)
        .await
        .map_err(api)?;
    let mut tx = state.store.begin_read().await?;
    let (records, _, _) = probity_store::gallery::counts(&mut tx, &spec.id().to_string()).await?;
    tx.commit().await?;
    Ok(records)
}

async fn create_request(state: &AppState, item: &FrItem, still: Vec<u8>) -> anyhow::Result<String> {
    let rivera = principal(state, "det.rivera").await?;
    let case = case(state, FR_CASE).await?;
    let form = wf::RequestForm {
        authorized_use: Some(item.authorized_use.into()),
        stills: vec![wf::StillUpload {
            bytes: still,
            source: Some("cctv".into()),
            ..Default::default()
        }],
        ..Default::default()
    };
    let l = wf::create(state, &rivera, &case, form).await.map_err(api)?;
    Ok(l.req.id.to_string())
}

fn features(finding: &str) -> std::collections::BTreeMap<String, wf::FeatureInput> {
    [
        "eyes",
        "ears",
        "nose",
        "mouth",
        "chin",
        "lips",
        "eyebrows",
        "hair_hairline",
        "scars",
        "marks",
        "tattoos",
    ]
    .into_iter()
    .map(|f| {
        (
            f.to_string(),
            wf::FeatureInput {
                finding: finding.into(),
                notes: String::new(),
            },
        )
    })
    .collect()
}

/// Takes the request one step at a time, as the person each step belongs to, until it is in
/// `target`. Returns whether any step was taken.
async fn drive(state: &AppState, id: &str, target: FrState) -> anyhow::Result<bool> {
    let mut moved = false;
    for _ in 0..12 {
        let l = wf::load(state, id).await.map_err(api)?;
        let now = l.req.state;
        if now == target || now.is_final() {
            if now != target {
                anyhow::bail!(
                    "the request is {} rather than {}",
                    now.as_str(),
                    target.as_str()
                );
            }
            return Ok(moved);
        }
        match now {
            FrState::Submitted => {
                let chen = principal(state, "fri.chen").await?;
                wf::confirm_basis(state, &chen, id).await.map_err(api)?;
            }
            FrState::BasisConfirmed => {
                let chen = principal(state, "fri.chen").await?;
                let suitable = target != FrState::ReturnedUnsuitable;
                let reasons = if suitable {
                    "one frontal face, sharp, even light (demonstration)"
                } else {
                    "face turned away and in shadow; ask for another still (demonstration)"
                };
                wf::assess_quality(
                    state,
                    &chen,
                    id,
                    wf::QualityInput {
                        selected_probe: 0,
                        suitable,
                        reasons: vec![reasons.into()],
                    },
                )
                .await
                .map_err(api)?;
            }
            FrState::QualityChecked => {
                let haddad = principal(state, "sgt.haddad").await?;
                wf::acknowledge_discussion(
                    state,
                    &haddad,
                    id,
                    "suspect in a robbery seen on CCTV; use (1) discussed (demonstration)",
                )
                .await
                .map_err(api)?;
            }
            FrState::SupervisorDiscussionAcknowledged => {
                let chen = principal(state, "fri.chen").await?;
                wf::search(state, &chen, id, wf::SearchInput::default())
                    .await
                    .map_err(api)?;
            }
            FrState::Searched | FrState::SentBack => {
                let chen = principal(state, "fri.chen").await?;
                let comparisons = if target == FrState::Negative {
                    Vec::new()
                } else {
                    let (_, pool) = wf::candidates(state, &chen, id).await.map_err(api)?;
                    let mut c = Vec::new();
                    for (i, cand) in pool.iter().take(2).enumerate() {
                        let proposed = i == 0;
                        c.push(wf::ComparisonInput {
                            candidate: cand.candidate.clone(),
                            features: features(if proposed { "similar" } else { "different" }),
                            judgement: if proposed { "proposed" } else { "excluded" }.into(),
                        });
                    }
                    c
                };
                wf::identify(state, &chen, id, wf::IdentificationInput { comparisons })
                    .await
                    .map_err(api)?;
            }
            FrState::Identification => {
                let rivera = principal(state, "det.rivera").await?;
                wf::background_check(
                    state,
                    &rivera,
                    id,
                    "known address two blocks from the scene (demonstration)",
                    true,
                )
                .await
                .map_err(api)?;
            }
            FrState::BackgroundCheck => {
                let novak = principal(state, "fri.novak").await?;
                wf::peer_review(state, &novak, id, true, "features agree (demonstration)")
                    .await
                    .map_err(api)?;
            }
            FrState::PeerReview | FrState::SupervisorReview => {
                let haddad = principal(state, "sgt.haddad").await?;
                wf::supervisor_review(
                    state,
                    &haddad,
                    id,
                    wf::SupervisorInput {
                        decision: "approve".into(),
                        reasons: String::new(),
                    },
                )
                .await
                .map_err(api)?;
            }
            other => anyhow::bail!(
                "the demonstration does not take a request on from {}",
                other.as_str()
            ),
        }
        moved = true;
    }
    anyhow::bail!("the request did not reach {}", target.as_str())
}

// ------------------------------------------------------------------------------------------------
// Camera evidence (DC-01, DC-02, DC-05, DC-06)

/// The real camera files of the demonstration card, and where they sit on it.
const CARD: &[(&str, &str)] = &[
    ("DCIM/100APPLE/IMG_0001.JPG", "apple_iphone4.jpg"),
    ("DCIM/100APPLE/IMG_0002.HEIC", "apple_iphone8.heic"),
    ("DCIM/100NIKON/DSC_0001.JPG", "nikon_d70.jpg"),
];

async fn seed_evidence(
    state: &AppState,
    data: &Path,
    report: &mut ActivityReport,
) -> anyhow::Result<()> {
    let label = format!("camera card with thumbnails and its certificate (case {EVIDENCE_CASE})");
    if marker(state, "evidence:card").await?.is_some() {
        report.present.push(label);
        return Ok(());
    }
    let camera = data.join("camera");
    // A card as a camera writes it, with copies of the real sample files (never the originals).
    let card = std::env::temp_dir().join(format!("probity-demo-card-{}", Uuid::new_v4()));
    let result = async {
        for (on_card, sample) in CARD {
            let from = camera.join(sample);
            let to = card.join(on_card);
            if let Some(dir) = to.parent() {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::copy(&from, &to)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", from.display()))?;
        }
        let rivera = principal(state, "det.rivera").await?;
        let case = case(state, EVIDENCE_CASE).await?;
        let fields: std::collections::HashMap<String, String> = [
            ("purpose", "crime_scene"),
            (
                "purpose_description",
                "demonstration: scene of a burglary, photographed from the street",
            ),
            ("basis_kind", "no_reasonable_expectation_of_privacy"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let record = crate::evidence::intake::capture_record_from_fields(&fields).map_err(api)?;
        let r = crate::evidence::intake::ingest_card(state, &rivera, &case, record, &card, None)
            .await
            .map_err(api)?;
        if !r.safe_to_clear {
            anyhow::bail!("the card was not certified: {}", r.problems.join("; "));
        }
        Ok::<_, anyhow::Error>(r.intake_id)
    }
    .await;
    let _ = std::fs::remove_dir_all(&card);
    match result {
        Ok(intake) => {
            mark(state, "evidence:card", &intake.to_string()).await?;
            report.seeded.push(label);
        }
        Err(e) => report.skipped.push(format!("{label}: {e}")),
    }
    Ok(())
}

// ------------------------------------------------------------------------------------------------
// Thermal (TH-01, TH-04, TH-05)

/// A service account for a thermal source: an investigator of PCT-019 trained on thermographic
/// cameras, as an administrator would set it up.
async fn source_account(state: &AppState, username: &str, name: &str) -> anyhow::Result<()> {
    let mut tx = state.store.begin().await?;
    if users::get_by_username(&mut tx, username).await?.is_some() {
        tx.commit().await?;
        return Ok(());
    }
    let today = Utc::now().date_naive();
    let start = super::day(today - chrono::Days::new(365));
    let u = users::create(
        &mut tx,
        &users::NewUser {
            username: username.into(),
            display_name: name.into(),
            rank: Some("civilian".into()),
            command: Some("PCT-019".into()),
            password_hash: None,
            kind: "service".into(),
        },
    )
    .await?;
    assignments::create(
        &mut tx,
        &assignments::NewAssignment {
            user_id: u.id,
            role: Some("investigator".into()),
            unit: None,
            command: "PCT-019".into(),
            starts_at: start,
            ends_at: None,
        },
    )
    .await?;
    training::create(
        &mut tx,
        &training::NewTraining {
            user_id: u.id,
            course: "thermographic_cameras".into(),
            completed_at: start,
            expires_at: Some(super::day(today + chrono::Days::new(365))),
        },
    )
    .await?;
    super::record(&mut tx, "user.create", "user", username).await?;
    tx.commit().await?;
    Ok(())
}

fn authorization(
    source: &str,
    kind: &str,
    basis: &str,
    purpose: &str,
    starts_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> crate::thermal::AuthorizeInput {
    crate::thermal::AuthorizeInput {
        source: source.into(),
        source_kind: kind.into(),
        basis: basis.into(),
        risks_to_personnel: "none beyond routine patrol (demonstration)".into(),
        risks_to_civilians: "people crossing the plaza are in view (demonstration)".into(),
        risks_to_suspects: "none identified (demonstration)".into(),
        legitimate_purpose: purpose.into(),
        starts_at: Some(starts_at),
        expires_at: Some(expires_at),
        duration_minutes: None,
        command: Some("PCT-019".into()),
    }
}

/// How long the live demonstration source's deployment is authorized from each run.
pub const LIVE_AUTHORIZATION_DAYS: i64 = 7;

/// Radiometric sample files (FLIR JPEG or FFF) in `dir`, sorted by name.
pub fn radiometric_samples(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    paths
        .into_iter()
        .filter_map(|p| {
            let bytes = std::fs::read(&p).ok()?;
            (probity_thermal::is_radiometric_jpeg(&bytes) || bytes.starts_with(b"FFF\0"))
                .then_some((p, bytes))
        })
        .collect()
}

async fn seed_thermal(
    state: &AppState,
    data: &Path,
    report: &mut ActivityReport,
) -> anyhow::Result<()> {
    source_account(state, LIVE_SOURCE, "Thermal source (demo wireless camera)").await?;
    source_account(state, ROBOT_SOURCE, "Thermal source (demo security robot)").await?;
    let now = Utc::now();
    let moreau = principal(state, "lt.moreau").await?;

    // An authorization that expired three days ago.
    let label = format!("expired thermal deployment authorization ({LIVE_SOURCE})");
    if marker(state, "thermal:expired").await?.is_some() {
        report.present.push(label);
    } else {
        let at = now - Duration::days(3);
        let v = crate::thermal::authorize(
            state,
            &moreau,
            authorization(
                LIVE_SOURCE,
                "wireless",
                "exigent_emergency",
                "search for a person who fled into a dark rail yard (demonstration)",
                at,
                at + Duration::hours(2),
            ),
            at,
        )
        .await
        .map_err(api)?;
        mark(state, "thermal:expired", &v.id).await?;
        report.seeded.push(label);
    }

    // One in force now (again on every run once the previous one has run out).
    let label = format!("thermal deployment authorization in force ({LIVE_SOURCE})");
    let all = crate::thermal::authorizations_for(state, LIVE_SOURCE)
        .await
        .map_err(api)?;
    if crate::thermal::authorization_in_force(LIVE_SOURCE, &all, now).is_ok() {
        report.present.push(label);
    } else {
        crate::thermal::authorize(
            state,
            &moreau,
            authorization(
                LIVE_SOURCE,
                "wireless",
                "public_observation",
                "watch the plaza for a missing child during the street fair (demonstration)",
                now,
                now + Duration::days(LIVE_AUTHORIZATION_DAYS),
            ),
            now,
        )
        .await
        .map_err(api)?;
        report.seeded.push(label);
    }

    // The robot: frames of different ages, within its 30 days (TH-04, RET-10).
    let label = format!("robot thermal frames of different ages ({ROBOT_SOURCE})");
    if marker(state, "thermal:robot-frames").await?.is_some() {
        report.present.push(label);
        return Ok(());
    }
    let samples = radiometric_samples(&data.join("thermal"));
    if samples.is_empty() {
        report.skipped.push(format!(
            "{label}: no radiometric samples in {} (set PROBITY_TEST_DATA)",
            data.join("thermal").display()
        ));
        return Ok(());
    }
    let start = now - Duration::days(28);
    let robot_auth = crate::thermal::authorize(
        state,
        &moreau,
        authorization(
            ROBOT_SOURCE,
            "robot",
            "public_observation",
            "robot patrol of the transit hub concourse (demonstration)",
            start,
            now + Duration::days(2),
        ),
        start,
    )
    .await
    .map_err(api)?;
    let robot = principal(state, ROBOT_SOURCE).await?;
    let ages = [
        Duration::days(27),
        Duration::days(14),
        Duration::days(3),
        Duration::hours(1),
    ];
    let mut frames = 0;
    for (i, age) in ages.iter().enumerate() {
        let (path, bytes) = &samples[i % samples.len()];
        match robot_frame(state, &robot, bytes, now - *age).await {
            Ok(()) => frames += 1,
            Err(e) => report
                .skipped
                .push(format!("robot frame from {}: {e}", path.display())),
        }
    }
    mark(
        state,
        "thermal:robot-frames",
        &format!("{} ({frames} frames)", robot_auth.id),
    )
    .await?;
    report.seeded.push(label);
    Ok(())
}

/// One robot frame captured at `at`, as the push path keeps it: the authorization in force at
/// that moment, the policy's decision on that deployment, then the encrypted frame and its audit
/// entry.
async fn robot_frame(
    state: &AppState,
    robot: &Principal,
    bytes: &[u8],
    at: DateTime<Utc>,
) -> anyhow::Result<()> {
    let frame = probity_thermal::LiveFrame::from_radiometric(bytes, &Default::default())
        .map_err(|e| anyhow::anyhow!("not decodable: {e}"))?;
    let not_radiometric = frame.radiometry().reason().map(str::to_string);
    let all = crate::thermal::authorizations_for(state, ROBOT_SOURCE)
        .await
        .map_err(api)?;
    let a = crate::thermal::authorization_in_force(ROBOT_SOURCE, &all, at).map_err(api)?;
    crate::thermal::decide_deployment(
        state,
        robot,
        probity_policy::Action::ThermalLivePush,
        &a,
        at,
    )
    .await
    .map_err(api)?;
    let q = crate::thermal::live::PushQuery {
        width: None,
        height: None,
        scale: None,
        offset: None,
    };
    let why = not_radiometric.as_deref();
    crate::thermal::robot::retain(state, robot, &a, bytes, "image/jpeg", &q, at, why)
        .await
        .map_err(api)?;
    Ok(())
}

// ------------------------------------------------------------------------------------------------
// Public records (PUB-01)

/// Two requests logged by the records officer from the mail: one received today, one whose
/// acknowledgement is overdue.
async fn seed_foil(state: &AppState, report: &mut ActivityReport) -> anyhow::Result<()> {
    let label = "FOIL requests for the records officer (one acknowledgement overdue)".to_string();
    if marker(state, "foil:requests").await?.is_some() {
        report.present.push(label);
        return Ok(());
    }
    let lopez = std::sync::Arc::new(principal(state, "rec.lopez").await?);
    // The route's own decision: foil.manage on the system.
    let auth = crate::authz::authorize_on(
        state,
        &lopez,
        probity_policy::Action::FoilManage,
        &probity_policy::Resource::System,
        "foil_request",
        "new",
    )
    .await
    .map_err(api)?;
    let now = Utc::now();
    let today = crate::foil::today(now);
    let mut logged = Vec::new();
    for (requester, contact, description, received) in [
        (
            "Demo Requester A. Levin",
            "demo.levin@example.org",
            "Photographs taken by officers at the street fair on Lexington Avenue (demonstration)",
            today,
        ),
        (
            "Demo Press Desk",
            "Demo Press, 1 Example Plaza, New York NY",
            "Thermal deployment authorizations of the 19th Precinct this year (demonstration)",
            today - chrono::Days::new(14),
        ),
    ] {
        let d = crate::foil::intake(
            state,
            &auth,
            crate::foil::IntakeInput {
                requester: requester.into(),
                contact: contact.into(),
                description: description.into(),
                received_on: Some(received.to_string()),
            },
            now,
        )
        .await
        .map_err(api)?;
        logged.push(d.request.receipt);
    }
    mark(state, "foil:requests", &logged.join(", ")).await?;
    report.seeded.push(label);
    Ok(())
}
