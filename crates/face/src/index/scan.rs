//! Exact search: a SIMD dot-product scan over the i8 matrix, split across cores, with a top-K heap.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::bit;

/// i8·i8 dot product: the portable path, and the reference the SIMD kernels are tested against.
#[inline(always)]
pub(crate) fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    let mut acc = 0i32;
    for (x, y) in a.iter().zip(b) {
        acc += *x as i32 * *y as i32;
    }
    acc
}

#[derive(Clone, Copy)]
struct Hit(f32, u32);
impl PartialEq for Hit {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Hit {}
impl PartialOrd for Hit {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Hit {
    // Reversed: the heap's top is the worst kept hit.
    fn cmp(&self, o: &Self) -> Ordering {
        o.0.total_cmp(&self.0).then(self.1.cmp(&o.1))
    }
}

struct TopK {
    k: usize,
    heap: BinaryHeap<Hit>,
    floor: f32,
}

impl TopK {
    fn new(k: usize) -> Self {
        Self {
            k,
            heap: BinaryHeap::with_capacity(k + 1),
            floor: f32::NEG_INFINITY,
        }
    }
    #[inline(always)]
    fn offer(&mut self, score: f32, slot: u32) {
        if self.k == 0 || score <= self.floor {
            return;
        }
        self.heap.push(Hit(score, slot));
        if self.heap.len() > self.k {
            self.heap.pop();
        }
        if self.heap.len() == self.k {
            if let Some(h) = self.heap.peek() {
                self.floor = h.0;
            }
        }
    }
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn scan_rows_generic(
    codes: &[i8],
    scales: &[f32],
    dim: usize,
    q: &[i8],
    start: usize,
    end: usize,
    ids: Option<&[u32]>,
    hidden: &[u64],
    top: &mut TopK,
) {
    for row in start..end {
        let slot = slot_of(ids, row);
        if bit(hidden, slot as usize) {
            continue;
        }
        let r = &codes[row * dim..(row + 1) * dim];
        let s = dot_i8(r, q) as f32 * scales[row];
        top.offer(s, slot);
    }
}

/// The gallery slot of matrix row `row`: the row itself in the gallery matrix, `ids[row]` in an
/// inverted list (which holds copies of gallery rows).
#[inline(always)]
fn slot_of(ids: Option<&[u32]>, row: usize) -> u32 {
    match ids {
        Some(ids) => ids[row],
        None => row as u32,
    }
}

/// AVX2 kernels, for dimensions that are multiples of 32. Codes lie in −127..=127 (`quantise`),
/// so a product pair fits `vpmaddubsw`'s i16 lanes with the sign trick: |a| (unsigned) times
/// b·sign(a) (signed) equals a·b, and 2·127·127 < 2¹⁵. One load, two sign ops, one
/// `vpmaddubsw` and one `vpmaddwd` per 32 codes: about a third fewer instructions per row than
/// widening to i16 first, which made the scan compute-bound on one core.
///
/// Soundness: the public entry points (`dot`, `scan`) are safe `#[target_feature]` functions
/// that check every slice length themselves before a raw load; their only requirement left to
/// the caller is the CPU feature, which is why calling them is `unsafe` outside this module.
/// The raw loads go through `load`, whose contract is 32 readable bytes.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::{slot_of, TopK};
    use crate::index::bit;

    /// Largest dimension the kernels keep the query for (the registry's largest is 512).
    pub(super) const MAX_DIM: usize = 1024;

    /// Unaligned load of 32 codes.
    ///
    /// # Safety
    /// `p` must be valid for reads of 32 bytes, and the CPU must support AVX2.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn load(p: *const i8) -> __m256i {
        // SAFETY: the caller guarantees 32 readable bytes at `p`; `loadu` has no alignment
        // requirement.
        unsafe { _mm256_loadu_si256(p.cast::<__m256i>()) }
    }

