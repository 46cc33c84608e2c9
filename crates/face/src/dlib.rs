//! The C++ bridge to dlib: HOG and MMOD detectors with scores, the 5-point shape predictor,
//! the aligned 150×150 face chip and the ResNet face descriptor.
//!
//! How the boundary stays sound (the crate README's "FFI soundness" says the same):
//! - **No buffer shorter than dlib reads.** Every pointer handed to C++ comes from a value
//!   checked here first: a [`Raster`] (private fields; [`Raster::new`] refuses any
//!   `pixels.len() != width × height × 3`, zero sides and sizes that overflow), chip buffers of
//!   exactly [`CHIP_BYTES`] (or a non-zero multiple for a batch), and output buffers this module
//!   allocates at the size the C++ side writes. Upsampling and face boxes are checked so that
//!   dlib's own size arithmetic (signed `long`) cannot overflow.
//! - **No exception crosses into Rust.** The body of every C++ entry point is wrapped in
//!   `try { … } catch (const std::exception& e) { … } catch (...) { … }`; a failure copies the
//!   exception's message into a [`CppError`] buffer and returns a failure value (null pointer,
//!   negative count, `false`), which the Rust side turns into a [`FaceError`].
//! - **One owner per C++ object.** Each object lives behind an owning handle that deletes it
//!   once on drop, is `Send` (no thread-affine state) but not `Sync`, and is used through
//!   `&mut self` only.

use std::ffi::{c_char, c_void, CString};
use std::path::Path;

use crate::error::FaceError;
use crate::geometry::{BoundingBox, Point};

cpp::cpp! {{
    #include <dlib/dnn.h>
    #include <dlib/image_processing/frontal_face_detector.h>
    #include <dlib/image_processing/full_object_detection.h>
    #include <dlib/image_processing/shape_predictor.h>
    #include <dlib/image_processing.h>
    #include <dlib/image_transforms.h>
    #include <cstddef>
    #include <cstdint>
    #include <exception>
    #include <memory>
    #include <stdexcept>
    #include <string>
    #include <vector>

    // ResNet face descriptor network as published with dlib_face_recognition_resnet_model_v1.dat
    // (dlib tools/python/src/face_recognition.cpp).
    namespace probity {
    template <template <int,template<typename>class,int,typename> class block, int N, template<typename>class BN, typename SUBNET>
    using residual = dlib::add_prev1<block<N,BN,1,dlib::tag1<SUBNET>>>;
    template <template <int,template<typename>class,int,typename> class block, int N, template<typename>class BN, typename SUBNET>
    using residual_down = dlib::add_prev2<dlib::avg_pool<2,2,2,2,dlib::skip1<dlib::tag2<block<N,BN,2,dlib::tag1<SUBNET>>>>>>;
    template <int N, template <typename> class BN, int stride, typename SUBNET>
    using block = BN<dlib::con<N,3,3,1,1,dlib::relu<BN<dlib::con<N,3,3,stride,stride,SUBNET>>>>>;
    template <int N, typename SUBNET> using ares = dlib::relu<residual<block,N,dlib::affine,SUBNET>>;
    template <int N, typename SUBNET> using ares_down = dlib::relu<residual_down<block,N,dlib::affine,SUBNET>>;
    template <typename SUBNET> using alevel0 = ares_down<256,SUBNET>;
    template <typename SUBNET> using alevel1 = ares<256,ares<256,ares_down<256,SUBNET>>>;
    template <typename SUBNET> using alevel2 = ares<128,ares<128,ares_down<128,SUBNET>>>;
    template <typename SUBNET> using alevel3 = ares<64,ares<64,ares<64,ares_down<64,SUBNET>>>>;
    template <typename SUBNET> using alevel4 = ares<32,ares<32,ares<32,SUBNET>>>;
    using resnet = dlib::loss_metric<dlib::fc_no_bias<128,dlib::avg_pool_everything<
        alevel0<alevel1<alevel2<alevel3<alevel4<
        dlib::max_pool<3,3,2,2,dlib::relu<dlib::affine<dlib::con<32,7,7,2,2,
        dlib::input_rgb_image_sized<150>>>>>>>>>>>>>;

    // MMOD CNN face detector as published with mmod_human_face_detector.dat
    // (dlib tools/python/src/cnn_face_detector.cpp).
    template <long num_filters, typename SUBNET> using con5d = dlib::con<num_filters,5,5,2,2,SUBNET>;
    template <long num_filters, typename SUBNET> using con5 = dlib::con<num_filters,5,5,1,1,SUBNET>;
    template <typename SUBNET> using downsampler = dlib::relu<dlib::affine<con5d<32, dlib::relu<dlib::affine<con5d<32, dlib::relu<dlib::affine<con5d<16,SUBNET>>>>>>>>>;
    template <typename SUBNET> using rcon5 = dlib::relu<dlib::affine<con5<45,SUBNET>>>;
    using mmod = dlib::loss_mmod<dlib::con<1,9,9,1,1,rcon5<rcon5<rcon5<downsampler<dlib::input_rgb_image_pyramid<dlib::pyramid_down<6>>>>>>>>;

    // Copies `what` into the caller's error buffer of `cap` bytes, truncated and always
    // NUL-terminated. Allocates nothing and cannot throw, so it is safe inside a catch clause.
    inline void fail(char* err, std::size_t cap, const char* what) noexcept {
        if (err == nullptr || cap == 0) return;
        if (what == nullptr) what = "";
        std::size_t n = 0;
        while (n + 1 < cap && what[n] != '\0') { err[n] = what[n]; ++n; }
        err[n] = '\0';
    }

    // Copies a checked RGB8 raster (`w * h * 3` bytes at `px`, guaranteed by the Rust caller)
    // into a dlib matrix. May throw std::bad_alloc; every caller runs it inside its try block.
    inline dlib::matrix<dlib::rgb_pixel> to_matrix(const uint8_t* px, long w, long h) {
        dlib::matrix<dlib::rgb_pixel> m(h, w);
        for (long y = 0; y < h; ++y) {
            for (long x = 0; x < w; ++x) {
                const uint8_t* p = px + 3 * (y * w + x);
                m(y, x) = dlib::rgb_pixel(p[0], p[1], p[2]);
            }
        }
        return m;
    }
    }
}}

