//! The embedding cache of an evaluation: one file per algorithm, so re-running is cheap.
//! Format: magic, JSON header (algorithm, dimension, count), then per entry: name length (u16),
//! name, number (u32), how found (u8), dimension × f32 (little-endian).

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use super::{FaceFound, ImageRef};
use crate::algorithm::AlgorithmId;
use crate::error::FaceError;

const MAGIC: &[u8; 8] = b"PRBFEMB1";

pub struct EmbeddingCache {
    pub algorithm: AlgorithmId,
    pub entries: HashMap<ImageRef, (Vec<f32>, FaceFound)>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Header {
    algorithm: AlgorithmId,
    dim: usize,
    count: usize,
}

impl EmbeddingCache {
    pub fn new(algorithm: AlgorithmId) -> Self {
        Self {
            algorithm,
            entries: HashMap::new(),
        }
    }

    pub fn save(&self, path: &Path) -> Result<(), FaceError> {
        let dim = self.entries.values().next().map_or(0, |e| e.0.len());
        let h = serde_json::to_vec(&Header {
            algorithm: self.algorithm.clone(),
            dim,
            count: self.entries.len(),
        })
        .map_err(|e| FaceError::EvalData(e.to_string()))?;
        let mut buf = Vec::with_capacity(self.entries.len() * (dim * 4 + 40));
        buf.extend_from_slice(MAGIC);
        buf.extend_from_slice(&(h.len() as u32).to_le_bytes());
        buf.extend_from_slice(&h);
        for (r, (v, how)) in &self.entries {
            buf.extend_from_slice(&(r.name.len() as u16).to_le_bytes());
            buf.extend_from_slice(r.name.as_bytes());
            buf.extend_from_slice(&r.number.to_le_bytes());
            buf.push(how.code());
            for x in v {
                buf.extend_from_slice(&x.to_le_bytes());
            }
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| FaceError::io(parent, e))?;
        }
        let tmp = path.with_extension("tmp");
        let mut f = std::fs::File::create(&tmp).map_err(|e| FaceError::io(&tmp, e))?;
        f.write_all(&buf).map_err(|e| FaceError::io(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| FaceError::io(path, e))
    }

    /// Loads a cache; a cache of another algorithm is an error.
    pub fn load(path: &Path, algorithm: &AlgorithmId) -> Result<Self, FaceError> {
        let buf = std::fs::read(path).map_err(|e| FaceError::io(path, e))?;
        let bad = || {
            FaceError::EvalData(format!(
                "{} is not a valid embedding cache: delete it",
                path.display()
            ))
        };
        let mut at = 0usize;
        let mut take = |n: usize| -> Result<&[u8], FaceError> {
            let s = buf.get(at..at + n).ok_or_else(bad)?;
            at += n;
            Ok(s)
        };
        if take(8)? != MAGIC {
            return Err(bad());
        }
        let hl = take(4)?;
        let hl = u32::from_le_bytes([hl[0], hl[1], hl[2], hl[3]]) as usize;
        let h: Header = serde_json::from_slice(take(hl)?).map_err(|_| bad())?;
        if &h.algorithm != algorithm {
            return Err(FaceError::AlgorithmMismatch {
                expected: algorithm.to_string(),
                found: h.algorithm.to_string(),
            });
        }
        let mut entries = HashMap::with_capacity(h.count);
        for _ in 0..h.count {
            let l = take(2)?;
            let l = u16::from_le_bytes([l[0], l[1]]) as usize;
            let name = String::from_utf8(take(l)?.to_vec()).map_err(|_| bad())?;
            let n = take(4)?;
            let number = u32::from_le_bytes([n[0], n[1], n[2], n[3]]);
            let how = FaceFound::from_code(take(1)?[0]).ok_or_else(bad)?;
            let v = take(h.dim * 4)?
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            entries.insert(ImageRef { name, number }, (v, how));
        }
        Ok(Self {
            algorithm: h.algorithm,
            entries,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fr_23_evaluation_cache_round_trips_embeddings_and_how_each_face_was_found() {
        let spec = crate::algorithm::lookup(crate::algorithm::DLIB_RESNET_V1).expect("registered");
        let mut cache = EmbeddingCache::new(spec.id());
        for (i, how) in [FaceFound::Hog, FaceFound::Cnn, FaceFound::CentreBox]
            .into_iter()
            .enumerate()
        {
            let r = ImageRef {
                name: format!("Person_{i}"),
                number: i as u32 + 1,
            };
            cache.entries.insert(r, (vec![i as f32 + 0.5; 4], how));
        }
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("embeddings.bin");
        cache.save(&path).expect("save");
        let back = EmbeddingCache::load(&path, &spec.id()).expect("load");
        assert_eq!(back.entries, cache.entries);
        assert_eq!(FaceFound::from_code(3), None);
    }
}
