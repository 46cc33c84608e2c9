//! Draining a node (SIGTERM): it stops being ready, keeps answering for a grace period so a load
//! balancer can take it out of rotation, then stops accepting connections, finishes the requests
//! in flight and waits for the scheduler job it is running, whose lease it then clears, before
//! the process exits. A node killed outright (SIGKILL) instead leaves its job's lease to expire;
//! the next node resumes the job.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

static DRAINING: AtomicBool = AtomicBool::new(false);
static JOBS_RUNNING: AtomicUsize = AtomicUsize::new(0);

/// Seconds between SIGTERM and closing the listener while `/ready` already says "draining"
/// (`PROBITY_DRAIN_SECONDS`, default 5).
pub fn grace() -> Duration {
    let secs = std::env::var("PROBITY_DRAIN_SECONDS")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|s| *s <= 600)
        .unwrap_or(5);
    Duration::from_secs(secs)
}

/// Longest wait for a running scheduler job after the listener closed: past it the process
/// exits and the job's lease expires for another node to take over.
pub const JOB_WAIT: Duration = Duration::from_secs(120);

/// Whether this process is draining.
pub fn is_draining() -> bool {
    DRAINING.load(Ordering::SeqCst)
}

/// Marks this process as draining: `/ready` answers 503 and the scheduler claims no new job.
pub fn begin() {
    DRAINING.store(true, Ordering::SeqCst);
}

/// Held while a scheduler tick runs jobs; the drain waits until none is held.
pub struct JobRunning(());

impl JobRunning {
    pub fn start() -> JobRunning {
        JOBS_RUNNING.fetch_add(1, Ordering::SeqCst);
        JobRunning(())
    }
}

impl Drop for JobRunning {
    fn drop(&mut self) {
        JOBS_RUNNING.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Waits until no scheduler job runs here, at most `limit`; whether none does.
pub async fn jobs_finished(limit: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    while JOBS_RUNNING.load(Ordering::SeqCst) > 0 {
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    true
}

/// Resolves on SIGTERM or Ctrl-C, after marking the node as draining and waiting the grace
/// period: pass it to the server's graceful shutdown.
pub async fn on_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch SIGTERM; draining only on Ctrl-C");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = term => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    begin();
    let grace = grace();
    tracing::warn!(
        grace_seconds = grace.as_secs(),
        "draining: not ready; closing the listener after the grace period"
    );
    tokio::time::sleep(grace).await;
    tracing::warn!("draining: listener closed, finishing the requests in flight");
}