extern "C" {
    fn openblas_set_num_threads(n: std::ffi::c_int);
}

/// Sets OpenBLAS's thread count (dlib's networks multiply matrices through it). With one engine
/// per worker thread, 1 avoids oversubscribing the cores.
pub fn set_blas_threads(n: usize) {
    let n = n.clamp(1, 256) as std::ffi::c_int;
    // SAFETY: `openblas_set_num_threads(int)` is a C function of the OpenBLAS library this crate
    // links (build.rs); it takes a plain integer (clamped to 1..=256 above), touches no memory of
    // ours and throws no C++ exception.
    unsafe { openblas_set_num_threads(n) }
}

/// Maximum number of faces one detection call reports.
pub const MAX_FACES: usize = 256;
/// Side of the aligned face chip, pixels.
pub const CHIP_SIZE: usize = 150;
/// Bytes of one RGB chip.
pub const CHIP_BYTES: usize = CHIP_SIZE * CHIP_SIZE * 3;
/// Largest absolute face-box coordinate handed to dlib: far beyond any image, and small enough
/// that dlib's rectangle arithmetic on `long` (widths, areas, centre points) cannot overflow.
const MAX_BOX_COORD: f64 = (1u64 << 31) as f64;
/// Bytes of the error buffer a C++ entry point writes an exception's message into.
const ERR_CAP: usize = 512;

/// The message of a C++ exception caught in the bridge: a NUL-terminated buffer the C++ side
/// fills (truncated to its size) before it returns a failure value.
pub(crate) struct CppError {
    buf: [u8; ERR_CAP],
}

impl CppError {
    fn new() -> Self {
        Self { buf: [0; ERR_CAP] }
    }

    /// Pointer and capacity to pass to C++ (`char* err, size_t cap`); valid while `self` lives
    /// and is not otherwise borrowed.
    fn out(&mut self) -> (*mut c_char, usize) {
        (self.buf.as_mut_ptr().cast::<c_char>(), ERR_CAP)
    }

    /// The message, on one line (dlib's messages span several).
    fn message(&self) -> String {
        let end = self.buf.iter().position(|&b| b == 0).unwrap_or(ERR_CAP);
        let text = String::from_utf8_lossy(&self.buf[..end]);
        let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if one_line.is_empty() {
            "no message".into()
        } else {
            one_line
        }
    }
}

fn c_path(path: &Path) -> Result<CString, FaceError> {
    if !path.is_file() {
        return Err(FaceError::ModelMissing {
            path: path.to_path_buf(),
        });
    }
    let s = path.to_str().ok_or_else(|| FaceError::ModelMissing {
        path: path.to_path_buf(),
    })?;
    CString::new(s).map_err(|_| FaceError::ModelMissing {
        path: path.to_path_buf(),
    })
}

fn model_error(path: &Path, err: &CppError) -> FaceError {
    FaceError::ModelCorrupt {
        path: path.to_path_buf(),
        reason: err.message(),
    }
}

/// A borrowed RGB8 raster (row-major, no padding) passed to dlib.
///
/// The fields are private and [`Raster::new`] is the only constructor, so every `Raster` holds
/// exactly `width × height × 3` bytes with both sides non-zero: the C++ side reads that many
/// bytes from `pixels` and no more. Safe code cannot build one around a short buffer:
///
/// ```compile_fail,E0451
/// // error[E0451]: fields of `Raster` are private
/// let r = probity_face::dlib::Raster { pixels: &[0u8; 3], width: 4000, height: 3000 };
/// ```
///
/// ```
/// let px = [0u8; 3];
/// assert!(probity_face::dlib::Raster::new(&px, 4000, 3000).is_err());
/// assert!(probity_face::dlib::Raster::new(&px, 1, 1).is_ok());
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Raster<'a> {
    pixels: &'a [u8],
    width: usize,
    height: usize,
}

impl<'a> Raster<'a> {
    /// Checks that `pixels` holds exactly `width × height` RGB pixels; the error names the
    /// expected and the actual length.
    pub fn new(pixels: &'a [u8], width: usize, height: usize) -> Result<Self, FaceError> {
        if width == 0 || height == 0 {
            return Err(FaceError::InvalidImage(format!(
                "a {width}×{height} image has no pixels"
            )));
        }
        let expected = width
            .checked_mul(height)
            .and_then(|n| n.checked_mul(3))
            .filter(|&n| n <= isize::MAX as usize)
            .ok_or_else(|| {
                FaceError::InvalidImage(format!(
                    "a {width}×{height} RGB image is larger than memory can hold"
                ))
            })?;
        if pixels.len() != expected {
            return Err(FaceError::InvalidImage(format!(
                "expected {width}×{height} RGB pixels ({expected} bytes), got {} bytes",
                pixels.len()
            )));
        }
        Ok(Self {
            pixels,
            width,
            height,
        })
    }

    pub fn pixels(&self) -> &'a [u8] {
        self.pixels
    }
    pub fn width(&self) -> usize {
        self.width
    }
    pub fn height(&self) -> usize {
        self.height
    }

    /// Pointer and sides for the C++ side. The sides fit `int64_t` (and dlib's `long`): their
    /// product times 3 is at most `isize::MAX` (checked in `new`).
    fn ffi(&self) -> (*const u8, i64, i64) {
        (self.pixels.as_ptr(), self.width as i64, self.height as i64)
    }

    /// Refuses an upsampling count whose doubled image would bring dlib's size arithmetic near
    /// overflow (`pyramid_up` doubles each side per step). Far larger images fail earlier, as a
    /// caught `std::bad_alloc`.
    fn check_upsample(&self, upsample: u32) -> Result<(), FaceError> {
        let fits = 2usize
            .checked_pow(upsample)
            .and_then(|f| Some((self.width.checked_mul(f)?, self.height.checked_mul(f)?)))
            .and_then(|(w, h)| w.checked_mul(h)?.checked_mul(3 * 16))
            .is_some_and(|bytes| bytes <= isize::MAX as usize);
        if fits {
            Ok(())
        } else {
            Err(FaceError::InvalidImage(format!(
                "a {}×{} image cannot be doubled {upsample} times for detection",
                self.width, self.height
            )))
        }
    }
}

