//! The job scheduler inside `probity serve`: named periodic jobs (retention runs) with no cron
//! and no person, safe on many nodes.
//!
//! Each job of the registry ([`jobs`]) runs every `scheduler_interval_secs` (default a day),
//! optionally aligned to `scheduler_time_of_day` (UTC `HH:MM`), unless it keeps a cadence of its
//! own ([`own_schedule`]: the breach escalation runs every minute). [`spawn`] starts a loop that
//! calls [`tick`] every 30 seconds; `tick` claims each due job under a lease in the database
//! (`probity_store::scheduler::claim`, one conditional `UPDATE`), so two servers on one
//! PostgreSQL never run the same job at once, runs it, records the run (job, node, start, finish,
//! outcome, the job's JSON summary, the error), moves the job to its next slot, clears the lease
//! and appends the audit entry (`scheduler.run`, actor `system:scheduler`). A node that dies
//! while running a job leaves its lease to expire ([`LEASE`]); the next node to tick takes over.
//!
//! An administrator may run a job now (`POST /api/operations/jobs/{job}/run`, action
//! `operations.run`): the same claim, ignoring the job's next slot but never its lease, so a job
//! still never runs twice at once. The runs, each job's next slot and its lease are shown at
//! `GET /api/operations/runs` and on the page `/operations` (action `operations.read`).
//!
//! Adding a job is one entry in [`jobs`]: a name and a function of the state and the [`JobRun`]
//! (the time to act as of, and the actor to name) returning a JSON summary.

use std::panic::AssertUnwindSafe;
use std::sync::OnceLock;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Json;
use chrono::{DateTime, NaiveTime, TimeDelta, Utc};
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use minijinja::context;
use probity_store::audit;
use probity_store::scheduler::{self as sstore, ClaimKind};
use serde::{Deserialize, Serialize};

use crate::authz::Authorized;
use crate::config::Config;
use crate::error::ApiError;
use crate::extract::FormBody;
use crate::routes::{Access, RouteTable};
use crate::state::AppState;
use crate::web::{check_csrf, error_response, page};

/// The actor the scheduler's own runs are recorded and audited as.
pub const SYSTEM_ACTOR: &str = "system:scheduler";
/// The standing approval under which the schedule disposes robot data (TH-04, RET-10).
pub const ROBOT_FRAMES_APPROVAL: &str =
    "standing approval: RET-10 robot data kept thirty days (TH-04)";
/// How long a claim holds a job by default (`scheduler_lease_secs`); a running job extends it
/// every sixth of that ([`heartbeat`]). A node that stops leaves the lease to expire, and another
/// node takes the job over.
pub const LEASE: TimeDelta = TimeDelta::minutes(30);

/// The lease a claim takes under `config` (`scheduler_lease_secs`).
pub fn lease(config: &Config) -> TimeDelta {
    TimeDelta::seconds(i64::try_from(config.scheduler_lease_secs.max(5)).unwrap_or(i64::MAX))
}

/// How often a running job's lease is extended (real time): a sixth of the lease, so five
/// heartbeats can be missed before another node may take the job.
pub fn heartbeat(config: &Config) -> std::time::Duration {
    std::time::Duration::from_secs((config.scheduler_lease_secs.max(5) / 6).max(1))
}
/// How often [`spawn`]'s loop ticks.
pub const TICK: std::time::Duration = std::time::Duration::from_secs(30);
/// A failed run is tried again after this long, or at its next slot if that comes first.
pub const RETRY: TimeDelta = TimeDelta::minutes(15);

/// The future a job's function returns: its JSON summary, or why it failed.
pub type JobFuture = BoxFuture<'static, Result<serde_json::Value, ApiError>>;

/// One run of a job: the time it acts as of and who it acts as.
#[derive(Debug, Clone)]
pub struct JobRun {
    /// The scheduler's clock at the claim (a parameter, so tests drive a simulated clock).
    pub now: DateTime<Utc>,
    /// [`SYSTEM_ACTOR`] for a scheduled run, `user:<username>` for an administrator's run now.
    pub actor: String,
}

