//! A hierarchical navigable small-world graph (Malkov & Yashunin 2016) over the index's i8 rows.
//!
//! Similarity is the quantised dot product (cosine for normalised templates). Nodes are slots of
//! the index matrix; removed or sealed slots stay in the graph for navigation but are never
//! returned. Inserts extend the graph without a rebuild.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use serde::{Deserialize, Serialize};

use super::bit;
use super::scan::Dot;

/// Graph parameters.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct HnswParams {
    /// Links per node on upper layers (layer 0 has twice as many).
    pub m: usize,
    /// Search breadth while inserting.
    pub ef_construction: usize,
    pub seed: u64,
}

impl Default for HnswParams {
    fn default() -> Self {
        Self {
            m: 16,
            ef_construction: 100,
            seed: 0x5eed_f00d,
        }
    }
}

const EMPTY: u32 = u32::MAX;

thread_local! {
    /// Visit marks of searches on this thread (one epoch per search), kept between searches so a
    /// search allocates nothing for them.
    static SEARCH_MARKS: std::cell::RefCell<(Vec<u32>, u32)> = const { std::cell::RefCell::new((Vec::new(), 0)) };
}

pub(crate) struct Hnsw {
    pub(crate) params: HnswParams,
    /// Layer of each node.
    pub(crate) levels: Vec<u8>,
    /// Layer-0 links, `2m` per node, EMPTY-padded.
    pub(crate) links0: Vec<u32>,
    /// Upper-layer links: for node i, `levels[i] * m` entries starting at `upper_at[i]`.
    pub(crate) upper: Vec<u32>,
    pub(crate) upper_at: Vec<u64>,
    pub(crate) entry: u32,
    pub(crate) max_level: u8,
    pub(crate) rng: u64,
    visited: Vec<u32>,
    epoch: u32,
}

#[derive(Clone, Copy, PartialEq)]
struct Near(f32, u32);
impl Eq for Near {}
impl PartialOrd for Near {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Near {
    fn cmp(&self, o: &Self) -> Ordering {
        self.0.total_cmp(&o.0).then(o.1.cmp(&self.1))
    }
}
/// Reverse order: a min-heap by similarity.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Far(std::cmp::Reverse<Near>);

struct Rows<'a> {
    codes: &'a [i8],
    scales: &'a [f32],
    dim: usize,
    dot: Dot,
}
impl Rows<'_> {
    #[inline(always)]
    fn row(&self, i: u32) -> &[i8] {
        let i = i as usize;
        &self.codes[i * self.dim..(i + 1) * self.dim]
    }
    #[inline(always)]
    fn sim_q(&self, q: &[i8], i: u32) -> f32 {
        self.dot.dot(self.row(i), q) as f32 * self.scales[i as usize]
    }
    #[inline(always)]
    fn sim(&self, a: u32, b: u32) -> f32 {
        self.dot.dot(self.row(a), self.row(b)) as f32
            * self.scales[a as usize]
            * self.scales[b as usize]
    }
    /// Asks the CPU to start loading row `i` (its distance is computed a few steps later).
    #[inline(always)]
    fn prefetch(&self, i: u32) {
        #[cfg(target_arch = "x86_64")]
        {
            let at = i as usize * self.dim;
            if at < self.codes.len() {
                let p = self.codes[at..].as_ptr();
                for off in (0..self.dim).step_by(64) {
                    // SAFETY: prefetch is a hint with no memory access semantics; the address
                    // lies inside `codes` (or one line past a row's start inside it).
                    unsafe {
                        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                            p.wrapping_add(off),
                        )
                    };
                }
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = i;
    }
}

trait Visited {
    fn first_visit(&mut self, i: u32) -> bool;
}
struct EpochVisited<'a> {
    marks: &'a mut [u32],
    epoch: u32,
}
impl Visited for EpochVisited<'_> {
    fn first_visit(&mut self, i: u32) -> bool {
        let m = &mut self.marks[i as usize];
        if *m == self.epoch {
            false
        } else {
            *m = self.epoch;
            true
        }
    }
}

impl Hnsw {
    pub(crate) fn new(params: HnswParams) -> Self {
        Self {
            params,
            levels: Vec::new(),
            links0: Vec::new(),
            upper: Vec::new(),
            upper_at: Vec::new(),
            entry: EMPTY,
            max_level: 0,
            rng: params.seed | 1,
            visited: Vec::new(),
            epoch: 0,
        }
    }

