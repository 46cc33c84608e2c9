//! libheif and libde265 decode HEIC pixels in a worker process of their own, never in the
//! process that asked: a crash (segmentation fault, abort), a hang or a runaway allocation in
//! the C/C++ decoder then fails that one file with a clear error, and the server goes on.
//!
//! The parent writes a small request header and the file to the worker's standard input; the
//! worker first lowers its own resource limits (address space sized from the image the file
//! declares, CPU time, no core dump, no file writes), then runs the same box walk as the parent
//! and only then calls libheif, and writes a small reply header and the RGB pixels to standard
//! output. The parent kills the worker (and anything it started) when the wall-clock time limit
//! passes or when it writes more than the declared image can need, and reports how it ended.
//!
//! The worker program is found, in order: `$PROBITY_HEIF_WORKER`; the worker configured with
//! [`set_heif_worker`] (the `probity` binary configures itself, run with
//! [`WORKER_ARGUMENT`]); `probity-heif-worker` beside the running executable or in its parent
//! folder (test binaries live in `target/debug/deps`). When none is found decoding fails closed.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::{mpsc, RwLock};
use std::time::{Duration, Instant};

use image::RgbImage;

use crate::decode::DecodeLimits;
use crate::error::ImagingError;
use crate::heif;
use crate::heif_boxes::{inspect_heif, HeifInspection};

/// The worker program's file name (a bin target of this crate).
pub const WORKER_PROGRAM: &str = "probity-heif-worker";
/// The first argument that makes the `probity` binary act as the worker.
pub const WORKER_ARGUMENT: &str = "heif-decode-worker";
/// Environment variable naming the worker program explicitly.
pub const WORKER_ENV: &str = "PROBITY_HEIF_WORKER";
/// Environment variable overriding the wall-clock time limit, in seconds.
pub const TIME_LIMIT_ENV: &str = "PROBITY_HEIF_TIME_LIMIT_SECS";
/// Default wall-clock time limit for one file.
pub const DEFAULT_TIME_LIMIT: Duration = Duration::from_secs(30);
/// Address space every worker gets besides what the declared image needs (program, libraries,
/// thread stacks and allocator arenas).
pub const MEMORY_BASE: u64 = 1 << 30;
/// Address space per declared pixel: the coded tiles, libheif's planar image, its RGB
/// conversion and the worker's copy, with room to spare.
pub const MEMORY_PER_PIXEL: u64 = 24;

const REQUEST_MAGIC: &[u8; 4] = b"PHQ1";
const REPLY_MAGIC: &[u8; 4] = b"PHR1";
const STDERR_KEEP: u64 = 16 * 1024;

/// How to run the HEIC decoder worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeifWorker {
    /// The program to run.
    pub program: PathBuf,
    /// Its arguments (the `probity` binary needs [`WORKER_ARGUMENT`]).
    pub args: Vec<OsString>,
    /// Wall-clock time one file may take; the worker is killed after it.
    pub time_limit: Duration,
    /// Address space the worker may use, instead of the one computed from the declared image
    /// ([`MEMORY_BASE`] + [`MEMORY_PER_PIXEL`] per pixel); for tight deployments and tests.
    pub memory_limit: Option<u64>,
}

static CONFIGURED: RwLock<Option<HeifWorker>> = RwLock::new(None);

/// Make `worker` the one decoding uses in this process (unless `$PROBITY_HEIF_WORKER` names
/// another).
pub fn set_heif_worker(worker: HeifWorker) {
    if let Ok(mut w) = CONFIGURED.write() {
        *w = Some(worker);
    }
}