/// A named periodic job.
#[derive(Clone, Copy)]
pub struct Job {
    /// Stable name (`retention.robot_frames`): the lease row, the run records, the route.
    pub name: &'static str,
    /// What it does, for the operations page.
    pub description: &'static str,
    pub run: fn(AppState, JobRun) -> JobFuture,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job").field("name", &self.name).finish()
    }
}

/// The registry of periodic jobs. To add one, add an entry:
///
/// ```ignore
/// Job {
///     name: "retention.daily",
///     description: "…",
///     run: |state, run| Box::pin(my_job(state, run)),
/// },
/// ```
/// where `async fn my_job(state: AppState, run: JobRun) -> Result<serde_json::Value, ApiError>`.
pub fn jobs() -> Vec<Job> {
    vec![
        Job {
            name: "retention.robot_frames",
            description:
                "Disposes autonomous security robot thermal frames kept thirty days outside \
                      a case (TH-04, RET-10), unless a legal hold is in force (RET-11)",
            run: |state, run| Box::pin(robot_frames(state, run)),
        },
        Job {
            name: "retention.daily",
            description:
                "Recomputes every record's disposition date from the schedule in force and \
                      counts the records due for disposition, held, proposed and missing a fact \
                      (RET-01..RET-11); the due queue is at /records",
            run: |state, run| Box::pin(retention_daily(state, run)),
        },
        Job {
            name: "breach.escalation",
            description:
                "E-mails the configured addresses when a breach is still not reported to the City \
                      Chief Privacy Officer 12 and 20 hours after its discovery, once per stage \
                      (EXT-05); runs every minute",
            run: |state, run| Box::pin(crate::breach::escalation_job(state, run)),
        },
        Job {
            name: crate::fr::algorithms::RETEMPLATE_JOB,
            description: "Re-templates the photo repository for an approved facial recognition \
                      algorithm version, resumable from its checkpoint, and switches searches to \
                      it once every record has its template (FR-23); started by the approval, \
                      checked every minute",
            run: |state, run| Box::pin(crate::fr::algorithms::retemplate_job(state, run)),
        },
    ]
}

/// Jobs that keep a cadence of their own rather than the configured schedule: a clock measured
/// in hours cannot wait for a daily slot.
pub fn own_schedule(name: &str) -> Option<Schedule> {
    match name {
        "breach.escalation" | crate::fr::algorithms::RETEMPLATE_JOB => Some(Schedule {
            interval: TimeDelta::minutes(1),
            time_of_day: None,
        }),
        _ => None,
    }
}

async fn retention_daily(state: AppState, run: JobRun) -> Result<serde_json::Value, ApiError> {
    let mut tx = state.store.begin_read().await.map_err(crate::store_error)?;
    let all = crate::records::compute_schedule(&state, &mut tx, run.now).await?;
    tx.commit().await.map_err(crate::store_error)?;
    let missing_fact = all.iter().filter(|e| e.due == "missing_fact").count();
    let permanent = all.iter().filter(|e| e.due == "never").count();
    let scheduled = all.len();
    let due = crate::records::due_only(all, run.now);
    let held = due.iter().filter(|e| e.held_by.is_some()).count();
    let proposed = due.iter().filter(|e| e.proposal.is_some()).count();
    Ok(serde_json::json!({
        "records": scheduled,
        "permanent": permanent,
        "missing_fact": missing_fact,
        "due": due.len(),
        "due_held": held,
        "due_proposed": proposed,
        "due_waiting_for_proposal": due
            .iter()
            .filter(|e| e.held_by.is_none() && e.proposal.is_none())
            .count(),
    }))
}

/// The job of that name.
pub fn job(name: &str) -> Option<Job> {
    jobs().into_iter().find(|j| j.name == name)
}

