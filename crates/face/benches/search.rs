//! Gallery search at scale, against FAISS in the same run.
//!
//! Data: the real LFW templates of `probity eval` (its embedding cache, dlib-resnet-v1, 6,922
//! templates) plus perturbed copies up to N (default 1,000,000): copy = normalise(t + e), where t is
//! a real template chosen round-robin and e is Gaussian noise with norm drawn uniformly in
//! [0.35, 0.75] (cosine to its source about 0.80–0.94, like other photos of the same person).
//! Queries: 200 real templates with fresh noise of norm 0.5 (new photos of enrolled people).
//!
//! Measures exact-search p50/p99 (top 50), the memory-bandwidth bound of the scan, approximate
//! p50 against recall@50 (partition: IVF lists; graph: HNSW) up to recall 0.99 against exact,
//! memory per template; then runs crates/face/bench/faiss_search.py (FAISS IndexFlatIP,
//! IndexIVFFlat with the same list count, IndexHNSWFlat with the same M and efConstruction) on
//! the same matrix and prints the ratios, at equal recall for the approximate indexes.
//!
//! Run: `cargo bench -p probity-face --bench search` (after `probity eval --algorithm dlib-resnet-v1`).
//! Env: BENCH_N (gallery size), BENCH_QUERIES, BENCH_LISTS (partition lists) and BENCH_TRAIN
//! (rows k-means is trained on; defaults: `IvfParams::for_gallery`),
//! BENCH_M and BENCH_EFC (graph parameters), BENCH_SKIP_GRAPH (no HNSW, here or in FAISS),
//! BENCH_EXACT_ONLY (stop after the exact scan and the fused algorithm), BENCH_FUSION (the fused
//! algorithm beside dlib, default fusion-dlib-facenet; one configured in the file
//! PROBITY_FACE_MODELS names, such as fusion-dlib-sface, is registered from it),
//! PROBITY_EVAL_DIR (default .probity/eval), PROBITY_BENCH_PYTHON (default .venv/bin/python).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use probity_face::algorithm::{lookup, AlgorithmSpec, DLIB_RESNET_V1, FUSION_DLIB_FACENET};
use probity_face::eval::cache::EmbeddingCache;
use probity_face::index::{HnswParams, IvfParams};
use probity_face::{
    GalleryIndex, ProbeTemplate, RecordId, RepositoryTemplate, SearchMode, SearchRequest,
};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn uniform(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn gauss(&mut self) -> f64 {
        let (u, v) = (self.uniform().max(1e-12), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

fn perturb(t: &[f32], norm: f64, rng: &mut Rng) -> Vec<f32> {
    let e: Vec<f64> = (0..t.len()).map(|_| rng.gauss()).collect();
    let en = e.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-9);
    let mut v: Vec<f32> = t
        .iter()
        .zip(&e)
        .map(|(a, b)| a + (b / en * norm) as f32)
        .collect();
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= n);
    v
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn write_npy(
    path: &Path,
    rows: usize,
    dim: usize,
    data: &mut dyn Iterator<Item = f32>,
) -> std::io::Result<()> {
    let mut f = std::io::BufWriter::with_capacity(1 << 22, std::fs::File::create(path)?);
    let mut header =
        format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {dim}), }}");
    let total = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - total % 64) % 64));
    header.push('\n');
    f.write_all(b"\x93NUMPY\x01\x00")?;
    f.write_all(&(header.len() as u16).to_le_bytes())?;
    f.write_all(header.as_bytes())?;
    for x in data {
        f.write_all(&x.to_le_bytes())?;
    }
    f.flush()
}

/// Single-thread and all-core sequential read bandwidth over a 512 MiB buffer, bytes/s.
fn read_bandwidth() -> (f64, f64) {
    let words: usize = 64 << 20; // 512 MiB of u64
    let buf: Vec<u64> = (0..words as u64).collect();
    let sum_part = |s: &[u64]| s.iter().fold(0u64, |a, b| a.wrapping_add(*b));
    let mut best1 = 0f64;
    for _ in 0..3 {
        let t = Instant::now();
        std::hint::black_box(sum_part(&buf));
        best1 = best1.max((words * 8) as f64 / t.elapsed().as_secs_f64());
    }
    let threads = std::thread::available_parallelism().map_or(1, |p| p.get());
    let mut bestn = 0f64;
    for _ in 0..3 {
        let t = Instant::now();
        std::thread::scope(|s| {
            for c in buf.chunks(words.div_ceil(threads)) {
                s.spawn(move || std::hint::black_box(sum_part(c)));
            }
        });
        bestn = bestn.max((words * 8) as f64 / t.elapsed().as_secs_f64());
    }
    (best1, bestn)
}

