//! An inverted-file partition (IVF) of the gallery, for approximate search at scale.
//!
//! Spherical k-means, trained on a sample of the gallery, places `lists` centroids; every gallery
//! row is copied into the list of its nearest centroid. A search scores the probe against all
//! centroids, then scans the `probes` nearest lists with the exact scan's SIMD kernel. A list is
//! contiguous, so the search streams memory like the exact scan, over a small part of it, instead
//! of the random accesses of a graph walk.
//!
//! Removed and sealed slots stay in their list and are skipped through the gallery's hidden bits;
//! new rows join the list of their nearest centroid without retraining. Only the centroids and
//! the list membership are saved: the list rows are copied back from the gallery matrix on load.

use serde::{Deserialize, Serialize};

use super::quantise;
use super::scan::{self, ListRows};

/// Partition parameters.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct IvfParams {
    /// Number of lists (centroids).
    pub lists: usize,
    /// Gallery rows the centroids are trained on.
    pub training_rows: usize,
    /// k-means (Lloyd) iterations.
    pub iterations: usize,
    pub seed: u64,
}

/// Most rows the centroids are trained on by default (16 per list at 1,000,000 templates).
const DEFAULT_TRAINING_ROWS: usize = 256_000;

impl IvfParams {
    /// Defaults for a gallery of `n` rows: 16·√n lists, the fine end of the usual 4–16·√n (at
    /// 1,000,000 templates it reaches recall@50 0.99 scanning a quarter as many rows as 4·√n
    /// does, see the crate README), but no fewer than 64 rows per list on average, so a list
    /// is long enough to stream; trained on up to 64 rows per list and at most 256,000 rows.
    pub fn for_gallery(n: usize) -> Self {
        let fine = (n as f64).sqrt() * 16.0;
        let lists = fine.min((n / 64) as f64).round().clamp(1.0, 65_536.0) as usize;
        Self {
            lists,
            training_rows: n.min(lists * 64).min(DEFAULT_TRAINING_ROWS),
            iterations: 10,
            seed: 0x1f_5eed,
        }
    }
}

/// One list: copies of its gallery rows and their slots.
#[derive(Default)]
pub(crate) struct InvertedList {
    pub(crate) codes: Vec<i8>,
    pub(crate) scales: Vec<f32>,
    pub(crate) slots: Vec<u32>,
}

pub(crate) struct Ivf {
    pub(crate) params: IvfParams,
    pub(crate) dim: usize,
    /// i8 centroid codes, `dim` per list, with one scale each.
    pub(crate) centroids: Vec<i8>,
    pub(crate) centroid_scales: Vec<f32>,
    pub(crate) lists: Vec<InvertedList>,
}

struct Rng(u64);
impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |p| p.get())
}

impl Ivf {
    /// Trains the centroids on a sample of `slots` (rows of `codes`), then files every slot in
    /// the list of its nearest centroid. `progress(done, total)` counts rows assigned.
    pub(crate) fn build(
        params: IvfParams,
        codes: &[i8],
        scales: &[f32],
        dim: usize,
        slots: &[u32],
        progress: &mut dyn FnMut(usize, usize),
    ) -> Self {
        let n = slots.len();
        let mut rng = Rng(params.seed | 1);
        // A random sample (partial Fisher–Yates); its first `lists` rows seed the centroids.
        let mut sample = slots.to_vec();
        let take = params.training_rows.clamp(1, n.max(1)).min(n);
        for i in 0..take {
            let j = i + rng.below(n - i);
            sample.swap(i, j);
        }
        sample.truncate(take);
        let lists = params.lists.clamp(1, take.max(1)).min(take);
        let mut ivf = Ivf {
            params,
            dim,
            centroids: Vec::with_capacity(lists * dim),
            centroid_scales: Vec::with_capacity(lists),
            lists: Vec::new(),
        };
        for &s in &sample[..lists] {
            let s = s as usize;
            ivf.centroids
                .extend_from_slice(&codes[s * dim..(s + 1) * dim]);
            ivf.centroid_scales.push(scales[s]);
        }
        let total = params.iterations * take + n;
        for it in 0..params.iterations {
            let assigned = ivf.nearest_of(codes, dim, &sample);
            ivf.update_centroids(codes, scales, &sample, &assigned, &mut rng);
            progress((it + 1) * take, total);
        }
        let assigned = ivf.nearest_of(codes, dim, slots);
        ivf.lists = (0..ivf.centroid_scales.len())
            .map(|_| InvertedList::default())
            .collect();
        for (&slot, &l) in slots.iter().zip(&assigned) {
            ivf.file(l as usize, slot, codes, scales);
        }
        progress(total, total);
        ivf
    }