async fn robot_frames(state: AppState, run: JobRun) -> Result<serde_json::Value, ApiError> {
    let report =
        crate::thermal::robot::run_retention(&state, run.now, &run.actor, ROBOT_FRAMES_APPROVAL)
            .await?;
    // The run record keeps the counts and at most 100 certificates; every certificate is also
    // in the blob store and the audit trail.
    const SHOWN: usize = 100;
    Ok(serde_json::json!({
        "disposed": report.certificates.len(),
        "kept": report.kept,
        "held": report.held,
        "certificates": report.certificates.iter().take(SHOWN).collect::<Vec<_>>(),
        "certificates_not_shown": report.certificates.len().saturating_sub(SHOWN),
    }))
}

// ------------------------------------------------------------------ schedule

/// When jobs run: every `interval`, on slots aligned to a UTC time of day when one is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub interval: TimeDelta,
    pub time_of_day: Option<NaiveTime>,
}

impl Schedule {
    /// The configured schedule (an interval under a minute counts as a minute).
    pub fn from_config(config: &Config) -> Result<Schedule, ApiError> {
        let secs = i64::try_from(config.scheduler_interval_secs.max(60)).unwrap_or(i64::MAX);
        Ok(Schedule {
            interval: TimeDelta::try_seconds(secs).unwrap_or(TimeDelta::days(365)),
            time_of_day: config.scheduler_time().map_err(ApiError::internal)?,
        })
    }

    /// The first slot after `now` (strictly later). Without a time of day, `now + interval`;
    /// with one, the slots are that time on 1970-01-01 plus whole intervals.
    pub fn next_after(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let Some(tod) = self.time_of_day else {
            return now + self.interval;
        };
        let anchor = DateTime::<Utc>::UNIX_EPOCH
            .date_naive()
            .and_time(tod)
            .and_utc();
        let step = self.interval.num_milliseconds().max(60_000);
        let since = (now - anchor).num_milliseconds();
        let k = since.div_euclid(step) + 1;
        anchor + TimeDelta::milliseconds(k.saturating_mul(step))
    }

    /// When a job is first due: at once without a time of day, else its first slot from now on.
    pub fn first_run(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        match self.time_of_day {
            None => now,
            Some(_) => self.next_after(now - TimeDelta::milliseconds(1)),
        }
    }
}

// ------------------------------------------------------------------ running

/// One run, as recorded.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RunOutcome {
    pub id: String,
    pub job: String,
    /// The node (host, process, random suffix) that ran it.
    pub node: String,
    /// `schedule`, or the person who asked for the run now.
    pub triggered_by: String,
    pub started_at: String,
    /// Unset while the job runs.
    pub finished_at: Option<String>,
    /// `ok` or `failed`; unset while the job runs.
    pub outcome: Option<String>,
    /// What the job reported (JSON).
    #[schema(value_type = Object)]
    pub summary: Option<serde_json::Value>,
    pub error: Option<String>,
}

fn outcome_view(r: &sstore::Run) -> RunOutcome {
    RunOutcome {
        id: r.id.to_string(),
        job: r.job.clone(),
        node: r.node.clone(),
        triggered_by: r.triggered_by.clone(),
        started_at: r.started_at.to_rfc3339(),
        finished_at: r.finished_at.map(|t| t.to_rfc3339()),
        outcome: r.outcome.clone(),
        summary: r.summary.clone(),
        error: r.error.clone(),
    }
}

/// This process's node name: host, process id and a random suffix.
pub fn node_name() -> &'static str {
    static NODE: OnceLock<String> = OnceLock::new();
    NODE.get_or_init(|| {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .or_else(|_| std::fs::read_to_string("/etc/hostname"))
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "node".to_string());
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        format!("{host}-{}-{}", std::process::id(), &suffix[..8])
    })
}

/// Who asked for a run.
struct Trigger {
    kind: ClaimKind,
    actor: String,
    /// The policy rule that permitted a run now.
    rule: Option<String>,
}