impl HeifWorker {
    /// A worker program with no arguments and the default time limit (or
    /// `$PROBITY_HEIF_TIME_LIMIT_SECS`).
    pub fn new(program: impl Into<PathBuf>) -> Self {
        let time_limit = std::env::var(TIME_LIMIT_ENV)
            .ok()
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s > 0.0)
            .map(Duration::from_secs_f64)
            .unwrap_or(DEFAULT_TIME_LIMIT);
        HeifWorker {
            program: program.into(),
            args: Vec::new(),
            time_limit,
            memory_limit: None,
        }
    }

    /// The running executable, started with [`WORKER_ARGUMENT`] (for a binary whose `main`
    /// hands that argument to [`run_heif_worker`]).
    pub fn current_executable() -> Result<Self, ImagingError> {
        let exe = std::env::current_exe().map_err(|e| ImagingError::HeifDecoderUnavailable {
            detail: format!("the running program cannot be located: {e}"),
        })?;
        let mut w = HeifWorker::new(exe);
        w.args = vec![WORKER_ARGUMENT.into()];
        Ok(w)
    }

    /// The same worker with another time limit.
    pub fn with_time_limit(mut self, time_limit: Duration) -> Self {
        self.time_limit = time_limit;
        self
    }

    /// The same worker with a fixed address-space limit in bytes.
    pub fn with_memory_limit(mut self, bytes: u64) -> Self {
        self.memory_limit = Some(bytes);
        self
    }

    /// The worker decoding uses: `$PROBITY_HEIF_WORKER`, else the one set with
    /// [`set_heif_worker`], else `probity-heif-worker` beside the running executable or in its
    /// parent folder. Fails closed, saying how to install it.
    pub fn locate() -> Result<Self, ImagingError> {
        if let Some(p) = std::env::var_os(WORKER_ENV).filter(|p| !p.is_empty()) {
            return Ok(HeifWorker::new(p));
        }
        if let Some(w) = CONFIGURED.read().ok().and_then(|w| w.clone()) {
            return Ok(w);
        }
        let exe = std::env::current_exe().map_err(|e| ImagingError::HeifDecoderUnavailable {
            detail: format!("the running program cannot be located: {e}"),
        })?;
        let beside = exe.parent().map(|d| d.join(WORKER_PROGRAM));
        let above = exe
            .parent()
            .and_then(Path::parent)
            .map(|d| d.join(WORKER_PROGRAM));
        for candidate in [beside, above].into_iter().flatten() {
            if candidate.is_file() {
                return Ok(HeifWorker::new(candidate));
            }
        }
        Err(ImagingError::HeifDecoderUnavailable {
            detail: format!(
                "HEIC pixels are decoded only in the separate program {WORKER_PROGRAM}, and none was found beside {} or in its parent folder, and {WORKER_ENV} is not set; build it with `cargo build -p probity-imaging --bins` and install it beside the program, or set {WORKER_ENV} to its path",
                exe.display()
            ),
        })
    }

    /// Decode the primary image of a HEIC/HEIF file in the worker: the box walk refuses
    /// oversize or hostile structure first, in this process, before anything is started.
    /// Returns the upright pixels and the stored (pre-rotation) size.
    pub fn decode(
        &self,
        bytes: &[u8],
        limits: &DecodeLimits,
    ) -> Result<(RgbImage, u32, u32), ImagingError> {
        let inspection = inspect_heif(bytes, limits)?;
        match self.run(bytes, limits, &inspection, Mode::Primary)? {
            Reply::Image {
                image,
                width,
                height,
                ..
            } => Ok((image, width, height)),
            Reply::NoThumbnail => Err(protocol("the worker answered without an image")),
        }
    }

    /// The primary image's thumbnail when its longest side is at least `min_side`, else the
    /// primary image, in one worker run. `true` when it is the thumbnail.
    pub fn thumbnail_or_primary(
        &self,
        bytes: &[u8],
        limits: &DecodeLimits,
        min_side: u32,
    ) -> Result<(RgbImage, bool), ImagingError> {
        let inspection = inspect_heif(bytes, limits)?;
        match self.run(bytes, limits, &inspection, Mode::Thumbnail { min_side })? {
            Reply::Image {
                image, thumbnail, ..
            } => Ok((image, thumbnail)),
            Reply::NoThumbnail => Err(protocol("the worker answered without an image")),
        }
    }

    fn run(
        &self,
        bytes: &[u8],
        limits: &DecodeLimits,
        inspection: &HeifInspection,
        mode: Mode,
    ) -> Result<Reply, ImagingError> {
        let pixels = inspection.pixels_to_decode.min(limits.max_pixels);
        let memory = self.memory_limit.unwrap_or_else(|| {
            MEMORY_BASE
                .saturating_add(pixels.saturating_mul(MEMORY_PER_PIXEL))
                .saturating_add((bytes.len() as u64).saturating_mul(4))
        });
        let request = Request {
            mode,
            limits: *limits,
            memory_limit: memory,
            cpu_seconds: self
                .time_limit
                .as_secs()
                .saturating_mul(4)
                .saturating_add(2),
            length: bytes.len() as u64,
        };
        let mut payload = Vec::with_capacity(REQUEST_LEN + bytes.len());
        request.write(&mut payload);
        payload.extend_from_slice(bytes);
        // The reply can be no larger than the largest image the limits allow.
        let cap = 64u64
            .saturating_add(limits.max_pixels.saturating_mul(3))
            .saturating_add(STDERR_KEEP);

        let started = Instant::now();
        let mut command = Command::new(&self.program);
        // The worker gets no environment (the caller's may hold credentials, such as a
        // database URL), except what locates libheif and its plugins.
        command.env_clear();
        for keep in ["LD_LIBRARY_PATH", "LIBHEIF_PLUGIN_PATH"] {
            if let Some(v) = std::env::var_os(keep) {
                command.env(keep, v);
            }
        }
        let mut child = command
            .args(&self.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .map_err(|e| ImagingError::HeifDecoderUnavailable {
                detail: format!(
                    "cannot start the HEIC decoder worker {}: {e}; build it with `cargo build -p probity-imaging --bins` and install it beside the program, or set {WORKER_ENV} to its path",
                    self.program.display()
                ),
            })?;
        let pid = child.id();
        let (Some(mut stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            kill_group(pid, &mut child);
            return Err(protocol("the worker's pipes could not be opened"));
        };
        // Threads own what they use, so a worker that never reads or never closes its output
        // cannot hold this caller beyond the time limit.
        std::thread::spawn(move || {
            let _ = stdin.write_all(&payload);
        });
        let (out_tx, out_rx) = mpsc::channel();
        // Room for the answer the declared image needs, so reading it copies nothing twice.
        let expected = 64u64.saturating_add(pixels.saturating_mul(3)).min(cap) as usize;
        std::thread::spawn(move || {
            let mut out = Vec::with_capacity(expected);
            let r = stdout.take(cap + 1).read_to_end(&mut out);
            let _ = out_tx.send(r.map(|_| out));
        });
        let (err_tx, err_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut stderr = stderr;
            let mut kept = Vec::new();
            let _ = stderr.by_ref().take(STDERR_KEEP).read_to_end(&mut kept);
            let _ = std::io::copy(&mut stderr, &mut std::io::sink());
            let _ = err_tx.send(kept);
        });

        let deadline = started + self.time_limit;
        let seconds = self.time_limit.as_secs_f64();
        let out = match out_rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(Ok(out)) if out.len() as u64 > cap => {
                kill_group(pid, &mut child);
                return Err(failed(format!(
                    "HEIC decoder wrote more than the largest image the limits allow ({cap} bytes) on this file, and was stopped"
                )));
            }
            Ok(Ok(out)) => out,
            Ok(Err(e)) => {
                kill_group(pid, &mut child);
                return Err(protocol(format!("reading the worker's answer failed: {e}")));
            }
            Err(_) => {
                kill_group(pid, &mut child);
                return Err(failed(format!(
                    "HEIC decoder took longer than {seconds} s on this file (time limit of the decoder worker) and was stopped"
                )));
            }
        };
        // Output is complete; the worker exits right after writing it.
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(1))
                }
                Ok(None) => {
                    kill_group(pid, &mut child);
                    return Err(failed(format!(
                        "HEIC decoder took longer than {seconds} s on this file (time limit of the decoder worker) and was stopped"
                    )));
                }
                Err(e) => {
                    kill_group(pid, &mut child);
                    return Err(protocol(format!("waiting for the worker failed: {e}")));
                }
            }
        };
        let stderr = err_rx
            .recv_timeout(Duration::from_millis(200))
            .map(|b| String::from_utf8_lossy(&b).trim().to_string())
            .unwrap_or_default();
        if let Some(signal) = status.signal() {
            let mib = memory >> 20;
            let out_of_memory = stderr.contains("memory allocation")
                || stderr.contains("bad_alloc")
                || stderr.contains("Cannot allocate memory");
            // A C++ exception thrown inside libheif cannot unwind through Rust, so the worker
            // aborts; under the address-space limit that exception is std::bad_alloc.
            let cpp_exception = stderr.contains("cannot catch foreign exceptions");
            let detail = if out_of_memory {
                format!(
                    "HEIC decoder ran out of its memory limit ({mib} MiB of address space) on this file and was stopped (signal {signal}, {})",
                    signal_name(signal)
                )
            } else if cpp_exception {
                format!(
                    "HEIC decoder stopped on this file: libheif threw a C++ exception, std::bad_alloc when it needs more than its memory limit ({mib} MiB of address space) (signal {signal}, {})",
                    signal_name(signal)
                )
            } else {
                format!(
                    "HEIC decoder crashed (signal {signal}, {}) on this file; the crash was contained in its worker process",
                    signal_name(signal)
                )
            };
            return Err(failed(with_stderr(detail, &stderr)));
        }
        if !status.success() {
            return Err(failed(with_stderr(
                format!("HEIC decoder worker failed on this file ({status})"),
                &stderr,
            )));
        }
        Reply::read(out)
    }
}

