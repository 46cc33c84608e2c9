//! The C++ bridge to dlib: HOG and MMOD detectors with scores, the 5-point shape predictor,
//! the aligned 150×150 face chip and the ResNet face descriptor.
//!
//! Every C++ object lives behind an owning Rust handle; every call catches C++ exceptions and
//! reports them as an error code, so no exception crosses into Rust.

use std::ffi::{c_void, CString};
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
    #include <cstdint>
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
    // SAFETY: plain setter exported by the OpenBLAS library this crate links.
    unsafe { openblas_set_num_threads(n) }
}

/// Maximum number of faces one detection call reports.
pub const MAX_FACES: usize = 256;
/// Side of the aligned face chip, pixels.
pub const CHIP_SIZE: usize = 150;
/// Bytes of one RGB chip.
pub const CHIP_BYTES: usize = CHIP_SIZE * CHIP_SIZE * 3;

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

/// A borrowed RGB8 raster (row-major, no padding) passed to dlib.
#[derive(Clone, Copy)]
pub struct Raster<'a> {
    pub pixels: &'a [u8],
    pub width: usize,
    pub height: usize,
}

impl<'a> Raster<'a> {
    pub fn new(pixels: &'a [u8], width: usize, height: usize) -> Result<Self, FaceError> {
        if width == 0 || height == 0 || pixels.len() != width * height * 3 {
            return Err(FaceError::InvalidImage(format!(
                "expected {width}×{height} RGB pixels ({} bytes), got {} bytes",
                width * height * 3,
                pixels.len()
            )));
        }
        Ok(Self {
            pixels,
            width,
            height,
        })
    }
}

/// A detection as dlib reports it: box in image pixels and confidence.
#[derive(Debug, Clone, Copy)]
pub struct RawDetection {
    pub bbox: BoundingBox,
    pub score: f64,
}

fn collect(out: &[f64], n: i64) -> Result<Vec<RawDetection>, FaceError> {
    if n < 0 {
        return Err(FaceError::Inference(
            "dlib detector failed on this image".into(),
        ));
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
    ptr: *mut c_void,
}

// SAFETY: the detector object is owned by this handle and only used through `&mut self`.
unsafe impl Send for HogDetector {}

impl HogDetector {
    pub fn new() -> Self {
        let ptr = unsafe {
            cpp::cpp!([] -> *mut c_void as "void*" {
                return new dlib::frontal_face_detector(dlib::get_frontal_face_detector());
            })
        };
        Self { ptr }
    }

    /// Detects faces; `upsample` doubles the image that many times first (finds faces down to ~40 px
    /// with 1). Scores are SVM margins (0 = default threshold, higher = more confident).
    pub fn detect(
        &mut self,
        img: Raster<'_>,
        upsample: u32,
        adjust_threshold: f64,
    ) -> Result<Vec<RawDetection>, FaceError> {
        let mut out = vec![0f64; MAX_FACES * 5];
        let (px, w, h) = (img.pixels.as_ptr(), img.width as i64, img.height as i64);
        let det = self.ptr;
        let outp = out.as_mut_ptr();
        let max = MAX_FACES as i64;
        let n = unsafe {
            cpp::cpp!([det as "dlib::frontal_face_detector*", px as "const uint8_t*", w as "int64_t", h as "int64_t",
                     upsample as "uint32_t", adjust_threshold as "double", outp as "double*", max as "int64_t"] -> i64 as "int64_t" {
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
                } catch (...) {
                    return -1;
                }
            })
        };
        collect(&out, n)
    }
}

impl Default for HogDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for HogDetector {
    fn drop(&mut self) {
        let p = self.ptr;
        unsafe {
            cpp::cpp!([p as "dlib::frontal_face_detector*"] { delete p; });
        }
    }
}

/// dlib's MMOD CNN face detector (slow, finds more non-frontal and small faces).
pub struct CnnDetector {
    ptr: *mut c_void,
}

// SAFETY: the network is owned by this handle and only used through `&mut self`.
unsafe impl Send for CnnDetector {}

impl CnnDetector {
    pub fn open(path: &Path) -> Result<Self, FaceError> {
        let c = c_path(path)?;
        let cp = c.as_ptr();
        let ptr = unsafe {
            cpp::cpp!([cp as "const char*"] -> *mut c_void as "void*" {
                probity::mmod* net = new probity::mmod();
                try { dlib::deserialize(cp) >> *net; return net; }
                catch (...) { delete net; return nullptr; }
            })
        };
        if ptr.is_null() {
            return Err(FaceError::ModelCorrupt {
                path: path.to_path_buf(),
            });
        }
        Ok(Self { ptr })
    }

