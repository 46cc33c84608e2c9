//! `probity ingest card PATH --case N --user U --purpose P --basis KIND ...`: offloads a memory
//! card or device folder into a case (DC-05, DC-06) through the same library function as the
//! web upload, with the named member's policy decision (FR-25, OVR-01). Prints one line per
//! file and the "safe to clear" verdict; exits non-zero when the card must not be cleared.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use probity_server::evidence::{self, intake::Outcome};
use probity_server::{build_state, Config};

#[derive(Subcommand)]
pub enum IngestCommand {
    /// Ingest every file of a memory card or device folder into a case.
    Card(CardArgs),
}

#[derive(Args)]
pub struct StoreArgs {
    /// Configuration file (TOML), as for `probity serve`.
    #[arg(long, short = 'c')]
    pub config: Option<PathBuf>,
    /// Data directory (database, encrypted evidence store, keys).
    #[arg(long, env = "PROBITY_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// PostgreSQL URL (postgres://...); default: SQLite in the data directory.
    #[arg(long, env = "PROBITY_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Object store for the encrypted blobs: s3://bucket/prefix (endpoint, region and credentials
    /// from AWS_* variables); default: the folder blobs/ in the data directory.
    #[arg(long, env = "PROBITY_BLOB_URL")]
    pub blob_url: Option<String>,
}

impl StoreArgs {
    pub fn config(&self) -> anyhow::Result<Config> {
        let mut config = Config::load(self.config.as_deref())?;
        if let Some(d) = &self.data_dir {
            config.data_dir = d.clone();
        }
        if let Some(u) = &self.database_url {
            config.database_url = Some(u.clone());
        }
        if let Some(u) = &self.blob_url {
            config.blob_url = Some(u.clone());
        }
        Ok(config)
    }
}

