//! Requests per second and latency percentiles for reading a case page under concurrent load, on
//! SQLite and PostgreSQL. Every read is authorized by the policy engine and appends an audit entry
//! (SEC-04), so this measures the whole path, including a durable write per request.
//!
//! On PostgreSQL it also runs against two and three nodes of one deployment (one database, the
//! clients spread over the nodes, all in this process as on a single machine). A second mix has
//! every client take in camera originals (a small real JPEG, unique per request). A third is
//! search-heavy: facial recognition searches of the photo repository (real faces of the
//! development set, the active algorithm), each on its own request for analysis prepared before
//! the clock starts (a request is searched once, FR-08); each search detects and embeds the
//! probe, searches the index and records the candidate pool with its audit entry.
//!
//! `cargo bench -p probity-server --bench http_load` (env: BENCH_SECONDS, BENCH_CONCURRENCY,
//! BENCH_MIX=reads,intakes,searches to choose mixes, BENCH_SEARCH_REQUESTS requests prepared for
//! the search mix, default 240).

#[path = "support/postgres.rs"]
mod postgres;

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
    /// Search the photo repository, each time for another prepared request for analysis.
    Searches,
}

impl Mix {
    fn label(self) -> &'static str {
        match self {
            Mix::CaseReads => "case reads",
            Mix::Intakes => "evidence intakes",
            Mix::Searches => "FR searches",
        }
    }
}

const CASE: &str = "2026-019-000101";

fn shared_data() -> std::path::PathBuf {
    std::env::var("PROBITY_TEST_DATA")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
        })
}

/// The repository of the search mix: the first 300 identities of the development faces with at
/// least three images (image 2 enrolled; image 1 of each is a probe).
fn identities() -> Vec<String> {
    let lfw = shared_data().join("faces").join("lfw");
    probity_server::fr::identities_with_three_images(&lfw, 300)
}

fn lfw_file(name: &str, n: u32) -> Vec<u8> {
    let p = shared_data()
        .join("faces")
        .join("lfw")
        .join(name)
        .join(format!("{name}_{n:04}.jpg"));
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e} (set PROBITY_TEST_DATA)", p.display()))
}

async fn signed_in(url: &str, user: &str) -> reqwest::Client {
    let c = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client");
    let r = c
        .post(format!("{url}/api/session"))
        .json(&serde_json::json!({"username": user, "password": demo::DEMO_PASSWORD}))
        .send()
        .await
        .expect("sign in");
    assert!(r.status().is_success(), "sign in {user}: {}", r.status());
    c
}

/// Imports image 2 of each identity as an arrest photograph (the records officer, one import).
async fn fill_repository(url: &str, names: &[String]) {
    let rec = signed_in(url, "rec.lopez").await;
    let mut manifest = String::from("file,subject_id,source,arrest_id,photo_date\n");
    let mut form = reqwest::multipart::Form::new();
    for (i, name) in names.iter().enumerate() {
        let file = format!("photo{i:04}.jpg");
        manifest.push_str(&format!(
            "{file},S-{:04},arrest,A-{:04},2021-03-{:02}\n",
            i + 1,
            i + 1,
            i % 27 + 1
        ));
        form = form.part(
            "file",
            reqwest::multipart::Part::bytes(lfw_file(name, 2)).file_name(file),
        );
    }
    let r = rec
        .post(format!("{url}/api/fr/gallery/import"))
        .multipart(form.text("manifest", manifest))
        .send()
        .await
        .expect("import");
    assert!(r.status().is_success(), "import: {}", r.status());
}

/// A request for analysis with image 1 of `name` as its still, taken to where it may be searched
/// (basis confirmed, quality checked, the use discussed), as the investigator, the FR
/// investigator and the supervisor.
async fn ready_to_search(
    url: &str,
    [rivera, chen, haddad]: &[reqwest::Client; 3],
    name: &str,
) -> String {
    let form = reqwest::multipart::Form::new()
        .text("authorized_use", "suspect")
        .part(
            "still_0",
            reqwest::multipart::Part::bytes(lfw_file(name, 1)).file_name("still.jpg"),
        )
        .text("source_0", "cctv");
    let r = rivera
        .post(format!("{url}/api/cases/{CASE}/fr-requests"))
        .multipart(form)
        .send()
        .await
        .expect("request");
    assert!(r.status().is_success(), "request: {}", r.status());
    let body: serde_json::Value = r.json().await.expect("request body");
    let id = body["id"].as_str().expect("request id").to_string();
    let base = format!("{url}/api/fr/requests/{id}");
    for (c, path, body) in [
        (chen, "confirm-basis", serde_json::json!({})),
        (
            chen,
            "quality",
            serde_json::json!({"selected_probe": 0, "suitable": true, "reasons": ["one frontal face"]}),
        ),
        (
            haddad,
            "discussion",
            serde_json::json!({"note": "suspect in a robbery on CCTV; use (1) discussed"}),
        ),
    ] {
        let r = c
            .post(format!("{base}/{path}"))
            .json(&body)
            .send()
            .await
            .expect(path);
        assert!(r.status().is_success(), "{path}: {}", r.status());
    }
    id
}

