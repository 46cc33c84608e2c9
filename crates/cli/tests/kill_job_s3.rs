//! A job taken over after its node is killed (FR-23, SEC-04): two `probity` nodes on one
//! PostgreSQL database and one S3 bucket (moto on loopback), with a short scheduler lease. Node A
//! starts re-templating the photo repository for a newly approved algorithm and is killed with
//! SIGKILL in the middle of it. Node B's scheduler takes the job over once A's lease expires and
//! finishes it from A's checkpoint: every record ends with exactly one template of the new
//! version, the templates A stored before it died are kept as they were, A's run is closed as
//! failed and B's succeeds, both nodes (A restarted) search with the new version, every blob the
//! database references is in the bucket and decrypts, and `probity audit verify` passes.

#[path = "../../store/tests/s3_server/mod.rs"]
mod s3_server;

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{BucketNode, TwoNodes};
use serde_json::{json, Value};

const BUCKET: &str = "probity-jobs";
const FACENET: &str = "facenet-512@2";
/// Repository photos: enough 4-record batches that the kill lands mid-job.
const PHOTOS: usize = 48;
/// The scheduler lease of both nodes, in seconds: A's claim expires this long after it died.
const LEASE_SECS: &str = "6";

fn start(command: &str, data_dir: &Path, database_url: &str, blob_url: &str) -> BucketNode {
    BucketNode::start(
        command,
        data_dir,
        database_url,
        blob_url,
        &[("PROBITY_SCHEDULER_LEASE_SECS", LEASE_SECS)],
    )
}

fn lfw() -> PathBuf {
    let base = std::env::var("PROBITY_TEST_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    let lfw = base.join("faces").join("lfw");
    assert!(
        lfw.is_dir(),
        "test data missing: {} does not exist; set PROBITY_TEST_DATA to the shared data folder",
        lfw.display()
    );
    lfw
}

/// Image 2 of each of the first `n` identities (alphabetically) with at least three images.
fn repository_photos(n: usize) -> Vec<(String, Vec<u8>)> {
    let lfw = lfw();
    probity_server::fr::identities_with_three_images(&lfw, n)
        .into_iter()
        .map(|name| {
            let p = lfw.join(&name).join(format!("{name}_0002.jpg"));
            let bytes =
                std::fs::read(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()));
            (name, bytes)
        })
        .collect()
}

/// Imports the photos as arrest photographs through `POST /api/fr/gallery/import`.
fn import(url: &str, photos: &[(String, Vec<u8>)]) {
    let rec = common::sign_in(url, "rec.lopez");
    let mut manifest = String::from("file,subject_id,source,arrest_id,photo_date\n");
    let files: Vec<(String, &[u8])> = photos
        .iter()
        .enumerate()
        .map(|(i, (_, bytes))| (format!("photo{i:03}.jpg"), bytes.as_slice()))
        .collect();
    for (i, (file, _)) in files.iter().enumerate() {
        manifest.push_str(&format!(
            "{file},S-{:04},arrest,A-{:04},2021-03-{:02}\n",
            i + 1,
            i + 1,
            i % 27 + 1
        ));
    }
    let parts: Vec<(&str, &str, &[u8])> = files
        .iter()
        .map(|(f, b)| ("file", f.as_str(), *b))
        .collect();
    let r = common::post_multipart(
        &rec,
        &format!("{url}/api/fr/gallery/import"),
        &[("manifest", manifest.as_str())],
        &parts,
    )
    .expect("import");
    let status = r.status().as_u16();
    let body: Value = r.json().unwrap_or(Value::Null);
    assert_eq!(status, 200, "import: {body}");
    assert_eq!(body["imported"], photos.len(), "import: {body}");
}

fn send(c: &reqwest::blocking::Client, url: String, body: Value) -> (u16, Value) {
    let r = c
        .post(&url)
        .json(&body)
        .send()
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    let s = r.status().as_u16();
    (s, r.json().unwrap_or(Value::Null))
}

fn get(c: &reqwest::blocking::Client, url: String) -> Value {
    let r = c.get(&url).send().unwrap_or_else(|e| panic!("{url}: {e}"));
    assert_eq!(r.status().as_u16(), 200, "{url}");
    r.json().unwrap_or(Value::Null)
}

/// FaceNet's evaluation record (the figures `probity eval` gives on the development faces),
/// then its activation proposed by the administrator and approved by the Deputy Commissioner of
/// Intelligence and Counterterrorism: the approval starts the re-templating job on `url`'s node.
fn approve_facenet(url: &str) {
    let admin = common::sign_in(url, "admin");
    // The figures `probity eval` gives on the development faces, shared with the server tests.
    let record: Value = serde_json::from_str(include_str!(
        "../../server/tests/fixtures/facenet_evaluation.json"
    ))
    .expect("facenet_evaluation.json");
    let (s, b) = send(
        &admin,
        format!("{url}/api/fr/algorithms/{FACENET}/evaluation"),
        record,
    );
    assert_eq!(s, 201, "evaluation: {b}");
    let (s, b) = send(
        &admin,
        format!("{url}/api/fr/algorithms/{FACENET}/activation"),
        json!({"reason": "better evaluation figures (FR-23 review 2026-12)"}),
    );
    assert_eq!(s, 201, "proposal: {b}");
    let dci = common::sign_in(url, "dci.nolan");
    let (s, b) = send(
        &dci,
        format!("{url}/api/fr/algorithms/{FACENET}/activation/approve"),
        json!({"reason": "evaluation reviewed; gate met"}),
    );
    assert_eq!(s, 200, "approval: {b}");
    assert_eq!(b["state"], "retemplating", "approval: {b}");
}

