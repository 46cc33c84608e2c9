//! Card and device intake planning (the pure part of DC-05/DC-06): walk a memory card or device
//! folder, classify every file by content, hash it, read its metadata and make its thumbnail.
//! Storing, encrypting and certifying are the store's job; this module only reads.
//!
//! Every file gets its own result: a refused or damaged file never aborts the card, and a path
//! that vanishes mid-scan is an error for that path alone.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::decode::{checked_jpeg_info, DecodeLimits};
use crate::error::ImagingError;
use crate::format::{sniff, ExtensionCheck, FileFormat};
use crate::hash::{sha256_file, sha256_hex};
use crate::heif_boxes::inspect_heif;
use crate::metadata::{read_metadata, CameraMetadata};
use crate::raw;
use crate::thumbnail::{make_thumbnail, Thumbnail, THUMBNAIL_SIDE};

/// Settings for examining files at intake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntakeOptions {
    pub limits: DecodeLimits,
    /// Longest side of thumbnails, in pixels.
    pub thumbnail_side: u32,
}

impl Default for IntakeOptions {
    fn default() -> Self {
        IntakeOptions {
            limits: DecodeLimits::default(),
            thumbnail_side: THUMBNAIL_SIDE,
        }
    }
}

/// What intake should do with a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum IntakeDecision {
    /// Store it as an original.
    Accepted,
    /// Do not store it; `reason` says why, for the intake report.
    Refused { reason: String },
    /// Same content (SHA-256) as a file earlier on the card; store once.
    Duplicate { of: PathBuf },
}

/// The examination of one file's content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Examination {
    pub format: FileFormat,
    pub extension: ExtensionCheck,
    pub decision: IntakeDecision,
    /// Metadata, when readable (also for some refused files, e.g. a stripped NEF).
    pub metadata: Option<CameraMetadata>,
    pub thumbnail: Option<Thumbnail>,
    /// Findings worth showing that do not refuse the file (e.g. a lying extension).
    pub notes: Vec<String>,
}

/// One file of a card, examined.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CardFile {
    pub path: PathBuf,
    /// The path below the card's root, as shown in reports.
    pub relative_path: PathBuf,
    pub size: u64,
    pub sha256: String,
    pub format: FileFormat,
    pub extension: ExtensionCheck,
    pub decision: IntakeDecision,
    pub metadata: Option<CameraMetadata>,
    pub thumbnail: Option<Thumbnail>,
    pub notes: Vec<String>,
}

/// Examine a file's bytes for intake (also used for single-file web uploads). `name` is used
/// only to report a lying extension; the format comes from the content.
pub fn examine(name: &Path, bytes: &[u8], options: &IntakeOptions) -> Examination {
    let format = sniff(bytes);
    let extension = ExtensionCheck::of(name, format);
    let mut notes = Vec::new();
    if !extension.matches {
        notes.push(match &extension.extension {
            Some(ext) => {
                format!("the extension .{ext} does not match the content, which is {format}")
            }
            None => format!("the file name has no extension; the content is {format}"),
        });
    }
    let mut exam = Examination {
        format,
        extension,
        decision: IntakeDecision::Accepted,
        metadata: None,
        thumbnail: None,
        notes,
    };
    let refuse = |exam: &mut Examination, reason: String| {
        exam.decision = IntakeDecision::Refused { reason };
    };
    if !format.accepted_for_intake() {
        let reason = match format {
            FileFormat::Unknown => "the content is not a recognised image format; camera originals must be JPEG, HEIC/HEIF or NEF (DC-06)".to_string(),
            FileFormat::FlirFff => "a thermal frame is not a camera original; thermal data is not retained (TH-03)".to_string(),
            other => format!("{other} files are not accepted as camera originals; accepted are JPEG, HEIC/HEIF and NEF (DC-06)"),
        };
        refuse(&mut exam, reason);
        return exam;
    }
    if let Err(e) = options.limits.check_bytes(bytes.len() as u64) {
        refuse(&mut exam, e.to_string());
        return exam;
    }
    // Structure checks that catch truncated and hollow files.
    let structure: Result<(), ImagingError> = match format {
        FileFormat::Jpeg => checked_jpeg_info(bytes, &options.limits).map(|_| ()),
        FileFormat::Heif => inspect_heif(bytes, &options.limits).map(|_| ()),
        FileFormat::Nef => {
            raw::check_data_offsets(bytes).map_err(|d| ImagingError::corrupt(FileFormat::Nef, d))
        }
        _ => Ok(()),
    };
    match read_metadata(bytes) {
        Ok(m) => exam.metadata = Some(m),
        Err(e) if structure.is_ok() => {
            refuse(&mut exam, e.to_string());
            return exam;
        }
        Err(_) => {}
    }
    if let Err(e) = structure {
        refuse(&mut exam, e.to_string());
        return exam;
    }
    if format == FileFormat::Nef {
        if let Err(d) = raw::check_raw_data_present(bytes) {
            refuse(
                &mut exam,
                ImagingError::RawPixelsUnavailable { detail: d }.to_string(),
            );
            return exam;
        }
    }
    match make_thumbnail(bytes, options.thumbnail_side, &options.limits) {
        Ok(t) => exam.thumbnail = Some(t),
        Err(e @ ImagingError::RawPixelsUnavailable { .. }) => {
            exam.notes.push(format!("no thumbnail: {e}"));
        }
        Err(e) => refuse(&mut exam, e.to_string()),
    }
    exam
}

