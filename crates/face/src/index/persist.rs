//! One-file persistence of the gallery index: a JSON header, then little-endian arrays.
//! Saving writes a temporary file and renames it; loading is a single read.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::hnsw::{Hnsw, HnswParams};
use super::ivf::{InvertedList, Ivf, IvfParams};
use super::FirstPass;
use super::{bit, GalleryIndex};
use crate::algorithm::AlgorithmId;
use crate::error::FaceError;
use crate::template::RecordId;

const MAGIC: &[u8; 8] = b"PRBFIDX1";

#[derive(Serialize, Deserialize)]
struct Header {
    algorithm: AlgorithmId,
    dim: usize,
    slots: usize,
    sealed: Vec<RecordId>,
    graph: Option<GraphHeader>,
    /// Absent in files written before partitions existed.
    #[serde(default)]
    partition: Option<PartitionHeader>,
}

#[derive(Serialize, Deserialize)]
struct PartitionHeader {
    params: IvfParams,
    lists: usize,
    members: usize,
}

#[derive(Serialize, Deserialize)]
struct GraphHeader {
    params: HnswParams,
    entry: u32,
    max_level: u8,
    upper_len: usize,
    rng: u64,
}

struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let s = self.buf.get(self.at..end)?;
        self.at = end;
        Some(s)
    }
    fn u32s(&mut self, n: usize) -> Option<Vec<u32>> {
        let bytes = self.take(n.checked_mul(4)?)?;
        // Graph links: huge pages before they are written (see `advise_huge_pages`).
        let mut v: Vec<u32> = super::advised_vec(n);
        v.extend(
            bytes
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])),
        );
        Some(v)
    }
    fn u64s(&mut self, n: usize) -> Option<Vec<u64>> {
        Some(
            self.take(n.checked_mul(8)?)?
                .chunks_exact(8)
                .map(|c| {
                    let mut a = [0u8; 8];
                    a.copy_from_slice(c);
                    u64::from_le_bytes(a)
                })
                .collect(),
        )
    }
    fn f32s(&mut self, n: usize) -> Option<Vec<f32>> {
        Some(self.u32s(n)?.into_iter().map(f32::from_bits).collect())
    }
}