/// Each record's FaceNet template (record number, MD5 of the stored template and when it was
/// stored), read from the database, ordered by record.
fn facenet_templates(database_url: &str) -> Vec<(i64, String)> {
    let out = Command::new("psql")
        .args([
            database_url,
            "-X",
            "-At",
            "-F",
            " ",
            "-c",
            &format!(
                "SELECT record_no, md5(template) || ':' || created_at FROM fr_templates \
                 WHERE algorithm = '{FACENET}' ORDER BY record_no"
            ),
        ])
        .output()
        .expect("psql");
    assert!(
        out.status.success(),
        "reading the templates: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(r, h)| (r.parse().expect("record number"), h.to_string()))
        .collect()
}

#[test]
fn fr_23_retemplating_killed_mid_job_is_finished_once_by_another_node() {
    let s3 = s3_server::S3Server::start();
    s3.create_bucket(BUCKET);
    let blob_url = format!("s3://{BUCKET}/deployment");
    let TwoNodes {
        database_url,
        dir_a,
        a,
        dir_b: _dir_b,
        b,
    } = common::two_nodes_on_bucket(&blob_url, &[("PROBITY_SCHEDULER_LEASE_SECS", LEASE_SECS)]);
    import(&a.url, &repository_photos(PHOTOS));

    // A takes the job with the approval; it is killed once some, not all, records have their
    // FaceNet template.
    approve_facenet(&a.url);
    let deadline = Instant::now() + Duration::from_secs(300);
    let at_kill = loop {
        let done = facenet_templates(&database_url);
        if done.len() >= 8 {
            break done;
        }
        assert!(
            Instant::now() < deadline,
            "re-templating on node A made no progress: {} templates",
            done.len()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(a); // SIGKILL
    let at_kill = {
        // Templates committed between the read above and the kill belong to A's work too.
        let now = facenet_templates(&database_url);
        assert!(now.len() >= at_kill.len());
        now
    };
    assert!(
        at_kill.len() < PHOTOS,
        "node A finished before it was killed ({} of {PHOTOS}): nothing was left to take over",
        at_kill.len()
    );
    eprintln!(
        "node A killed with {} of {PHOTOS} records templated",
        at_kill.len()
    );

    // B's scheduler takes the job over after A's lease expires and switches to FaceNet.
    let admin_b = common::sign_in(&b.url, "admin");
    let deadline = Instant::now() + Duration::from_secs(300);
    let overview = loop {
        let o = get(&admin_b, format!("{}/api/fr/algorithms", b.url));
        if o["active"] == FACENET {
            break o;
        }
        assert!(
            Instant::now() < deadline,
            "node B never finished the re-templating: {o}"
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    let after = facenet_templates(&database_url);
    assert_eq!(
        after.len(),
        PHOTOS,
        "one FaceNet template per record: {overview}"
    );
    for t in &at_kill {
        assert!(
            after.contains(t),
            "node A's template of record {} was redone or lost",
            t.0
        );
    }

    // The job ran once at a time: A's run is closed as failed when B claimed it, B's succeeded.
    let runs = get(
        &admin_b,
        format!("{}/api/operations/runs?limit=20&job=fr.retemplate", b.url),
    );
    let runs = runs["runs"].as_array().cloned().unwrap_or_default();
    let dead: Vec<&Value> = runs.iter().filter(|r| r["outcome"] == "failed").collect();
    let switched: Vec<&Value> = runs
        .iter()
        .filter(|r| r["summary"]["activations"][0]["switched"] == true)
        .collect();
    assert!(
        dead.len() == 1 && switched.len() == 1,
        "node A's run closed as failed and one run that switched: {runs:?}"
    );
    assert!(
        dead[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("lease expired")),
        "{runs:?}"
    );
    assert_ne!(
        switched[0]["node"], dead[0]["node"],
        "the run that finished is another node's: {runs:?}"
    );
    assert_eq!(
        switched[0]["summary"]["activations"][0]["templated"], PHOTOS,
        "{runs:?}"
    );

    // A restarted searches with the new version too.
    let a = start("serve", dir_a.path(), &database_url, &blob_url);
    let admin_a = common::sign_in(&a.url, "admin");
    let o = get(&admin_a, format!("{}/api/fr/algorithms", a.url));
    assert_eq!(o["active"], FACENET, "node A after restart: {o}");

    let blobs = s3.run(common::every_blob_decrypts(
        dir_a.path(),
        &database_url,
        &blob_url,
    ));
    assert!(blobs >= PHOTOS, "{blobs} blobs");
    drop(a);
    drop(b);
    common::audit_verifies_offline(dir_a.path(), Some(&database_url));
    common::drop_postgres_database(&database_url);
}