    /// Nodes no layer-0 link points to (other than the entry point): a search can never reach
    /// them. Pruning inside dense clusters of near-duplicates (many photos of one person) leaves
    /// some; this measures how many (search benchmark, health checks).
    pub(crate) fn unreachable_nodes(&self) -> usize {
        let mut linked = vec![false; self.levels.len()];
        for &l in &self.links0 {
            if let Some(x) = linked.get_mut(l as usize) {
                *x = true;
            }
        }
        linked
            .iter()
            .enumerate()
            .filter(|&(i, &x)| !x && i as u32 != self.entry)
            .count()
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        self.levels.len() + self.links0.len() * 4 + self.upper.len() * 4 + self.upper_at.len() * 8
    }

    fn m0(&self) -> usize {
        self.params.m * 2
    }

    fn links(&self, node: u32, layer: u8) -> &[u32] {
        let n = node as usize;
        if layer == 0 {
            let m0 = self.m0();
            &self.links0[n * m0..(n + 1) * m0]
        } else {
            let m = self.params.m;
            let at = self.upper_at[n] as usize + (layer as usize - 1) * m;
            &self.upper[at..at + m]
        }
    }

    fn links_mut(&mut self, node: u32, layer: u8) -> &mut [u32] {
        let n = node as usize;
        if layer == 0 {
            let m0 = self.m0();
            &mut self.links0[n * m0..(n + 1) * m0]
        } else {
            let m = self.params.m;
            let at = self.upper_at[n] as usize + (layer as usize - 1) * m;
            &mut self.upper[at..at + m]
        }
    }