fn with_stderr(detail: String, stderr: &str) -> String {
    let last = stderr.lines().rev().find(|l| !l.trim().is_empty());
    match last {
        Some(line) => format!("{detail}; it said: {}", line.trim()),
        None => detail,
    }
}

fn failed(detail: impl Into<String>) -> ImagingError {
    ImagingError::HeifDecoderFailed {
        detail: detail.into(),
    }
}

fn protocol(detail: impl Into<String>) -> ImagingError {
    ImagingError::HeifDecoderFailed {
        detail: format!("HEIC decoder worker misbehaved: {}", detail.into()),
    }
}

/// Kill the worker and everything in its process group, then reap it.
fn kill_group(pid: u32, child: &mut std::process::Child) {
    // The group id is the worker's pid (process_group(0)); it stays valid until the worker is
    // reaped below, so no other process can be hit.
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pid}")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let _ = child.kill();
    let _ = child.wait();
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        4 => "SIGILL",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        24 => "SIGXCPU",
        25 => "SIGXFSZ",
        _ => "signal",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Primary,
    Thumbnail { min_side: u32 },
}

const REQUEST_LEN: usize = 4 + 1 + 4 + 8 + 8 + 4 + 8 + 8 + 8;

struct Request {
    mode: Mode,
    limits: DecodeLimits,
    memory_limit: u64,
    cpu_seconds: u64,
    length: u64,
}

