//! The evaluation record says what it measured (FR-23): the pairs file by its SHA-256, the
//! images, and which identities were mated in the gallery and which were distractors, all taken
//! from the data actually read.

mod common;

use std::collections::BTreeSet;

use probity_face::eval::LfwData;

#[test]
fn fr_23_evaluation_record_names_the_pairs_file_sha256_and_the_split() {
    let faces = common::faces_dir();
    let data = LfwData::open(&faces).expect("development faces");
    let d = data.describe();

    // The digest is the file's, computed independently by coreutils.
    let out = std::process::Command::new("sha256sum")
        .arg(faces.join("pairs_dev.txt"))
        .output()
        .expect("sha256sum");
    let reference = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        Some(d.pairs_sha256.as_str()),
        reference.split_whitespace().next()
    );
    assert_eq!(d.pairs_file, "pairs_dev.txt");
    assert!(d.summary().contains(&d.pairs_sha256), "{}", d.summary());

    // Counts agree with the file and the folder as read here.
    let text = std::fs::read_to_string(faces.join("pairs_dev.txt")).expect("pairs");
    let mut header = text.lines().next().expect("header").split_whitespace();
    let folds: usize = header.next().and_then(|f| f.parse().ok()).expect("folds");
    let per_fold: usize = header.next().and_then(|f| f.parse().ok()).expect("n");
    assert_eq!(
        (d.folds, d.pairs, d.matched_pairs),
        (folds, folds * per_fold * 2, folds * per_fold)
    );
    let folder_identities = std::fs::read_dir(faces.join("lfw")).expect("lfw").count();
    assert_eq!(d.identities_in_folder, folder_identities);

    // Mated identities are exactly those named in the pairs file with a second image; every
    // other identity in the gallery is a distractor; no identity is both.
    let named: BTreeSet<String> = data.fold_identities();
    for m in &d.mated_identities {
        assert!(named.contains(m), "{m} is mated but not in the pairs file");
        assert!(data.identities[m].len() >= 2, "{m} has no probe image");
    }
    let mated: BTreeSet<&String> = d.mated_identities.iter().collect();
    assert!(d.distractor_identities.iter().all(|x| !mated.contains(x)));
    assert_eq!(
        d.mated_identities.len() + d.distractor_identities.len(),
        d.identities_in_folder
    );
    assert_eq!(
        d.gallery_images + d.probe_images,
        d.images_in_folder,
        "every image of the folder is either in the gallery or a probe"
    );
    // A different pairs file gives a different digest: the record would show it.
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("pairs_dev.txt"), format!("{text}\n")).expect("copy");
    std::os::unix::fs::symlink(faces.join("lfw"), dir.path().join("lfw")).expect("link");
    let other = LfwData::open(dir.path()).expect("copy opens").describe();
    assert_ne!(other.pairs_sha256, d.pairs_sha256);
    assert_eq!(other.mated_identities_sha256, d.mated_identities_sha256);
}