/// Iterator over the files of a card; see [`scan_card`].
pub struct CardScan {
    root: PathBuf,
    walk: walkdir::IntoIter,
    seen: HashMap<String, PathBuf>,
    options: IntakeOptions,
}

/// Walk a card or device folder and examine every file, in a stable (sorted) order.
///
/// Each item is one file: `Ok(CardFile)` (accepted, refused with a reason, or a duplicate), or
/// `Err` when the file could not be read at all (e.g. the path vanished mid-scan). The walk
/// goes on after either. Only a missing card root is an error up front.
pub fn scan_card(root: &Path, options: IntakeOptions) -> Result<CardScan, ImagingError> {
    let meta = std::fs::metadata(root).map_err(|e| ImagingError::io(root, e))?;
    if !meta.is_dir() {
        return Err(ImagingError::io(
            root,
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not a folder: give the card's mount point or the device dump folder",
            ),
        ));
    }
    Ok(CardScan {
        root: root.to_path_buf(),
        walk: walkdir::WalkDir::new(root)
            .follow_links(false)
            .sort_by_file_name()
            .into_iter(),
        seen: HashMap::new(),
        options,
    })
}

impl CardScan {
    fn examine_path(&mut self, path: &Path) -> Result<CardFile, ImagingError> {
        let seen = &self.seen;
        let file = examine_file(&self.root, path, &self.options, |sha| {
            seen.get(sha).cloned()
        })?;
        if file.decision == IntakeDecision::Accepted {
            self.seen
                .insert(file.sha256.clone(), file.relative_path.clone());
        }
        Ok(file)
    }
}

/// Read, hash and examine one file of a card. `duplicate_of` answers whether an earlier
/// accepted file had the same SHA-256 (then the file is not examined further).
fn examine_file(
    root: &Path,
    path: &Path,
    options: &IntakeOptions,
    duplicate_of: impl Fn(&str) -> Option<PathBuf>,
) -> Result<CardFile, ImagingError> {
    let relative_path = path.strip_prefix(root).unwrap_or(path).to_path_buf();
    let md = std::fs::metadata(path).map_err(|e| ImagingError::io(path, e))?;
    if md.len() > options.limits.max_bytes {
        // Hash without holding the file in memory; refuse by size.
        let (sha256, size) = sha256_file(path)?;
        let head = read_head(path)?;
        let format = sniff(&head);
        return Ok(CardFile {
            path: path.to_path_buf(),
            relative_path,
            size,
            sha256,
            format,
            extension: ExtensionCheck::of(path, format),
            decision: IntakeDecision::Refused {
                reason: ImagingError::TooManyBytes {
                    size,
                    limit: options.limits.max_bytes,
                }
                .to_string(),
            },
            metadata: None,
            thumbnail: None,
            notes: Vec::new(),
        });
    }
    let bytes = std::fs::read(path).map_err(|e| ImagingError::io(path, e))?;
    let sha256 = sha256_hex(&bytes);
    let size = bytes.len() as u64;
    if let Some(first) = duplicate_of(&sha256) {
        let format = sniff(&bytes);
        return Ok(CardFile {
            path: path.to_path_buf(),
            relative_path,
            size,
            sha256,
            format,
            extension: ExtensionCheck::of(path, format),
            decision: IntakeDecision::Duplicate { of: first },
            metadata: None,
            thumbnail: None,
            notes: Vec::new(),
        });
    }
    let exam = examine(path, &bytes, options);
    Ok(CardFile {
        path: path.to_path_buf(),
        relative_path,
        size,
        sha256,
        format: exam.format,
        extension: exam.extension,
        decision: exam.decision,
        metadata: exam.metadata,
        thumbnail: exam.thumbnail,
        notes: exam.notes,
    })
}