/// Claims `job` for `node` at `now` and, if claimed, runs it, records the run and its audit
/// entry, and moves the job to its next slot. `Ok(None)`: not due, or another node holds it.
async fn run_job(
    state: &AppState,
    job: Job,
    node: &str,
    now: DateTime<Utc>,
    trigger: &Trigger,
) -> Result<Option<RunOutcome>, ApiError> {
    let se = crate::store_error;
    let schedule = match own_schedule(job.name) {
        Some(own) => own,
        None => Schedule::from_config(&state.config)?,
    };
    let triggered_by = match trigger.kind {
        ClaimKind::Due => "schedule",
        ClaimKind::Now => trigger.actor.as_str(),
    };
    let mut tx = state.store.begin().await.map_err(se)?;
    sstore::ensure(&mut tx, job.name, schedule.first_run(now))
        .await
        .map_err(se)?;
    let claimed = sstore::claim(
        &mut tx,
        job.name,
        node,
        now,
        now + lease(&state.config),
        trigger.kind,
        triggered_by,
    )
    .await
    .map_err(se)?;
    let Some(run_id) = claimed else {
        if trigger.kind == ClaimKind::Now {
            let lease = sstore::lease(&mut tx, job.name).await.map_err(se)?;
            tx.rollback().await.map_err(se)?;
            let holder = lease
                .and_then(|l| Some((l.owner?, l.lease_until?)))
                .map(|(o, u)| format!(" on {o} (lease until {})", u.to_rfc3339()))
                .unwrap_or_default();
            return Err(ApiError::conflict(format!(
                "job {} is running{holder}: it never runs twice at once; try again when it ends",
                job.name
            )));
        }
        tx.rollback().await.map_err(se)?;
        return Ok(None);
    };
    tx.commit().await.map_err(se)?;
    tracing::info!(job = job.name, node, run = %run_id, "scheduler: job claimed");

    let started = std::time::Instant::now();
    let future = (job.run)(
        state.clone(),
        JobRun {
            now,
            actor: trigger.actor.clone(),
        },
    );
    let result = with_heartbeat(state, job.name, node, now, started, future).await;
    let elapsed = TimeDelta::from_std(started.elapsed()).unwrap_or(TimeDelta::zero());
    let finished_at = now + elapsed;
    let (ok, summary, error) = match &result {
        Ok(v) => (true, Some(v.clone()), None),
        Err(e) => {
            let error = match &e.cause {
                Some(c) => format!("{} ({c})", e.detail),
                None => e.detail.clone(),
            };
            (false, None, Some(error))
        }
    };
    let mut next = schedule.next_after(now);
    if !ok {
        next = next.min(finished_at + RETRY);
    }
    let mut tx = state.store.begin().await.map_err(se)?;
    let held = sstore::finish(
        &mut tx,
        run_id,
        job.name,
        node,
        finished_at,
        ok,
        summary.as_ref(),
        error.as_deref(),
        next,
    )
    .await
    .map_err(se)?;
    audit::append(
        &mut tx,
        &audit::AuditEvent {
            actor: trigger.actor.clone(),
            action: "scheduler.run".into(),
            record_type: "scheduler_job".into(),
            record_id: job.name.to_string(),
            reason: None,
            outcome: if ok {
                audit::Outcome::Success
            } else {
                audit::Outcome::Failed
            },
            detail: serde_json::json!({
                "run": run_id.to_string(),
                "node": node,
                "triggered_by": triggered_by,
                "rule": trigger.rule,
                "started_at": now.to_rfc3339(),
                "finished_at": finished_at.to_rfc3339(),
                "summary": summary,
                "error": error,
                "next_run_at": held.then(|| next.to_rfc3339()),
                "lease_lost": !held,
            }),
        },
    )
    .await
    .map_err(se)?;
    let run = sstore::run(&mut tx, run_id).await.map_err(se)?;
    tx.commit().await.map_err(se)?;
    if !held {
        tracing::warn!(
            job = job.name,
            node,
            "scheduler: the lease was lost while the job ran"
        );
    }
    match &error {
        None => tracing::info!(job = job.name, node, "scheduler: job finished"),
        Some(e) => tracing::warn!(job = job.name, node, error = %e, "scheduler: job failed"),
    }
    run.map(|r| Some(outcome_view(&r)))
        .ok_or_else(|| ApiError::internal(format!("scheduler run {run_id} vanished")))
}