fn main() {
    let n: usize = std::env::var("BENCH_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let nq: usize = std::env::var("BENCH_QUERIES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let k = 50;
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let eval_dir = std::env::var_os("PROBITY_EVAL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo.join(".probity/eval"));
    let spec: &'static AlgorithmSpec = lookup(DLIB_RESNET_V1).expect("registered");
    let cache_path = eval_dir.join(format!("embeddings-{}-{}.bin", spec.name, spec.version));
    let cache = match EmbeddingCache::load(&cache_path, &spec.id()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!(
                "{e}\nrun `probity eval --algorithm dlib-resnet-v1` first (it writes {})",
                cache_path.display()
            );
            std::process::exit(2);
        }
    };
    let mut real: Vec<(String, Vec<f32>)> = cache
        .entries
        .iter()
        .map(|(r, (v, _))| (r.rel_path(), v.clone()))
        .collect();
    real.sort_by(|a, b| a.0.cmp(&b.0));
    let real: Vec<Vec<f32>> = real.into_iter().map(|x| x.1).collect();
    let dim = spec.dimension;
    println!(
        "search benchmark: {n} templates ({} real LFW + perturbed copies), {nq} queries, top {k}",
        real.len()
    );

    // Gallery.
    let t0 = Instant::now();
    let mut rng = Rng(0x9e3779b97f4a7c15);
    let mut index = GalleryIndex::new(spec);
    let mut matrix: Vec<f32> = Vec::with_capacity(n * dim);
    for i in 0..n {
        let v = if i < real.len() {
            real[i].clone()
        } else {
            let norm = 0.35 + 0.40 * rng.uniform();
            perturb(&real[i % real.len()], norm, &mut rng)
        };
        matrix.extend_from_slice(&v);
        let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        let t =
            RepositoryTemplate::from_stored(RecordId(i as u64), spec, &bytes).expect("template");
        index.add(t).expect("add");
    }
    let queries: Vec<Vec<f32>> = (0..nq)
        .map(|i| perturb(&real[(i * 7919) % real.len()], 0.5, &mut rng))
        .collect();
    println!("  gallery built in {:.1}s", t0.elapsed().as_secs_f64());

    // Exact.
    let exact = SearchRequest {
        top_k: k,
        mode: SearchMode::Exact,
    };
    let probes: Vec<ProbeTemplate> = queries
        .iter()
        .map(|q| ProbeTemplate::from_embedding(spec, q.clone()).expect("probe"))
        .collect();
    let mut lat = Vec::new();
    let mut truth = Vec::new();
    for p in &probes {
        let t = Instant::now();
        let r = index.search(p, &exact, &|_| true).expect("search");
        lat.push(t.elapsed().as_secs_f64() * 1e3);
        truth.push(
            r.candidates
                .iter()
                .map(|c| c.record)
                .collect::<std::collections::HashSet<_>>(),
        );
    }
    let exact_p50 = pct(&mut lat.clone(), 0.5);
    let exact_p99 = pct(&mut lat, 0.99);
    let (bw1, bwn) = read_bandwidth();
    let matrix_bytes = (n * (dim + 4)) as f64;
    let bound_ms = matrix_bytes / bwn * 1e3;
    println!(
        "  exact (i8 scan, {} threads): p50 {exact_p50:.2} ms, p99 {exact_p99:.2} ms; memory-bandwidth bound {bound_ms:.2} ms \
         ({:.1} GB/s all cores, {:.1} GB/s one core) -> {:.2}x the bound",
        std::thread::available_parallelism().map_or(1, |p| p.get()),
        bwn / 1e9,
        bw1 / 1e9,
        exact_p50 / bound_ms
    );

    fused(n, nq, k, &eval_dir, exact_p50, index.bytes_per_template());

    if std::env::var_os("BENCH_EXACT_ONLY").is_some() {
        return;
    }

    let env_usize = |k: &str, d: usize| {
        std::env::var(k)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(d)
    };
    // recall@50 against the exact pools and p50 latency of one approximate mode.
    let measure = |index: &GalleryIndex, mode: SearchMode| {
        let req = SearchRequest { top_k: k, mode };
        let mut lat = Vec::new();
        let mut hit = 0usize;
        for (p, tr) in probes.iter().zip(&truth) {
            let t = Instant::now();
            let r = index.search(p, &req, &|_| true).expect("search");
            lat.push(t.elapsed().as_secs_f64() * 1e3);
            hit += r
                .candidates
                .iter()
                .filter(|c| tr.contains(&c.record))
                .count();
        }
        (hit as f64 / (k * probes.len()) as f64, pct(&mut lat, 0.5))
    };
    // (parameter, recall, p50) points, stopping at the first with recall >= 0.99.
    let sweep = |index: &GalleryIndex, mode: &dyn Fn(usize) -> SearchMode, values: &[usize]| {
        let mut curve = Vec::new();
        for &v in values {
            let (recall, p50) = measure(index, mode(v));
            let rows: usize = probes
                .iter()
                .filter_map(|p| match mode(v) {
                    SearchMode::Partitioned { probes } => index.partition_rows_probed(p, probes),
                    _ => None,
                })
                .sum();
            let scanned = if rows > 0 {
                format!(
                    ", {:.0} rows scanned per query",
                    rows as f64 / probes.len() as f64
                )
            } else {
                String::new()
            };
            println!(
                "    {:?}: recall@50 {recall:.4}, p50 {p50:.3} ms{scanned}",
                mode(v)
            );
            curve.push((v, recall, p50));
            if recall >= 0.99 {
                break;
            }
        }
        curve
    };
    let at_099 = |curve: &[(usize, f64, f64)]| curve.iter().copied().find(|p| p.1 >= 0.99);

    // Approximate, partitioned (IVF).
    let mut ivf_params = IvfParams::for_gallery(n);
    ivf_params.lists = env_usize("BENCH_LISTS", ivf_params.lists);
    ivf_params.training_rows = env_usize("BENCH_TRAIN", ivf_params.training_rows);
    let t = Instant::now();
    index.build_partition(ivf_params, &mut |d, total| {
        eprint!("\r  building partition {d}/{total}");
    });
    eprintln!();
    let ivf_build_s = t.elapsed().as_secs_f64();
    let ivf_bytes = index.bytes_per_template();
    println!(
        "  partition ({} lists, k-means on {} rows, {} iterations) built in {ivf_build_s:.1}s; \
         memory {ivf_bytes:.0} B/template",
        ivf_params.lists, ivf_params.training_rows, ivf_params.iterations
    );
    let ivf_curve = sweep(
        &index,
        &|probes| SearchMode::Partitioned { probes },
        &[
            1, 2, 4, 8, 16, 32, 64, 128, 192, 256, 288, 320, 384, 448, 512, 768, 1024,
        ],
    );

    // Approximate, graph (HNSW).
    let skip_graph = std::env::var_os("BENCH_SKIP_GRAPH").is_some();
    let params = HnswParams {
        m: env_usize("BENCH_M", HnswParams::default().m),
        ef_construction: env_usize("BENCH_EFC", HnswParams::default().ef_construction),
        seed: 7,
    };
    let mut graph_curve = Vec::new();
    let mut build_s = f64::NAN;
    if !skip_graph {
        let t = Instant::now();
        index.build_graph(params, &mut |d, total| {
            if d % 100_000 == 0 || d == total {
                eprint!("\r  building HNSW {d}/{total}");
            }
        });
        eprintln!();
        build_s = t.elapsed().as_secs_f64();
        println!(
            "  HNSW (M={}, efConstruction={}) built in {build_s:.0}s; memory {:.0} B/template \
             (matrix and graph); nodes without an in-link: {}",
            params.m,
            params.ef_construction,
            index.bytes_per_template() - ivf_bytes + (dim + 12) as f64,
            index.unreachable_in_graph().unwrap_or(0)
        );
        graph_curve = sweep(
            &index,
            &|ef| SearchMode::Approximate { ef },
            &[64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048],
        );
    }

    // Persistence: the whole index (matrix, partition, graph) saved, reloaded, and checked to
    // answer exactly as before.
    let file = tempfile::Builder::new()
        .prefix("probity-search-bench-")
        .tempdir()
        .expect("temporary directory");
    let path = file.path().join("gallery.idx");
    let t = Instant::now();
    index.save(&path).expect("save");
    let save_s = t.elapsed().as_secs_f64();
    let size = std::fs::metadata(&path).map_or(0, |m| m.len());
    let t = Instant::now();
    let loaded = GalleryIndex::load(&path).expect("load");
    let load_s = t.elapsed().as_secs_f64();
    let same = probes.iter().all(|p| {
        let a = index.search(p, &exact, &|_| true).expect("search");
        let b = loaded.search(p, &exact, &|_| true).expect("search");
        a.candidates
            .iter()
            .map(|c| (c.record, c.score.to_bits()))
            .eq(b.candidates.iter().map(|c| (c.record, c.score.to_bits())))
    });
    assert!(same, "the reloaded index answers differently");
    println!(
        "  persistence: {:.0} MB saved (fsync included) in {save_s:.2}s, loaded in {load_s:.2}s \
         ({:.0} MB/s); the reloaded index gives the same exact results",
        size as f64 / 1e6,
        size as f64 / 1e6 / load_s
    );
    // Free the second copy and the file before FAISS loads its own.
    drop(loaded);
    drop(file);

    // FAISS on the same data.
    let tmp = std::env::temp_dir().join("probity-face-bench");
    std::fs::create_dir_all(&tmp).expect("tmp");
    let (gpath, qpath) = (tmp.join("gallery.npy"), tmp.join("queries.npy"));
    write_npy(&gpath, n, dim, &mut matrix.iter().copied()).expect("npy");
    drop(matrix);
    write_npy(&qpath, nq, dim, &mut queries.iter().flatten().copied()).expect("npy");
    let python = std::env::var("PROBITY_BENCH_PYTHON")
        .unwrap_or_else(|_| repo.join(".venv/bin/python").display().to_string());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/faiss_search.py");
    let out = Command::new(&python)
        .arg(&script)
        .arg(&gpath)
        .arg(&qpath)
        .arg(k.to_string())
        .arg(if skip_graph { 0 } else { params.m }.to_string())
        .arg(params.ef_construction.to_string())
        .arg(ivf_params.lists.to_string())
        .arg(ivf_params.training_rows.to_string())
        .output();
    let faiss: Option<serde_json::Value> = match out {
        Ok(o) if o.status.success() => serde_json::from_slice(&o.stdout).ok(),
        Ok(o) => {
            eprintln!("FAISS run failed: {}", String::from_utf8_lossy(&o.stderr));
            None
        }
        Err(e) => {
            eprintln!("cannot run {python}: {e} (scripts/setup installs faiss-cpu into .venv)");
            None
        }
    };
    let _ = std::fs::remove_file(&gpath);
    let _ = std::fs::remove_file(&qpath);
    let Some(f) = faiss else {
        println!("  FAISS: not run");
        return;
    };
    let get = |k: &str| f.get(k).and_then(|v| v.as_f64()).unwrap_or(f64::NAN);
    println!(
        "  FAISS IndexFlatIP (f32, {} threads): p50 {:.2} ms, p99 {:.2} ms; memory {:.0} B/template",
        get("threads"),
        get("flat_p50_ms"),
        get("flat_p99_ms"),
        (dim * 4) as f64
    );
    // FAISS curves as (parameter, recall, p50) points.
    let curve_of = |key: &str| -> Vec<(usize, f64, f64)> {
        f.get(key)
            .and_then(|c| c.as_array())
            .map(|pts| {
                pts.iter()
                    .filter_map(|p| {
                        let p = p.as_array()?;
                        Some((
                            p.first()?.as_u64()? as usize,
                            p.get(1)?.as_f64()?,
                            p.get(2)?.as_f64()?,
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let faiss_ivf = curve_of("ivf_curve");
    let faiss_hnsw = curve_of("hnsw_curve");
    for (v, r, p50) in &faiss_ivf {
        println!("  FAISS IndexIVFFlat nprobe={v}: recall@50 {r:.4}, p50 {p50:.3} ms");
    }
    println!(
        "  FAISS IndexIVFFlat ({} lists) built in {:.1}s",
        ivf_params.lists,
        get("ivf_build_s")
    );
    for (v, r, p50) in &faiss_hnsw {
        println!("  FAISS IndexHNSWFlat efSearch={v}: recall@50 {r:.4}, p50 {p50:.3} ms");
    }
    if !faiss_hnsw.is_empty() {
        println!(
            "  FAISS IndexHNSWFlat (M={}, efConstruction={}) built in {:.0}s",
            params.m,
            params.ef_construction,
            get("hnsw_build_s")
        );
    }
    println!("RATIOS (probity / FAISS; < 1 = faster):");
    println!(
        "  exact p50: {:.2}   exact p99: {:.2}",
        exact_p50 / get("flat_p50_ms"),
        exact_p99 / get("flat_p99_ms")
    );
    // At equal recall: each FAISS point against the fastest Probity point reaching its recall.
    let equal_recall = |ours: &[(usize, f64, f64)], theirs: &[(usize, f64, f64)], what: &str| {
        if let Some(&(tv, tr, tp)) = theirs.iter().max_by(|a, b| a.1.total_cmp(&b.1)) {
            match ours.iter().find(|p| p.1 >= tr) {
                Some(&(ov, or, op)) => println!(
                    "  {what} at FAISS's best recall {tr:.4} (its parameter {tv}, {tp:.3} ms): \
                     probity {op:.3} ms (parameter {ov}, recall {or:.4}) -> {:.2}",
                    op / tp
                ),
                None => println!("  {what}: probity does not reach FAISS's best recall {tr:.4}"),
            }
        }
    };
    equal_recall(&ivf_curve, &faiss_ivf, "partition vs IndexIVFFlat");
    equal_recall(&ivf_curve, &faiss_hnsw, "partition vs IndexHNSWFlat");
    equal_recall(&graph_curve, &faiss_hnsw, "HNSW vs IndexHNSWFlat");
    for (name, curve) in [("partition", &ivf_curve), ("HNSW", &graph_curve)] {
        match at_099(curve) {
            Some((v, r, p50)) => println!(
                "  {name} at recall@50 >= 0.99: parameter {v}, recall {r:.4}, p50 {p50:.3} ms"
            ),
            None if curve.is_empty() => {}
            None => println!("  {name}: recall@50 0.99 not reached in the sweep"),
        }
    }
    println!(
        "  memory per template: {:.2} (exact), partition build time vs IndexIVFFlat {:.2}, \
         HNSW build time vs IndexHNSWFlat {:.2}",
        (dim + 12) as f64 / (dim * 4) as f64,
        ivf_build_s / get("ivf_build_s"),
        build_s / get("hnsw_build_s")
    );
}

/// The fused algorithm beside the single one: the same gallery size built from both networks'
/// real LFW templates (each component perturbed as above, then fused with the registered
/// parameters); exact search two-pass (first pass on the dlib columns, shortlist rescored) and
/// over the whole row, their agreement, p50 against the dlib exact p50 of this run, and
/// memory per template. Skipped, saying so, without both components' caches.
fn fused(n: usize, nq: usize, k: usize, eval_dir: &Path, dlib_p50: f64, dlib_bytes: f64) {
    if let Some(conf) = std::env::var_os("PROBITY_FACE_MODELS") {
        probity_face::algorithm::register_from_file(Path::new(&conf))
            .expect("PROBITY_FACE_MODELS: register the configured models");
    }
    let name = std::env::var("BENCH_FUSION").unwrap_or_else(|_| FUSION_DLIB_FACENET.into());
    let spec: &'static AlgorithmSpec = lookup(&name).expect("BENCH_FUSION: a registered algorithm");
    let Some(fusion) = spec.fusion else { return };
    let [a, b] = fusion.component_specs().expect("components");
    let load = |s: &AlgorithmSpec| {
        let path = eval_dir.join(format!("embeddings-{}-{}.bin", s.name, s.version));
        EmbeddingCache::load(&path, &s.id()).map_err(|e| format!("{}: {e}", path.display()))
    };
    let (ca, cb) = match (load(a), load(b)) {
        (Ok(x), Ok(y)) => (x, y),
        (Err(e), _) | (_, Err(e)) => {
            println!(
                "  fused: skipped ({e}); run `probity eval --algorithm {}` first",
                spec.name
            );
            return;
        }
    };
    let mut keys: Vec<_> = ca
        .entries
        .keys()
        .filter(|r| cb.entries.contains_key(*r))
        .cloned()
        .collect();
    keys.sort();
    let real: Vec<(Vec<f32>, Vec<f32>)> = keys
        .iter()
        .filter_map(|r| Some((ca.entries.get(r)?.0.clone(), cb.entries.get(r)?.0.clone())))
        .collect();
    if real.is_empty() {
        println!("  fused: skipped (no image in both caches)");
        return;
    }
    let p = fusion.params;
    let mut rng = Rng(0x2545f4914f6cdd1d);
    let t0 = Instant::now();
    let mut two_pass = GalleryIndex::new(spec);
    let mut whole = GalleryIndex::new(spec);
    whole.disable_first_pass();
    for i in 0..n {
        let (x, y) = &real[i % real.len()];
        let v = if i < real.len() {
            p.fuse(x, y)
        } else {
            let norm = 0.35 + 0.40 * rng.uniform();
            p.fuse(&perturb(x, norm, &mut rng), &perturb(y, norm, &mut rng))
        };
        let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        let t =
            RepositoryTemplate::from_stored(RecordId(i as u64), spec, &bytes).expect("template");
        two_pass.add(t.clone()).expect("add");
        whole.add(t).expect("add");
    }
    println!(
        "  fused {}: gallery built in {:.1}s; memory {:.0} B/template (dlib alone {:.0})",
        spec.id(),
        t0.elapsed().as_secs_f64(),
        two_pass.bytes_per_template(),
        dlib_bytes
    );
    let probes: Vec<ProbeTemplate> = (0..nq)
        .map(|i| {
            let (x, y) = &real[(i * 7919) % real.len()];
            let v = p.fuse(&perturb(x, 0.5, &mut rng), &perturb(y, 0.5, &mut rng));
            ProbeTemplate::from_embedding(spec, v).expect("probe")
        })
        .collect();
    let req = SearchRequest {
        top_k: k,
        mode: SearchMode::Exact,
    };
    let run = |index: &GalleryIndex| {
        let mut lat = Vec::new();
        let mut lists = Vec::new();
        for q in &probes {
            let t = Instant::now();
            let r = index.search(q, &req, &|_| true).expect("search");
            lat.push(t.elapsed().as_secs_f64() * 1e3);
            let mut ids: Vec<u64> = r.candidates.iter().map(|c| c.record.0).collect();
            ids.sort_unstable();
            lists.push(ids);
        }
        (pct(&mut lat.clone(), 0.5), pct(&mut lat, 0.99), lists)
    };
    let (wp50, wp99, wlists) = run(&whole);
    println!(
        "    whole-row exact{}: p50 {wp50:.2} ms, p99 {wp99:.2} ms -> {:.2}x dlib exact",
        if fusion.first_pass {
            ""
        } else {
            " (registered)"
        },
        wp50 / dlib_p50
    );
    if !fusion.first_pass {
        // Registered without a first pass: the two-pass index below would scan whole rows too.
        return;
    }
    // The registered shortlist, then smaller ones: how large it must be to keep the top 50.
    let registered = fusion.shortlist(n);
    for rows in [registered, registered / 2, registered / 4, registered / 10] {
        two_pass.set_shortlist(Some(rows));
        let (tp50, tp99, tlists) = run(&two_pass);
        let same = tlists.iter().zip(&wlists).filter(|(a, b)| a == b).count();
        println!(
            "    two-pass exact, shortlist {rows} rows{}: p50 {tp50:.2} ms, p99 {tp99:.2} ms -> {:.2}x dlib exact; \
             top-{k} identical to the whole-row search for {same}/{} queries",
            if rows == registered { " (registered)" } else { "" },
            tp50 / dlib_p50,
            probes.len()
        );
    }
}
