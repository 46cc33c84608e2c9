//! The records lifecycle at scale (RET-01..RET-11), on SQLite and on PostgreSQL:
//!
//! 1. the daily schedule computation over N closed cases (default 1,000,000): every live
//!    record's rule and due date from the policy pack in force, then the due queue
//!    ([`records::compute_schedule`] + [`records::due_only`], what the `retention.daily` job
//!    does), with wall time, records/s and peak resident memory; before it, the SQL fetch
//!    alone ([`probity_store::records::closed_cases`]) to show where the time goes;
//! 2. one run of the scheduler job `retention.robot_frames` disposing M robot thermal frames
//!    past their 30 days (default 10,000): crypto-shredding of each blob, a disposition
//!    certificate and an audit entry per frame, one transaction each, in items/s.
//!
//! Goal: the daily run over 1,000,000 records in under a minute on a 2-core machine.
//!
//! Run: `cargo bench -p probity-server --bench retention`
//! (`PROBITY_BENCH_RECORDS` sets N, `PROBITY_BENCH_FRAMES` sets M; PostgreSQL is the server at
//! `PROBITY_TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/test`, in a fresh
//! database dropped afterwards; it is skipped, saying so, when it does not answer).
//! The cases are seeded with multi-row INSERTs on a connection of their own, outside the
//! timing. Each backend runs in a child process of its own (the same binary), so memory one
//! run freed does not count in the other's resident set. Without `--bench` (as
//! `cargo test --benches` would run it) it does nothing.

use std::time::Instant;

use anyhow::{anyhow, Context};
use chrono::{DateTime, Duration, TimeZone, Utc};
use probity_server::{build_state, demo, records, scheduler, AppState, Config};
use probity_store::thermal as tstore;
use sqlx::Connection;
use uuid::Uuid;

/// Every offence classification of the schedule (RET-01..RET-08).
const CLASSIFICATIONS: &[&str] = &[
    "homicide",
    "suicide",
    "arson_1",
    "arson_2",
    "arson_3",
    "arson_4",
    "missing_person",
    "aggravated_sexual_assault_1",
    "course_of_sexual_conduct_against_child_1",
    "active_warrant",
    "stolen_or_missing_firearm",
    "non_fatal",
    "other_felony",
    "misdemeanor",
    "violation_or_traffic_infraction",
    "child_victims_act_offence",
    "no_offence_by_adult",
    "juvenile_no_arrest_or_no_offence",
];

const REASONS: &[&str] = &[
    "prosecution_and_appeals_exhausted",
    "settlement",
    "no_arrest",
    "restitution_no_longer_sought",
];

const COMMANDS: &[&str] = &["PCT-019", "PCT-075", "DB-MN", "DB-BX", "INTEL"];

/// Rows per INSERT statement, and rows per transaction.
const ROWS_PER_INSERT: usize = 1_000;
const ROWS_PER_TX: usize = 100_000;

const MS_PER_DAY: i64 = 86_400_000;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// A well-mixed deterministic hash (splitmix64), so every run seeds the same records.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A field of /proc/self/status in KiB (`VmRSS`, `VmHWM`).
fn status_kib(field: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Resets the peak resident set (VmHWM) to the current one (Linux 4.0+); false if refused.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn mib(kib: Option<u64>) -> f64 {
    kib.map(|k| k as f64 / 1024.0).unwrap_or(f64::NAN)
}

fn date(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|d| d.date_naive().to_string())
        .unwrap_or_default()
}

/// The seeding connection: SQLite file or PostgreSQL database, apart from the server's pool.
enum Seeder {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl Seeder {
    async fn exec(&mut self, sql: &str) -> anyhow::Result<()> {
        match self {
            Seeder::Sqlite(c) => sqlx::raw_sql(sql).execute(c).await.map(|_| ()),
            Seeder::Postgres(c) => sqlx::raw_sql(sql).execute(c).await.map(|_| ()),
        }
        .with_context(|| format!("seeding: {}", &sql[..sql.len().min(120)]))
    }