/// Runs the job, extending its lease every [`heartbeat`] while it runs; a panic is a failure.
async fn with_heartbeat(
    state: &AppState,
    name: &str,
    node: &str,
    now: DateTime<Utc>,
    started: std::time::Instant,
    future: JobFuture,
) -> Result<serde_json::Value, ApiError> {
    let mut future = std::pin::pin!(AssertUnwindSafe(future).catch_unwind());
    let every = heartbeat(&state.config);
    let mut beat = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    loop {
        tokio::select! {
            r = &mut future => {
                return r.unwrap_or_else(|_| Err(ApiError::internal("the job panicked")));
            }
            _ = beat.tick() => {
                let elapsed = TimeDelta::from_std(started.elapsed()).unwrap_or(TimeDelta::zero());
                let until = now + elapsed + lease(&state.config);
                let extended = async {
                    let mut tx = state.store.begin().await?;
                    sstore::extend(&mut tx, name, node, until).await?;
                    tx.commit().await
                }
                .await;
                if let Err(e) = extended {
                    tracing::warn!(job = name, node, error = %e, "scheduler: lease not extended");
                }
            }
        }
    }
}

/// Claims and runs every job that is due at `now`, once each, as `node`. Returns the runs made
/// (a job another node holds, or not yet due, is left alone); if a job could not be claimed or
/// its run not recorded, the others still run and the first such error is returned.
pub async fn tick(
    state: &AppState,
    node: &str,
    now: DateTime<Utc>,
) -> Result<Vec<RunOutcome>, ApiError> {
    tick_jobs(state, &jobs(), node, now).await
}

/// [`tick`] over the given jobs rather than the registry (tests run jobs of their own).
pub async fn tick_jobs(
    state: &AppState,
    jobs: &[Job],
    node: &str,
    now: DateTime<Utc>,
) -> Result<Vec<RunOutcome>, ApiError> {
    let trigger = Trigger {
        kind: ClaimKind::Due,
        actor: SYSTEM_ACTOR.to_string(),
        rule: None,
    };
    let mut out = Vec::new();
    let mut first_error = None;
    for &job in jobs {
        // One job's failure to be claimed or recorded does not keep the others from running.
        match run_job(state, job, node, now, &trigger).await {
            Ok(Some(o)) => out.push(o),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(job = job.name, node, error = %e.detail, cause = ?e.cause,
                    "scheduler: job not run");
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// Runs `job` now for an administrator, under its lease (409 while another node runs it).
pub async fn run_now(
    state: &AppState,
    auth: &Authorized,
    name: &str,
    now: DateTime<Utc>,
) -> Result<RunOutcome, ApiError> {
    let job = job(name).ok_or_else(|| ApiError::not_found(format!("scheduled job {name}")))?;
    let trigger = Trigger {
        kind: ClaimKind::Now,
        actor: auth.principal.actor(),
        rule: Some(auth.rule.clone()),
    };
    run_job(state, job, node_name(), now, &trigger)
        .await?
        .ok_or_else(|| ApiError::conflict(format!("job {name} could not be claimed")))
}

/// Runs `job` now because a step needs it at once (an approved FR-23 activation starts its
/// re-templating), under its lease like any run. `Ok(None)`: another node holds the lease.
pub async fn start_now(
    state: &AppState,
    name: &str,
    actor: &str,
    rule: &str,
) -> Result<Option<RunOutcome>, ApiError> {
    let job = job(name).ok_or_else(|| ApiError::not_found(format!("scheduled job {name}")))?;
    let trigger = Trigger {
        kind: ClaimKind::Now,
        actor: actor.to_string(),
        rule: Some(rule.to_string()),
    };
    match run_job(state, job, node_name(), state.clock.now(), &trigger).await {
        Err(e) if e.status == axum::http::StatusCode::CONFLICT => Ok(None),
        other => other,
    }
}

/// Starts the scheduler loop: every [`TICK`], or every [`heartbeat`] when that is shorter (so a
/// dead node's job is taken over soon after its lease expires), [`tick`] with the clock and this
/// node's name.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let node = node_name();
        tracing::info!(node, jobs = jobs().len(), "scheduler started");
        let mut every = tokio::time::interval(TICK.min(heartbeat(&state.config)));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            if crate::drain::is_draining() {
                tracing::info!(node, "scheduler stopped: the node is draining");
                return;
            }
            let _running = crate::drain::JobRunning::start();
            if let Err(e) = tick(&state, node, state.clock.now()).await {
                tracing::warn!(node, error = %e.detail, cause = ?e.cause, "scheduler tick failed");
            }
        }
    })
}

