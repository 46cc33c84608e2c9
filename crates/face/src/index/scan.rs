//! Exact search: a SIMD dot-product scan over the i8 matrix, split across cores, with a top-K heap.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::bit;

/// i8·i8 dot product. Written so LLVM vectorises it (pmaddwd); `scan_rows_avx2` compiles it for AVX2.
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
    hidden: &[u64],
    top: &mut TopK,
) {
    for slot in start..end {
        if bit(hidden, slot) {
            continue;
        }
        let row = &codes[slot * dim..(slot + 1) * dim];
        let s = dot_i8(row, q) as f32 * scales[slot];
        top.offer(s, slot as u32);
    }
}

/// AVX2 kernels (i8 codes widened to i16, `vpmaddwd`), for dimensions that are multiples of 16.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::TopK;
    use crate::index::bit;

    /// Largest dimension the kernels keep the widened query for (the registry's largest is 512).
    pub(super) const MAX_DIM: usize = 1024;

    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn widen(q: &[i8], qv: &mut [__m256i; MAX_DIM / 16]) {
        for (c, v) in qv.iter_mut().take(q.len() / 16).enumerate() {
            *v = _mm256_cvtepi8_epi16(_mm_loadu_si128(q.as_ptr().add(16 * c) as *const __m128i));
        }
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn row16(p: *const i8) -> __m256i {
        _mm256_cvtepi8_epi16(_mm_loadu_si128(p as *const __m128i))
    }

    /// One dot product (HNSW distance evaluations).
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn dot(a: &[i8], b: &[i8]) -> i32 {
        let n = a.len().min(b.len()) / 16;
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc0 = _mm256_setzero_si256();
        let mut acc1 = _mm256_setzero_si256();
        let mut c = 0;
        while c + 2 <= n {
            acc0 = _mm256_add_epi32(
                acc0,
                _mm256_madd_epi16(row16(pa.add(16 * c)), row16(pb.add(16 * c))),
            );
            acc1 = _mm256_add_epi32(
                acc1,
                _mm256_madd_epi16(row16(pa.add(16 * c + 16)), row16(pb.add(16 * c + 16))),
            );
            c += 2;
        }
        if c < n {
            acc0 = _mm256_add_epi32(
                acc0,
                _mm256_madd_epi16(row16(pa.add(16 * c)), row16(pb.add(16 * c))),
            );
        }
        let acc = _mm256_add_epi32(acc0, acc1);
        let s = _mm_add_epi32(
            _mm256_castsi256_si128(acc),
            _mm256_extracti128_si256(acc, 1),
        );
        let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b01_00_11_10));
        let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b10_11_00_01));
        _mm_cvtsi128_si32(s)
    }

    /// Scans rows `start..end`, four at a time: four dot products reduced together, scaled,
    /// compared with the current K-th best in one vector compare; only rows above it reach the
    /// top-K (and the hidden-slot check).
    #[target_feature(enable = "avx2")]
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn scan(
        codes: &[i8],
        scales: &[f32],
        dim: usize,
        q: &[i8],
        start: usize,
        end: usize,
        hidden: &[u64],
        top: &mut TopK,
    ) {
        let mut qv = [_mm256_setzero_si256(); MAX_DIM / 16];
        widen(q, &mut qv);
        let nq = dim / 16;
        let mut slot = start;
        let mut lanes = [0f32; 4];
        while slot + 4 <= end {
            let base = codes.as_ptr().add(slot * dim);
            let (mut a0, mut a1, mut a2, mut a3) = (
                _mm256_setzero_si256(),
                _mm256_setzero_si256(),
                _mm256_setzero_si256(),
                _mm256_setzero_si256(),
            );
            for (c, &qc) in qv.iter().take(nq).enumerate() {
                let o = 16 * c;
                a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(row16(base.add(o)), qc));
                a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(row16(base.add(dim + o)), qc));
                a2 = _mm256_add_epi32(a2, _mm256_madd_epi16(row16(base.add(2 * dim + o)), qc));
                a3 = _mm256_add_epi32(a3, _mm256_madd_epi16(row16(base.add(3 * dim + o)), qc));
            }
            let h = _mm256_hadd_epi32(_mm256_hadd_epi32(a0, a1), _mm256_hadd_epi32(a2, a3));
            let d = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
            let f = _mm_mul_ps(_mm_cvtepi32_ps(d), _mm_loadu_ps(scales.as_ptr().add(slot)));
            let mask = _mm_movemask_ps(_mm_cmpgt_ps(f, _mm_set1_ps(top.floor)));
            if mask != 0 {
                _mm_storeu_ps(lanes.as_mut_ptr(), f);
                for (l, &score) in lanes.iter().enumerate() {
                    if mask & (1 << l) != 0 && !bit(hidden, slot + l) {
                        top.offer(score, (slot + l) as u32);
                    }
                }
            }
            slot += 4;
        }
        while slot < end {
            if !bit(hidden, slot) {
                let row = std::slice::from_raw_parts(codes.as_ptr().add(slot * dim), dim);
                top.offer(dot(row, q) as f32 * scales[slot], slot as u32);
            }
            slot += 1;
        }
    }
}

/// Whether the AVX2 kernels apply to vectors of `dim`.
#[inline]
fn use_avx2(dim: usize) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        dim.is_multiple_of(16) && dim <= avx2::MAX_DIM && std::is_x86_feature_detected!("avx2")
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
                // SAFETY: `avx2` is set only when the CPU supports AVX2 and the dimension is a
                // multiple of 16 within MAX_DIM; both rows have that length.
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
    hidden: &[u64],
    top: &mut TopK,
) {
    #[cfg(target_arch = "x86_64")]
    {
        if use_avx2(dim) && q.len() == dim && codes.len() >= end * dim && scales.len() >= end {
            // SAFETY: the CPU supports AVX2 (checked), `dim` is a multiple of 16 within
            // MAX_DIM, and rows start..end lie inside `codes` and `scales` (checked).
            unsafe { avx2::scan(codes, scales, dim, q, start, end, hidden, top) };
            return;
        }
    }
    scan_rows_generic(codes, scales, dim, q, start, end, hidden, top)
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
        scan_rows(codes, scales, dim, q, 0, n, hidden, &mut t);
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
                        scan_rows(codes, scales, dim, q, a, b, hidden, &mut t);
                        t
                    })
                })
                .collect();
            let mut first = TopK::new(k);
            scan_rows(codes, scales, dim, q, 0, chunk.min(n), hidden, &mut first);
            let mut v = vec![first];
            v.extend(handles.into_iter().filter_map(|h| h.join().ok()));
            v
        })
    };
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