/// A detection as dlib reports it: box in image pixels and confidence.
#[derive(Debug, Clone, Copy)]
pub struct RawDetection {
    pub bbox: BoundingBox,
    pub score: f64,
}

fn collect(
    out: &[f64],
    n: i64,
    what: &str,
    err: &CppError,
) -> Result<Vec<RawDetection>, FaceError> {
    if n < 0 {
        return Err(FaceError::Inference(format!(
            "{what} failed on this image: {}",
            err.message()
        )));
    }
    let n = (n as usize).min(MAX_FACES);
    Ok(out
        .chunks_exact(5)
        .take(n)
        .map(|c| RawDetection {
            bbox: BoundingBox {
                left: c[0],
                top: c[1],
                right: c[2],
                bottom: c[3],
            },
            score: c[4],
        })
        .collect())
}

/// dlib's HOG frontal face detector (fast).
pub struct HogDetector {
    /// A `dlib::frontal_face_detector` allocated by `new`, never null, deleted once in `drop`.
    ptr: *mut c_void,
}

// SAFETY: the handle is the sole owner of the heap-allocated detector (no other pointer to it
// exists), and the detector holds no thread-affine state (no thread-locals, no references to
// another thread's data), so moving the handle to another thread moves sole ownership with it.
// It is not `Sync` (raw pointer field): all use goes through `&mut self`, never concurrently.
unsafe impl Send for HogDetector {}

impl HogDetector {
    pub fn new() -> Result<Self, FaceError> {
        let mut err = CppError::new();
        let (ep, cap) = err.out();
        // SAFETY: `ep` points to `cap` writable bytes of `err`, alive and unaliased for the call;
        // the C++ body catches every exception and returns null on failure.
        let ptr = unsafe {
            cpp::cpp!([ep as "char*", cap as "size_t"] -> *mut c_void as "void*" {
                try {
                    return new dlib::frontal_face_detector(dlib::get_frontal_face_detector());
                } catch (const std::exception& e) {
                    probity::fail(ep, cap, e.what());
                    return nullptr;
                } catch (...) {
                    probity::fail(ep, cap, "unknown C++ exception");
                    return nullptr;
                }
            })
        };
        if ptr.is_null() {
            return Err(FaceError::Inference(format!(
                "dlib HOG detector could not be created: {}",
                err.message()
            )));
        }
        Ok(Self { ptr })
    }

    /// Detects faces; `upsample` doubles the image that many times first (finds faces down to ~40 px
    /// with 1). Scores are SVM margins (0 = default threshold, higher = more confident).
    pub fn detect(
        &mut self,
        img: Raster<'_>,
        upsample: u32,
        adjust_threshold: f64,
    ) -> Result<Vec<RawDetection>, FaceError> {
        img.check_upsample(upsample)?;
        let mut out = vec![0f64; MAX_FACES * 5];
        let (px, w, h) = img.ffi();
        let det = self.ptr;
        let outp = out.as_mut_ptr();
        let max = MAX_FACES as i64;
        let mut err = CppError::new();
        let (ep, cap) = err.out();
        // SAFETY: `det` is this handle's live detector, used by this call alone (`&mut self`).
        // `px` points to `w * h * 3` bytes (Raster invariant), borrowed for the call. `outp`
        // points to `MAX_FACES * 5` doubles and the C++ side writes at most `max = MAX_FACES`
        // detections of 5. `ep` points to `cap` bytes of `err`. Every exception is caught.
        let n = unsafe {
            cpp::cpp!([det as "dlib::frontal_face_detector*", px as "const uint8_t*", w as "int64_t", h as "int64_t",
                     upsample as "uint32_t", adjust_threshold as "double", outp as "double*", max as "int64_t",
                     ep as "char*", cap as "size_t"] -> i64 as "int64_t" {
                try {
                    dlib::matrix<dlib::rgb_pixel> m = probity::to_matrix(px, w, h);
                    double scale = 1.0;
                    for (uint32_t i = 0; i < upsample; ++i) { dlib::pyramid_up(m); scale *= 2.0; }
                    std::vector<dlib::rect_detection> dets;
                    (*det)(m, dets, adjust_threshold);
                    int64_t n = 0;
                    for (auto& d : dets) {
                        if (n >= max) break;
                        outp[5*n+0] = d.rect.left() / scale;
                        outp[5*n+1] = d.rect.top() / scale;
                        outp[5*n+2] = (d.rect.right() + 1) / scale;
                        outp[5*n+3] = (d.rect.bottom() + 1) / scale;
                        outp[5*n+4] = d.detection_confidence;
                        ++n;
                    }
                    return n;
                } catch (const std::exception& e) {
                    probity::fail(ep, cap, e.what());
                    return -1;
                } catch (...) {
                    probity::fail(ep, cap, "unknown C++ exception");
                    return -1;
                }
            })
        };
        collect(&out, n, "dlib HOG detector", &err)
    }
}

impl Drop for HogDetector {
    fn drop(&mut self) {
        let p = self.ptr;
        // SAFETY: `p` was returned by `new` in `HogDetector::new` (never null) and is deleted
        // here exactly once; no borrow of the handle outlives `drop`. dlib's destructors do not
        // throw, and any exception is swallowed before it reaches Rust (nothing to report from
        // a destructor).
        unsafe {
            cpp::cpp!([p as "dlib::frontal_face_detector*"] {
                try { delete p; } catch (const std::exception&) {} catch (...) {}
            });
        }
    }
}