// ------------------------------------------------------------------ routes

/// Declares the operations routes.
pub fn routes(t: RouteTable) -> RouteTable {
    use Method as M;
    t.add(
        M::GET,
        "/api/operations/runs",
        Access::action("operations.read"),
        "The scheduler's runs, newest first, with each job's next run and lease",
        get(runs_api),
    )
    .add(
        M::POST,
        "/api/operations/jobs/{job}/run",
        Access::action("operations.run"),
        "Run a scheduled job now, under its lease (never twice at once)",
        post(run_now_api),
    )
    .add(
        M::GET,
        "/operations",
        Access::action("operations.read"),
        "Operations page: scheduled jobs and their runs",
        get(operations_page),
    )
    .add(
        M::POST,
        "/operations/jobs/{job}/run",
        Access::action("operations.run"),
        "Run a scheduled job now (form)",
        post(run_now_form),
    )
}

/// A job as the operations page shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JobView {
    pub name: String,
    pub description: String,
    /// When the job is next due; unset before the scheduler first saw it.
    pub next_run_at: Option<String>,
    /// The node holding the lease, while the job runs (or until a dead node's lease expires).
    pub lease_owner: Option<String>,
    pub lease_until: Option<String>,
    /// What the job is working through now, when it says (FR-23 re-templating progress).
    pub progress: Option<String>,
}

/// The scheduler's state: every job and the runs asked for.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OperationsView {
    pub jobs: Vec<JobView>,
    /// Long work running now (card intakes, repository imports, re-templating, retention runs)
    /// with its progress and the time left, then what finished in the last day.
    pub tasks: Vec<crate::progress::TaskView>,
    /// Newest first.
    pub runs: Vec<RunOutcome>,
}

/// Which runs to list.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct RunsQuery {
    /// At most this many runs (default 50, at most 500).
    pub limit: Option<u32>,
    /// Only this job's runs.
    pub job: Option<String>,
}

