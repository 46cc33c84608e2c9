//! How long a node takes to build its in-memory face index from the database at start (and after
//! a re-templating, or when it has missed too many changes), on SQLite and PostgreSQL, and how much
//! memory the index then holds: the figures behind the sizing in the README, "Running on many
//! nodes".
//!
//! The repository is filled with BENCH_TEMPLATES records (default 1,000,000), each with a
//! 128-D dlib-resnet-v1 template of random direction (the load does not depend on the values),
//! written straight into the tables in batches (blob rows without content: the load never reads a
//! photo). One record in a thousand is sealed. Then `fr::engine::load_index`, the function a node
//! runs, is timed twice; the process's resident memory is read before and after.
//!
//! `cargo bench -p probity-server --bench index_load` (env: BENCH_TEMPLATES, PROBITY_TEST_POSTGRES_URL).

#[path = "support/postgres.rs"]
mod postgres;

use std::time::Instant;

use probity_face::algorithm::lookup;
use probity_store::{Store, StoreConfig};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// A unit vector of `dim` components in random direction, as stored (little-endian f32).
fn template(rng: &mut Rng, dim: usize) -> Vec<u8> {
    let v: Vec<f32> = (0..dim)
        .map(|_| (rng.next() >> 40) as f32 / (1u64 << 24) as f32 - 0.5)
        .collect();
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
    v.iter().flat_map(|x| (x / n).to_le_bytes()).collect()
}

/// Resident memory of this process, in bytes.
fn rss() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

async fn fill(url: &str, n: usize, algorithm: &str, dim: usize) {
    let pool = sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .expect("connect");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let started = Instant::now();
    let batch = 500;
    let mut next = 0usize;
    while next < n {
        let end = (next + batch).min(n);
        let mut tx = pool.begin().await.expect("begin");
        for (table, cols, per_row) in [
            (
                "blobs",
                "id, object_path, sha256, size, media_type, created_by, created_at, master_key_id",
                8,
            ),
            ("fr_subjects", "id, created_at", 2),
            (
                "fr_records",
                "record_no, subject_id, source, arrest_id, photo_date, photo_blob, photo_sha256, \
                 sealed, created_by, created_at",
                10,
            ),
            (
                "fr_templates",
                "record_no, algorithm, template, created_at",
                4,
            ),
        ] {
            let mut sql = format!("INSERT INTO {table} ({cols}) VALUES ");
            for (k, _) in (next..end).enumerate() {
                if k > 0 {
                    sql.push(',');
                }
                sql.push('(');
                for c in 0..per_row {
                    if c > 0 {
                        sql.push(',');
                    }
                    sql.push_str(&format!("${}", k * per_row + c + 1));
                }
                sql.push(')');
            }
            let mut q = sqlx::query(&sql);
            for i in next..end {
                let id = format!("bench-{i:08}");
                q = match table {
                    "blobs" => q
                        .bind(id.clone())
                        .bind(format!("bench/{i}"))
                        .bind(format!("{i:064x}"))
                        .bind(0i64)
                        .bind("image/jpeg")
                        .bind("bench")
                        .bind(0i64)
                        .bind("bench"),
                    "fr_subjects" => q.bind(id).bind(0i64),
                    "fr_records" => q
                        .bind(i as i64 + 1)
                        .bind(id.clone())
                        .bind("arrest")
                        .bind(format!("A-{i}"))
                        .bind("2020-01-01")
                        .bind(id)
                        .bind(format!("{i:064x}"))
                        .bind(i64::from(i % 1000 == 999))
                        .bind("bench")
                        .bind(0i64),
                    _ => q
                        .bind(i as i64 + 1)
                        .bind(algorithm.to_string())
                        .bind(template(&mut rng, dim))
                        .bind(0i64),
                };
            }
            q.execute(&mut *tx).await.expect("insert");
        }
        tx.commit().await.expect("commit");
        next = end;
    }
    eprintln!(
        "  filled {n} records in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    pool.close().await;
}

async fn run(label: &str, database_url: Option<String>, n: usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("probity.db").display()));
    let store = match Store::open(StoreConfig::new(dir.path(), database_url)).await {
        Ok(s) => s,
        Err(e) => {
            println!("{label}: skipped, cannot open the store: {e}");
            return;
        }
    };
    let spec = lookup("dlib-resnet-v1@2").expect("dlib-resnet-v1@2 is registered");
    fill(&url, n, &spec.id().to_string(), spec.dimension).await;
    for attempt in 1..=2 {
        let before = rss();
        let started = Instant::now();
        let index = probity_server::fr::engine::load_index(&store, spec)
            .await
            .expect("load the index");
        let secs = started.elapsed().as_secs_f64();
        let held = rss().saturating_sub(before);
        println!(
            "{label}: index of {} templates loaded in {secs:.2} s ({:.0} templates/s, {:.0} s per 10 million); \
             resident memory +{:.0} MB ({:.0} B per template) [run {attempt}]",
            index.len(),
            index.len() as f64 / secs,
            secs / index.len().max(1) as f64 * 1e7,
            held as f64 / 1e6,
            held as f64 / index.len().max(1) as f64,
        );
        drop(index);
    }
    store.close().await;
}

fn main() {
    let n: usize = std::env::var("BENCH_TEMPLATES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        run("sqlite", None, n).await;
        match postgres::fresh_postgres("index").await {
            Some((name, url)) => {
                run("postgres", Some(url), n).await;
                postgres::drop_postgres(&name).await;
            }
            None => println!("postgres: skipped, PostgreSQL not reachable"),
        }
    });
}