impl Request {
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(REQUEST_MAGIC);
        let (mode, min_side) = match self.mode {
            Mode::Primary => (0u8, 0u32),
            Mode::Thumbnail { min_side } => (1, min_side),
        };
        out.push(mode);
        out.extend_from_slice(&min_side.to_be_bytes());
        out.extend_from_slice(&self.limits.max_bytes.to_be_bytes());
        out.extend_from_slice(&self.limits.max_pixels.to_be_bytes());
        out.extend_from_slice(&self.limits.max_side.to_be_bytes());
        out.extend_from_slice(&self.memory_limit.to_be_bytes());
        out.extend_from_slice(&self.cpu_seconds.to_be_bytes());
        out.extend_from_slice(&self.length.to_be_bytes());
    }

    fn read(h: &[u8; REQUEST_LEN]) -> Result<Self, String> {
        if &h[0..4] != REQUEST_MAGIC {
            return Err("not a request from probity-imaging".into());
        }
        let u32_at = |i: usize| u32::from_be_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
        let u64_at = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&h[i..i + 8]);
            u64::from_be_bytes(b)
        };
        let mode = match h[4] {
            0 => Mode::Primary,
            1 => Mode::Thumbnail {
                min_side: u32_at(5),
            },
            m => return Err(format!("unknown mode {m}")),
        };
        Ok(Request {
            mode,
            limits: DecodeLimits {
                max_bytes: u64_at(9),
                max_pixels: u64_at(17),
                max_side: u32_at(25),
            },
            memory_limit: u64_at(29),
            cpu_seconds: u64_at(37),
            length: u64_at(45),
        })
    }
}

