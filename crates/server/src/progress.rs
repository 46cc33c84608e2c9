//! Progress of long work, shown on the operations page with an estimate of the time left: card
//! intakes, photo repository imports, re-templating and retention runs each report how far they
//! are through a [`Tracker`]. Progress lives in the store, so any node shows what any node is
//! doing; a task whose node stops reporting is shown as stalled, not as running for ever.
//!
//! Recording progress never fails the work: a write that fails is logged and the work goes on.

use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, Utc};
use probity_store::progress as pstore;
use serde::Serialize;
use uuid::Uuid;

use crate::state::{AppState, Clock};

/// How often a running task writes its count (and the last count is always written).
const WRITE_EVERY: StdDuration = StdDuration::from_millis(500);

/// A running task not updated for this long is shown as stalled (its node stopped or died).
pub const STALLED_AFTER_SECONDS: i64 = 120;

/// The kinds of long work that report progress.
pub const CARD_INTAKE: &str = "card_intake";
pub const GALLERY_IMPORT: &str = "gallery_import";
pub const RETEMPLATING: &str = "retemplating";
pub const RETENTION_RUN: &str = "retention_run";

/// Reports one task's progress to the store, at most every [`WRITE_EVERY`].
pub struct Tracker {
    store: probity_store::Store,
    /// The server's clock (simulated in tests); the system clock for command-line work.
    clock: Clock,
    id: Option<Uuid>,
    last_write: Instant,
    done: u64,
    total: Option<u64>,
}

impl Tracker {
    /// Records that a task starts; `total` may be unknown until the work is counted.
    pub async fn start(
        state: &AppState,
        kind: &str,
        label: &str,
        started_by: &str,
        total: Option<u64>,
    ) -> Tracker {
        Tracker::begin(
            state.store.clone(),
            state.clock.clone(),
            kind,
            label,
            started_by,
            total,
        )
        .await
    }

    /// The same for work a command line does on the store (e.g. `probity gallery import`), so
    /// the operations page of every server shows it too.
    pub async fn start_on_store(
        store: &probity_store::Store,
        kind: &str,
        label: &str,
        started_by: &str,
        total: Option<u64>,
    ) -> Tracker {
        Tracker::begin(
            store.clone(),
            Clock::default(),
            kind,
            label,
            started_by,
            total,
        )
        .await
    }

    async fn begin(
        store: probity_store::Store,
        clock: Clock,
        kind: &str,
        label: &str,
        started_by: &str,
        total: Option<u64>,
    ) -> Tracker {
        let now = clock.now();
        let id = async {
            let mut tx = store.begin().await?;
            let id = pstore::start(
                &mut tx,
                &pstore::NewTask {
                    kind,
                    label,
                    started_by,
                    node: crate::scheduler::node_name(),
                    total,
                },
                now,
            )
            .await?;
            tx.commit().await?;
            Ok::<_, probity_store::StoreError>(id)
        }
        .await;
        let id = match id {
            Ok(id) => Some(id),
            Err(e) => {
                tracing::warn!(kind, label, error = %e, "task progress not recorded");
                None
            }
        };
        Tracker {
            store,
            clock,
            id,
            last_write: Instant::now(),
            done: 0,
            total,
        }
    }

    /// The task's id in the store, when its start was recorded.
    pub fn id(&self) -> Option<Uuid> {
        self.id
    }

    /// Reports `done` items of `total` (or of the total known so far).
    pub async fn advance(&mut self, done: u64, total: Option<u64>) {
        self.done = done;
        if total.is_some() {
            self.total = total;
        }
        let last = self.total.is_some_and(|t| done >= t);
        if !last && self.last_write.elapsed() < WRITE_EVERY {
            return;
        }
        self.last_write = Instant::now();
        self.save(None).await;
    }

    /// Ends the task, `completed` or `failed`.
    pub async fn finish(self, completed: bool) {
        self.save(Some(if completed { "completed" } else { "failed" }))
            .await;
    }

    /// Writes the count, or the end with its outcome.
    async fn save(&self, outcome: Option<&str>) {
        let Some(id) = self.id else {
            return;
        };
        let now = self.clock.now();
        let r = async {
            let mut tx = self.store.begin().await?;
            match outcome {
                Some(o) => pstore::finish(&mut tx, id, self.done, o, now).await?,
                None => pstore::update(&mut tx, id, self.done, self.total, now).await?,
            }
            tx.commit().await
        }
        .await;
        if let Err(e) = r {
            tracing::warn!(task = %id, error = %e, "task progress not saved");
        }
    }
}

/// Ends a task whose [`Tracker`] was lost with the work that failed.
pub async fn mark_failed(state: &AppState, id: Option<Uuid>) {
    let Some(id) = id else {
        return;
    };
    let r = async {
        let mut tx = state.store.begin().await?;
        let done = pstore::get(&mut tx, id).await?.map_or(0, |t| t.done);
        pstore::finish(&mut tx, id, done, "failed", state.clock.now()).await?;
        tx.commit().await
    }
    .await;
    if let Err(e) = r {
        tracing::warn!(task = %id, error = %e, "task progress not saved");
    }
}