    pub fn detect(
        &mut self,
        img: Raster<'_>,
        upsample: u32,
    ) -> Result<Vec<RawDetection>, FaceError> {
        let mut out = vec![0f64; MAX_FACES * 5];
        let (px, w, h) = (img.pixels.as_ptr(), img.width as i64, img.height as i64);
        let net = self.ptr;
        let outp = out.as_mut_ptr();
        let max = MAX_FACES as i64;
        let n = unsafe {
            cpp::cpp!([net as "probity::mmod*", px as "const uint8_t*", w as "int64_t", h as "int64_t",
                     upsample as "uint32_t", outp as "double*", max as "int64_t"] -> i64 as "int64_t" {
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
                } catch (...) {
                    return -1;
                }
            })
        };
        collect(&out, n)
    }
}

impl Drop for CnnDetector {
    fn drop(&mut self) {
        let p = self.ptr;
        unsafe {
            cpp::cpp!([p as "probity::mmod*"] { delete p; });
        }
    }
}

/// The 5-point shape predictor (eye corners and nose base) and face-chip extraction.
pub struct ShapePredictor {
    ptr: *mut c_void,
}

// SAFETY: owned handle, used through `&mut self` only.
unsafe impl Send for ShapePredictor {}

impl ShapePredictor {
    pub fn open(path: &Path) -> Result<Self, FaceError> {
        let c = c_path(path)?;
        let cp = c.as_ptr();
        let ptr = unsafe {
            cpp::cpp!([cp as "const char*"] -> *mut c_void as "void*" {
                dlib::shape_predictor* sp = new dlib::shape_predictor();
                try {
                    dlib::deserialize(cp) >> *sp;
                    if (sp->num_parts() != 5) { delete sp; return nullptr; }
                    return sp;
                }
                catch (...) { delete sp; return nullptr; }
            })
        };
        if ptr.is_null() {
            return Err(FaceError::ModelCorrupt {
                path: path.to_path_buf(),
            });
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
            return Err(FaceError::InvalidImage(
                "chip buffer has the wrong size".into(),
            ));
        }
        let mut pts = [0f64; 10];
        let (px, w, h) = (img.pixels.as_ptr(), img.width as i64, img.height as i64);
        let sp = self.ptr;
        let ptsp = pts.as_mut_ptr();
        let chipp = chip.as_mut_ptr();
        let (l, t, r, b) = (
            bbox.left.round() as i64,
            bbox.top.round() as i64,
            (bbox.right.round() as i64 - 1).max(bbox.left.round() as i64),
            (bbox.bottom.round() as i64 - 1).max(bbox.top.round() as i64),
        );
        let ok = unsafe {
            cpp::cpp!([sp as "dlib::shape_predictor*", px as "const uint8_t*", w as "int64_t", h as "int64_t",
                     l as "int64_t", t as "int64_t", r as "int64_t", b as "int64_t",
                     ptsp as "double*", chipp as "uint8_t*"] -> bool as "bool" {
                try {
                    dlib::matrix<dlib::rgb_pixel> m = probity::to_matrix(px, w, h);
                    dlib::rectangle rect(l, t, r, b);
                    dlib::full_object_detection shape = (*sp)(m, rect);
                    if (shape.num_parts() != 5) return false;
                    for (unsigned long i = 0; i < 5; ++i) {
                        ptsp[2*i] = shape.part(i).x();
                        ptsp[2*i+1] = shape.part(i).y();
                    }
                    dlib::matrix<dlib::rgb_pixel> c;
                    dlib::extract_image_chip(m, dlib::get_face_chip_details(shape, 150, 0.25), c);
                    if (c.nr() != 150 || c.nc() != 150) return false;
                    for (long y = 0; y < 150; ++y) for (long x = 0; x < 150; ++x) {
                        uint8_t* q = chipp + 3 * (y * 150 + x);
                        q[0] = c(y, x).red; q[1] = c(y, x).green; q[2] = c(y, x).blue;
                    }
                    return true;
                } catch (...) {
                    return false;
                }
            })
        };
        if !ok {
            return Err(FaceError::Inference(
                "landmark prediction or alignment failed".into(),
            ));
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
        unsafe {
            cpp::cpp!([p as "dlib::shape_predictor*"] { delete p; });
        }
    }
}

/// dlib's ResNet face descriptor (128-D), input the aligned 150×150 chip.
pub struct ResnetDescriptor {
    ptr: *mut c_void,
}

// SAFETY: owned handle, used through `&mut self` only.
unsafe impl Send for ResnetDescriptor {}

impl ResnetDescriptor {
    pub fn open(path: &Path) -> Result<Self, FaceError> {
        let c = c_path(path)?;
        let cp = c.as_ptr();
        let ptr = unsafe {
            cpp::cpp!([cp as "const char*"] -> *mut c_void as "void*" {
                probity::resnet* net = new probity::resnet();
                try { dlib::deserialize(cp) >> *net; return net; }
                catch (...) { delete net; return nullptr; }
            })
        };
        if ptr.is_null() {
            return Err(FaceError::ModelCorrupt {
                path: path.to_path_buf(),
            });
        }
        Ok(Self { ptr })
    }