    /// Pairwise a·b of 32 codes, summed into eight i32 lanes.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn dot32(a: __m256i, b: __m256i) -> __m256i {
        let p = _mm256_maddubs_epi16(_mm256_sign_epi8(a, a), _mm256_sign_epi8(b, a));
        _mm256_madd_epi16(p, _mm256_set1_epi16(1))
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    fn hsum(v: __m256i) -> i32 {
        let s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
        let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b01_00_11_10));
        let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b10_11_00_01));
        _mm_cvtsi128_si32(s)
    }

    /// One dot product (HNSW distance evaluations) over the first `32 · ⌊min(len) / 32⌋` codes
    /// of `a` and `b`. Calling it requires AVX2 (hence `unsafe` outside AVX2 code).
    #[target_feature(enable = "avx2")]
    pub(super) fn dot(a: &[i8], b: &[i8]) -> i32 {
        let n = a.len().min(b.len()) / 32;
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc0 = _mm256_setzero_si256();
        let mut acc1 = _mm256_setzero_si256();
        let mut c = 0;
        while c + 2 <= n {
            // SAFETY: c + 2 ≤ n, so bytes 32c..32c + 64 lie inside both slices (each at least
            // 32n long).
            let (x0, y0, x1, y1) = unsafe {
                (
                    load(pa.add(32 * c)),
                    load(pb.add(32 * c)),
                    load(pa.add(32 * c + 32)),
                    load(pb.add(32 * c + 32)),
                )
            };
            acc0 = _mm256_add_epi32(acc0, dot32(x0, y0));
            acc1 = _mm256_add_epi32(acc1, dot32(x1, y1));
            c += 2;
        }
        if c < n {
            // SAFETY: c < n, so bytes 32c..32c + 32 lie inside both slices.
            let (x0, y0) = unsafe { (load(pa.add(32 * c)), load(pb.add(32 * c))) };
            acc0 = _mm256_add_epi32(acc0, dot32(x0, y0));
        }
        hsum(_mm256_add_epi32(acc0, acc1))
    }

    /// Scans rows `start..end`, four at a time: four dot products reduced together, scaled,
    /// compared with the current K-th best in one vector compare; only rows above it reach the
    /// top-K (and the slot lookup and hidden-slot check).
    ///
    /// Returns `false` without scanning when the arguments do not cover the rows: `dim` must be
    /// a multiple of 32 within `MAX_DIM`, `q` exactly `dim` long, and rows `start..end` inside
    /// `codes` (`end · dim` codes) and `scales` (and `ids`, when given). `ids` and `hidden` are also read with bounds checks.
    /// Calling it requires AVX2 (hence `unsafe` outside AVX2 code).
    #[target_feature(enable = "avx2")]
    #[allow(clippy::too_many_arguments)]
    pub(super) fn scan(
        codes: &[i8],
        scales: &[f32],
        dim: usize,
        q: &[i8],
        start: usize,
        end: usize,
        ids: Option<&[u32]>,
        hidden: &[u64],
        top: &mut TopK,
    ) -> bool {
        let covered = dim.is_multiple_of(32)
            && dim <= MAX_DIM
            && q.len() == dim
            && end.checked_mul(dim).is_some_and(|n| n <= codes.len())
            && end <= scales.len()
            && ids.is_none_or(|ids| end <= ids.len());
        if !covered {
            return false;
        }
        let mut qv = [_mm256_setzero_si256(); MAX_DIM / 32];
        let nq = dim / 32;
        for (c, v) in qv.iter_mut().take(nq).enumerate() {
            // SAFETY: c < nq = dim / 32 and q.len() == dim, so bytes 32c..32c + 32 are in `q`.
            *v = unsafe { load(q.as_ptr().add(32 * c)) };
        }
        let mut slot = start;
        let mut lanes = [0f32; 4];
        while slot + 4 <= end {
            let (mut a0, mut a1, mut a2, mut a3) = (
                _mm256_setzero_si256(),
                _mm256_setzero_si256(),
                _mm256_setzero_si256(),
                _mm256_setzero_si256(),
            );
            for (c, &qc) in qv.iter().take(nq).enumerate() {
                let o = slot * dim + 32 * c;
                // SAFETY: slot + 4 ≤ end and end · dim ≤ codes.len(), so the four rows
                // slot..slot + 4 lie inside `codes`; o + 32 ≤ (slot + 1) · dim because
                // 32c + 32 ≤ dim, so each load reads 32 bytes inside its row.
                let (r0, r1, r2, r3) = unsafe {
                    let base = codes.as_ptr();
                    (
                        load(base.add(o)),
                        load(base.add(dim + o)),
                        load(base.add(2 * dim + o)),
                        load(base.add(3 * dim + o)),
                    )
                };
                a0 = _mm256_add_epi32(a0, dot32(r0, qc));
                a1 = _mm256_add_epi32(a1, dot32(r1, qc));
                a2 = _mm256_add_epi32(a2, dot32(r2, qc));
                a3 = _mm256_add_epi32(a3, dot32(r3, qc));
            }
            let h = _mm256_hadd_epi32(_mm256_hadd_epi32(a0, a1), _mm256_hadd_epi32(a2, a3));
            let d = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
            // SAFETY: slot + 4 ≤ end ≤ scales.len(): the four scales slot..slot + 4 exist.
            let sc = unsafe { _mm_loadu_ps(scales.as_ptr().add(slot)) };
            let f = _mm_mul_ps(_mm_cvtepi32_ps(d), sc);
            let mask = _mm_movemask_ps(_mm_cmpgt_ps(f, _mm_set1_ps(top.floor)));
            if mask != 0 {
                // SAFETY: `lanes` holds exactly four f32, the store's width.
                unsafe { _mm_storeu_ps(lanes.as_mut_ptr(), f) };
                for (l, &score) in lanes.iter().enumerate() {
                    if mask & (1 << l) != 0 {
                        let id = slot_of(ids, slot + l);
                        if !bit(hidden, id as usize) {
                            top.offer(score, id);
                        }
                    }
                }
            }
            slot += 4;
        }
        while slot < end {
            let id = slot_of(ids, slot);
            if !bit(hidden, id as usize) {
                let row = &codes[slot * dim..(slot + 1) * dim];
                top.offer(dot(row, q) as f32 * scales[slot], id);
            }
            slot += 1;
        }
        true
    }
}

