//! Requests per second and latency percentiles for reading a case page under concurrent load, on
//! SQLite and PostgreSQL. Every read is authorized by the policy engine and appends an audit entry
//! (SEC-04), so this measures the whole path, including a durable write per request.
//!
//! On PostgreSQL it also runs against two and three nodes of one deployment (one database, the
//! clients spread over the nodes, all in this process as on a single machine). A second mix has
//! every client take in camera originals (a small real JPEG, unique per request).
//!
//! `cargo bench -p probity-server --bench http_load` (env: BENCH_SECONDS, BENCH_CONCURRENCY).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use probity_server::{app, build_state, demo, Config};

/// Starts a node on `data_dir` and serves it on a free port; returns its URL.
async fn start_node(
    data_dir: &std::path::Path,
    database_url: Option<String>,
) -> anyhow::Result<(String, probity_server::AppState)> {
    let config = Config {
        data_dir: data_dir.to_path_buf(),
        database_url,
        tls: false,
        ..Config::default()
    };
    let state = build_state(config).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let router = app::router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Ok((format!("http://{addr}"), state))
}

/// Runs the load against `nodes` nodes of one deployment (one database; the others share the
/// first node's keys and blob folder), the clients spread evenly over the nodes.
/// What the clients do.
#[derive(Clone, Copy, PartialEq)]
enum Mix {
    /// Read one case (authorized and audited).
    CaseReads,
    /// Take in one camera original each (hash, metadata, thumbnail, encryption, rows, audit).
    Intakes,
}

impl Mix {
    fn label(self) -> &'static str {
        match self {
            Mix::CaseReads => "case reads",
            Mix::Intakes => "evidence intakes",
        }
    }
}

/// A small real JPEG (`apple_minimal.jpg` of the shared data), made unique per request by a
/// comment segment after SOI, so no intake is refused as a duplicate.
fn jpeg_sample() -> Vec<u8> {
    let base = std::env::var("PROBITY_TEST_DATA")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
        });
    std::fs::read(base.join("camera").join("apple_minimal.jpg"))
        .expect("camera sample apple_minimal.jpg: set PROBITY_TEST_DATA")
}

fn unique_jpeg(sample: &[u8], n: u64) -> Vec<u8> {
    let tag = format!("probity load {n}");
    let len = (tag.len() + 2) as u16;
    let mut out = Vec::with_capacity(sample.len() + tag.len() + 4);
    out.extend_from_slice(&sample[..2]);
    out.extend_from_slice(&[0xFF, 0xFE]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(tag.as_bytes());
    out.extend_from_slice(&sample[2..]);
    out
}

async fn run(
    label: &str,
    database_url: Option<String>,
    seconds: u64,
    concurrency: usize,
    nodes: usize,
    mix: Mix,
) {
    let dirs: Vec<tempfile::TempDir> = (0..nodes)
        .map(|_| tempfile::tempdir().expect("temp dir"))
        .collect();
    let mut urls = Vec::new();
    for (i, dir) in dirs.iter().enumerate() {
        if i > 0 {
            for key in [
                probity_store::MASTER_KEY_FILE,
                probity_store::SERVER_KEY_FILE,
            ] {
                std::fs::copy(dirs[0].path().join(key), dir.path().join(key)).expect("copy key");
            }
            std::os::unix::fs::symlink(dirs[0].path().join("blobs"), dir.path().join("blobs"))
                .expect("shared blob folder");
        }
        match start_node(dir.path(), database_url.clone()).await {
            Ok((url, state)) => {
                if i == 0 {
                    demo::seed(&state.store, &state.passwords)
                        .await
                        .expect("demo data");
                }
                urls.push(url);
            }
            Err(e) => {
                println!("{label}: skipped, cannot open the store: {e:#}");
                return;
            }
        }
    }
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client");
    let r = client
        .post(format!("{}/api/session", urls[0]))
        .json(&serde_json::json!({"username": "det.rivera", "password": demo::DEMO_PASSWORD}))
        .send()
        .await
        .expect("sign in");
    assert!(r.status().is_success());
    let targets: Vec<String> = urls
        .iter()
        .map(|u| format!("{u}/api/cases/2026-019-000101"))
        .collect();
    // Warm up.
    for _ in 0..50 {
        for t in &targets {
            let _ = client.get(t).send().await;
        }
    }
    let end = Instant::now() + Duration::from_secs(seconds);
    let sample = std::sync::Arc::new(jpeg_sample());
    let mut tasks = Vec::new();
    for i in 0..concurrency {
        let c = client.clone();
        let t = targets[i % targets.len()].clone();
        let intake = format!(
            "{}/api/cases/2026-019-000101/evidence",
            urls[i % urls.len()]
        );
        let sample = sample.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0u64;
            let mut n = 0u64;
            while Instant::now() < end {
                let s = Instant::now();
                let sent = match mix {
                    Mix::CaseReads => c.get(&t).send().await,
                    Mix::Intakes => {
                        n += 1;
                        let file = reqwest::multipart::Part::bytes(unique_jpeg(
                            &sample,
                            (i as u64) << 32 | n,
                        ))
                        .file_name(format!("IMG_{i}_{n}.JPG"));
                        let form = reqwest::multipart::Form::new()
                            .text("purpose", "crime_scene")
                            .text("basis_kind", "no_reasonable_expectation_of_privacy")
                            .part("file", file);
                        c.post(&intake).multipart(form).send().await
                    }
                };
                match sent {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        lat.push(s.elapsed());
                    }
                    _ => errors += 1,
                }
            }
            (lat, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.expect("task");
        all.extend(l);
        errors += e;
    }
    all.sort();
    let n = all.len();
    let pct = |p: f64| {
        all.get(((n as f64 * p) as usize).min(n.saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    println!(
        "{label}: {n} {} in {seconds} s = {:.0} req/s ({:.0} per node), p50 {:.2} ms, p99 {:.2} ms, errors {errors} (concurrency {concurrency}, {nodes} node{})",
        mix.label(),
        n as f64 / seconds as f64,
        n as f64 / seconds as f64 / nodes as f64,
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        if nodes == 1 { "" } else { "s" },
    );
}

async fn fresh_postgres() -> Option<String> {
    use sqlx::Connection;
    let admin = std::env::var("PROBITY_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
    let mut conn = sqlx::PgConnection::connect(&admin).await.ok()?;
    static RUN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let run = RUN.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let name = format!("probity_bench_{}_{run}", std::process::id());
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
        .execute(&mut conn)
        .await
        .ok()?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .ok()?;
    let base = admin.rsplit_once('/').map(|(b, _)| b.to_string())?;
    Some(format!("{base}/{name}"))
}

fn main() {
    let seconds = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let concurrency = std::env::var("BENCH_CONCURRENCY")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(32);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        for mix in [Mix::CaseReads, Mix::Intakes] {
            run("sqlite", None, seconds, concurrency, 1, mix).await;
            for nodes in 1..=3 {
                match fresh_postgres().await {
                    Some(url) => run("postgres", Some(url), seconds, concurrency, nodes, mix).await,
                    None => println!("postgres: skipped, PostgreSQL not reachable"),
                }
            }
        }
    });
}