    fn random_level(&mut self) -> u8 {
        // xorshift64*
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let r = self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d);
        let u = ((r >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
        let ml = 1.0 / (self.params.m as f64).ln();
        ((-u.ln() * ml).floor() as u32).min(16) as u8
    }

    #[allow(clippy::too_many_arguments)]
    fn search_layer(
        &self,
        rows: &Rows<'_>,
        q: &[i8],
        entry: &[Near],
        ef: usize,
        layer: u8,
        visited: &mut dyn Visited,
    ) -> Vec<Near> {
        let mut cand: BinaryHeap<Near> = BinaryHeap::new();
        let mut best: BinaryHeap<Far> = BinaryHeap::new();
        for &e in entry {
            if visited.first_visit(e.1) {
                cand.push(e);
                best.push(Far(std::cmp::Reverse(e)));
            }
        }
        while best.len() > ef {
            best.pop();
        }
        while let Some(c) = cand.pop() {
            let worst = best.peek().map_or(f32::NEG_INFINITY, |f| f.0 .0 .0);
            if c.0 < worst && best.len() >= ef {
                break;
            }
            let mut fresh = [0u32; 256];
            let mut nf = 0;
            for &nb in self.links(c.1, layer) {
                if nb == EMPTY || nf == fresh.len() {
                    break;
                }
                if visited.first_visit(nb) {
                    rows.prefetch(nb);
                    fresh[nf] = nb;
                    nf += 1;
                }
            }
            for &nb in &fresh[..nf] {
                let s = rows.sim_q(q, nb);
                let worst = best.peek().map_or(f32::NEG_INFINITY, |f| f.0 .0 .0);
                if best.len() < ef || s > worst {
                    cand.push(Near(s, nb));
                    best.push(Far(std::cmp::Reverse(Near(s, nb))));
                    if best.len() > ef {
                        best.pop();
                    }
                }
            }
        }
        let mut v: Vec<Near> = best.into_iter().map(|f| f.0 .0).collect();
        v.sort_by(|a, b| b.cmp(a));
        v
    }

    fn greedy(&self, rows: &Rows<'_>, q: &[i8], from_level: u8, to_level: u8) -> Near {
        let mut cur = Near(rows.sim_q(q, self.entry), self.entry);
        let mut layer = from_level;
        while layer > to_level {
            let mut changed = true;
            while changed {
                changed = false;
                for &nb in self.links(cur.1, layer) {
                    if nb == EMPTY {
                        break;
                    }
                    let s = rows.sim_q(q, nb);
                    if s > cur.0 {
                        cur = Near(s, nb);
                        changed = true;
                    }
                }
            }
            layer -= 1;
        }
        cur
    }

    /// The neighbour-selection heuristic: keep a candidate only if it is closer to the base than
    /// to every neighbour already kept (spreads links across directions); then fill the free
    /// places with the nearest candidates the heuristic passed over. Templates of one person form
    /// tight clusters whose members are nearer the cluster's centre than to each other: without
    /// the fill most of them would link only to the centre, and a search would have to find the
    /// rest of the cluster through a single node.
    fn select(rows: &Rows<'_>, sorted: &[Near], m: usize) -> Vec<u32> {
        let mut kept: Vec<Near> = Vec::with_capacity(m);
        let mut passed: Vec<u32> = Vec::new();
        for &c in sorted {
            if kept.len() >= m {
                break;
            }
            if kept.iter().all(|k| rows.sim(c.1, k.1) < c.0) {
                kept.push(c);
            } else {
                passed.push(c.1);
            }
        }
        let free = m - kept.len();
        kept.into_iter()
            .map(|n| n.1)
            .chain(passed.into_iter().take(free))
            .collect()
    }

    /// Inserts slot `node` (which must be the next slot: nodes are dense 0..n).
    pub(crate) fn insert(&mut self, node: u32, codes: &[i8], scales: &[f32], dim: usize) {
        let rows = Rows {
            codes,
            scales,
            dim,
            dot: Dot::for_dim(dim),
        };
        let level = self.random_level();
        let m = self.params.m;
        let m0 = self.m0();
        debug_assert_eq!(node as usize, self.levels.len());
        self.levels.push(level);
        super::reserve_advised(&mut self.links0, m0);
        self.links0.extend(std::iter::repeat_n(EMPTY, m0));
        self.upper_at.push(self.upper.len() as u64);
        self.upper
            .extend(std::iter::repeat_n(EMPTY, level as usize * m));
        if self.visited.len() < self.levels.len() {
            self.visited
                .resize(self.levels.len().next_power_of_two(), 0);
        }
        if self.entry == EMPTY {
            self.entry = node;
            self.max_level = level;
            return;
        }
        let q: Vec<i8> = rows.row(node).to_vec();
        let top = self.max_level;
        let mut ep = vec![if top > level {
            self.greedy(&rows, &q, top, level)
        } else {
            Near(rows.sim_q(&q, self.entry), self.entry)
        }];
        let start = level.min(top);
        for layer in (0..=start).rev() {
            self.epoch = self.epoch.wrapping_add(1);
            if self.epoch == 0 {
                self.visited.iter_mut().for_each(|v| *v = 0);
                self.epoch = 1;
            }
            let mut marks = std::mem::take(&mut self.visited);
            let found = {
                let mut vis = EpochVisited {
                    marks: &mut marks,
                    epoch: self.epoch,
                };
                self.search_layer(&rows, &q, &ep, self.params.ef_construction, layer, &mut vis)
            };
            self.visited = marks;
            let cap = if layer == 0 { m0 } else { m };
            let chosen = Self::select(&rows, &found, m.min(cap));
            {
                let l = self.links_mut(node, layer);
                for (slot, &c) in l.iter_mut().zip(&chosen) {
                    *slot = c;
                }
            }
            for &nb in &chosen {
                self.link_back(&rows, nb, node, layer, cap);
            }
            ep = found;
        }
        if level > self.max_level {
            self.max_level = level;
            self.entry = node;
        }
    }

    fn link_back(&mut self, rows: &Rows<'_>, from: u32, to: u32, layer: u8, cap: usize) {
        let l = self.links_mut(from, layer);
        if let Some(free) = l.iter_mut().find(|x| **x == EMPTY) {
            *free = to;
            return;
        }
        let mut all: Vec<Near> = l
            .iter()
            .chain(std::iter::once(&to))
            .map(|&x| Near(rows.sim(from, x), x))
            .collect();
        all.sort_by(|a, b| b.cmp(a));
        let kept = Self::select(rows, &all, cap);
        let l = self.links_mut(from, layer);
        for (i, slot) in l.iter_mut().enumerate() {
            *slot = kept.get(i).copied().unwrap_or(EMPTY);
        }
    }

    /// The `k` most similar visible nodes, best first, searching with breadth `ef`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn search(
        &self,
        q: &[i8],
        k: usize,
        ef: usize,
        codes: &[i8],
        scales: &[f32],
        dim: usize,
        hidden: &[u64],
    ) -> Vec<(u32, f32)> {
        if self.entry == EMPTY {
            return Vec::new();
        }
        let rows = Rows {
            codes,
            scales,
            dim,
            dot: Dot::for_dim(dim),
        };
        let ep = self.greedy(&rows, q, self.max_level, 0);
        let found = SEARCH_MARKS.with(|cell| {
            let mut m = cell.borrow_mut();
            let (marks, epoch) = &mut *m;
            if marks.len() < self.levels.len() {
                marks.resize(self.levels.len().next_power_of_two(), 0);
            }
            *epoch = epoch.wrapping_add(1);
            if *epoch == 0 {
                marks.iter_mut().for_each(|v| *v = 0);
                *epoch = 1;
            }
            let mut vis = EpochVisited {
                marks,
                epoch: *epoch,
            };
            self.search_layer(&rows, q, &[ep], ef.max(k), 0, &mut vis)
        });
        found
            .into_iter()
            .filter(|n| !bit(hidden, n.1 as usize))
            .take(k)
            .map(|n| (n.1, n.0))
            .collect()
    }
}