/// Whether the AVX2 kernels apply to vectors of `dim`.
#[inline]
fn use_avx2(dim: usize) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        dim.is_multiple_of(32) && dim <= avx2::MAX_DIM && std::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = dim;
        false
    }
}

/// The dot product of two i8 rows, with AVX2 when the CPU has it (HNSW distance evaluations).
#[derive(Clone, Copy)]
pub(crate) struct Dot {
    #[cfg(target_arch = "x86_64")]
    avx2: bool,
}

impl Dot {
    pub(crate) fn for_dim(dim: usize) -> Self {
        let _ = dim;
        Self {
            #[cfg(target_arch = "x86_64")]
            avx2: use_avx2(dim),
        }
    }
    #[inline(always)]
    pub(crate) fn dot(self, a: &[i8], b: &[i8]) -> i32 {
        #[cfg(target_arch = "x86_64")]
        {
            if self.avx2 {
                // SAFETY: `avx2` is set (in `for_dim`, through `use_avx2`) only when the running
                // CPU supports AVX2, the kernel's one requirement; it reads only inside `a` and
                // `b` (the first 32 · ⌊min(len) / 32⌋ codes of each), whatever their lengths.
                return unsafe { avx2::dot(a, b) };
            }
        }
        dot_i8(a, b)
    }
}

#[allow(clippy::too_many_arguments)]
fn scan_rows(
    codes: &[i8],
    scales: &[f32],
    dim: usize,
    q: &[i8],
    start: usize,
    end: usize,
    ids: Option<&[u32]>,
    hidden: &[u64],
    top: &mut TopK,
) {
    #[cfg(target_arch = "x86_64")]
    {
        if use_avx2(dim) {
            // SAFETY: `use_avx2` checked that the running CPU supports AVX2, the kernel's one
            // requirement; the kernel checks the slice lengths itself before any raw load and
            // returns false (scanning nothing) when they do not cover rows start..end.
            let scanned =
                unsafe { avx2::scan(codes, scales, dim, q, start, end, ids, hidden, top) };
            if scanned {
                return;
            }
        }
    }
    scan_rows_generic(codes, scales, dim, q, start, end, ids, hidden, top)
}

/// Rows below which one thread scans everything.
const PARALLEL_MIN_ROWS: usize = 32_768;

/// Best `k` visible slots by similarity (without the query's scale), best first.
pub(crate) fn top_k(
    codes: &[i8],
    scales: &[f32],
    dim: usize,
    q: &[i8],
    k: usize,
    hidden: &[u64],
) -> Vec<(u32, f32)> {
    let n = scales.len();
    let threads = if n >= PARALLEL_MIN_ROWS {
        std::thread::available_parallelism().map_or(1, |p| p.get())
    } else {
        1
    };
    let mut tops: Vec<TopK> = if threads <= 1 {
        let mut t = TopK::new(k);
        scan_rows(codes, scales, dim, q, 0, n, None, hidden, &mut t);
        vec![t]
    } else {
        // Chunks are multiples of 64 rows (one hidden-bitset word); the calling thread scans the
        // first chunk itself.
        let chunk = n.div_ceil(threads).div_ceil(64) * 64;
        std::thread::scope(|s| {
            let handles: Vec<_> = (1..threads)
                .map(|i| {
                    let (a, b) = ((i * chunk).min(n), ((i + 1) * chunk).min(n));
                    s.spawn(move || {
                        let mut t = TopK::new(k);
                        scan_rows(codes, scales, dim, q, a, b, None, hidden, &mut t);
                        t
                    })
                })
                .collect();
            let mut first = TopK::new(k);
            scan_rows(
                codes,
                scales,
                dim,
                q,
                0,
                chunk.min(n),
                None,
                hidden,
                &mut first,
            );
            let mut v = vec![first];
            v.extend(handles.into_iter().filter_map(|h| h.join().ok()));
            v
        })
    };
    merge(&mut tops, k)
}

