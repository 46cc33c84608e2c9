//! The photo repository index (FR-02, FR-03, FR-08, FR-24).
//!
//! - Holds only [`RepositoryTemplate`]s (FR-03), quantised to i8 with one scale per template
//!   (`dimension + 4` bytes each), in one compact row-major matrix.
//! - Exact search: a SIMD scan (AVX2 when the CPU has it) over the matrix on all cores, top-K heap.
//! - Approximate search for large galleries, two kinds: an inverted-file partition ([`ivf`]:
//!   k-means lists scanned with the exact kernel) and an HNSW graph over the same rows ([`hnsw`]).
//! - Sealed or removed records (FR-02) are excluded inside the scan and the graph walk, and every
//!   result is re-checked by the caller's callback (the database's authoritative flags) before it
//!   is returned; records failing the re-check are dropped and the list refilled.
//! - Records are added and removed (tombstoned) without a rebuild; the index persists to one file
//!   and reloads with a single read.
//! - The search request has no field for any protected trait (FR-24): only K and the mode.

pub mod hnsw;
pub mod ivf;
mod persist;
pub(crate) mod scan;

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::algorithm::{AlgorithmId, AlgorithmSpec};
use crate::error::FaceError;
use crate::template::{ProbeTemplate, RecordId, RepositoryTemplate};

pub use hnsw::HnswParams;
pub use ivf::IvfParams;

/// Exact or approximate search.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SearchMode {
    Exact,
    /// HNSW with this search breadth (larger = higher recall, slower); falls back to exact
    /// when the index has no graph.
    Approximate {
        ef: usize,
    },
    /// Inverted-file search over the `probes` partitions nearest the probe (more = higher
    /// recall, slower); falls back to exact when the index has no partition.
    Partitioned {
        probes: usize,
    },
}

/// What to search for. FR-24: there is deliberately no filter or ranking by any protected trait.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct SearchRequest {
    /// Size of the candidate pool.
    pub top_k: usize,
    pub mode: SearchMode,
}

/// One candidate: a repository record, its score (cosine similarity) and rank (1 = best).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub rank: usize,
    pub record: RecordId,
    pub score: f32,
}

/// A ranked candidate pool and the algorithm version that produced it (FR-08).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SearchResult {
    pub algorithm: AlgorithmId,
    pub mode: SearchMode,
    pub candidates: Vec<Candidate>,
}

/// The gallery index for one algorithm.
pub struct GalleryIndex {
    pub(crate) algorithm: AlgorithmId,
    pub(crate) dim: usize,
    /// i8 codes, `dim` per slot.
    pub(crate) codes: Vec<i8>,
    /// Per-slot scale: value ≈ code × scale.
    pub(crate) scales: Vec<f32>,
    pub(crate) records: Vec<RecordId>,
    /// Slots whose record was removed (tombstones).
    pub(crate) removed: Vec<u64>,
    /// Slots hidden from results: removed or sealed. Checked in the scan.
    pub(crate) hidden: Vec<u64>,
    pub(crate) slot_of: HashMap<RecordId, u32>,
    /// Sealed records (FR-02), kept even when the record is not (yet) in the index.
    pub(crate) sealed: HashSet<RecordId>,
    pub(crate) graph: Option<hnsw::Hnsw>,
    pub(crate) partition: Option<ivf::Ivf>,
    /// A fused algorithm's exact search: a first pass over the leading component's columns,
    /// then the shortlist rescored with the whole template.
    pub(crate) first_pass: Option<FirstPass>,
    /// With a first pass: a contiguous copy of every row's leading `dims` codes (the row's scale
    /// applies). Scanning them in place, 128 of every 640 bytes, streams the whole matrix anyway
    /// (the hardware prefetcher fetches the rest of each page), so the copy is what makes the
    /// first pass as cheap as a single algorithm's scan.
    pub(crate) first_codes: Vec<i8>,
    /// Shortlist size overriding the registered rule ([`GalleryIndex::set_shortlist`]).
    pub(crate) shortlist: Option<usize>,
}

/// The first pass of an exact search on a fused algorithm ([`crate::fusion`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct FirstPass {
    /// Leading columns scored (the first component's dimension, a multiple of 32).
    pub(crate) dims: usize,
    pub(crate) fusion: &'static crate::fusion::FusionSpec,
}

impl FirstPass {
    pub(crate) fn of(spec: &AlgorithmSpec) -> Option<Self> {
        let fusion = spec.fusion.filter(|f| f.first_pass)?;
        let first = fusion.component_specs().ok()?[0];
        (first.dimension < spec.dimension).then_some(Self {
            dims: first.dimension,
            fusion,
        })
    }
}

