//! Builds the C++ bridge to dlib (Debian `libdlib-dev`, see scripts/setup.d/face.apt).
//!
//! dlib's HOG detector, shape predictor and chip extraction are header templates, so they are
//! compiled here, in the bridge, with the bridge's flags. When the build machine has AVX2 and FMA
//! (x86-64-v3, every machine Probity is set up on) the bridge is compiled for them, which turns on
//! dlib's AVX code paths (`DLIB_HAVE_AVX`) in the HOG feature pyramid. The binary then needs such
//! a CPU; set `PROBITY_PORTABLE_BUILD=1` to build one for any x86-64.
fn main() {
    println!("cargo:rerun-if-changed=src/dlib.rs");
    println!("cargo:rerun-if-env-changed=PROBITY_PORTABLE_BUILD");
    // dlib's matrix code calls BLAS/LAPACK; Debian's dlib is linked against OpenBLAS.
    println!("cargo:rustc-link-lib=dlib");
    println!("cargo:rustc-link-lib=openblas");
    println!("cargo:rustc-link-lib=lapack");
    let mut cfg = cpp_build::Config::new();
    cfg.flag("-std=c++14").flag("-O3").flag("-w");
    if host_has_avx2() && std::env::var_os("PROBITY_PORTABLE_BUILD").is_none() {
        cfg.flag("-mavx2").flag("-mfma");
    }
    cfg.build("src/lib.rs");
}

/// Whether the target is the build machine's own x86-64 and that machine has AVX2 and FMA.
fn host_has_avx2() -> bool {
    let native = std::env::var("TARGET").ok() == std::env::var("HOST").ok();
    #[cfg(target_arch = "x86_64")]
    {
        native
            && std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("x86_64")
            && std::is_x86_feature_detected!("avx2")
            && std::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = native;
        false
    }
}