    /// Nearest centroid of each of `rows`, on all cores.
    fn nearest_of(&self, codes: &[i8], dim: usize, rows: &[u32]) -> Vec<u32> {
        let chunk = rows.len().div_ceil(threads()).max(1);
        std::thread::scope(|s| {
            let handles: Vec<_> = rows
                .chunks(chunk)
                .map(|part| {
                    s.spawn(move || {
                        part.iter()
                            .map(|&r| {
                                let r = r as usize;
                                self.nearest(&codes[r * dim..(r + 1) * dim])
                            })
                            .collect::<Vec<u32>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_default())
                .collect()
        })
    }

    /// The list whose centroid is most similar to `code`.
    fn nearest(&self, code: &[i8]) -> u32 {
        scan::best_row(&self.centroids, &self.centroid_scales, self.dim, code).map_or(0, |b| b.0)
    }

    /// One Lloyd step: each centroid becomes the normalised mean of its rows; a centroid left
    /// without rows is re-seeded with a random sample row.
    fn update_centroids(
        &mut self,
        codes: &[i8],
        scales: &[f32],
        sample: &[u32],
        assigned: &[u32],
        rng: &mut Rng,
    ) {
        let (k, dim) = (self.centroid_scales.len(), self.dim);
        let mut sums = vec![0f32; k * dim];
        let mut counts = vec![0usize; k];
        for (&r, &c) in sample.iter().zip(assigned) {
            let (r, c) = (r as usize, c as usize);
            let s = scales[r];
            counts[c] += 1;
            for (acc, &x) in sums[c * dim..(c + 1) * dim]
                .iter_mut()
                .zip(&codes[r * dim..(r + 1) * dim])
            {
                *acc += x as f32 * s;
            }
        }
        for c in 0..k {
            let sum = &mut sums[c * dim..(c + 1) * dim];
            if counts[c] == 0 {
                let r = sample[rng.below(sample.len())] as usize;
                self.centroids[c * dim..(c + 1) * dim]
                    .copy_from_slice(&codes[r * dim..(r + 1) * dim]);
                self.centroid_scales[c] = scales[r];
                continue;
            }
            let norm = sum.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
            sum.iter_mut().for_each(|x| *x /= norm);
            self.centroid_scales[c] = quantise(sum, &mut self.centroids[c * dim..(c + 1) * dim]);
        }
    }

    fn file(&mut self, list: usize, slot: u32, codes: &[i8], scales: &[f32]) {
        let s = slot as usize;
        let l = &mut self.lists[list];
        l.codes
            .extend_from_slice(&codes[s * self.dim..(s + 1) * self.dim]);
        l.scales.push(scales[s]);
        l.slots.push(slot);
    }

    /// Files a newly added gallery row in the list of its nearest centroid (no retraining). In a
    /// partition built over an empty gallery, the first row becomes the only centroid.
    pub(crate) fn insert(&mut self, slot: u32, codes: &[i8], scales: &[f32]) {
        let s = slot as usize;
        let code = &codes[s * self.dim..(s + 1) * self.dim];
        if self.lists.is_empty() {
            self.centroids.extend_from_slice(code);
            self.centroid_scales.push(scales[s]);
            self.lists.push(InvertedList::default());
        }
        let l = self.nearest(code) as usize;
        self.file(l, slot, codes, scales);
    }

    /// Best `want` visible slots from the `probes` lists nearest the probe, best first. Widens
    /// the probe count while the lists hold fewer than `want` visible rows, so a pool is only
    /// short when the whole gallery is.
    pub(crate) fn search(
        &self,
        q: &[i8],
        want: usize,
        probes: usize,
        hidden: &[u64],
    ) -> Vec<(u32, f32)> {
        let total = self.lists.len();
        let mut probes = probes.clamp(1, total.max(1));
        loop {
            let parts: Vec<ListRows<'_>> = self
                .nearest_lists(q, probes)
                .map(|l| ListRows {
                    codes: &l.codes,
                    scales: &l.scales,
                    slots: &l.slots,
                })
                .collect();
            let found = scan::top_k_lists(&parts, self.dim, q, want, hidden);
            if found.len() >= want || probes >= total {
                return found;
            }
            probes = (probes * 2).min(total);
        }
    }

    /// The `probes` lists whose centroids are most similar to the probe, nearest first.
    fn nearest_lists(&self, q: &[i8], probes: usize) -> impl Iterator<Item = &InvertedList> {
        let probes = probes.clamp(1, self.lists.len().max(1));
        scan::top_k(
            &self.centroids,
            &self.centroid_scales,
            self.dim,
            q,
            probes,
            &[],
        )
        .into_iter()
        .filter_map(|(l, _)| self.lists.get(l as usize))
    }

    /// Rows a search with `probes` lists scans for this probe (before any widening).
    pub(crate) fn rows_probed(&self, q: &[i8], probes: usize) -> usize {
        self.nearest_lists(q, probes).map(|l| l.slots.len()).sum()
    }

    /// Bytes held: centroids and the list copies (codes, scales, slots).
    pub(crate) fn memory_bytes(&self) -> usize {
        let rows: usize = self.lists.iter().map(|l| l.slots.len()).sum();
        self.centroids.len() + 4 * self.centroid_scales.len() + rows * (self.dim + 8)
    }

    /// Rebuilds the list copies from the gallery matrix (after loading the membership).
    pub(crate) fn refill(&mut self, codes: &[i8], scales: &[f32]) {
        let dim = self.dim;
        for l in &mut self.lists {
            l.codes = Vec::with_capacity(l.slots.len() * dim);
            l.scales = Vec::with_capacity(l.slots.len());
            for &s in &l.slots {
                let s = s as usize;
                l.codes.extend_from_slice(&codes[s * dim..(s + 1) * dim]);
                l.scales.push(scales[s]);
            }
        }
    }
}