enum Reply {
    Image {
        image: RgbImage,
        width: u32,
        height: u32,
        thumbnail: bool,
    },
    NoThumbnail,
}

const ERR_NO_IMAGE: u8 = 1;
const ERR_CORRUPT: u8 = 2;
const ERR_PIXELS: u8 = 3;
const ERR_REFUSED: u8 = 4;
const ERR_FAILED: u8 = 5;

impl Reply {
    fn read(mut out: Vec<u8>) -> Result<Reply, ImagingError> {
        let mut r = Cursor { data: &out, pos: 0 };
        if r.take(4) != Some(REPLY_MAGIC.as_slice()) {
            return Err(protocol("its answer does not start with the reply header"));
        }
        let bad = || protocol("its answer is cut short");
        match r.u8().ok_or_else(bad)? {
            0 => {
                let thumbnail = r.u8().ok_or_else(bad)? == 1;
                let w = r.u32().ok_or_else(bad)?;
                let h = r.u32().ok_or_else(bad)?;
                let ow = r.u32().ok_or_else(bad)?;
                let oh = r.u32().ok_or_else(bad)?;
                let n = (w as usize)
                    .checked_mul(h as usize)
                    .and_then(|n| n.checked_mul(3))
                    .ok_or_else(bad)?;
                let header = r.pos;
                r.take(n).ok_or_else(bad)?;
                // The pixels stay in the buffer they were read into.
                out.truncate(header + n);
                out.drain(..header);
                let image = RgbImage::from_raw(w, h, out).ok_or_else(bad)?;
                Ok(Reply::Image {
                    image,
                    width: ow,
                    height: oh,
                    thumbnail,
                })
            }
            1 => Ok(Reply::NoThumbnail),
            2 => {
                let kind = r.u8().ok_or_else(bad)?;
                let w = r.u64().ok_or_else(bad)?;
                let h = r.u64().ok_or_else(bad)?;
                let p = r.u64().ok_or_else(bad)?;
                let s = r.u32().ok_or_else(bad)?;
                let len = r.u32().ok_or_else(bad)? as usize;
                let text = String::from_utf8_lossy(r.take(len).ok_or_else(bad)?).into_owned();
                Err(match kind {
                    ERR_NO_IMAGE => ImagingError::HeifNoImage { detail: text },
                    ERR_PIXELS => ImagingError::TooManyPixels {
                        subject: text,
                        width: w,
                        height: h,
                        limit_pixels: p,
                        limit_side: s,
                    },
                    ERR_REFUSED => ImagingError::HeifRefused { detail: text },
                    ERR_FAILED => ImagingError::HeifDecoderFailed { detail: text },
                    _ => ImagingError::corrupt(crate::FileFormat::Heif, text),
                })
            }
            other => Err(protocol(format!("unknown answer kind {other}"))),
        }
    }

    fn write_image(
        out: &mut impl Write,
        image: &RgbImage,
        stored: (u32, u32),
        thumbnail: bool,
    ) -> std::io::Result<()> {
        let mut h = Vec::with_capacity(32);
        h.extend_from_slice(REPLY_MAGIC);
        h.push(0);
        h.push(thumbnail as u8);
        h.extend_from_slice(&image.width().to_be_bytes());
        h.extend_from_slice(&image.height().to_be_bytes());
        h.extend_from_slice(&stored.0.to_be_bytes());
        h.extend_from_slice(&stored.1.to_be_bytes());
        out.write_all(&h)?;
        out.write_all(image.as_raw())
    }

