//! Fresh PostgreSQL databases for the benchmarks, dropped after each run so runs do not fill
//! the disk (`scripts/test` also sweeps `probity_bench_*` left by an interrupted run).

pub fn admin_url() -> String {
    std::env::var("PROBITY_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// A new database `probity_bench_<label>_<pid>_<n>`; returns its name and URL, or `None` when
/// PostgreSQL cannot be reached.
pub async fn fresh_postgres(label: &str) -> Option<(String, String)> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&admin_url()).await.ok()?;
    static RUN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let run = RUN.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let name = format!("probity_bench_{label}_{}_{run}", std::process::id());
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
        .execute(&mut conn)
        .await
        .ok()?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .ok()?;
    let base = admin_url().rsplit_once('/').map(|(b, _)| b.to_string())?;
    Some((name.clone(), format!("{base}/{name}")))
}

/// Drops a run's database (its nodes' connections too).
pub async fn drop_postgres(name: &str) {
    use sqlx::Connection;
    if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url()).await {
        let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        if let Err(e) = sqlx::query(&sql).execute(&mut conn).await {
            eprintln!("could not drop {name}: {e}");
        }
    }
}
