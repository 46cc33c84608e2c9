use super::*;
use crate::algorithm::{lookup, DLIB_RESNET_V1};

fn spec() -> &'static AlgorithmSpec {
    lookup(DLIB_RESNET_V1).expect("registered")
}

/// Deterministic pseudo-random unit vectors with cluster structure.
fn vectors(n: usize, dim: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut s = seed | 1;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        ((s >> 11) as f64 / (1u64 << 53) as f64) as f32 - 0.5
    };
    let centres: Vec<Vec<f32>> = (0..32)
        .map(|_| (0..dim).map(|_| next()).collect())
        .collect();
    (0..n)
        .map(|i| {
            let c = &centres[i % centres.len()];
            let mut v: Vec<f32> = c.iter().map(|x| x + 0.6 * next()).collect();
            crate::algorithm::l2_normalise(&mut v);
            v
        })
        .collect()
}

fn index_of(vs: &[Vec<f32>]) -> GalleryIndex {
    let mut idx = GalleryIndex::new(spec());
    for (i, v) in vs.iter().enumerate() {
        idx.add(
            RepositoryTemplate::enrol(RecordId(i as u64), spec(), v.clone()).expect("template"),
        )
        .expect("add");
    }
    idx
}

fn exact(k: usize) -> SearchRequest {
    SearchRequest {
        top_k: k,
        mode: SearchMode::Exact,
    }
}

#[test]
fn fr_08_exact_search_ranks_by_cosine_like_float_reference() {
    let vs = vectors(2000, 128, 7);
    let idx = index_of(&vs);
    let q = vs[5].clone();
    let probe = ProbeTemplate::new(spec(), q.clone()).expect("probe");
    let res = idx.search(&probe, &exact(10), &|_| true).expect("search");
    assert_eq!(res.candidates.len(), 10);
    assert_eq!(res.candidates[0].record, RecordId(5));
    assert!((res.candidates[0].score - 1.0).abs() < 0.02);
    // Float reference: the i8 top-10 must match the exact float top-10 (allowing ties at the edge).
    let mut f: Vec<(usize, f32)> = vs
        .iter()
        .enumerate()
        .map(|(i, v)| (i, v.iter().zip(&q).map(|(a, b)| a * b).sum()))
        .collect();
    f.sort_by(|a, b| b.1.total_cmp(&a.1));
    let reference: std::collections::HashSet<u64> = f[..10].iter().map(|x| x.0 as u64).collect();
    let got = res
        .candidates
        .iter()
        .filter(|c| reference.contains(&c.record.0))
        .count();
    assert!(
        got >= 9,
        "quantised top-10 shares only {got} with float top-10"
    );
    assert!(res.candidates.windows(2).all(|w| w[0].score >= w[1].score));
    assert_eq!(res.algorithm, spec().id());
}

#[test]
fn fr_02_sealed_record_never_returned_and_unseal_restores_it() {
    let vs = vectors(500, 128, 9);
    let mut idx = index_of(&vs);
    let probe = ProbeTemplate::new(spec(), vs[42].clone()).expect("probe");
    idx.seal(RecordId(42));
    for mode in [SearchMode::Exact, SearchMode::Approximate { ef: 64 }] {
        let r = idx
            .search(&probe, &SearchRequest { top_k: 500, mode }, &|_| true)
            .expect("search");
        assert!(r.candidates.iter().all(|c| c.record != RecordId(42)));
        assert_eq!(r.candidates.len(), 499);
    }
    idx.build_graph(HnswParams::default(), &mut |_, _| {});
    idx.build_partition(IvfParams::for_gallery(500), &mut |_, _| {});
    for mode in [
        SearchMode::Approximate { ef: 64 },
        SearchMode::Partitioned { probes: 4 },
    ] {
        let r = idx
            .search(&probe, &SearchRequest { top_k: 20, mode }, &|_| true)
            .expect("search");
        assert_eq!(r.candidates.len(), 20);
        assert!(r.candidates.iter().all(|c| c.record != RecordId(42)));
    }
    idx.unseal(RecordId(42));
    let r = idx
        .search(
            &probe,
            &SearchRequest {
                top_k: 1,
                mode: SearchMode::Partitioned { probes: 8 },
            },
            &|_| true,
        )
        .expect("search");
    assert_eq!(r.candidates[0].record, RecordId(42));
    let r = idx.search(&probe, &exact(1), &|_| true).expect("search");
    assert_eq!(r.candidates[0].record, RecordId(42));
}