    fn write_error(out: &mut impl Write, e: &ImagingError) -> std::io::Result<()> {
        let (kind, w, h, p, s, text) = match e {
            ImagingError::HeifNoImage { detail } => (ERR_NO_IMAGE, 0, 0, 0, 0, detail.clone()),
            ImagingError::Corrupt { detail, .. } => (ERR_CORRUPT, 0, 0, 0, 0, detail.clone()),
            ImagingError::TooManyPixels {
                subject,
                width,
                height,
                limit_pixels,
                limit_side,
            } => (
                ERR_PIXELS,
                *width,
                *height,
                *limit_pixels,
                *limit_side,
                subject.clone(),
            ),
            ImagingError::HeifRefused { detail } => (ERR_REFUSED, 0, 0, 0, 0, detail.clone()),
            ImagingError::HeifDecoderFailed { detail } => (ERR_FAILED, 0, 0, 0, 0, detail.clone()),
            other => (ERR_CORRUPT, 0, 0, 0, 0, other.to_string()),
        };
        let mut b = Vec::with_capacity(64 + text.len());
        b.extend_from_slice(REPLY_MAGIC);
        b.push(2);
        b.push(kind);
        b.extend_from_slice(&w.to_be_bytes());
        b.extend_from_slice(&h.to_be_bytes());
        b.extend_from_slice(&p.to_be_bytes());
        b.extend_from_slice(&s.to_be_bytes());
        let text = text.as_bytes();
        let text = &text[..text.len().min(64 * 1024)];
        b.extend_from_slice(&(text.len() as u32).to_be_bytes());
        b.extend_from_slice(text);
        out.write_all(&b)
    }
}

struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.data.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Option<u64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Some(u64::from_be_bytes(a))
    }
}

/// The worker's `main`: read one request from standard input, lower this process's limits,
/// decode with libheif, answer on standard output. Used by the `probity-heif-worker` program
/// and by `probity heif-decode-worker`.
pub fn run_heif_worker() -> ExitCode {
    let mut stdin = std::io::stdin().lock();
    let mut stdout = std::io::stdout().lock();
    match serve(&mut stdin, &mut stdout) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{WORKER_PROGRAM}: {e}");
            ExitCode::from(2)
        }
    }
}

fn serve(input: &mut impl Read, output: &mut impl Write) -> Result<(), String> {
    let mut header = [0u8; REQUEST_LEN];
    input
        .read_exact(&mut header)
        .map_err(|e| format!("no request on standard input ({e}); this program is started by Probity to decode one HEIC file"))?;
    let request = Request::read(&header)?;
    lower_limits(&request)?;
    if request.length > request.limits.max_bytes {
        return Err(format!(
            "the request announces {} bytes, over the limit of {}",
            request.length, request.limits.max_bytes
        ));
    }
    let mut bytes = Vec::new();
    input
        .take(request.length)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("reading the file failed: {e}"))?;
    if bytes.len() as u64 != request.length {
        return Err(format!(
            "the file ended after {} of {} bytes",
            bytes.len(),
            request.length
        ));
    }
    let limits = request.limits;
    let result = match request.mode {
        Mode::Primary => {
            heif::decode_in_process(&bytes, &limits).map(|(img, w, h)| (img, (w, h), false))
        }
        Mode::Thumbnail { min_side } => match heif::thumbnail_in_process(&bytes, &limits) {
            Ok(Some(t)) if t.width().max(t.height()) >= min_side => {
                let size = t.dimensions();
                Ok((t, size, true))
            }
            Ok(_) => {
                heif::decode_in_process(&bytes, &limits).map(|(img, w, h)| (img, (w, h), false))
            }
            Err(e) => Err(e),
        },
    };
    let written = match &result {
        Ok((image, stored, thumbnail)) => Reply::write_image(output, image, *stored, *thumbnail),
        Err(e) => Reply::write_error(output, e),
    };
    written
        .and_then(|_| output.flush())
        .map_err(|e| format!("writing the answer failed: {e}"))
}

/// Lower this process's own limits before the file is read: address space, CPU time, no core
/// dump (a core file would hold evidence pixels), no file writes.
fn lower_limits(request: &Request) -> Result<(), String> {
    use rlimit::Resource;
    let set = |r: Resource, v: u64, name: &str| {
        let hard = r.get().map(|(_, hard)| hard).unwrap_or(rlimit::INFINITY);
        let v = v.min(hard);
        r.set(v, v)
            .map_err(|e| format!("cannot set the {name} limit: {e}"))
    };
    set(Resource::AS, request.memory_limit, "address space")?;
    set(Resource::CPU, request.cpu_seconds, "CPU time")?;
    set(Resource::CORE, 0, "core file")?;
    set(Resource::FSIZE, 0, "file size")?;
    Ok(())
}