impl GalleryIndex {
    /// Writes the index to `path` (atomically and durably: temporary file, fsync, rename, fsync of
    /// the directory).
    pub fn save(&self, path: &Path) -> Result<(), FaceError> {
        let n = self.records.len();
        let header = Header {
            algorithm: self.algorithm.clone(),
            dim: self.dim,
            slots: n,
            sealed: self.sealed.iter().copied().collect(),
            graph: self.graph.as_ref().map(|g| GraphHeader {
                params: g.params,
                entry: g.entry,
                max_level: g.max_level,
                upper_len: g.upper.len(),
                rng: g.rng,
            }),
            partition: self.partition.as_ref().map(|p| PartitionHeader {
                params: p.params,
                lists: p.lists.len(),
                members: p.lists.iter().map(|l| l.slots.len()).sum(),
            }),
        };
        let hjson = serde_json::to_vec(&header)
            .map_err(|e| FaceError::Inference(format!("index header: {e}")))?;
        let tmp = path.with_extension("tmp");
        let io = |e| FaceError::io(&tmp, e);
        let f = std::fs::File::create(&tmp).map_err(io)?;
        let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
        w.write_all(MAGIC).map_err(io)?;
        w.write_all(&(hjson.len() as u64).to_le_bytes())
            .map_err(io)?;
        w.write_all(&hjson).map_err(io)?;
        let codes: Vec<u8> = self.codes.iter().map(|&c| c as u8).collect();
        w.write_all(&codes).map_err(io)?;
        for s in &self.scales {
            w.write_all(&s.to_le_bytes()).map_err(io)?;
        }
        for r in &self.records {
            w.write_all(&r.0.to_le_bytes()).map_err(io)?;
        }
        let words = n.div_ceil(64);
        for i in 0..words {
            let v = self.removed.get(i).copied().unwrap_or(0);
            w.write_all(&v.to_le_bytes()).map_err(io)?;
        }
        if let Some(g) = &self.graph {
            w.write_all(&g.levels).map_err(io)?;
            for x in &g.links0 {
                w.write_all(&x.to_le_bytes()).map_err(io)?;
            }
            for x in &g.upper_at {
                w.write_all(&x.to_le_bytes()).map_err(io)?;
            }
            for x in &g.upper {
                w.write_all(&x.to_le_bytes()).map_err(io)?;
            }
        }
        // The partition: centroids and membership only; list rows are copies of matrix rows.
        if let Some(p) = &self.partition {
            let c: Vec<u8> = p.centroids.iter().map(|&c| c as u8).collect();
            w.write_all(&c).map_err(io)?;
            for s in &p.centroid_scales {
                w.write_all(&s.to_le_bytes()).map_err(io)?;
            }
            for l in &p.lists {
                w.write_all(&(l.slots.len() as u64).to_le_bytes())
                    .map_err(io)?;
            }
            for l in &p.lists {
                for x in &l.slots {
                    w.write_all(&x.to_le_bytes()).map_err(io)?;
                }
            }
        }
        // On disk before the rename, so a crash leaves the old index or the new one, never a
        // renamed file whose blocks were not yet written.
        let f = w.into_inner().map_err(|e| io(e.into_error()))?;
        f.sync_all().map_err(io)?;
        drop(f);
        std::fs::rename(&tmp, path).map_err(|e| FaceError::io(path, e))?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            // The rename itself is durable once the directory is synced.
            std::fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| FaceError::io(dir, e))?;
        }
        Ok(())
    }

    /// Loads an index written by [`GalleryIndex::save`] with one read of the file.
    pub fn load(path: &Path) -> Result<Self, FaceError> {
        let buf = std::fs::read(path).map_err(|e| FaceError::io(path, e))?;
        let bad = |reason: &str| FaceError::IndexFormat {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        };
        let mut r = Reader { buf: &buf, at: 0 };
        if r.take(8) != Some(MAGIC.as_slice()) {
            return Err(bad("wrong file signature"));
        }
        let hlen = r
            .u64s(1)
            .and_then(|v| v.first().copied())
            .ok_or_else(|| bad("truncated header"))?;
        let hbytes = r
            .take(hlen as usize)
            .ok_or_else(|| bad("truncated header"))?;
        let h: Header = serde_json::from_slice(hbytes).map_err(|_| bad("unreadable header"))?;
        let n = h.slots;
        let bytes = r
            .take(n.checked_mul(h.dim).ok_or_else(|| bad("size overflow"))?)
            .ok_or_else(|| bad("truncated matrix"))?;
        let mut codes: Vec<i8> = super::advised_vec(bytes.len());
        codes.extend(bytes.iter().map(|&b| b as i8));
        // `quantise` writes codes in −127..=127 and the SIMD kernels rely on it.
        if codes.contains(&i8::MIN) {
            return Err(bad("template code out of range"));
        }
        let scales = r.f32s(n).ok_or_else(|| bad("truncated scales"))?;
        let records: Vec<RecordId> = r
            .u64s(n)
            .ok_or_else(|| bad("truncated records"))?
            .into_iter()
            .map(RecordId)
            .collect();
        let removed = r
            .u64s(n.div_ceil(64))
            .ok_or_else(|| bad("truncated tombstones"))?;
        let graph = match h.graph {
            None => None,
            Some(gh) => {
                let levels = r.take(n).ok_or_else(|| bad("truncated graph"))?.to_vec();
                let links0 = r
                    .u32s(n * gh.params.m * 2)
                    .ok_or_else(|| bad("truncated graph"))?;
                let upper_at = r.u64s(n).ok_or_else(|| bad("truncated graph"))?;
                let upper = r.u32s(gh.upper_len).ok_or_else(|| bad("truncated graph"))?;
                let mut g = Hnsw::new(gh.params);
                g.levels = levels;
                g.links0 = links0;
                g.upper_at = upper_at;
                g.upper = upper;
                g.entry = gh.entry;
                g.max_level = gh.max_level;
                g.rng = gh.rng;
                if g.links0
                    .iter()
                    .chain(&g.upper)
                    .any(|&l| l != u32::MAX && l as usize >= n)
                    || (n > 0 && g.entry as usize >= n)
                {
                    return Err(bad("graph links point outside the index"));
                }
                Some(g)
            }
        };
        let partition = match h.partition {
            None => None,
            Some(ph) => {
                let size = ph
                    .lists
                    .checked_mul(h.dim)
                    .ok_or_else(|| bad("size overflow"))?;
                let centroids: Vec<i8> = r
                    .take(size)
                    .ok_or_else(|| bad("truncated partition"))?
                    .iter()
                    .map(|&b| b as i8)
                    .collect();
                if centroids.contains(&i8::MIN) {
                    return Err(bad("centroid code out of range"));
                }
                let centroid_scales = r.f32s(ph.lists).ok_or_else(|| bad("truncated partition"))?;
                let lens = r.u64s(ph.lists).ok_or_else(|| bad("truncated partition"))?;
                if lens.iter().try_fold(0u64, |a, &b| a.checked_add(b)) != Some(ph.members as u64) {
                    return Err(bad("partition list sizes do not add up"));
                }
                let members = r
                    .u32s(ph.members)
                    .ok_or_else(|| bad("truncated partition"))?;
                if members.iter().any(|&s| s as usize >= n) {
                    return Err(bad("partition points outside the index"));
                }
                let mut at = 0usize;
                let lists = lens
                    .iter()
                    .map(|&len| {
                        let slots = members[at..at + len as usize].to_vec();
                        at += len as usize;
                        InvertedList {
                            slots,
                            ..InvertedList::default()
                        }
                    })
                    .collect();
                let mut p = Ivf {
                    params: ph.params,
                    dim: h.dim,
                    centroids,
                    centroid_scales,
                    lists,
                };
                p.refill(&codes, &scales);
                Some(p)
            }
        };
        if r.at != buf.len() {
            return Err(bad("trailing bytes"));
        }
        let sealed: HashSet<RecordId> = h.sealed.into_iter().collect();
        let mut slot_of = HashMap::with_capacity(n);
        let mut hidden = removed.clone();
        for (slot, rec) in records.iter().enumerate() {
            if bit(&removed, slot) {
                continue;
            }
            slot_of.insert(*rec, slot as u32);
            if sealed.contains(rec) {
                hidden[slot / 64] |= 1 << (slot % 64);
            }
        }
        let first_pass = crate::algorithm::lookup(&h.algorithm.to_string())
            .ok()
            .and_then(FirstPass::of);
        let mut index = GalleryIndex {
            first_pass,
            first_codes: Vec::new(),
            shortlist: None,
            algorithm: h.algorithm,
            dim: h.dim,
            codes,
            scales,
            records,
            removed,
            hidden,
            slot_of,
            sealed,
            graph,
            partition,
        };
        index.rebuild_first_codes();
        Ok(index)
    }
}
