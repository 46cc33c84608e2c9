//! Shared helpers: model folder and development faces; both must exist (never skipped).

#![allow(dead_code)]

use std::path::PathBuf;

use image::RgbImage;

pub fn models() -> PathBuf {
    let dir = probity_face::model_dir();
    assert!(
        dir.join("dlib_face_recognition_resnet_model_v1.dat")
            .is_file(),
        "face models missing in {}: run scripts/setup (or set PROBITY_MODEL_DIR)",
        dir.display()
    );
    dir
}

pub fn faces_dir() -> PathBuf {
    let base = std::env::var_os("PROBITY_TEST_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data"))
        });
    let faces = base.join("faces");
    assert!(
        faces.join("lfw").is_dir(),
        "test data missing: {} has no lfw/ folder; set PROBITY_TEST_DATA to the shared data folder",
        faces.display()
    );
    faces
}

pub fn lfw(name: &str, n: u32) -> RgbImage {
    let p = faces_dir()
        .join("lfw")
        .join(name)
        .join(format!("{name}_{n:04}.jpg"));
    image::open(&p)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
        .to_rgb8()
}

/// A repository template's stored bytes as floats (its vector, as the store keeps it).
pub fn template_floats(t: &probity_face::RepositoryTemplate) -> Vec<f32> {
    t.to_stored()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// Exact search of `index` for `probe`'s `top_k` candidates, every record searchable.
pub fn exact_search(
    index: &probity_face::GalleryIndex,
    probe: &probity_face::ProbeTemplate,
    top_k: usize,
) -> probity_face::SearchResult {
    index
        .search(
            probe,
            &probity_face::SearchRequest {
                top_k,
                mode: probity_face::SearchMode::Exact,
            },
            &|_| true,
        )
        .expect("search")
}