/// Fills the repository and prepares `n` requests ready to search, eight at a time.
async fn prepare_searches(url: &str, n: usize) -> Vec<String> {
    let names = identities();
    assert!(
        names.len() >= 2,
        "no development faces under {}",
        shared_data().display()
    );
    fill_repository(url, &names).await;
    let clients = std::sync::Arc::new([
        signed_in(url, "det.rivera").await,
        signed_in(url, "fri.chen").await,
        signed_in(url, "sgt.haddad").await,
    ]);
    let mut ids = Vec::with_capacity(n);
    for chunk in (0..n).collect::<Vec<_>>().chunks(8) {
        let batch: Vec<_> = chunk
            .iter()
            .map(|i| {
                let (url, clients, name) = (
                    url.to_string(),
                    clients.clone(),
                    names[i % names.len()].clone(),
                );
                tokio::spawn(async move { ready_to_search(&url, &clients, &name).await })
            })
            .collect();
        for t in batch {
            ids.push(t.await.expect("prepare"));
        }
    }
    ids
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
    // Searches are the FR investigator's; reads and intakes the case investigator's.
    let client = signed_in(
        &urls[0],
        if mix == Mix::Searches {
            "fri.chen"
        } else {
            "det.rivera"
        },
    )
    .await;
    let searches = if mix == Mix::Searches {
        let n = std::env::var("BENCH_SEARCH_REQUESTS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(240);
        let prepared = Instant::now();
        let ids = prepare_searches(&urls[0], n).await;
        eprintln!(
            "{label}: {n} requests prepared in {:.1} s",
            prepared.elapsed().as_secs_f64()
        );
        ids
    } else {
        Vec::new()
    };
    let searches = std::sync::Arc::new(std::sync::Mutex::new(searches));
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
    let started = Instant::now();
    let end = started + Duration::from_secs(seconds);
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
        let node = urls[i % urls.len()].clone();
        let searches = searches.clone();
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
                    Mix::Searches => {
                        let next = searches.lock().ok().and_then(|mut q| q.pop());
                        let Some(id) = next else {
                            break; // every prepared request has been searched
                        };
                        c.post(format!("{node}/api/fr/requests/{id}/search"))
                            .json(&serde_json::json!({}))
                            .send()
                            .await
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
            (lat, errors, Instant::now())
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    let mut last = started;
    for t in tasks {
        let (l, e, finished) = t.await.expect("task");
        all.extend(l);
        errors += e;
        last = last.max(finished);
    }
    // The search mix may run out of prepared requests before the time is up.
    let seconds = last
        .duration_since(started)
        .as_secs_f64()
        .min(seconds as f64);
    all.sort();
    let n = all.len();
    let pct = |p: f64| {
        all.get(((n as f64 * p) as usize).min(n.saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    println!(
        "{label}: {n} {} in {seconds:.1} s = {:.1} req/s ({:.1} per node), p50 {:.2} ms, p99 {:.2} ms, errors {errors} (concurrency {concurrency}, {nodes} node{})",
        mix.label(),
        n as f64 / seconds,
        n as f64 / seconds / nodes as f64,
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        if nodes == 1 { "" } else { "s" },
    );
}

/// A fresh database for one run: its name and URL.
fn main() {
    let seconds = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let concurrency = std::env::var("BENCH_CONCURRENCY")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(32);
    let chosen = std::env::var("BENCH_MIX").unwrap_or_else(|_| "reads,intakes,searches".into());
    let mixes: Vec<Mix> = chosen
        .split(',')
        .map(|m| match m.trim() {
            "reads" => Mix::CaseReads,
            "intakes" => Mix::Intakes,
            "searches" => Mix::Searches,
            other => panic!("BENCH_MIX: unknown mix {other:?} (reads, intakes, searches)"),
        })
        .collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        for mix in mixes {
            run("sqlite", None, seconds, concurrency, 1, mix).await;
            for nodes in 1..=3 {
                match postgres::fresh_postgres("load").await {
                    Some((name, url)) => {
                        run("postgres", Some(url), seconds, concurrency, nodes, mix).await;
                        postgres::drop_postgres(&name).await;
                    }
                    None => println!("postgres: skipped, PostgreSQL not reachable"),
                }
            }
        }
    });
}