/// The jobs and the runs; the read is audited (SEC-04).
pub async fn operations(
    state: &AppState,
    auth: &Authorized,
    q: &RunsQuery,
) -> Result<OperationsView, ApiError> {
    let se = crate::store_error;
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    let job = q.job.as_deref().map(str::trim).filter(|j| !j.is_empty());
    let mut tx = state.store.begin().await.map_err(se)?;
    let leases = sstore::leases(&mut tx).await.map_err(se)?;
    let runs = sstore::runs(&mut tx, job, limit).await.map_err(se)?;
    let retemplating = crate::fr::algorithms::progress_line(&mut tx).await?;
    let tasks = crate::progress::recent(&mut tx, state.clock.now())
        .await
        .map_err(se)?;
    audit::append(
        &mut tx,
        &audit::AuditEvent {
            actor: auth.principal.actor(),
            action: "scheduler.runs.read".into(),
            record_type: "scheduler_job".into(),
            record_id: job.unwrap_or("*").to_string(),
            reason: None,
            outcome: audit::Outcome::Success,
            detail: serde_json::json!({ "rule": auth.rule, "count": runs.len() }),
        },
    )
    .await
    .map_err(se)?;
    tx.commit().await.map_err(se)?;
    let jobs = jobs()
        .into_iter()
        .map(|j| {
            let lease = leases.iter().find(|l| l.job == j.name);
            JobView {
                name: j.name.to_string(),
                description: j.description.to_string(),
                next_run_at: lease.map(|l| l.next_run_at.to_rfc3339()),
                lease_owner: lease.and_then(|l| l.owner.clone()),
                lease_until: lease.and_then(|l| l.lease_until.map(|t| t.to_rfc3339())),
                progress: (j.name == crate::fr::algorithms::RETEMPLATE_JOB)
                    .then(|| retemplating.clone())
                    .flatten(),
            }
        })
        .collect();
    Ok(OperationsView {
        jobs,
        tasks,
        runs: runs.iter().map(outcome_view).collect(),
    })
}

pub async fn runs_api(
    State(state): State<AppState>,
    auth: Authorized,
    Query(q): Query<RunsQuery>,
) -> Result<Json<OperationsView>, ApiError> {
    Ok(Json(operations(&state, &auth, &q).await?))
}

pub async fn run_now_api(
    State(state): State<AppState>,
    auth: Authorized,
    Path(job): Path<String>,
) -> Result<Json<RunOutcome>, ApiError> {
    Ok(Json(run_now(&state, &auth, &job, state.clock.now()).await?))
}

pub async fn operations_page(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    Query(q): Query<RunsQuery>,
) -> Response {
    match operations(&state, &auth, &q).await {
        Ok(view) => {
            let running = view.tasks.iter().any(|t| t.status == "running");
            let tasks: Vec<_> = view
                .tasks
                .iter()
                .map(|t| {
                    context! {
                        t => t,
                        eta => t.eta_seconds.map(crate::progress::eta_words),
                    }
                })
                .collect();
            let mut response = page(
                &state,
                &headers,
                Some(&auth.principal),
                "operations.html",
                "/operations",
                context! {
                    // Only shapes the page: each run-now post is decided by its route.
                    can_run => crate::decision::hint(&state, &auth.principal, "operations.run"),
                    tasks => tasks,
                    running => running,
                    jobs => view.jobs,
                    runs => view.runs.iter().map(|r| context! {
                        id => r.id.clone(),
                        job => r.job.clone(),
                        node => r.node.clone(),
                        triggered_by => r.triggered_by.clone(),
                        started_at => r.started_at.clone(),
                        finished_at => r.finished_at.clone(),
                        outcome => r.outcome.clone(),
                        summary => r.summary.as_ref().map(|s| s.to_string()),
                        error => r.error.clone(),
                    }).collect::<Vec<_>>(),
                },
            );
            // While work runs, the page refreshes itself to show how far it is.
            if running {
                response.headers_mut().insert(
                    axum::http::header::REFRESH,
                    axum::http::HeaderValue::from_static("5"),
                );
            }
            response
        }
        Err(e) => error_response(&state, true, e),
    }
}

#[derive(Deserialize)]
pub struct RunNowForm {
    #[serde(default)]
    pub csrf: String,
}

pub async fn run_now_form(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    Path(job): Path<String>,
    FormBody(form): FormBody<RunNowForm>,
) -> Response {
    if let Err(e) = check_csrf(&headers, &form.csrf) {
        return error_response(&state, true, e);
    }
    match run_now(&state, &auth, &job, state.clock.now()).await {
        Ok(_) => Redirect::to("/operations").into_response(),
        Err(e) => error_response(&state, true, e),
    }
}