/// dlib's MMOD CNN face detector (slow, finds more non-frontal and small faces).
pub struct CnnDetector {
    /// A `probity::mmod` network allocated by `open`, never null, deleted once in `drop`.
    ptr: *mut c_void,
}

// SAFETY: as for `HogDetector`: sole owner of the heap-allocated network, which keeps its
// working tensors inside itself and has no thread-affine state; not `Sync`, used through
// `&mut self` only (a forward pass mutates the network's buffers).
unsafe impl Send for CnnDetector {}

impl CnnDetector {
    pub fn open(path: &Path) -> Result<Self, FaceError> {
        let c = c_path(path)?;
        let cp = c.as_ptr();
        let mut err = CppError::new();
        let (ep, cap) = err.out();
        // SAFETY: `cp` is a NUL-terminated path owned by `c`, alive for the call; `ep` points to
        // `cap` bytes of `err`. Every exception (unreadable or invalid model) is caught and the
        // partly read network freed by its `unique_ptr`.
        let ptr = unsafe {
            cpp::cpp!([cp as "const char*", ep as "char*", cap as "size_t"] -> *mut c_void as "void*" {
                try {
                    std::unique_ptr<probity::mmod> net(new probity::mmod());
                    dlib::deserialize(cp) >> *net;
                    return net.release();
                } catch (const std::exception& e) {
                    probity::fail(ep, cap, e.what());
                    return nullptr;
                } catch (...) {
                    probity::fail(ep, cap, "unknown C++ exception");
                    return nullptr;
                }
            })
        };
        if ptr.is_null() {
            return Err(model_error(path, &err));
        }
        Ok(Self { ptr })
    }

    pub fn detect(
        &mut self,
        img: Raster<'_>,
        upsample: u32,
    ) -> Result<Vec<RawDetection>, FaceError> {
        img.check_upsample(upsample)?;
        let mut out = vec![0f64; MAX_FACES * 5];
        let (px, w, h) = img.ffi();
        let net = self.ptr;
        let outp = out.as_mut_ptr();
        let max = MAX_FACES as i64;
        let mut err = CppError::new();
        let (ep, cap) = err.out();
        // SAFETY: `net` is this handle's live network, used by this call alone (`&mut self`).
        // `px` points to `w * h * 3` bytes (Raster invariant). `outp` points to `MAX_FACES * 5`
        // doubles, of which at most `max * 5` are written. `ep` points to `cap` bytes of `err`.
        // Every exception is caught.
        let n = unsafe {
            cpp::cpp!([net as "probity::mmod*", px as "const uint8_t*", w as "int64_t", h as "int64_t",
                     upsample as "uint32_t", outp as "double*", max as "int64_t",
                     ep as "char*", cap as "size_t"] -> i64 as "int64_t" {
                try {
                    dlib::matrix<dlib::rgb_pixel> m = probity::to_matrix(px, w, h);
                    double scale = 1.0;
                    for (uint32_t i = 0; i < upsample; ++i) { dlib::pyramid_up(m); scale *= 2.0; }
                    std::vector<dlib::mmod_rect> dets = (*net)(m);
                    int64_t n = 0;
                    for (auto& d : dets) {
                        if (n >= max) break;
                        outp[5*n+0] = d.rect.left() / scale;
                        outp[5*n+1] = d.rect.top() / scale;
                        outp[5*n+2] = (d.rect.right() + 1) / scale;
                        outp[5*n+3] = (d.rect.bottom() + 1) / scale;
                        outp[5*n+4] = d.detection_confidence;
                        ++n;
                    }
                    return n;
                } catch (const std::exception& e) {
                    probity::fail(ep, cap, e.what());
                    return -1;
                } catch (...) {
                    probity::fail(ep, cap, "unknown C++ exception");
                    return -1;
                }
            })
        };
        collect(&out, n, "dlib CNN detector", &err)
    }
}

impl Drop for CnnDetector {
    fn drop(&mut self) {
        let p = self.ptr;
        // SAFETY: `p` came from `unique_ptr::release` in `open` (never null) and is deleted here
        // exactly once; nothing can throw past the catch clauses.
        unsafe {
            cpp::cpp!([p as "probity::mmod*"] {
                try { delete p; } catch (const std::exception&) {} catch (...) {}
            });
        }
    }
}

/// The 5-point shape predictor (eye corners and nose base) and face-chip extraction.
pub struct ShapePredictor {
    /// A 5-part `dlib::shape_predictor` allocated by `open`, never null, deleted once in `drop`.
    ptr: *mut c_void,
}

// SAFETY: as for `HogDetector`: sole owner of the heap-allocated predictor (plain trees and
// vectors, no thread-affine state); not `Sync`, used through `&mut self` only.
unsafe impl Send for ShapePredictor {}

impl ShapePredictor {
    pub fn open(path: &Path) -> Result<Self, FaceError> {
        let c = c_path(path)?;
        let cp = c.as_ptr();
        let mut err = CppError::new();
        let (ep, cap) = err.out();
        // SAFETY: `cp` is a NUL-terminated path owned by `c`, alive for the call; `ep` points to
        // `cap` bytes of `err`. Every exception is caught; a predictor with another number of
        // parts is refused, and a refused predictor is freed by its `unique_ptr`.
        let ptr = unsafe {
            cpp::cpp!([cp as "const char*", ep as "char*", cap as "size_t"] -> *mut c_void as "void*" {
                try {
                    std::unique_ptr<dlib::shape_predictor> sp(new dlib::shape_predictor());
                    dlib::deserialize(cp) >> *sp;
                    if (sp->num_parts() != 5) {
                        probity::fail(ep, cap, ("a shape predictor with " + std::to_string(sp->num_parts())
                            + " parts, not the 5-point model").c_str());
                        return nullptr;
                    }
                    return sp.release();
                } catch (const std::exception& e) {
                    probity::fail(ep, cap, e.what());
                    return nullptr;
                } catch (...) {
                    probity::fail(ep, cap, "unknown C++ exception");
                    return nullptr;
                }
            })
        };
        if ptr.is_null() {
            return Err(model_error(path, &err));
        }
        Ok(Self { ptr })
    }