#[test]
fn fr_02_sealed_before_enrolment_stays_hidden() {
    let vs = vectors(50, 128, 3);
    let mut idx = GalleryIndex::new(spec());
    idx.seal(RecordId(7));
    for (i, v) in vs.iter().enumerate() {
        idx.add(RepositoryTemplate::enrol(RecordId(i as u64), spec(), v.clone()).expect("t"))
            .expect("add");
    }
    let probe = ProbeTemplate::new(spec(), vs[7].clone()).expect("probe");
    let r = idx.search(&probe, &exact(50), &|_| true).expect("search");
    assert!(r.candidates.iter().all(|c| c.record != RecordId(7)));
}

#[test]
fn fr_02_recheck_callback_drops_records_and_refills_the_pool() {
    let vs = vectors(300, 128, 11);
    let idx = index_of(&vs);
    let probe = ProbeTemplate::new(spec(), vs[0].clone()).expect("probe");
    // The database says every even record is sealed, though the index has not heard yet.
    let r = idx
        .search(&probe, &exact(20), &|r| r.0 % 2 == 1)
        .expect("search");
    assert_eq!(r.candidates.len(), 20);
    assert!(r.candidates.iter().all(|c| c.record.0 % 2 == 1));
    assert!(r
        .candidates
        .iter()
        .enumerate()
        .all(|(i, c)| c.rank == i + 1));
}

#[test]
fn fr_02_removed_record_gone_without_rebuild_and_can_be_re_added() {
    let vs = vectors(200, 128, 5);
    let mut idx = index_of(&vs);
    idx.build_graph(HnswParams::default(), &mut |_, _| {});
    idx.build_partition(IvfParams::for_gallery(200), &mut |_, _| {});
    assert!(idx.remove(RecordId(3)));
    assert!(!idx.remove(RecordId(3)));
    assert_eq!(idx.len(), 199);
    let probe = ProbeTemplate::new(spec(), vs[3].clone()).expect("probe");
    for mode in [
        SearchMode::Exact,
        SearchMode::Approximate { ef: 50 },
        SearchMode::Partitioned { probes: 2 },
    ] {
        let r = idx
            .search(&probe, &SearchRequest { top_k: 10, mode }, &|_| true)
            .expect("search");
        assert!(r.candidates.iter().all(|c| c.record != RecordId(3)));
    }
    idx.add(RepositoryTemplate::enrol(RecordId(3), spec(), vs[3].clone()).expect("t"))
        .expect("re-add");
    for mode in [
        SearchMode::Approximate { ef: 50 },
        SearchMode::Partitioned { probes: 1 },
    ] {
        let r = idx
            .search(&probe, &SearchRequest { top_k: 1, mode }, &|_| true)
            .expect("search");
        assert_eq!(r.candidates[0].record, RecordId(3), "{mode:?}");
    }
    assert!(matches!(
        idx.add(RepositoryTemplate::enrol(RecordId(3), spec(), vs[3].clone()).expect("t")),
        Err(FaceError::DuplicateRecord(3))
    ));
}

#[test]
fn fr_03_index_refuses_a_template_of_probe_origin_at_run_time() {
    // Simulates a bug that slipped a probe-origin vector into a RepositoryTemplate.
    let vs = vectors(2, 128, 1);
    let mut t = RepositoryTemplate::enrol(RecordId(1), spec(), vs[0].clone()).expect("t");
    t.origin_for_test(crate::template::Origin::Probe);
    let mut idx = GalleryIndex::new(spec());
    assert!(idx.add(t).is_err());
    assert!(idx.is_empty());
}

