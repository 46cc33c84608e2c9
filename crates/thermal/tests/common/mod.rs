//! Shared helpers of the integration tests: sample data and the flyr reference.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The shared sample data directory; fails loudly when missing.
pub fn data_dir() -> PathBuf {
    let dir = std::env::var_os("PROBITY_TEST_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    assert!(
        dir.join("thermal").is_dir(),
        "sample data missing: {} has no thermal/ directory; set PROBITY_TEST_DATA to the shared data directory",
        dir.display()
    );
    dir
}

pub fn thermal(name: &str) -> PathBuf {
    data_dir().join("thermal").join(name)
}

pub fn read(name: &str) -> Vec<u8> {
    let p = thermal(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
}

/// The radiometric sample files (not the negative ones).
pub fn sample_files() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(data_dir().join("thermal"))
        .expect("thermal sample directory")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".txt") && !n.starts_with('.') && n != "negative")
        .collect();
    v.sort();
    v
}

/// A value from the exiftool dump beside a sample: accepts both the
/// `[Group] TagName : value` and the `Tag Name : value` layouts.
pub fn exiftool_value(file: &str, tag: &str) -> Option<String> {
    let dump = std::fs::read_to_string(thermal(&format!("{file}.exiftool.txt"))).ok()?;
    let squash = |s: &str| {
        s.chars()
            .filter(|c| !c.is_whitespace() && *c != '/')
            .collect::<String>()
    };
    for line in dump.lines() {
        // FLIR-group values only (the EXIF block repeats some names).
        if line.starts_with('[') && !line.starts_with("[FLIR]") {
            continue;
        }
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let k = k.trim();
        let k = k.rsplit(']').next().unwrap_or(k);
        if squash(k).eq_ignore_ascii_case(tag) {
            return Some(v.trim().to_string());
        }
    }
    None
}

/// The leading number of an exiftool value ("20.0 C" → 20.0).
pub fn exiftool_number(file: &str, tag: &str) -> f64 {
    let v = exiftool_value(file, tag).unwrap_or_else(|| panic!("{file}: {tag} not in dump"));
    let num: String = v
        .chars()
        .take_while(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'))
        .collect();
    num.parse()
        .unwrap_or_else(|_| panic!("{file}: {tag} value {v:?} is not a number"))
}

/// The python interpreter of the reference-tool venv.
pub fn python() -> PathBuf {
    let p = std::env::var_os("PROBITY_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python"));
    assert!(
        p.exists(),
        "reference python missing at {}: run scripts/setup (installs flyr from scripts/setup.d/thermal.pip) or set PROBITY_PYTHON",
        p.display()
    );
    p
}

const FLYR_SCRIPT: &str = r#"
import sys, struct
import flyr
import numpy as np
try:
    t = flyr.unpack(sys.argv[1])
    c = np.ascontiguousarray(t.celsius, dtype='<f8')
except Exception as e:
    sys.stderr.write("flyr-failed: %s: %s\n" % (type(e).__name__, e))
    sys.exit(3)
h, w = c.shape
sys.stdout.buffer.write(struct.pack('<II', w, h))
sys.stdout.buffer.write(c.tobytes())
"#;

/// flyr's temperature map of a file, or `None` when flyr cannot decode it.
pub fn flyr_celsius(path: &Path) -> Option<(u32, u32, Vec<f64>)> {
    let out = Command::new(python())
        .arg("-c")
        .arg(FLYR_SCRIPT)
        .arg(path)
        .output()
        .expect("run the reference python");
    if out.status.code() == Some(3) {
        return None;
    }
    assert!(
        out.status.success(),
        "flyr reference failed to run (is flyr installed in the venv?): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let b = out.stdout;
    let w = u32::from_le_bytes(b[0..4].try_into().unwrap());
    let h = u32::from_le_bytes(b[4..8].try_into().unwrap());
    let v = b[8..]
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect::<Vec<_>>();
    assert_eq!(v.len(), (w * h) as usize);
    Some((w, h, v))
}