/// The best `k` of several partial top-K lists, best first.
fn merge(tops: &mut [TopK], k: usize) -> Vec<(u32, f32)> {
    let mut all = TopK::new(k);
    for t in tops.iter_mut() {
        for h in t.heap.drain() {
            all.offer(h.0, h.1);
        }
    }
    let mut v: Vec<(u32, f32)> = all.heap.into_iter().map(|h| (h.1, h.0)).collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

/// One inverted list: copies of gallery rows (`codes`, `scales`) and the gallery slot of each.
#[derive(Clone, Copy)]
pub(crate) struct ListRows<'a> {
    pub(crate) codes: &'a [i8],
    pub(crate) scales: &'a [f32],
    pub(crate) slots: &'a [u32],
}

/// Best `k` visible gallery slots over several inverted lists (similarity without the query's
/// scale), best first. Lists are shared out to all cores in contiguous runs of about equal row
/// counts when there are enough rows to pay for the threads.
pub(crate) fn top_k_lists(
    lists: &[ListRows<'_>],
    dim: usize,
    q: &[i8],
    k: usize,
    hidden: &[u64],
) -> Vec<(u32, f32)> {
    let rows: usize = lists.iter().map(|l| l.scales.len()).sum();
    let threads = if rows >= PARALLEL_MIN_ROWS {
        std::thread::available_parallelism().map_or(1, |p| p.get())
    } else {
        1
    };
    let scan = |part: &[ListRows<'_>]| {
        let mut t = TopK::new(k);
        for l in part {
            let n = l.scales.len().min(l.slots.len());
            scan_rows(
                l.codes,
                l.scales,
                dim,
                q,
                0,
                n,
                Some(l.slots),
                hidden,
                &mut t,
            );
        }
        t
    };
    if threads <= 1 || lists.len() < 2 {
        return merge(&mut [scan(lists)], k);
    }
    // Cut the list sequence where the running row count passes each thread's share.
    let mut cuts = vec![0usize];
    let mut seen = 0usize;
    for (i, l) in lists.iter().enumerate() {
        seen += l.scales.len();
        if seen * threads >= rows * cuts.len() && cuts.len() < threads {
            cuts.push(i + 1);
        }
    }
    cuts.push(lists.len());
    cuts.dedup();
    let mut tops: Vec<TopK> = std::thread::scope(|s| {
        let handles: Vec<_> = cuts
            .windows(2)
            .skip(1)
            .map(|w| {
                let part = &lists[w[0]..w[1]];
                s.spawn(move || scan(part))
            })
            .collect();
        let mut v = vec![scan(&lists[cuts[0]..cuts[1]])];
        v.extend(handles.into_iter().filter_map(|h| h.join().ok()));
        v
    });
    merge(&mut tops, k)
}

/// The single best row of a small matrix (nearest centroid), on the calling thread.
pub(crate) fn best_row(codes: &[i8], scales: &[f32], dim: usize, q: &[i8]) -> Option<(u32, f32)> {
    let mut t = TopK::new(1);
    scan_rows(codes, scales, dim, q, 0, scales.len(), None, &[], &mut t);
    t.heap.pop().map(|h| (h.1, h.0))
}

#[cfg(test)]
mod kernel_tests {
    use super::*;

    /// The SIMD kernels equal plain integer dot products, also at the extremes of the code range
    /// where an i16 pair sum would saturate without the sign trick's bound.
    #[test]
    fn fr_08_simd_dot_products_are_exact_at_extreme_codes() {
        let dim = 128;
        let mut rows: Vec<Vec<i8>> = vec![
            vec![127; dim],
            vec![-127; dim],
            (0..dim)
                .map(|i| if i % 2 == 0 { 127 } else { -127 })
                .collect(),
            vec![0; dim],
        ];
        let mut s = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..60 {
            rows.push(
                (0..dim)
                    .map(|_| {
                        s ^= s << 13;
                        s ^= s >> 7;
                        s ^= s << 17;
                        (((s >> 40) % 255) as i64 - 127) as i8
                    })
                    .collect(),
            );
        }
        let dot = Dot::for_dim(dim);
        let codes: Vec<i8> = rows.iter().flatten().copied().collect();
        let scales = vec![1.0f32; rows.len()];
        for q in &rows {
            for r in &rows {
                assert_eq!(dot.dot(r, q), dot_i8(r, q));
            }
            let got = top_k(&codes, &scales, dim, q, rows.len(), &[]);
            for (slot, score) in got {
                assert_eq!(score, dot_i8(&rows[slot as usize], q) as f32);
            }
        }
    }
}