#[test]
fn fr_23_index_refuses_templates_of_another_algorithm() {
    let facenet = lookup(crate::algorithm::FACENET_512).expect("registered");
    let mut idx = GalleryIndex::new(spec());
    let t = RepositoryTemplate::enrol(RecordId(1), facenet, vec![0.1; 512]).expect("t");
    assert!(matches!(
        idx.add(t),
        Err(FaceError::AlgorithmMismatch { .. })
    ));
    let p = ProbeTemplate::new(facenet, vec![0.1; 512]).expect("p");
    assert!(idx.search(&p, &exact(1), &|_| true).is_err());
}

#[test]
fn fr_08_approximate_search_recall_at_10_matches_exact() {
    let vs = vectors(5000, 128, 21);
    let mut idx = index_of(&vs);
    idx.build_graph(HnswParams::default(), &mut |_, _| {});
    let mut hit = 0;
    let mut total = 0;
    for qi in (0..5000).step_by(250) {
        let probe = ProbeTemplate::new(spec(), vs[qi].clone()).expect("probe");
        let e = idx.search(&probe, &exact(10), &|_| true).expect("exact");
        let a = idx
            .search(
                &probe,
                &SearchRequest {
                    top_k: 10,
                    mode: SearchMode::Approximate { ef: 128 },
                },
                &|_| true,
            )
            .expect("approx");
        let es: std::collections::HashSet<_> = e.candidates.iter().map(|c| c.record).collect();
        hit += a
            .candidates
            .iter()
            .filter(|c| es.contains(&c.record))
            .count();
        total += 10;
    }
    let recall = hit as f64 / total as f64;
    assert!(recall >= 0.95, "recall@10 {recall}");
}

#[test]
fn fr_02_index_persists_and_reloads_with_seals_tombstones_and_graph() {
    let vs = vectors(1000, 128, 13);
    let mut idx = index_of(&vs);
    idx.build_graph(HnswParams::default(), &mut |_, _| {});
    idx.build_partition(IvfParams::for_gallery(1000), &mut |_, _| {});
    idx.seal(RecordId(10));
    idx.remove(RecordId(11));
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("gallery.idx");
    idx.save(&path).expect("save");
    let back = GalleryIndex::load(&path).expect("load");
    assert_eq!(back.len(), 999);
    assert!(back.is_sealed(RecordId(10)));
    assert!(!back.contains(RecordId(11)));
    assert!(back.has_graph());
    assert!(back.has_partition());
    assert_eq!(back.bytes_per_template(), idx.bytes_per_template());
    for qi in [0usize, 10, 11, 500] {
        let probe = ProbeTemplate::new(spec(), vs[qi].clone()).expect("probe");
        for mode in [
            SearchMode::Exact,
            SearchMode::Approximate { ef: 64 },
            SearchMode::Partitioned { probes: 3 },
        ] {
            let req = SearchRequest { top_k: 5, mode };
            let a = idx.search(&probe, &req, &|_| true).expect("a");
            let b = back.search(&probe, &req, &|_| true).expect("b");
            assert_eq!(a.candidates, b.candidates);
            assert!(b
                .candidates
                .iter()
                .all(|c| c.record != RecordId(10) && c.record != RecordId(11)));
        }
    }
    // A damaged file is refused with a clear error.
    let mut bytes = std::fs::read(&path).expect("read");
    bytes.truncate(bytes.len() - 7);
    std::fs::write(&path, &bytes).expect("write");
    assert!(matches!(
        GalleryIndex::load(&path),
        Err(FaceError::IndexFormat { .. })
    ));
}

#[test]
fn fr_24_search_request_has_only_k_and_mode() {
    // The request's serialised form lists every field a caller can set: none is a protected trait.
    let req = SearchRequest {
        top_k: 5,
        mode: SearchMode::Exact,
    };
    let v = serde_json::to_value(req).expect("json");
    let mut keys: Vec<&String> = v.as_object().expect("object").keys().collect();
    keys.sort();
    assert_eq!(keys, vec!["mode", "top_k"]);
}