    /// Predicts the five landmarks inside `bbox` and extracts the aligned 150×150 chip
    /// (dlib's `get_face_chip_details(shape, 150, 0.25)`) into `chip` (RGB8, CHIP_BYTES long).
    pub fn landmarks_and_chip(
        &mut self,
        img: Raster<'_>,
        bbox: &BoundingBox,
        chip: &mut [u8],
    ) -> Result<[Point; 5], FaceError> {
        if chip.len() != CHIP_BYTES {
            return Err(FaceError::InvalidImage(format!(
                "the chip buffer holds {} bytes, a {CHIP_SIZE}×{CHIP_SIZE} RGB chip needs {CHIP_BYTES}",
                chip.len()
            )));
        }
        let coords = [bbox.left, bbox.top, bbox.right, bbox.bottom];
        if !coords
            .iter()
            .all(|c| c.is_finite() && c.abs() <= MAX_BOX_COORD)
        {
            return Err(FaceError::BadFaceBox(bbox.to_string()));
        }
        let mut pts = [0f64; 10];
        let (px, w, h) = img.ffi();
        let sp = self.ptr;
        let ptsp = pts.as_mut_ptr();
        let chipp = chip.as_mut_ptr();
        // Finite and within ±2³¹ (checked above), so these conversions are exact and the
        // subtractions cannot overflow.
        let (l, t) = (bbox.left.round() as i64, bbox.top.round() as i64);
        let (r, b) = (
            (bbox.right.round() as i64 - 1).max(l),
            (bbox.bottom.round() as i64 - 1).max(t),
        );
        let mut err = CppError::new();
        let (ep, cap) = err.out();
        // SAFETY: `sp` is this handle's live predictor, used by this call alone (`&mut self`).
        // `px` points to `w * h * 3` bytes (Raster invariant). `ptsp` points to the 10 doubles of
        // `pts` and 10 are written; `chipp` points to `chip`, exactly CHIP_BYTES = 150·150·3 long
        // (checked above), and the C++ side writes only after checking the chip is 150×150.
        // dlib's predictor and chip extraction read pixels only inside the image, whatever the
        // box. `ep` points to `cap` bytes of `err`. Every exception is caught.
        let ok = unsafe {
            cpp::cpp!([sp as "dlib::shape_predictor*", px as "const uint8_t*", w as "int64_t", h as "int64_t",
                     l as "int64_t", t as "int64_t", r as "int64_t", b as "int64_t",
                     ptsp as "double*", chipp as "uint8_t*", ep as "char*", cap as "size_t"] -> bool as "bool" {
                try {
                    dlib::matrix<dlib::rgb_pixel> m = probity::to_matrix(px, w, h);
                    dlib::rectangle rect(l, t, r, b);
                    dlib::full_object_detection shape = (*sp)(m, rect);
                    if (shape.num_parts() != 5) {
                        probity::fail(ep, cap, "the shape predictor did not return 5 landmarks");
                        return false;
                    }
                    for (unsigned long i = 0; i < 5; ++i) {
                        ptsp[2*i] = shape.part(i).x();
                        ptsp[2*i+1] = shape.part(i).y();
                    }
                    dlib::matrix<dlib::rgb_pixel> c;
                    dlib::extract_image_chip(m, dlib::get_face_chip_details(shape, 150, 0.25), c);
                    if (c.nr() != 150 || c.nc() != 150) {
                        probity::fail(ep, cap, "dlib returned a face chip that is not 150x150");
                        return false;
                    }
                    for (long y = 0; y < 150; ++y) for (long x = 0; x < 150; ++x) {
                        uint8_t* q = chipp + 3 * (y * 150 + x);
                        q[0] = c(y, x).red; q[1] = c(y, x).green; q[2] = c(y, x).blue;
                    }
                    return true;
                } catch (const std::exception& e) {
                    probity::fail(ep, cap, e.what());
                    return false;
                } catch (...) {
                    probity::fail(ep, cap, "unknown C++ exception");
                    return false;
                }
            })
        };
        if !ok {
            return Err(FaceError::Inference(format!(
                "landmark prediction or alignment failed: {}",
                err.message()
            )));
        }
        Ok(std::array::from_fn(|i| Point {
            x: pts[2 * i],
            y: pts[2 * i + 1],
        }))
    }
}

impl Drop for ShapePredictor {
    fn drop(&mut self) {
        let p = self.ptr;
        // SAFETY: `p` came from `unique_ptr::release` in `open` (never null) and is deleted here
        // exactly once; nothing can throw past the catch clauses.
        unsafe {
            cpp::cpp!([p as "dlib::shape_predictor*"] {
                try { delete p; } catch (const std::exception&) {} catch (...) {}
            });
        }
    }
}

/// dlib's ResNet face descriptor (128-D), input the aligned 150×150 chip.
pub struct ResnetDescriptor {
    /// A `probity::resnet` network allocated by `open`, never null, deleted once in `drop`.
    ptr: *mut c_void,
}

// SAFETY: as for `CnnDetector`: sole owner of the heap-allocated network, no thread-affine
// state; not `Sync`, used through `&mut self` only (a forward pass mutates its buffers).
unsafe impl Send for ResnetDescriptor {}

impl ResnetDescriptor {
    pub fn open(path: &Path) -> Result<Self, FaceError> {
        let c = c_path(path)?;
        let cp = c.as_ptr();
        let mut err = CppError::new();
        let (ep, cap) = err.out();
        // SAFETY: `cp` is a NUL-terminated path owned by `c`, alive for the call; `ep` points to
        // `cap` bytes of `err`. Every exception is caught and the partly read network freed by
        // its `unique_ptr`.
        let ptr = unsafe {
            cpp::cpp!([cp as "const char*", ep as "char*", cap as "size_t"] -> *mut c_void as "void*" {
                try {
                    std::unique_ptr<probity::resnet> net(new probity::resnet());
                    dlib::deserialize(cp) >> *net;
                    return net.release();
                } catch (const std::exception& e) {
                    probity::fail(ep, cap, e.what());
                    return nullptr;
                } catch (...) {
                    probity::fail(ep, cap, "unknown C++ exception");
                    return nullptr;
                }
            })
        };
        if ptr.is_null() {
            return Err(model_error(path, &err));
        }
        Ok(Self { ptr })
    }