#[derive(Args)]
pub struct CardArgs {
    /// The card's mount point or the device dump folder.
    pub path: PathBuf,
    /// Case or complaint number.
    #[arg(long)]
    pub case: String,
    /// The member doing the intake (their access decides; they are recorded as importer).
    #[arg(long, env = "PROBITY_USER")]
    pub user: String,
    /// Purpose (DC-01): crime_scene, evidence_location, victim_injuries, property_damage,
    /// line_up_identification, personnel_identification, training, community_event,
    /// arrest_photograph, other_official_business.
    #[arg(long)]
    pub purpose: String,
    /// Description, required for other_official_business.
    #[arg(long)]
    pub purpose_description: Option<String>,
    /// Legal basis (DC-02): no_reasonable_expectation_of_privacy, warrant or exigency.
    #[arg(long)]
    pub basis: String,
    #[arg(long)]
    pub warrant_number: Option<String>,
    #[arg(long)]
    pub issuing_judge: Option<String>,
    #[arg(long)]
    pub prosecutor: Option<String>,
    /// The warrant contains a judge's finding of probable cause.
    #[arg(long)]
    pub probable_cause_finding: bool,
    /// The warrant explicitly authorizes entry.
    #[arg(long)]
    pub entry_authorized: bool,
    /// Exigency statute: cpl_700_05_8, pl_460_10_1, pl_215_57, pl_215_56, pl_240_30.
    #[arg(long)]
    pub statute: Option<String>,
    /// Exigency finding 1: probable cause of a crime under the statute.
    #[arg(long)]
    pub probable_cause_of_crime: bool,
    /// Exigency finding 2: an emergency caused by the criminal conduct.
    #[arg(long)]
    pub emergency_from_conduct: bool,
    /// Exigency finding 3: urgent need due to imminent danger of serious injury or death.
    #[arg(long)]
    pub imminent_danger: bool,
    /// Exigency finding 4: the effort aims at preventing injury, not at arrest or evidence.
    #[arg(long)]
    pub aimed_at_preventing_injury: bool,
    /// The possible flight of a suspect was cited.
    #[arg(long)]
    pub flight_risk_cited: bool,
    /// Print the whole report as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}

pub fn run(cmd: IngestCommand) -> anyhow::Result<()> {
    match cmd {
        IngestCommand::Card(a) => card(a),
    }
}

fn fields(a: &CardArgs) -> HashMap<String, String> {
    let mut f = HashMap::new();
    let mut put = |k: &str, v: Option<&String>| {
        if let Some(v) = v {
            f.insert(k.to_string(), v.clone());
        }
    };
    put("purpose", Some(&a.purpose));
    put("purpose_description", a.purpose_description.as_ref());
    put("basis_kind", Some(&a.basis));
    put("warrant_number", a.warrant_number.as_ref());
    put("issuing_judge", a.issuing_judge.as_ref());
    put("prosecutor", a.prosecutor.as_ref());
    put("statute", a.statute.as_ref());
    for (k, on) in [
        ("probable_cause_finding", a.probable_cause_finding),
        ("entry_authorized", a.entry_authorized),
        ("probable_cause_of_crime", a.probable_cause_of_crime),
        ("emergency_from_conduct", a.emergency_from_conduct),
        ("imminent_danger", a.imminent_danger),
        ("aimed_at_preventing_injury", a.aimed_at_preventing_injury),
        ("flight_risk_cited", a.flight_risk_cited),
    ] {
        if on {
            f.insert(k.to_string(), "true".to_string());
        }
    }
    f
}

fn api(e: probity_server::error::ApiError) -> anyhow::Error {
    match &e.rule {
        Some(rule) => anyhow!("{} ({rule})", e.detail),
        None => anyhow!("{}", e.detail),
    }
}

/// Loads the member the command acts for, with their access now.
pub async fn member(
    state: &probity_server::AppState,
    username: &str,
) -> anyhow::Result<probity_server::principal::Principal> {
    let mut tx = state.store.begin().await?;
    let user = probity_store::users::get_by_username(&mut tx, username)
        .await?
        .ok_or_else(|| anyhow!("no member {username} in this system"))?;
    let p = probity_server::principal::load(&mut tx, user, &state.commands, chrono::Utc::now())
        .await
        .map_err(api)?;
    tx.commit().await?;
    Ok(p)
}

fn card(a: CardArgs) -> anyhow::Result<()> {
    let config = a.store.config()?;
    let record = evidence::intake::capture_record_from_fields(&fields(&a)).map_err(api)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let safe = runtime.block_on(async {
        let state = build_state(config).await?;
        let p = member(&state, &a.user).await?;
        let case = state
            .load_case(&a.case)
            .await
            .map_err(api)?
            .ok_or_else(|| anyhow!("no case {}", a.case))?;
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {pos} files, {msg} [{elapsed}]")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        let progress = |files: u64, bytes: u64, path: &str| {
            bar.set_position(files);
            bar.set_message(format!("{:.1} MB, {path}", bytes as f64 / 1e6));
        };
        let report =
            evidence::ingest_card(&state, &p, &case, record, &a.path, Some(&progress))
                .await
                .map_err(api)?;
        bar.finish_and_clear();
        if a.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            for f in &report.files {
                let what = match f.outcome {
                    Outcome::Stored => "stored",
                    Outcome::AlreadyIngested => "already ingested",
                    Outcome::Duplicate => "duplicate",
                    Outcome::Refused => "REFUSED",
                    Outcome::Unreadable => "UNREADABLE",
                };
                let check = if f.verified { "verified" } else { "not verified" };
                println!(
                    "{:<16} {:<12} {} {}{}",
                    what,
                    check,
                    f.sha256.as_deref().unwrap_or("-"),
                    f.path,
                    f.reason
                        .as_deref()
                        .map(|r| format!(": {r}"))
                        .unwrap_or_default()
                );
            }
            println!(
                "intake {} into case {}: {} stored, {} already ingested, {} duplicates, {} refused, {} unreadable",
                report.intake_id,
                report.case_number,
                report.stored,
                report.already_ingested,
                report.duplicates,
                report.refused,
                report.unreadable
            );
            if let Some(flag) = &report.device_flag {
                println!("flagged for the supervisor: {flag}");
            }
            if report.safe_to_clear {
                println!(
                    "SAFE TO CLEAR (DC-05): every file was read back from the store and its SHA-256 matched; certificate signed by key {}",
                    state.store.server_keys().key_id()
                );
            } else {
                println!("NOT SAFE TO CLEAR (DC-05): do not clear this card. Fix and re-run (files already ingested are skipped):");
                for p in &report.problems {
                    println!("  {p}");
                }
            }
        }
        state.store.close().await;
        anyhow::Ok(report.safe_to_clear)
    })?;
    if !safe {
        bail!("the card is not safe to clear (DC-05)");
    }
    Ok(())
}