#[test]
fn fr_08_exact_scan_on_all_cores_equals_plain_dot_products_and_skips_sealed_rows() {
    // Above the parallel threshold, with a row count that is not a multiple of 4 or 64, so the
    // SIMD blocks, the per-thread chunks and the tail rows are all exercised.
    let n = 40_003;
    let vs = vectors(n, 128, 21);
    let mut idx = index_of(&vs);
    for r in (0..n as u64).step_by(97) {
        idx.seal(RecordId(r));
    }
    let mut qc = vec![0i8; 128];
    let qs = quantise(&vs[12_345], &mut qc);
    let probe = ProbeTemplate::new(spec(), vs[12_345].clone()).expect("probe");
    let got = idx.search(&probe, &exact(40), &|_| true).expect("search");
    let mut reference: Vec<(u64, f32)> = (0..n)
        .filter(|&slot| slot % 97 != 0)
        .map(|slot| {
            let row = &idx.codes[slot * 128..(slot + 1) * 128];
            let d: i32 = row
                .iter()
                .zip(&qc)
                .map(|(a, b)| *a as i32 * *b as i32)
                .sum();
            (slot as u64, d as f32 * idx.scales[slot] * qs)
        })
        .collect();
    reference.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    assert_eq!(got.candidates.len(), 40);
    for (c, r) in got.candidates.iter().zip(&reference) {
        assert_eq!(c.record.0, r.0);
        assert!((c.score - r.1).abs() < 1e-5, "{} vs {}", c.score, r.1);
    }
}

/// Unit vectors in clusters of near-duplicates: `per` copies of each of `people` random
/// directions, each copy = normalise(centre + Gaussian noise of norm `noise`), the structure of
/// a repository holding many photos of the same people (and of the search benchmark's data).
struct Clusters {
    state: u64,
    dim: usize,
}