pub(crate) fn bit(v: &[u64], i: usize) -> bool {
    v.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
}
fn set_bit(v: &mut Vec<u64>, i: usize, on: bool) {
    if v.len() <= i / 64 {
        v.resize(i / 64 + 1, 0);
    }
    if on {
        v[i / 64] |= 1 << (i % 64);
    } else {
        v[i / 64] &= !(1 << (i % 64));
    }
}

/// Asks Linux to back a buffer's capacity with transparent huge pages (the template matrix, the
/// graph's links): an exact search streams the whole matrix, a graph search jumps across it and
/// the links, and with 4 KiB pages nearly every graph step costs a TLB miss. A hint only (kernels
/// with THP off ignore it); no effect on other systems. Applied to fresh capacity, before it is
/// written: pages already touched stay small until the kernel's background collapse gets to them.
fn advise_huge_pages<T>(v: &Vec<T>) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let start = v.as_ptr() as usize;
        let end = start + v.capacity() * std::mem::size_of::<T>();
        let aligned = start.div_ceil(HUGE) * HUGE;
        if end > aligned + HUGE {
            let len = (end - aligned) / HUGE * HUGE;
            // SAFETY: the range lies inside the allocation of `v` (its capacity); MADV_HUGEPAGE
            // only changes how the kernel backs the pages, never their contents.
            unsafe {
                libc::madvise(aligned as *mut libc::c_void, len, libc::MADV_HUGEPAGE);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = v;
}

/// An empty buffer for `capacity` elements, advised for huge pages.
pub(crate) fn advised_vec<T>(capacity: usize) -> Vec<T> {
    let v = Vec::with_capacity(capacity);
    advise_huge_pages(&v);
    v
}

/// Makes room for `additional` more elements; new capacity is advised for huge pages.
pub(crate) fn reserve_advised<T>(v: &mut Vec<T>, additional: usize) {
    if v.capacity() - v.len() < additional {
        v.reserve(additional.max(v.len()));
        advise_huge_pages(v);
    }
}

/// i8 quantisation with one scale per vector.
pub(crate) fn quantise(v: &[f32], out: &mut [i8]) -> f32 {
    let m = v.iter().fold(0f32, |m, x| m.max(x.abs()));
    if m == 0.0 {
        out.iter_mut().for_each(|o| *o = 0);
        return 0.0;
    }
    let s = m / 127.0;
    for (o, x) in out.iter_mut().zip(v) {
        *o = (x / s).round().clamp(-127.0, 127.0) as i8;
    }
    s
}

impl GalleryIndex {
    /// An empty index for `spec`'s templates.
    pub fn new(spec: &AlgorithmSpec) -> Self {
        Self {
            algorithm: spec.id(),
            dim: spec.dimension,
            codes: Vec::new(),
            scales: Vec::new(),
            records: Vec::new(),
            removed: Vec::new(),
            hidden: Vec::new(),
            slot_of: HashMap::new(),
            sealed: HashSet::new(),
            graph: None,
            partition: None,
            first_pass: FirstPass::of(spec),
            first_codes: Vec::new(),
            shortlist: None,
        }
    }

    pub fn algorithm(&self) -> &AlgorithmId {
        &self.algorithm
    }
    pub fn dimension(&self) -> usize {
        self.dim
    }
    /// Records currently in the index (sealed ones included, removed ones not).
    pub fn len(&self) -> usize {
        self.slot_of.len()
    }
    pub fn is_empty(&self) -> bool {
        self.slot_of.is_empty()
    }
    pub fn contains(&self, record: RecordId) -> bool {
        self.slot_of.contains_key(&record)
    }
    pub fn has_graph(&self) -> bool {
        self.graph.is_some()
    }
    pub fn has_partition(&self) -> bool {
        self.partition.is_some()
    }
    /// Bytes of memory per stored template (matrix row + scale + record id + graph links +
    /// partition copies).
    pub fn bytes_per_template(&self) -> f64 {
        let n = self.records.len().max(1) as f64;
        let base = (self.dim + 4 + 8 + self.first_pass.map_or(0, |f| f.dims)) as f64;
        let graph = self.graph.as_ref().map_or(0, |g| g.memory_bytes());
        let partition = self.partition.as_ref().map_or(0, |p| p.memory_bytes());
        base + (graph + partition) as f64 / n
    }

    /// Makes exact search on a fused index score every whole row instead of rescoring a
    /// first-pass shortlist (for benchmarks and the evaluation's shortlist check).
    pub fn disable_first_pass(&mut self) {
        self.first_pass = None;
        self.first_codes = Vec::new();
    }

    /// Overrides the fused algorithm's first-pass shortlist size (`None`: the registered rule),
    /// for benchmarks that measure how large it must be.
    pub fn set_shortlist(&mut self, rows: Option<usize>) {
        self.shortlist = rows;
    }

    /// Rebuilds the first-pass copy from the matrix (after loading an index file).
    pub(crate) fn rebuild_first_codes(&mut self) {
        self.first_codes = Vec::new();
        if let Some(fp) = self.first_pass {
            let n = self.records.len();
            self.first_codes = advised_vec(n * fp.dims);
            for row in self.codes.chunks_exact(self.dim) {
                self.first_codes.extend_from_slice(&row[..fp.dims]);
            }
        }
    }

    /// Builds an inverted-file partition over every record (for large galleries); later adds
    /// join it. `progress(done, total)` counts rows processed.
    pub fn build_partition(&mut self, params: IvfParams, progress: &mut dyn FnMut(usize, usize)) {
        let slots: Vec<u32> = (0..self.records.len())
            .filter(|&s| !bit(&self.removed, s))
            .map(|s| s as u32)
            .collect();
        self.partition = Some(ivf::Ivf::build(
            params,
            &self.codes,
            &self.scales,
            self.dim,
            &slots,
            progress,
        ));
    }

    /// Builds an HNSW graph over every slot (for large galleries); later adds join it.
    pub fn build_graph(&mut self, params: HnswParams, progress: &mut dyn FnMut(usize, usize)) {
        let mut g = hnsw::Hnsw::new(params);
        let n = self.records.len();
        for slot in 0..n {
            g.insert(slot as u32, &self.codes, &self.scales, self.dim);
            if slot % 10_000 == 0 || slot + 1 == n {
                progress(slot + 1, n);
            }
        }
        self.graph = Some(g);
    }

    /// Graph nodes no search can reach (no layer-0 in-link); `None` without a graph. Exposed
    /// for benchmarks and health checks.
    pub fn unreachable_in_graph(&self) -> Option<usize> {
        self.graph.as_ref().map(|g| g.unreachable_nodes())
    }

    /// Rows a partitioned search with `probes` lists scans for `probe`; `None` without a
    /// partition. Exposed for benchmarks and for choosing `probes`.
    pub fn partition_rows_probed(&self, probe: &ProbeTemplate, probes: usize) -> Option<usize> {
        let p = self.partition.as_ref()?;
        let mut qc = vec![0i8; self.dim];
        quantise(&probe.inner.vector, &mut qc);
        Some(p.rows_probed(&qc, probes))
    }

    /// Adds a repository template (FR-03: the only kind accepted). Sealed records may be added;
    /// they stay hidden until unsealed.
    pub fn add(&mut self, t: RepositoryTemplate) -> Result<(), FaceError> {
        // Defence in depth: the type already guarantees a gallery origin.
        if !t.is_gallery() {
            return Err(FaceError::Inference(
                "refused: a probe template can never enter the repository index (FR-03)".into(),
            ));
        }
        if t.algorithm() != &self.algorithm {
            return Err(FaceError::AlgorithmMismatch {
                expected: self.algorithm.to_string(),
                found: t.algorithm().to_string(),
            });
        }
        let v = t.vector();
        if v.len() != self.dim {
            return Err(FaceError::DimensionMismatch {
                expected: self.dim,
                found: v.len(),
            });
        }
        let record = t.record();
        if self.slot_of.contains_key(&record) {
            return Err(FaceError::DuplicateRecord(record.0));
        }
        let slot = self.records.len();
        reserve_advised(&mut self.codes, self.dim);
        self.codes.resize((slot + 1) * self.dim, 0);
        let s = quantise(v, &mut self.codes[slot * self.dim..]);
        if let Some(fp) = self.first_pass {
            reserve_advised(&mut self.first_codes, fp.dims);
            let lead = &self.codes[slot * self.dim..slot * self.dim + fp.dims];
            self.first_codes.extend_from_slice(lead);
        }
        self.scales.push(s);
        self.records.push(record);
        self.slot_of.insert(record, slot as u32);
        set_bit(&mut self.removed, slot, false);
        set_bit(&mut self.hidden, slot, self.sealed.contains(&record));
        if let Some(g) = self.graph.as_mut() {
            g.insert(slot as u32, &self.codes, &self.scales, self.dim);
        }
        if let Some(p) = self.partition.as_mut() {
            p.insert(slot as u32, &self.codes, &self.scales);
        }
        Ok(())
    }

    /// Removes a record's template (tombstone; no rebuild). Returns whether it was present.
    pub fn remove(&mut self, record: RecordId) -> bool {
        match self.slot_of.remove(&record) {
            Some(slot) => {
                set_bit(&mut self.removed, slot as usize, true);
                set_bit(&mut self.hidden, slot as usize, true);
                true
            }
            None => false,
        }
    }

    /// FR-02: a sealed record leaves every result at once.
    pub fn seal(&mut self, record: RecordId) {
        self.sealed.insert(record);
        if let Some(&slot) = self.slot_of.get(&record) {
            set_bit(&mut self.hidden, slot as usize, true);
        }
    }

    /// Unsealing (audited by the caller) makes the record searchable again.
    pub fn unseal(&mut self, record: RecordId) {
        self.sealed.remove(&record);
        if let Some(&slot) = self.slot_of.get(&record) {
            set_bit(&mut self.hidden, slot as usize, false);
        }
    }

    pub fn is_sealed(&self, record: RecordId) -> bool {
        self.sealed.contains(&record)
    }

    /// Searches the repository with a probe. `still_searchable` is the authoritative re-check
    /// (the database's sealed/active flags): every candidate passes it before it is returned.
    pub fn search(
        &self,
        probe: &ProbeTemplate,
        req: &SearchRequest,
        still_searchable: &dyn Fn(RecordId) -> bool,
    ) -> Result<SearchResult, FaceError> {
        if probe.algorithm() != &self.algorithm {
            return Err(FaceError::AlgorithmMismatch {
                expected: self.algorithm.to_string(),
                found: probe.algorithm().to_string(),
            });
        }
        let q = &probe.inner.vector;
        if q.len() != self.dim {
            return Err(FaceError::DimensionMismatch {
                expected: self.dim,
                found: q.len(),
            });
        }
        let mut qc = vec![0i8; self.dim];
        let qs = quantise(q, &mut qc);
        let k = req.top_k;
        let mut want = k + k / 4 + 8;
        loop {
            let raw = self.raw_search(&qc, want, req.mode);
            let exhausted = raw.len() < want;
            let mut out = Vec::with_capacity(k);
            for (slot, dot) in raw {
                let slot = slot as usize;
                let record = self.records[slot];
                if bit(&self.hidden, slot) || self.sealed.contains(&record) {
                    continue;
                }
                if !still_searchable(record) {
                    continue;
                }
                out.push(Candidate {
                    rank: out.len() + 1,
                    record,
                    score: dot * qs,
                });
                if out.len() == k {
                    break;
                }
            }
            if out.len() == k || exhausted || want >= self.records.len() {
                return Ok(SearchResult {
                    algorithm: self.algorithm.clone(),
                    mode: req.mode,
                    candidates: out,
                });
            }
            want *= 4;
        }
    }

    /// (slot, similarity without the query scale), best first, hidden slots skipped.
    pub(crate) fn raw_search(&self, qc: &[i8], want: usize, mode: SearchMode) -> Vec<(u32, f32)> {
        match (mode, &self.graph, &self.partition) {
            (SearchMode::Partitioned { probes }, _, Some(p)) => {
                p.search(qc, want, probes, &self.hidden)
            }
            (SearchMode::Approximate { ef }, Some(g), _) => g.search(
                qc,
                want,
                ef.max(want),
                &self.codes,
                &self.scales,
                self.dim,
                &self.hidden,
            ),
            _ => match self.first_pass {
                Some(fp) => self.two_pass(qc, want, fp),
                None => scan::top_k(&self.codes, &self.scales, self.dim, qc, want, &self.hidden),
            },
        }
    }

    /// Exact search of a fused index: the best rows by the leading component's columns (a
    /// shortlist of at least `want`), each rescored with the whole row, best first.
    fn two_pass(&self, qc: &[i8], want: usize, fp: FirstPass) -> Vec<(u32, f32)> {
        let short = self
            .shortlist
            .unwrap_or_else(|| fp.fusion.shortlist(self.records.len()))
            .max(want);
        let first = scan::top_k(
            &self.first_codes,
            &self.scales,
            fp.dims,
            &qc[..fp.dims.min(qc.len())],
            short,
            &self.hidden,
        );
        let dot = scan::Dot::for_dim(self.dim);
        let mut all: Vec<(u32, f32)> = first
            .into_iter()
            .filter_map(|(slot, _)| {
                let s = slot as usize;
                let row = self.codes.get(s * self.dim..(s + 1) * self.dim)?;
                Some((slot, dot.dot(row, qc) as f32 * self.scales[s]))
            })
            .collect();
        all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        all.truncate(want);
        all
    }
}

#[cfg(test)]
mod tests;
