//! Benchmark: durable audit appends per second (one entry per transaction, and by group
//! commit with 8, 64 and 256 concurrent callers) and audit verification entries per second,
//! on SQLite and PostgreSQL, against a plain durable single-row insert (same store, same
//! durability settings) as the reference.
//!
//! Run: `cargo bench -p probity-store --bench audit`
//! Environment: PROBITY_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test),
//! PROBITY_BENCH_APPENDS (default 2000), PROBITY_BENCH_VERIFY (default 100000),
//! PROBITY_BENCH_KEEP_DIR (keep the SQLite data directory there, for `probity audit verify`).

use std::time::{Duration, Instant};

use probity_store::audit::{self, AuditEvent, Outcome};
use probity_store::{jobs, Backend, Store, StoreConfig};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn event(i: usize) -> AuditEvent {
    AuditEvent {
        actor: format!("user:{:04}", i % 50),
        action: "case.view".into(),
        record_type: "case".into(),
        record_id: format!("2026-{:06}", i % 1000),
        reason: Some("assigned investigation".into()),
        outcome: Outcome::Success,
        detail: serde_json::json!({ "rule": "permit-assigned-investigator", "i": i }),
    }
}

struct Figures {
    plain_per_s: f64,
    append_per_s: f64,
    concurrent_per_s: f64,
    /// Group commit ([`audit::record`]): (concurrent callers, durable entries per second).
    grouped: Vec<(usize, f64)>,
    verify_per_s: f64,
    verified: u64,
}

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64().max(1e-9)
}

async fn run(
    store: &Store,
    appends: usize,
    verify_target: usize,
) -> Result<Figures, Box<dyn std::error::Error>> {
    // Warm-up (file creation, caches, connection pool).
    for i in 0..50 {
        let mut tx = store.begin().await?;
        jobs::enqueue(&mut tx, "warm-up", &serde_json::json!({ "i": i }), 1, None).await?;
        audit::append(&mut tx, &event(i)).await?;
        tx.commit().await?;
    }

    // Reference: a plain durable single-row insert, one transaction each.
    let t = Instant::now();
    for i in 0..appends {
        let mut tx = store.begin().await?;
        jobs::enqueue(&mut tx, "bench", &serde_json::json!({ "i": i }), 1, None).await?;
        tx.commit().await?;
    }
    let plain_per_s = rate(appends, t.elapsed());

    // Durable audit appends, one transaction each (the server's pattern).
    let t = Instant::now();
    for i in 0..appends {
        let mut tx = store.begin().await?;
        audit::append(&mut tx, &event(i)).await?;
        tx.commit().await?;
    }
    let append_per_s = rate(appends, t.elapsed());

    // Eight concurrent writers.
    let t = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..8 {
        let store = store.clone();
        let n = appends / 8;
        tasks.push(tokio::spawn(async move {
            for i in 0..n {
                let mut tx = store.begin().await?;
                audit::append(&mut tx, &event(w * n + i)).await?;
                tx.commit().await?;
            }
            Ok::<_, probity_store::StoreError>(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let concurrent_per_s = rate(appends / 8 * 8, t.elapsed());

    // Group commit: callers each recording entries one after the other, as requests do.
    let mut grouped = Vec::new();
    for callers in [8usize, 64, 256] {
        let total = appends * 10;
        let per_caller = (total / callers).max(1);
        let t = Instant::now();
        let mut tasks = Vec::new();
        for w in 0..callers {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..per_caller {
                    audit::record(&store, &event(w * per_caller + i)).await?;
                }
                Ok::<_, probity_store::StoreError>(())
            }));
        }
        for task in tasks {
            task.await??;
        }
        grouped.push((callers, rate(per_caller * callers, t.elapsed())));
    }

    // Grow the trail (batched) and verify it whole.
    let mut tx = store.begin_read().await?;
    let (have, _) = audit::head(&mut tx).await?;
    tx.rollback().await?;
    let mut i = have as usize;
    while i < verify_target {
        let mut tx = store.begin().await?;
        for _ in 0..1000.min(verify_target - i) {
            audit::append(&mut tx, &event(i)).await?;
            i += 1;
        }
        tx.commit().await?;
    }
    let t = Instant::now();
    let report = audit::verify(store).await?;
    let elapsed = t.elapsed();
    if let Some(p) = report.problem {
        return Err(format!("verification failed: {p}").into());
    }
    Ok(Figures {
        plain_per_s,
        append_per_s,
        concurrent_per_s,
        grouped,
        verify_per_s: rate(report.entries as usize, elapsed),
        verified: report.entries,
    })
}

fn print(backend: Backend, f: &Figures) {
    println!(
        "{:<9} plain insert {:>8.0}/s | audit append {:>8.0}/s (ratio {:.2}) | 8 writers {:>8.0}/s | verify {:>9.0} entries/s ({} entries)",
        backend.as_str(),
        f.plain_per_s,
        f.append_per_s,
        f.append_per_s / f.plain_per_s,
        f.concurrent_per_s,
        f.verify_per_s,
        f.verified
    );
    let grouped: Vec<String> = f
        .grouped
        .iter()
        .map(|(callers, per_s)| {
            format!(
                "{callers} callers {per_s:>8.0}/s ({:.1}x one-entry transactions)",
                per_s / f.append_per_s
            )
        })
        .collect();
    println!(
        "{:<9} group commit (durable, answered per entry): {}",
        backend.as_str(),
        grouped.join(" | ")
    );
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let appends = env_usize("PROBITY_BENCH_APPENDS", 2000).max(8);
    let verify_target = env_usize("PROBITY_BENCH_VERIFY", 100_000);
    println!("durable audit appends ({appends} one-entry transactions), verification of {verify_target} entries");

    // SQLite (WAL, synchronous=FULL) in a temporary or kept directory.
    let tmp = tempfile::tempdir()?;
    let dir = match std::env::var("PROBITY_BENCH_KEEP_DIR") {
        Ok(d) if !d.is_empty() => std::path::PathBuf::from(d),
        _ => tmp.path().to_path_buf(),
    };
    let mut config = StoreConfig::new(&dir, None);
    config.master_key_base64 = None;
    let store = Store::open(config).await?;
    let f = run(&store, appends, verify_target).await?;
    store.close().await;
    print(Backend::Sqlite, &f);

    // PostgreSQL in a fresh schema.
    let base = std::env::var("PROBITY_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let admin = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&base)
        .await
        .map_err(|e| format!("PostgreSQL at {base} is unreachable: {e}"))?;
    let schema = format!("probity_bench_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&admin)
        .await?;
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
    let pg_dir = tempfile::tempdir()?;
    let mut config = StoreConfig::new(pg_dir.path(), Some(url));
    config.master_key_base64 = None;
    config.max_connections = 10;
    let result = async {
        let store = Store::open(config).await?;
        let f = run(&store, appends, verify_target).await;
        store.close().await;
        f
    }
    .await;
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&admin)
        .await?;
    print(Backend::Postgres, &result?);
    Ok(())
}
