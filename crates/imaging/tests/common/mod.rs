//! Shared helpers for the integration tests: the sample data folder and edited copies.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The shared sample data folder: `$PROBITY_TEST_DATA`, else `../shared/data` beside the
/// repository. Fails (never skips) when it is missing.
pub fn data_dir() -> PathBuf {
    let dir = match std::env::var_os("PROBITY_TEST_DATA") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    };
    assert!(
        dir.join("camera").is_dir(),
        "sample data not found at {}: set PROBITY_TEST_DATA to the shared data folder (the one holding camera/ and thermal/)",
        dir.display()
    );
    dir
}

pub fn camera(name: &str) -> PathBuf {
    data_dir().join("camera").join(name)
}

pub fn read_camera(name: &str) -> Vec<u8> {
    let p = camera(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("cannot read sample {}: {e}", p.display()))
}

pub fn read_thermal(name: &str) -> Vec<u8> {
    let p = data_dir().join("thermal").join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("cannot read sample {}: {e}", p.display()))
}

/// Replace the first occurrence of `from` by `to` (same length) in a copy of `bytes`.
pub fn patched(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let pos = bytes
        .windows(from.len())
        .position(|w| w == from)
        .expect("pattern to patch not found in sample");
    let mut out = bytes.to_vec();
    out[pos..pos + to.len()].copy_from_slice(to);
    out
}

/// Parse an `exiftool -a -G1 -s` dump into (group, tag, value) rows, in order.
pub fn exiftool_dump(name: &str) -> Vec<(String, String, String)> {
    let p = camera(&format!("{name}.exiftool.txt"));
    let text = std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("cannot read dump {}: {e}", p.display()));
    text.lines()
        .filter_map(|l| {
            let l = l.strip_prefix('[')?;
            let (group, rest) = l.split_once(']')?;
            let (tag, value) = rest.split_once(':')?;
            Some((
                group.trim().to_string(),
                tag.trim().to_string(),
                value.trim().to_string(),
            ))
        })
        .collect()
}

/// The first value of `group`/`tag` in a parsed dump.
pub fn dump_value<'a>(
    dump: &'a [(String, String, String)],
    group: &str,
    tag: &str,
) -> Option<&'a str> {
    dump.iter()
        .find(|(g, t, _)| g == group && t == tag)
        .map(|(_, _, v)| v.as_str())
}