    /// Computes one 128-D descriptor per chip; `chips` holds `n` chips back to back.
    pub fn describe(&mut self, chips: &[u8]) -> Result<Vec<[f32; 128]>, FaceError> {
        if chips.is_empty() || !chips.len().is_multiple_of(CHIP_BYTES) {
            return Err(FaceError::InvalidImage(format!(
                "face chips must be {CHIP_SIZE}×{CHIP_SIZE} RGB ({CHIP_BYTES} bytes each), got {} bytes",
                chips.len()
            )));
        }
        let n = chips.len() / CHIP_BYTES;
        let mut out = vec![0f32; n * 128];
        let net = self.ptr;
        let (cp, op, nn) = (chips.as_ptr(), out.as_mut_ptr(), n as i64);
        let mut err = CppError::new();
        let (ep, cap) = err.out();
        // SAFETY: `net` is this handle's live network, used by this call alone (`&mut self`).
        // `cp` points to `nn * CHIP_BYTES` bytes (`chips.len()` is that multiple, checked above)
        // and the C++ side reads `nn` chips of 150·150·3. `op` points to `nn * 128` floats and
        // the C++ side writes that many, after checking every descriptor has 128 values. `ep`
        // points to `cap` bytes of `err`. Every exception is caught.
        let ok = unsafe {
            cpp::cpp!([net as "probity::resnet*", cp as "const uint8_t*", nn as "int64_t", op as "float*",
                     ep as "char*", cap as "size_t"] -> bool as "bool" {
                try {
                    std::vector<dlib::matrix<dlib::rgb_pixel>> batch;
                    batch.reserve(nn);
                    for (int64_t i = 0; i < nn; ++i) batch.push_back(probity::to_matrix(cp + i * 150 * 150 * 3, 150, 150));
                    std::vector<dlib::matrix<float,0,1>> d = (*net)(batch, 16);
                    if ((int64_t)d.size() != nn) {
                        probity::fail(ep, cap, "the network returned another number of descriptors than chips");
                        return false;
                    }
                    for (int64_t i = 0; i < nn; ++i) {
                        if (d[i].size() != 128) {
                            probity::fail(ep, cap, "the network returned a descriptor that is not 128-D");
                            return false;
                        }
                    }
                    for (int64_t i = 0; i < nn; ++i) {
                        for (long k = 0; k < 128; ++k) op[i * 128 + k] = d[i](k);
                    }
                    return true;
                } catch (const std::exception& e) {
                    probity::fail(ep, cap, e.what());
                    return false;
                } catch (...) {
                    probity::fail(ep, cap, "unknown C++ exception");
                    return false;
                }
            })
        };
        if !ok {
            return Err(FaceError::Inference(format!(
                "face descriptor network failed: {}",
                err.message()
            )));
        }
        Ok(out
            .chunks_exact(128)
            .map(|c| {
                let mut a = [0f32; 128];
                a.copy_from_slice(c);
                a
            })
            .collect())
    }
}

impl ResnetDescriptor {
    /// dlib's test-time jitter (`dlib::jitter_image`: ±2 % shift, 0.97–1.0 scale, ±3° rotation,
    /// mirror with probability ½), as `compute_face_descriptor(img, shape, num_jitters)` does:
    /// returns the descriptor of each of `n` jittered copies of `chip`. Deterministic per `seed`.
    pub fn describe_jittered(
        &mut self,
        chip: &[u8],
        n: usize,
        seed: u64,
    ) -> Result<Vec<[f32; 128]>, FaceError> {
        if chip.len() != CHIP_BYTES {
            return Err(FaceError::InvalidImage(format!(
                "a face chip must be {CHIP_SIZE}×{CHIP_SIZE} RGB ({CHIP_BYTES} bytes), got {} bytes",
                chip.len()
            )));
        }
        let total = n
            .checked_mul(CHIP_BYTES)
            .filter(|&b| n > 0 && b <= isize::MAX as usize)
            .ok_or_else(|| {
                FaceError::InvalidImage(format!(
                    "{n} jittered copies of a face chip cannot be made"
                ))
            })?;
        let mut jittered = vec![0u8; total];
        let (cp, jp, nn) = (chip.as_ptr(), jittered.as_mut_ptr(), n as i64);
        let mut err = CppError::new();
        let (ep, cap) = err.out();
        // SAFETY: `cp` points to CHIP_BYTES bytes (checked above), read as one 150×150 chip.
        // `jp` points to `n * CHIP_BYTES` bytes (`total`, computed without overflow) and the C++
        // side writes `nn = n` chips of 150·150·3, each after checking it is 150×150. `ep` points
        // to `cap` bytes of `err`. No C++ object of ours is touched. Every exception is caught.
        let ok = unsafe {
            cpp::cpp!([cp as "const uint8_t*", jp as "uint8_t*", nn as "int64_t", seed as "uint64_t",
                     ep as "char*", cap as "size_t"] -> bool as "bool" {
                try {
                    dlib::rand rnd(seed);
                    dlib::matrix<dlib::rgb_pixel> m = probity::to_matrix(cp, 150, 150);
                    for (int64_t i = 0; i < nn; ++i) {
                        dlib::matrix<dlib::rgb_pixel> c = dlib::jitter_image(m, rnd);
                        if (c.nr() != 150 || c.nc() != 150) {
                            probity::fail(ep, cap, "dlib returned a jittered chip that is not 150x150");
                            return false;
                        }
                        uint8_t* q = jp + i * 150 * 150 * 3;
                        for (long y = 0; y < 150; ++y) for (long x = 0; x < 150; ++x) {
                            uint8_t* o = q + 3 * (y * 150 + x);
                            o[0] = c(y, x).red; o[1] = c(y, x).green; o[2] = c(y, x).blue;
                        }
                    }
                    return true;
                } catch (const std::exception& e) {
                    probity::fail(ep, cap, e.what());
                    return false;
                } catch (...) {
                    probity::fail(ep, cap, "unknown C++ exception");
                    return false;
                }
            })
        };
        if !ok {
            return Err(FaceError::Inference(format!(
                "chip jitter failed: {}",
                err.message()
            )));
        }
        self.describe(&jittered)
    }
}

