//! Re-templating the repository under a new algorithm (FR-23) as a resumable job.
//!
//! The store supplies gallery photos in record-id order ([`RetemplateSource`]) and saves the new
//! templates ([`RetemplateSink`]) together with the [`Checkpoint`]; after a crash or a stop the job
//! resumes after the checkpoint's last record. Failures (no face found, unreadable photo) are
//! recorded per record and do not stop the job.

use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};

use crate::algorithm::AlgorithmId;
use crate::engine::FaceEngine;
use crate::error::FaceError;
use crate::template::{GalleryPhoto, RecordId, RepositoryTemplate};

/// Where a re-templating job stands. The store persists it with each batch of templates.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The algorithm being templated (a checkpoint never resumes under another one).
    pub algorithm: Option<AlgorithmId>,
    /// Highest record id processed; the job resumes after it.
    pub last_record: Option<RecordId>,
    pub done: u64,
    pub failed: Vec<(RecordId, String)>,
    pub finished: bool,
}

/// A gallery photo ready for templating (decoded by the imaging crate).
pub struct SourcePhoto {
    pub record: RecordId,
    pub image: Result<image::RgbImage, String>,
}

/// The repository's gallery photos, in ascending record id.
pub trait RetemplateSource {
    /// Total number of records to template (for progress).
    fn total(&mut self) -> Result<u64, FaceError>;
    /// Up to `limit` photos with record id greater than `after`, ascending.
    fn next_batch(
        &mut self,
        after: Option<RecordId>,
        limit: usize,
    ) -> Result<Vec<SourcePhoto>, FaceError>;
}

/// Saves new templates and the checkpoint atomically (one transaction in the store).
pub trait RetemplateSink {
    fn save(
        &mut self,
        templates: Vec<RepositoryTemplate>,
        checkpoint: &Checkpoint,
    ) -> Result<(), FaceError>;
}

/// Progress reported after each batch.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Progress {
    pub done: u64,
    pub failed: u64,
    pub total: u64,
}

/// The job: run it, stop it, run it again from its checkpoint.
pub struct RetemplateJob {
    pub checkpoint: Checkpoint,
    pub batch_size: usize,
}

impl RetemplateJob {
    /// A job starting from `checkpoint` (use `Checkpoint::default()` for a fresh start).
    pub fn resume(checkpoint: Checkpoint) -> Self {
        Self {
            checkpoint,
            batch_size: 64,
        }
    }

    /// Runs until the source is exhausted or `stop` is set; returns the checkpoint reached.
    pub fn run(
        &mut self,
        engine: &mut FaceEngine,
        source: &mut dyn RetemplateSource,
        sink: &mut dyn RetemplateSink,
        stop: &AtomicBool,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Checkpoint, FaceError> {
        let algo = engine.algorithm().id();
        match &self.checkpoint.algorithm {
            Some(a) if a != &algo => {
                return Err(FaceError::AlgorithmMismatch {
                    expected: a.to_string(),
                    found: algo.to_string(),
                })
            }
            _ => self.checkpoint.algorithm = Some(algo),
        }
        let total = source.total()?;
        while !stop.load(Ordering::Relaxed) && !self.checkpoint.finished {
            let batch = source.next_batch(self.checkpoint.last_record, self.batch_size.max(1))?;
            if batch.is_empty() {
                self.checkpoint.finished = true;
                sink.save(Vec::new(), &self.checkpoint)?;
                break;
            }
            let mut templates = Vec::with_capacity(batch.len());
            for photo in batch {
                if let Some(last) = self.checkpoint.last_record {
                    if photo.record <= last {
                        return Err(FaceError::EvalData(format!(
                            "re-templating source returned record {} after {last}: records must come in ascending order",
                            photo.record
                        )));
                    }
                }
                let result = photo
                    .image
                    .map_err(FaceError::InvalidImage)
                    .and_then(|img| {
                        engine.enrol(
                            GalleryPhoto {
                                record: photo.record,
                                image: &img,
                            },
                            None,
                        )
                    });
                match result {
                    Ok(t) => templates.push(t),
                    Err(e) => self.checkpoint.failed.push((photo.record, e.to_string())),
                }
                self.checkpoint.done += 1;
                self.checkpoint.last_record = Some(photo.record);
            }
            sink.save(templates, &self.checkpoint)?;
            progress(Progress {
                done: self.checkpoint.done,
                failed: self.checkpoint.failed.len() as u64,
                total,
            });
        }
        Ok(self.checkpoint.clone())
    }
}
