//! Builds the C++ bridge to dlib (Debian `libdlib-dev`, see scripts/setup.d/face.apt).
fn main() {
    println!("cargo:rerun-if-changed=src/dlib.rs");
    // dlib's matrix code calls BLAS/LAPACK; Debian's dlib is linked against OpenBLAS.
    println!("cargo:rustc-link-lib=dlib");
    println!("cargo:rustc-link-lib=openblas");
    println!("cargo:rustc-link-lib=lapack");
    cpp_build::Config::new()
        .flag("-std=c++14")
        .flag("-O2")
        .flag("-w")
        .build("src/lib.rs");
}