/// The same per-file results as [`scan_card`], in the same order, computed on `threads`
/// worker threads. The folder is listed first, so a file that vanishes afterwards is still an
/// error for that file alone. Duplicates are decided in card order after examination.
pub fn scan_card_parallel(
    root: &Path,
    options: IntakeOptions,
    threads: usize,
) -> Result<Vec<Result<CardFile, ImagingError>>, ImagingError> {
    use std::sync::atomic::{AtomicUsize, Ordering};

    let listing = scan_card(root, options)?;
    let mut entries: Vec<Result<PathBuf, ImagingError>> = Vec::new();
    let mut walk = listing.walk;
    for entry in walk.by_ref() {
        entries.push(match entry {
            Ok(e) if e.file_type().is_dir() => continue,
            Ok(e) if e.file_type().is_symlink() => Err(symlink_error(e.path())),
            Ok(e) => Ok(e.path().to_path_buf()),
            Err(e) => Err(walk_error(root, e)),
        });
    }
    let next = AtomicUsize::new(0);
    let threads = threads.clamp(1, 64);
    let mut slots: Vec<Option<Result<CardFile, ImagingError>>> =
        (0..entries.len()).map(|_| None).collect();
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(entry) = entries.get(i) else { break };
                        if let Ok(path) = entry {
                            done.push((i, examine_file(root, path, &options, |_| None)));
                        }
                    }
                    done
                })
            })
            .collect();
        for w in workers {
            // A worker only panics if examination has a bug; report it per file below.
            if let Ok(done) = w.join() {
                for (i, r) in done {
                    slots[i] = Some(r);
                }
            }
        }
    });
    let mut seen: HashMap<String, PathBuf> = HashMap::new();
    let mut out = Vec::with_capacity(entries.len());
    for (entry, slot) in entries.into_iter().zip(slots) {
        let result = match (entry, slot) {
            (Err(e), _) => Err(e),
            (Ok(_), Some(Ok(mut file))) => {
                if file.decision == IntakeDecision::Accepted {
                    if let Some(first) = seen.get(&file.sha256) {
                        file.decision = IntakeDecision::Duplicate { of: first.clone() };
                        file.metadata = None;
                        file.thumbnail = None;
                        file.notes.clear();
                    } else {
                        seen.insert(file.sha256.clone(), file.relative_path.clone());
                    }
                }
                Ok(file)
            }
            (Ok(_), Some(Err(e))) => Err(e),
            (Ok(path), None) => Err(ImagingError::io(
                path,
                std::io::Error::other("the file could not be examined; scan the card again"),
            )),
        };
        out.push(result);
    }
    Ok(out)
}

fn symlink_error(path: &Path) -> ImagingError {
    ImagingError::io(
        path,
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "symbolic link on a card is not followed; copy the file it points to",
        ),
    )
}

fn walk_error(root: &Path, e: walkdir::Error) -> ImagingError {
    let path = e
        .path()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| root.to_path_buf());
    let io = e
        .into_io_error()
        .unwrap_or_else(|| std::io::Error::other("file system loop"));
    ImagingError::io(path, io)
}

fn read_head(path: &Path) -> Result<Vec<u8>, ImagingError> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).map_err(|e| ImagingError::io(path, e))?;
    let mut head = vec![0u8; 65536];
    let mut n = 0;
    loop {
        let r = f
            .read(&mut head[n..])
            .map_err(|e| ImagingError::io(path, e))?;
        if r == 0 || n + r == head.len() {
            n += r;
            break;
        }
        n += r;
    }
    head.truncate(n);
    Ok(head)
}

impl Iterator for CardScan {
    type Item = Result<CardFile, ImagingError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let entry = match self.walk.next()? {
                Ok(e) => e,
                Err(e) => return Some(Err(walk_error(&self.root, e))),
            };
            if entry.file_type().is_dir() {
                continue;
            }
            if entry.file_type().is_symlink() {
                return Some(Err(symlink_error(entry.path())));
            }
            let path = entry.path().to_path_buf();
            return Some(self.examine_path(&path));
        }
    }
}