    /// Computes one 128-D descriptor per chip; `chips` holds `n` chips back to back.
    pub fn describe(&mut self, chips: &[u8]) -> Result<Vec<[f32; 128]>, FaceError> {
        if chips.is_empty() || !chips.len().is_multiple_of(CHIP_BYTES) {
            return Err(FaceError::InvalidImage(
                "face chips must be 150×150 RGB".into(),
            ));
        }
        let n = chips.len() / CHIP_BYTES;
        let mut out = vec![0f32; n * 128];
        let net = self.ptr;
        let (cp, op, nn) = (chips.as_ptr(), out.as_mut_ptr(), n as i64);
        let ok = unsafe {
            cpp::cpp!([net as "probity::resnet*", cp as "const uint8_t*", nn as "int64_t", op as "float*"] -> bool as "bool" {
                try {
                    std::vector<dlib::matrix<dlib::rgb_pixel>> batch;
                    batch.reserve(nn);
                    for (int64_t i = 0; i < nn; ++i) batch.push_back(probity::to_matrix(cp + i * 150 * 150 * 3, 150, 150));
                    std::vector<dlib::matrix<float,0,1>> d = (*net)(batch, 16);
                    if ((int64_t)d.size() != nn) return false;
                    for (int64_t i = 0; i < nn; ++i) {
                        if (d[i].size() != 128) return false;
                        for (long k = 0; k < 128; ++k) op[i * 128 + k] = d[i](k);
                    }
                    return true;
                } catch (...) {
                    return false;
                }
            })
        };
        if !ok {
            return Err(FaceError::Inference(
                "face descriptor network failed".into(),
            ));
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
        if chip.len() != CHIP_BYTES || n == 0 {
            return Err(FaceError::InvalidImage(
                "face chip must be 150×150 RGB".into(),
            ));
        }
        let mut jittered = vec![0u8; n * CHIP_BYTES];
        let (cp, jp, nn) = (chip.as_ptr(), jittered.as_mut_ptr(), n as i64);
        let ok = unsafe {
            cpp::cpp!([cp as "const uint8_t*", jp as "uint8_t*", nn as "int64_t", seed as "uint64_t"] -> bool as "bool" {
                try {
                    dlib::rand rnd(seed);
                    dlib::matrix<dlib::rgb_pixel> m = probity::to_matrix(cp, 150, 150);
                    for (int64_t i = 0; i < nn; ++i) {
                        dlib::matrix<dlib::rgb_pixel> c = dlib::jitter_image(m, rnd);
                        if (c.nr() != 150 || c.nc() != 150) return false;
                        uint8_t* q = jp + i * 150 * 150 * 3;
                        for (long y = 0; y < 150; ++y) for (long x = 0; x < 150; ++x) {
                            uint8_t* o = q + 3 * (y * 150 + x);
                            o[0] = c(y, x).red; o[1] = c(y, x).green; o[2] = c(y, x).blue;
                        }
                    }
                    return true;
                } catch (...) {
                    return false;
                }
            })
        };
        if !ok {
            return Err(FaceError::Inference("chip jitter failed".into()));
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
        unsafe {
            cpp::cpp!([p as "probity::resnet*"] { delete p; });
        }
    }
}
