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

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(clippy::too_many_arguments)]
unsafe fn scan_rows_avx2(
    codes: &[i8],
    scales: &[f32],
    dim: usize,
    q: &[i8],
    start: usize,
    end: usize,
    hidden: &[u64],
    top: &mut TopK,
) {
    scan_rows_generic(codes, scales, dim, q, start, end, hidden, top)
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
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            unsafe { scan_rows_avx2(codes, scales, dim, q, start, end, hidden, top) };
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
        let chunk = n.div_ceil(threads);
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|i| {
                    let (a, b) = (i * chunk, ((i + 1) * chunk).min(n));
                    s.spawn(move || {
                        let mut t = TopK::new(k);
                        scan_rows(codes, scales, dim, q, a, b, hidden, &mut t);
                        t
                    })
                })
                .collect();
            handles.into_iter().filter_map(|h| h.join().ok()).collect()
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