    async fn close(self) -> anyhow::Result<()> {
        match self {
            Seeder::Sqlite(c) => c.close().await?,
            Seeder::Postgres(c) => c.close().await?,
        }
        Ok(())
    }
}

/// Seeds `n` closed cases: classifications spread over the schedule, closures from 1976 to
/// shortly before `now`, and the retention facts the rules ask for on most of the cases that
/// need one (a located person, a recovered firearm, a child's or juvenile's date of birth).
async fn seed_cases(
    db: &mut Seeder,
    n: usize,
    creator: Uuid,
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let first = Utc
        .with_ymd_and_hms(1976, 1, 1, 0, 0, 0)
        .single()
        .ok_or_else(|| anyhow!("date"))?
        .timestamp_millis();
    let span = (now.timestamp_millis() - first - 30 * MS_PER_DAY).max(MS_PER_DAY) as u64;
    let mut with_facts = 0usize;
    let mut done = 0usize;
    while done < n {
        let tx_end = (done + ROWS_PER_TX).min(n);
        db.exec("BEGIN").await?;
        while done < tx_end {
            let end = (done + ROWS_PER_INSERT).min(tx_end);
            let mut cases = String::with_capacity((end - done) * 260);
            let mut facts = String::new();
            cases.push_str(
                "INSERT INTO cases (id, case_number, offence_classification, status, command, \
                 closure_reason, closed_at, created_by, created_at, updated_at) VALUES ",
            );
            for i in done..end {
                let h = mix(i as u64);
                let id = Uuid::from_u128((0xBE7C_u128 << 112) | i as u128);
                let class = CLASSIFICATIONS[(h % CLASSIFICATIONS.len() as u64) as usize];
                let closed = first + ((h >> 8) % span) as i64;
                let opened = closed - ((h >> 40) % 1_000) as i64 * MS_PER_DAY;
                let year = &date(closed)[..4];
                if i > done {
                    cases.push(',');
                }
                cases.push_str(&format!(
                    "('{id}','BNCH-{year}-{i:07}','{class}','closed','{}','{}',{closed},'{creator}',{opened},{closed})",
                    COMMANDS[((h >> 20) % COMMANDS.len() as u64) as usize],
                    REASONS[((h >> 24) % REASONS.len() as u64) as usize],
                ));
                // Nine in ten of the cases whose rule needs a fact have it; the rest are
                // reported as missing a fact, as they would be in a real archive.
                let has_fact = !(h >> 50).is_multiple_of(10);
                let days = |k: u64| ((h >> 32) % k) as i64 * MS_PER_DAY;
                let fact = match class {
                    "missing_person" if has_fact => {
                        Some(format!("'{}',NULL,NULL,NULL", date(closed + days(2_000))))
                    }
                    "stolen_or_missing_firearm" if has_fact => {
                        Some(format!("NULL,'{}',NULL,NULL", date(closed + days(3_000))))
                    }
                    "child_victims_act_offence" if has_fact => Some(format!(
                        "NULL,NULL,'{}',NULL",
                        date(closed - 3_650 * MS_PER_DAY - days(2_500))
                    )),
                    "juvenile_no_arrest_or_no_offence" if has_fact => Some(format!(
                        "NULL,NULL,NULL,'{}'",
                        date(closed - 4_700 * MS_PER_DAY - days(1_400))
                    )),
                    _ => None,
                };
                if let Some(f) = fact {
                    facts.push_str(if facts.is_empty() {
                        "INSERT INTO case_retention_facts (case_id, person_located_on, \
                         firearm_recovered_on, child_date_of_birth, juvenile_date_of_birth, \
                         final_disposition, updated_by, updated_at) VALUES "
                    } else {
                        ","
                    });
                    facts.push_str(&format!(
                        "('{id}',{f},'closed by the benchmark','{creator}',{closed})"
                    ));
                    with_facts += 1;
                }
            }
            db.exec(&cases).await?;
            if !facts.is_empty() {
                db.exec(&facts).await?;
            }
            done = end;
        }
        db.exec("COMMIT").await?;
    }
    Ok(with_facts)
}

struct ScheduleFigures {
    records: usize,
    due: usize,
    missing_fact: usize,
    seconds: f64,
    fetch_seconds: f64,
    rss_before_mib: f64,
    peak_rss_mib: f64,
    fetch_peak_rss_mib: f64,
}

/// Times the daily computation: the schedule of every record, then the due queue.
async fn time_schedule(state: &AppState, now: DateTime<Utc>) -> anyhow::Result<ScheduleFigures> {
    let api = |e: probity_server::error::ApiError| anyhow!("{}", e.detail);
    if !reset_peak_rss() {
        eprintln!("note: /proc/self/clear_refs refused; peak RSS is the process's peak so far");
    }
    let rss_before = status_kib("VmRSS");

    // Where the time goes: the SQL fetch of the closed cases alone, first (memory it frees
    // stays with the allocator and is reused by the computation below, whose peak is higher).
    let t = Instant::now();
    let mut tx = state.store.begin_read().await?;
    let fetched = probity_store::records::closed_cases(&mut tx).await?.len();
    tx.commit().await?;
    let fetch_seconds = t.elapsed().as_secs_f64();
    let fetch_peak = status_kib("VmHWM");

    // The daily run: every record's rule and date, then the due queue.
    reset_peak_rss();
    let t = Instant::now();
    let mut tx = state.store.begin_read().await?;
    let all = records::compute_schedule(state, &mut tx, now)
        .await
        .map_err(api)?;
    tx.commit().await?;
    let n = all.len();
    let missing_fact = all.iter().filter(|e| e.due == "missing_fact").count();
    let due = records::due_only(all, now);
    let seconds = t.elapsed().as_secs_f64();
    let peak = status_kib("VmHWM");
    anyhow::ensure!(fetched <= n, "fetched {fetched} cases, scheduled {n}");
    Ok(ScheduleFigures {
        records: n,
        due: due.len(),
        missing_fact,
        seconds,
        fetch_seconds,
        rss_before_mib: mib(rss_before),
        peak_rss_mib: mib(peak),
        fetch_peak_rss_mib: mib(fetch_peak),
    })
}

struct DisposalFigures {
    disposed: usize,
    seconds: f64,
}

/// Seeds `m` robot frames captured 31 to 60 days ago, each a small encrypted blob, then runs
/// the scheduler job `retention.robot_frames` once (its function, as the scheduler calls it
/// after a claim) and times it.
async fn time_robot_disposal(
    state: &AppState,
    m: usize,
    creator: Uuid,
) -> anyhow::Result<DisposalFigures> {
    let now = Utc::now();
    let source = "robot-bench-1";
    let mut tx = state.store.begin().await?;
    let auth = tstore::create_authorization(
        &mut tx,
        &tstore::NewAuthorization {
            command: "PCT-019".into(),
            source: source.into(),
            source_kind: "robot".into(),
            basis: "benchmark: autonomous security robot patrol of a facility".into(),
            risks_to_personnel: "none".into(),
            risks_to_civilians: "none".into(),
            risks_to_suspects: "none".into(),
            legitimate_purpose: "benchmark of the RET-10 disposal".into(),
            starts_at: now - Duration::days(90),
            expires_at: now + Duration::days(1),
            authorized_by: creator,
            authorized_at: now - Duration::days(90),
        },
    )
    .await?;
    tx.commit().await?;

    // Stage the encrypted objects a few at a time (each is written and fsynced), then record
    // the blobs and frames in transactions of 500.
    let t = Instant::now();
    let mut staged = Vec::with_capacity(m);
    let mut tasks = tokio::task::JoinSet::new();
    let mut next = 0usize;
    while staged.len() < m {
        while next < m && tasks.len() < 8 {
            let st = state.clone();
            let body: Vec<u8> = (0..256u32)
                .map(|k| (mix(next as u64 * 256 + u64::from(k)) & 0xFF) as u8)
                .collect();
            tasks.spawn(async move {
                st.store
                    .blobs()
                    .stage(None, &body, "application/x-thermal-radiometric")
                    .await
            });
            next += 1;
        }
        match tasks.join_next().await {
            Some(r) => staged.push(r??),
            None => break,
        }
    }
    let mut i = 0i64;
    let mut staged = staged.into_iter().peekable();
    while staged.peek().is_some() {
        let mut tx = state.store.begin().await?;
        for s in staged.by_ref().take(500) {
            let meta = state
                .store
                .blobs()
                .commit(&mut tx, s, "bench:robot")
                .await?;
            let captured = now - Duration::days(31) - Duration::seconds(i * 250);
            tstore::insert_robot_frame(&mut tx, source, auth.id, meta.id, captured, None).await?;
            i += 1;
        }
        tx.commit().await?;
    }
    println!(
        "  seeded {m} robot frames (encrypted blobs) in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let job = scheduler::jobs()
        .into_iter()
        .find(|j| j.name == "retention.robot_frames")
        .ok_or_else(|| anyhow!("the scheduler has no job retention.robot_frames"))?;
    let t = Instant::now();
    let summary = (job.run)(
        state.clone(),
        scheduler::JobRun {
            now: Utc::now(),
            actor: scheduler::SYSTEM_ACTOR.to_string(),
        },
    )
    .await
    .map_err(|e| anyhow!("{}", e.detail))?;
    let seconds = t.elapsed().as_secs_f64();
    let disposed = summary["disposed"].as_u64().unwrap_or(0) as usize;
    anyhow::ensure!(
        disposed == m,
        "the job disposed {disposed} of {m} frames: {summary}"
    );
    Ok(DisposalFigures { disposed, seconds })
}

/// One backend's figures, passed from the child process that measured them as one line.
struct Row {
    backend: String,
    records: usize,
    due: usize,
    missing_fact: usize,
    seconds: f64,
    fetch_seconds: f64,
    rss_before_mib: f64,
    peak_rss_mib: f64,
    fetch_peak_rss_mib: f64,
    disposed: usize,
    dispose_seconds: f64,
}

impl Row {
    fn line(&self) -> String {
        format!(
            "ROW\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            self.backend,
            self.records,
            self.due,
            self.missing_fact,
            self.seconds,
            self.fetch_seconds,
            self.rss_before_mib,
            self.peak_rss_mib,
            self.fetch_peak_rss_mib,
            self.disposed,
            self.dispose_seconds
        )
    }

    fn parse(line: &str) -> Option<Row> {
        let f: Vec<&str> = line.strip_prefix("ROW\t")?.split('\t').collect();
        if f.len() != 11 {
            return None;
        }
        Some(Row {
            backend: f[0].to_string(),
            records: f[1].parse().ok()?,
            due: f[2].parse().ok()?,
            missing_fact: f[3].parse().ok()?,
            seconds: f[4].parse().ok()?,
            fetch_seconds: f[5].parse().ok()?,
            rss_before_mib: f[6].parse().ok()?,
            peak_rss_mib: f[7].parse().ok()?,
            fetch_peak_rss_mib: f[8].parse().ok()?,
            disposed: f[9].parse().ok()?,
            dispose_seconds: f[10].parse().ok()?,
        })
    }
}

async fn run(
    backend: &'static str,
    database_url: Option<String>,
    n: usize,
    m: usize,
) -> anyhow::Result<Row> {
    println!("== {backend}");
    let dir = tempfile::tempdir()?;
    let db_path = dir.path().join("probity.db");
    let (url, seeder_url) = match &database_url {
        Some(u) => (u.clone(), u.clone()),
        None => {
            let u = format!("sqlite://{}?mode=rwc", db_path.display());
            (u.clone(), u)
        }
    };
    let config = Config {
        data_dir: dir.path().to_path_buf(),
        database_url: Some(url),
        tls: false,
        ..Config::default()
    };
    let state = build_state(config).await?;
    demo::seed(&state.store, &state.passwords).await?;
    let mut tx = state.store.begin_read().await?;
    let creator = probity_store::users::get_by_username(&mut tx, "admin")
        .await?
        .ok_or_else(|| anyhow!("demo user admin missing"))?
        .id;
    tx.commit().await?;

    // A fixed date, so every run schedules the same records.
    let now = Utc
        .with_ymd_and_hms(2026, 12, 1, 3, 0, 0)
        .single()
        .ok_or_else(|| anyhow!("date"))?;
    let t = Instant::now();
    let mut seeder = match database_url {
        Some(_) => Seeder::Postgres(sqlx::PgConnection::connect(&seeder_url).await?),
        None => Seeder::Sqlite(sqlx::SqliteConnection::connect(&seeder_url).await?),
    };
    let with_facts = seed_cases(&mut seeder, n, creator, now).await?;
    if matches!(seeder, Seeder::Postgres(_)) {
        seeder.exec("ANALYZE").await?;
    }
    seeder.close().await?;
    println!(
        "  seeded {n} closed cases ({with_facts} with retention facts) in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let schedule = time_schedule(&state, now).await?;
    println!(
        "  schedule: {} records ({} due, {} missing a fact) in {:.2} s, {:.0} records/s; \
         SQL fetch alone {:.2} s (peak {:.0} MiB); RSS {:.0} MiB before, peak {:.0} MiB",
        schedule.records,
        schedule.due,
        schedule.missing_fact,
        schedule.seconds,
        schedule.records as f64 / schedule.seconds,
        schedule.fetch_seconds,
        schedule.fetch_peak_rss_mib,
        schedule.rss_before_mib,
        schedule.peak_rss_mib,
    );
    let disposal = time_robot_disposal(&state, m, creator).await?;
    println!(
        "  retention.robot_frames: {} frames disposed in {:.2} s, {:.0} items/s",
        disposal.disposed,
        disposal.seconds,
        disposal.disposed as f64 / disposal.seconds
    );
    state.store.close().await;
    Ok(Row {
        backend: backend.to_string(),
        records: schedule.records,
        due: schedule.due,
        missing_fact: schedule.missing_fact,
        seconds: schedule.seconds,
        fetch_seconds: schedule.fetch_seconds,
        rss_before_mib: schedule.rss_before_mib,
        peak_rss_mib: schedule.peak_rss_mib,
        fetch_peak_rss_mib: schedule.fetch_peak_rss_mib,
        disposed: disposal.disposed,
        dispose_seconds: disposal.seconds,
    })
}

/// A fresh PostgreSQL database (name, URL) and the admin URL, or why there is none.
async fn fresh_postgres() -> Result<(String, String, String), String> {
    let admin = std::env::var("PROBITY_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .map_err(|e| format!("PostgreSQL is not reachable at {admin} ({e})"))?;
    let name = format!("probity_bench_retention_{}", std::process::id());
    for sql in [
        format!("DROP DATABASE IF EXISTS {name}"),
        format!("CREATE DATABASE {name}"),
    ] {
        sqlx::raw_sql(&sql)
            .execute(&mut conn)
            .await
            .map_err(|e| format!("{sql}: {e}"))?;
    }
    let _ = conn.close().await;
    let base = admin
        .rsplit_once('/')
        .map(|(b, _)| b.to_string())
        .ok_or_else(|| format!("{admin} names no database"))?;
    let url = format!("{base}/{name}");
    Ok((name, url, admin))
}

async fn drop_postgres(admin: &str, name: &str) {
    if let Ok(mut conn) = sqlx::PgConnection::connect(admin).await {
        let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        if let Err(e) = sqlx::raw_sql(&sql).execute(&mut conn).await {
            eprintln!("could not drop {name}: {e}");
        }
        let _ = conn.close().await;
    }
}

/// Measures one backend in this process and prints its figures as a `ROW` line.
fn child(backend: &str, n: usize, m: usize) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let row = runtime.block_on(async {
        match backend {
            "sqlite" => run("sqlite", None, n, m).await.map(Some),
            "postgres" => match fresh_postgres().await {
                Ok((name, url, admin)) => {
                    let r = run("postgres", Some(url), n, m).await;
                    drop_postgres(&admin, &name).await;
                    r.map(Some)
                }
                Err(why) => {
                    println!("== postgres: skipped: {why}");
                    Ok(None)
                }
            },
            other => Err(anyhow!("unknown backend {other}")),
        }
    })?;
    if let Some(row) = row {
        println!("{}", row.line());
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    if !std::env::args().any(|a| a == "--bench") {
        println!(
            "retention benchmark: run it with `cargo bench -p probity-server --bench retention`"
        );
        return Ok(());
    }
    let n = env_usize("PROBITY_BENCH_RECORDS", 1_000_000);
    let m = env_usize("PROBITY_BENCH_FRAMES", 10_000);
    if let Ok(backend) = std::env::var("PROBITY_BENCH_BACKEND") {
        return child(&backend, n, m);
    }
    println!(
        "records lifecycle: schedule of {n} closed cases; one retention.robot_frames run over {m} frames"
    );
    // Each backend in a process of its own, so one's freed memory (kept by the allocator)
    // does not count in the other's resident set.
    let mut rows = Vec::new();
    for backend in ["sqlite", "postgres"] {
        let mut proc = std::process::Command::new(std::env::current_exe()?)
            .arg("--bench")
            .env("PROBITY_BENCH_BACKEND", backend)
            .stdout(std::process::Stdio::piped())
            .spawn()?;
        let out = proc.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
        for line in std::io::BufRead::lines(std::io::BufReader::new(out)) {
            let line = line?;
            match Row::parse(&line) {
                Some(row) => rows.push(row),
                None => println!("{line}"),
            }
        }
        let status = proc.wait()?;
        anyhow::ensure!(status.success(), "the {backend} run failed ({status})");
    }

    println!();
    println!(
        "{:<9} {:>9} {:>8} {:>8} {:>10} {:>8} {:>9} {:>9} {:>9} | {:>8} {:>8} {:>8}",
        "backend",
        "records",
        "due",
        "seconds",
        "records/s",
        "fetch s",
        "RSS MiB",
        "peak MiB",
        "fetch pk",
        "disposed",
        "seconds",
        "items/s"
    );
    for r in &rows {
        println!(
            "{:<9} {:>9} {:>8} {:>8.2} {:>10.0} {:>8.2} {:>9.0} {:>9.0} {:>9.0} | {:>8} {:>8.2} {:>8.1}",
            r.backend,
            r.records,
            r.due,
            r.seconds,
            r.records as f64 / r.seconds,
            r.fetch_seconds,
            r.rss_before_mib,
            r.peak_rss_mib,
            r.fetch_peak_rss_mib,
            r.disposed,
            r.dispose_seconds,
            r.disposed as f64 / r.dispose_seconds
        );
    }
    println!(
        "(seconds: compute_schedule + due_only; fetch s: the closed-case SQL alone; RSS MiB: \
         resident before the computation; peak MiB: peak resident during it; fetch pk: during \
         the SQL fetch alone)"
    );
    for r in &rows {
        if r.seconds >= 60.0 {
            println!(
                "GOAL MISSED on {}: the daily run took {:.1} s (goal: under 60 s)",
                r.backend, r.seconds
            );
        }
    }
    Ok(())
}