/// Mirrors an RGB chip left–right (`CHIP_SIZE` square, in place).
pub fn mirror_chip(chip: &mut [u8]) {
    for row in chip.chunks_exact_mut(CHIP_SIZE * 3) {
        for x in 0..CHIP_SIZE / 2 {
            let (a, b) = (3 * x, 3 * (CHIP_SIZE - 1 - x));
            for c in 0..3 {
                row.swap(a + c, b + c);
            }
        }
    }
}

impl Drop for ResnetDescriptor {
    fn drop(&mut self) {
        let p = self.ptr;
        // SAFETY: `p` came from `unique_ptr::release` in `open` (never null) and is deleted here
        // exactly once; nothing can throw past the catch clauses.
        unsafe {
            cpp::cpp!([p as "probity::resnet*"] {
                try { delete p; } catch (const std::exception&) {} catch (...) {}
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algorithm::{lookup, DLIB_RESNET_V1, SHAPE_PREDICTOR};

    fn model(file: &str) -> std::path::PathBuf {
        let p = crate::algorithm::model_dir().join(file);
        assert!(p.is_file(), "{} missing: run scripts/setup", p.display());
        p
    }

    fn resnet_model() -> std::path::PathBuf {
        let spec = lookup(DLIB_RESNET_V1).expect("registered");
        model(spec.model_files[0].file_name)
    }

    fn invalid(r: Result<impl Sized, FaceError>) -> String {
        match r {
            Err(FaceError::InvalidImage(m)) => m,
            Err(e) => panic!("expected InvalidImage, got {e}"),
            Ok(_) => panic!("expected InvalidImage, got Ok"),
        }
    }

    /// A bridge entry point for the tests alone, with the same try/catch as every other: throws
    /// a `std::runtime_error` (kind 1), an `int` (kind 2, not a `std::exception`) or a
    /// `std::runtime_error` whose message is far longer than the error buffer (kind 3).
    fn throw_through_bridge(kind: i32) -> Result<(), FaceError> {
        let mut err = CppError::new();
        let (ep, cap) = err.out();
        // SAFETY: `ep` points to `cap` writable bytes of `err`, alive for the call; `kind` is a
        // plain integer. Every exception is caught inside the C++ body.
        let ok = unsafe {
            cpp::cpp!([kind as "int32_t", ep as "char*", cap as "size_t"] -> bool as "bool" {
                try {
                    if (kind == 1) throw std::runtime_error("thrown inside the bridge");
                    if (kind == 2) throw 42;
                    if (kind == 3) throw std::runtime_error(std::string(4096, 'x'));
                    return true;
                } catch (const std::exception& e) {
                    probity::fail(ep, cap, e.what());
                    return false;
                } catch (...) {
                    probity::fail(ep, cap, "unknown C++ exception");
                    return false;
                }
            })
        };
        if ok {
            Ok(())
        } else {
            Err(FaceError::Inference(err.message()))
        }
    }

    #[test]
    fn sec_03_short_pixel_buffer_is_refused() {
        let px = vec![0u8; 4 * 3 * 3 - 1];
        let m = invalid(Raster::new(&px, 4, 3));
        assert!(
            m.contains("4×3") && m.contains("36 bytes") && m.contains("got 35"),
            "{m}"
        );
        // One row short, and an empty buffer.
        let m = invalid(Raster::new(&px[..24], 4, 3));
        assert!(m.contains("got 24"), "{m}");
        let m = invalid(Raster::new(&[], 4, 3));
        assert!(m.contains("got 0"), "{m}");
    }

    #[test]
    fn sec_03_long_pixel_buffer_or_swapped_dimensions_are_refused() {
        let px = vec![0u8; 4 * 3 * 3 + 3];
        let m = invalid(Raster::new(&px, 4, 3));
        assert!(m.contains("36 bytes") && m.contains("got 39"), "{m}");
        // A buffer of 4×3 pixels does not describe a 5×3 image, nor a 4×4 one.
        let px = vec![0u8; 36];
        assert!(Raster::new(&px, 4, 3).is_ok());
        invalid(Raster::new(&px, 5, 3));
        invalid(Raster::new(&px, 4, 4));
    }

    #[test]
    fn sec_03_zero_or_overflowing_dimensions_are_refused() {
        let m = invalid(Raster::new(&[], 0, 0));
        assert!(m.contains("no pixels"), "{m}");
        invalid(Raster::new(&[0; 3], 0, 1));
        invalid(Raster::new(&[0; 3], 1, 0));
        // width × height × 3 wraps around usize: a wrapping multiply would accept 0 bytes.
        let w = 1usize << 62;
        let m = invalid(Raster::new(&[], w, 4));
        assert!(m.contains("larger than memory"), "{m}");
        invalid(Raster::new(&[0; 3], usize::MAX, usize::MAX));
    }

    #[test]
    fn sec_03_checked_raster_exposes_exactly_its_pixels() {
        let px: Vec<u8> = (0..2 * 2 * 3).collect();
        let r = Raster::new(&px, 2, 2).expect("consistent");
        assert_eq!((r.width(), r.height(), r.pixels().len()), (2, 2, 12));
        let (p, w, h) = r.ffi();
        assert_eq!((p, w, h), (px.as_ptr(), 2, 2));
    }

    #[test]
    fn sec_03_upsampling_that_overflows_dlib_sizes_is_refused() {
        let mut hog = HogDetector::new().expect("HOG detector");
        let px = vec![0u8; 64 * 64 * 3];
        let img = Raster::new(&px, 64, 64).expect("raster");
        for upsample in [40, 64, u32::MAX] {
            let m = invalid(hog.detect(img, upsample, 0.0));
            assert!(m.contains("cannot be doubled"), "{m}");
        }
        // A sane request on the same raster still runs (a flat grey square has no face).
        assert!(hog.detect(img, 1, 0.0).expect("detect").is_empty());
    }

    #[test]
    fn sec_03_chip_buffers_of_the_wrong_size_are_refused() {
        let mut sp = ShapePredictor::open(&model(SHAPE_PREDICTOR.file_name)).expect("predictor");
        let px = vec![128u8; 200 * 200 * 3];
        let img = Raster::new(&px, 200, 200).expect("raster");
        let bbox = BoundingBox {
            left: 40.0,
            top: 40.0,
            right: 160.0,
            bottom: 160.0,
        };
        for len in [0, CHIP_BYTES - 1, CHIP_BYTES + 1, 2 * CHIP_BYTES] {
            let mut chip = vec![0u8; len];
            let m = invalid(sp.landmarks_and_chip(img, &bbox, &mut chip));
            assert!(m.contains(&format!("holds {len} bytes")), "{m}");
        }
        let mut chip = vec![0u8; CHIP_BYTES];
        sp.landmarks_and_chip(img, &bbox, &mut chip)
            .expect("a box inside the image aligns");

        let mut net = ResnetDescriptor::open(&resnet_model()).expect("network");
        for len in [0, CHIP_BYTES - 1, CHIP_BYTES + 150, 3 * CHIP_BYTES - 3] {
            let m = invalid(net.describe(&vec![0u8; len]));
            assert!(m.contains(&format!("got {len} bytes")), "{m}");
            if len > 0 {
                invalid(net.describe_jittered(&vec![0u8; len], 1, 0));
            }
        }
        let chip = vec![0u8; CHIP_BYTES];
        // A copy count whose buffer size wraps around usize, and zero copies.
        let m = invalid(net.describe_jittered(&chip, usize::MAX / CHIP_BYTES + 2, 0));
        assert!(m.contains("cannot be made"), "{m}");
        invalid(net.describe_jittered(&chip, 0, 0));
        assert_eq!(net.describe(&chip).expect("one chip").len(), 1);
    }

    #[test]
    fn sec_03_face_box_beyond_dlib_coordinates_is_refused() {
        let mut sp = ShapePredictor::open(&model(SHAPE_PREDICTOR.file_name)).expect("predictor");
        let px = vec![128u8; 64 * 64 * 3];
        let img = Raster::new(&px, 64, 64).expect("raster");
        let mut chip = vec![0u8; CHIP_BYTES];
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e300, -1e12] {
            let bbox = BoundingBox {
                left: 0.0,
                top: 0.0,
                right: bad,
                bottom: 32.0,
            };
            assert!(
                matches!(
                    sp.landmarks_and_chip(img, &bbox, &mut chip),
                    Err(FaceError::BadFaceBox(_))
                ),
                "{bad}"
            );
        }
        // A finite box partly outside the image is dlib's to handle: it reads inside the image.
        let bbox = BoundingBox {
            left: -50.0,
            top: -50.0,
            right: 500.0,
            bottom: 500.0,
        };
        sp.landmarks_and_chip(img, &bbox, &mut chip)
            .expect("a finite box outside the image");
    }

    #[test]
    fn sec_03_cpp_exception_in_the_bridge_is_an_error_not_an_abort() {
        let e = throw_through_bridge(1).expect_err("std::exception");
        assert!(e.to_string().contains("thrown inside the bridge"), "{e}");
        let e = throw_through_bridge(2).expect_err("int thrown");
        assert!(e.to_string().contains("unknown C++ exception"), "{e}");
        // A message longer than the buffer is truncated, not written past it.
        let e = throw_through_bridge(3).expect_err("long message");
        let FaceError::Inference(m) = e else {
            panic!("Inference expected")
        };
        assert_eq!(m, "x".repeat(ERR_CAP - 1));
        throw_through_bridge(0).expect("no exception");
    }

    #[test]
    fn sec_03_invalid_model_file_is_an_error_carrying_dlibs_exception() {
        let dir = tempfile::tempdir().expect("tmp");
        let garbage = dir.path().join("garbage.dat");
        std::fs::write(
            &garbage,
            b"this is not a dlib model, just text\n".repeat(64),
        )
        .expect("write");
        let empty = dir.path().join("empty.dat");
        std::fs::write(&empty, b"").expect("write");
        let reasons: Vec<(String, String)> = [&garbage, &empty]
            .into_iter()
            .flat_map(|p| {
                [
                    ShapePredictor::open(p).err(),
                    CnnDetector::open(p).err(),
                    ResnetDescriptor::open(p).err(),
                ]
            })
            .map(|e| match e {
                Some(FaceError::ModelCorrupt { path, reason }) => {
                    (path.display().to_string(), reason)
                }
                other => panic!("expected ModelCorrupt, got {other:?}"),
            })
            .collect();
        assert_eq!(reasons.len(), 6);
        for (path, reason) in &reasons {
            // dlib's serialization_error text ("An error occurred while trying to read the
            // first object from the file '…'. ERROR: …"), caught by
            // `catch (const std::exception&)` and carried to Rust.
            assert!(
                reason.contains("while trying to read") && reason.contains(path.as_str()),
                "{path}: {reason}"
            );
            assert!(reason != "no message" && reason != "unknown C++ exception");
        }
        // A genuine dlib model of another kind: dlib starts reading it and throws part-way.
        let e = ShapePredictor::open(&resnet_model())
            .err()
            .expect("refused");
        assert!(matches!(e, FaceError::ModelCorrupt { .. }), "{e}");
        assert!(e.to_string().contains("scripts/setup"), "{e}");
        let e = ResnetDescriptor::open(&model(SHAPE_PREDICTOR.file_name))
            .err()
            .expect("refused");
        assert!(matches!(e, FaceError::ModelCorrupt { .. }), "{e}");
    }
}