impl Clusters {
    fn new(seed: u64) -> Self {
        Self {
            state: seed | 1,
            dim: 128,
        }
    }
    fn gauss(&mut self) -> f32 {
        let mut u = || {
            self.state ^= self.state << 13;
            self.state ^= self.state >> 7;
            self.state ^= self.state << 17;
            ((self.state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        };
        let (a, b) = (u(), u());
        ((-2.0 * a.ln()).sqrt() * (2.0 * std::f64::consts::PI * b).cos()) as f32
    }
    fn near(&mut self, centre: Option<&[f32]>, noise: f32) -> Vec<f32> {
        let e: Vec<f32> = (0..self.dim).map(|_| self.gauss()).collect();
        let en = e.iter().map(|x| x * x).sum::<f32>().sqrt();
        let mut v: Vec<f32> = match centre {
            Some(c) => c.iter().zip(&e).map(|(x, y)| x + y / en * noise).collect(),
            None => e,
        };
        crate::algorithm::l2_normalise(&mut v);
        v
    }
    fn centres(&mut self, people: usize) -> Vec<Vec<f32>> {
        (0..people).map(|_| self.near(None, 0.0)).collect()
    }
    fn copies(&mut self, centres: &[Vec<f32>], n: usize, noise: f32) -> Vec<Vec<f32>> {
        (0..n)
            .map(|i| self.near(Some(&centres[i % centres.len()]), noise))
            .collect()
    }
}

/// Neighbour-selection pruning in dense clusters of near-duplicates takes the last in-link away
/// from some nodes, and a node nothing links to is never found by any search. The index reports
/// how many there are: a walk of the whole graph (breadth = every node) finds exactly the others.
#[test]
fn fr_08_unreachable_count_matches_a_walk_of_the_whole_graph() {
    let mut gen = Clusters::new(0x243f_6a88_85a3_08d3);
    let centres = gen.centres(12);
    let vs = gen.copies(&centres, 2400, 0.55);
    let small = HnswParams {
        m: 4,
        ef_construction: 32,
        seed: 1,
    };
    let mut idx = index_of(&vs);
    assert_eq!(idx.unreachable_in_graph(), None);
    idx.build_graph(small, &mut |_, _| {});
    let unreachable = idx.unreachable_in_graph().expect("graph");
    let mut found: HashSet<RecordId> = HashSet::new();
    for c in &centres {
        let probe = ProbeTemplate::new(spec(), c.clone()).expect("probe");
        let all = SearchRequest {
            top_k: vs.len(),
            mode: SearchMode::Approximate { ef: vs.len() },
        };
        found.extend(
            idx.search(&probe, &all, &|_| true)
                .expect("walk")
                .candidates
                .iter()
                .map(|c| c.record),
        );
    }
    assert_eq!(found.len() + unreachable, vs.len());
}

/// recall@50 of `mode` against the exact scan, over one probe near each centre (a new photo of
/// each person).
fn recall_at_50(
    idx: &GalleryIndex,
    gen: &mut Clusters,
    centres: &[Vec<f32>],
    mode: SearchMode,
) -> f64 {
    let (mut hit, mut total) = (0, 0);
    for c in centres {
        let probe = ProbeTemplate::new(spec(), gen.near(Some(c), 0.5)).expect("probe");
        let truth: HashSet<RecordId> = idx
            .search(&probe, &exact(50), &|_| true)
            .expect("exact")
            .candidates
            .iter()
            .map(|c| c.record)
            .collect();
        let req = SearchRequest { top_k: 50, mode };
        let got = idx.search(&probe, &req, &|_| true).expect("approx");
        hit += got
            .candidates
            .iter()
            .filter(|c| truth.contains(&c.record))
            .count();
        total += truth.len();
    }
    hit as f64 / total as f64
}

/// 200 photos per person: recall@50 of the graph (default parameters) against the exact scan.
#[test]
fn fr_08_graph_recall_in_dense_clusters() {
    let mut gen = Clusters::new(0x1319_8a2e_0370_7344);
    let centres = gen.centres(12);
    let vs = gen.copies(&centres, 2400, 0.55);
    let mut idx = index_of(&vs);
    idx.build_graph(HnswParams::default(), &mut |_, _| {});
    let mode = SearchMode::Approximate { ef: 128 };
    let recall = recall_at_50(&idx, &mut gen, &centres, mode);
    assert!(recall >= 0.97, "recall@50 {recall:.3}");
}

/// 200 photos per person: recall@50 of the partition (default parameters, a few lists probed)
/// against the exact scan.
#[test]
fn fr_08_partition_recall_in_dense_clusters() {
    let mut gen = Clusters::new(0xa409_3822_299f_31d0);
    let centres = gen.centres(20);
    let vs = gen.copies(&centres, 4000, 0.55);
    let mut idx = index_of(&vs);
    // 62 lists: each person's photos are spread over several of them.
    let params = IvfParams::for_gallery(vs.len());
    idx.build_partition(params, &mut |_, _| {});
    let mode = SearchMode::Partitioned { probes: 8 };
    let recall = recall_at_50(&idx, &mut gen, &centres, mode);
    assert!(recall >= 0.97, "recall@50 {recall:.3}");
}

/// Every gallery row is filed in exactly one list, also rows added after the partition was
/// built; a partition built over an empty gallery takes its first row as its centroid.
#[test]
fn fr_08_partition_files_every_row_once_including_later_adds() {
    let vs = vectors(3000, 128, 31);
    let mut idx = index_of(&vs[..2000]);
    idx.build_partition(IvfParams::for_gallery(2000), &mut |_, _| {});
    for (i, v) in vs.iter().enumerate().skip(2000) {
        idx.add(RepositoryTemplate::enrol(RecordId(i as u64), spec(), v.clone()).expect("t"))
            .expect("add");
    }
    let p = idx.partition.as_ref().expect("partition");
    let mut filed: Vec<u32> = p.lists.iter().flat_map(|l| l.slots.clone()).collect();
    filed.sort_unstable();
    assert_eq!(filed, (0..3000).collect::<Vec<u32>>());
    for l in &p.lists {
        for (row, &slot) in l.slots.iter().enumerate() {
            let s = slot as usize;
            assert_eq!(
                &l.codes[row * 128..(row + 1) * 128],
                &idx.codes[s * 128..(s + 1) * 128]
            );
        }
    }
    // Each later add is found by a one-list search for itself.
    for qi in [2000usize, 2500, 2999] {
        let probe = ProbeTemplate::new(spec(), vs[qi].clone()).expect("probe");
        let req = SearchRequest {
            top_k: 1,
            mode: SearchMode::Partitioned { probes: 1 },
        };
        let r = idx.search(&probe, &req, &|_| true).expect("search");
        assert_eq!(r.candidates[0].record, RecordId(qi as u64));
    }
    let mut empty = GalleryIndex::new(spec());
    empty.build_partition(IvfParams::for_gallery(0), &mut |_, _| {});
    for (i, v) in vs.iter().take(10).enumerate() {
        empty
            .add(RepositoryTemplate::enrol(RecordId(i as u64), spec(), v.clone()).expect("t"))
            .expect("add");
    }
    let probe = ProbeTemplate::new(spec(), vs[4].clone()).expect("probe");
    let req = SearchRequest {
        top_k: 10,
        mode: SearchMode::Partitioned { probes: 1 },
    };
    let r = empty.search(&probe, &req, &|_| true).expect("search");
    assert_eq!(r.candidates.len(), 10);
    assert_eq!(r.candidates[0].record, RecordId(4));
}

/// FR-02 with a short list: when the probed lists hold fewer visible records than the pool
/// needs (most of them sealed), the search widens to more lists and still fills the pool.
#[test]
fn fr_02_partitioned_pool_is_filled_when_probed_lists_are_mostly_sealed() {
    let vs = vectors(4000, 128, 41);
    let mut idx = index_of(&vs);
    idx.build_partition(IvfParams::for_gallery(4000), &mut |_, _| {});
    let probe = ProbeTemplate::new(spec(), vs[0].clone()).expect("probe");
    let req = SearchRequest {
        top_k: 100,
        mode: SearchMode::Partitioned { probes: 1 },
    };
    let first = idx.search(&probe, &req, &|_| true).expect("search");
    for c in &first.candidates {
        idx.seal(c.record);
    }
    let r = idx.search(&probe, &req, &|_| true).expect("search");
    assert_eq!(r.candidates.len(), 100);
    assert!(r.candidates.iter().all(|c| !idx.is_sealed(c.record)));
}

#[test]
fn fr_08_fused_index_two_pass_matches_whole_rows_and_survives_reload() {
    let fused = lookup(crate::algorithm::FUSION_DLIB_FACENET).expect("registered");
    let fusion = fused.fusion.expect("fused");
    // 3,000 rows, a shortlist of 1,000: the first pass must keep the whole-row top 50.
    let a = vectors(3000, 128, 11);
    let b = vectors(3000, 512, 13);
    let mut two = GalleryIndex::new(fused);
    let mut whole = GalleryIndex::new(fused);
    whole.disable_first_pass();
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        let t = RepositoryTemplate::enrol(RecordId(i as u64), fused, fusion.params.fuse(x, y))
            .expect("template");
        two.add(t.clone()).expect("add");
        whole.add(t).expect("add");
    }
    assert_eq!(two.first_codes.len(), 3000 * 128);
    assert!(two.bytes_per_template() > whole.bytes_per_template());
    two.seal(RecordId(3));
    whole.seal(RecordId(3));
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("fused.idx");
    two.save(&path).expect("save");
    let back = GalleryIndex::load(&path).expect("load");
    assert_eq!(
        back.first_codes, two.first_codes,
        "first-pass copy rebuilt on load"
    );
    for q in [3usize, 17, 256, 2999] {
        let probe = ProbeTemplate::new(fused, fusion.params.fuse(&a[q], &b[q])).expect("probe");
        let w = whole.search(&probe, &exact(50), &|_| true).expect("search");
        for idx in [&two, &back] {
            let r = idx.search(&probe, &exact(50), &|_| true).expect("search");
            assert_eq!(r.candidates, w.candidates, "probe {q}");
        }
        assert!(
            w.candidates.iter().all(|c| c.record != RecordId(3)),
            "sealed"
        );
    }
}