/// A task as the operations page shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TaskView {
    pub id: String,
    /// `card_intake`, `gallery_import`, `retemplating` or `retention_run`.
    pub kind: String,
    pub label: String,
    pub started_by: String,
    pub node: String,
    pub started_at: String,
    pub updated_at: String,
    pub done: u64,
    pub total: Option<u64>,
    /// Whole percent, when the total is known.
    pub percent: Option<u64>,
    /// Items per second so far.
    pub rate_per_second: Option<f64>,
    /// Estimated seconds left at the rate so far, while running.
    pub eta_seconds: Option<i64>,
    /// `running`, `stalled` (no report for [`STALLED_AFTER_SECONDS`]), `completed` or `failed`.
    pub status: String,
    pub finished_at: Option<String>,
}

/// The view of a stored task at `now`: percent, rate and the time left at that rate.
pub fn view(t: &pstore::Task, now: DateTime<Utc>) -> TaskView {
    let end = t.finished_at.unwrap_or(t.updated_at);
    let elapsed = (end - t.started_at).num_milliseconds().max(0) as f64 / 1000.0;
    let rate = (elapsed > 0.0 && t.done > 0).then(|| t.done as f64 / elapsed);
    let percent = t
        .total
        .filter(|t| *t > 0)
        .map(|total| (t.done.min(total) * 100) / total);
    let status = match (&t.outcome, t.finished_at) {
        (Some(o), _) => o.clone(),
        (None, _) if now - t.updated_at > Duration::seconds(STALLED_AFTER_SECONDS) => {
            "stalled".to_string()
        }
        _ => "running".to_string(),
    };
    let eta_seconds = match (status.as_str(), t.total, rate) {
        ("running", Some(total), Some(rate)) if rate > 0.0 => {
            // Less a hair, so that a whole number of seconds is not rounded up by float error.
            Some(
                (total.saturating_sub(t.done) as f64 / rate - 1e-6)
                    .ceil()
                    .max(0.0) as i64,
            )
        }
        _ => None,
    };
    TaskView {
        id: t.id.to_string(),
        kind: t.kind.clone(),
        label: t.label.clone(),
        started_by: t.started_by.clone(),
        node: t.node.clone(),
        started_at: t.started_at.to_rfc3339(),
        updated_at: t.updated_at.to_rfc3339(),
        done: t.done,
        total: t.total,
        percent,
        rate_per_second: rate.map(|r| (r * 100.0).round() / 100.0),
        eta_seconds,
        status,
        finished_at: t.finished_at.map(|f| f.to_rfc3339()),
    }
}

/// Running tasks, then those finished in the last day, newest first.
pub async fn recent(
    tx: &mut probity_store::Tx,
    now: DateTime<Utc>,
) -> probity_store::Result<Vec<TaskView>> {
    let tasks = pstore::recent(tx, now - Duration::days(1), 50).await?;
    Ok(tasks.iter().map(|t| view(t, now)).collect())
}

/// Seconds in words, for the estimate of the time left.
pub fn eta_words(secs: i64) -> String {
    match secs {
        s if s < 60 => format!("about {s} s"),
        s if s < 3600 => format!("about {} min", (s + 59) / 60),
        s => format!("about {:.1} h", s as f64 / 3600.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(done: u64, total: Option<u64>, secs: i64, updated_ago: i64) -> pstore::Task {
        let now = Utc::now();
        let started = now - Duration::seconds(secs + updated_ago);
        pstore::Task {
            id: Uuid::now_v7(),
            kind: CARD_INTAKE.into(),
            label: "case".into(),
            started_by: "user:x".into(),
            node: "n".into(),
            started_at: started,
            updated_at: started + Duration::seconds(secs),
            done,
            total,
            finished_at: None,
            outcome: None,
        }
    }

    #[test]
    fn progress_estimates_time_left_from_the_rate_so_far() {
        // 50 of 200 in 10 s: 5 per second, 150 left, 30 s.
        let v = view(&task(50, Some(200), 10, 0), Utc::now());
        assert_eq!(v.percent, Some(25));
        assert_eq!(v.status, "running");
        assert_eq!(v.eta_seconds, Some(30));
        assert_eq!(eta_words(30), "about 30 s");
        // Unknown total: no percent, no estimate.
        let v = view(&task(50, None, 10, 0), Utc::now());
        assert_eq!((v.percent, v.eta_seconds), (None, None));
    }

    #[test]
    fn progress_of_a_silent_node_is_stalled_not_running() {
        let v = view(
            &task(5, Some(10), 10, STALLED_AFTER_SECONDS + 5),
            Utc::now(),
        );
        assert_eq!(v.status, "stalled");
        assert_eq!(v.eta_seconds, None);
    }
}
