//! SHA-256 of originals (DC-05, DC-06), streamed so files of any size use a fixed buffer.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::ImagingError;

/// Lower-case hex SHA-256 of a byte slice.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Stream a reader through SHA-256; returns the hex digest and the number of bytes read.
pub fn sha256_reader<R: Read>(mut reader: R) -> std::io::Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((hex::encode(hasher.finalize()), total))
}

/// Stream a file through SHA-256; returns the hex digest and the file's size.
pub fn sha256_file(path: &Path) -> Result<(String, u64), ImagingError> {
    let f = File::open(path).map_err(|e| ImagingError::io(path, e))?;
    sha256_reader(f).map_err(|e| ImagingError::io(path, e))
}

/// Read a stored copy back and compare its SHA-256 with the one recorded at intake (DC-05).
pub fn read_back_verify(path: &Path, expected_sha256: &str) -> Result<(), ImagingError> {
    let (actual, _) = sha256_file(path)?;
    if actual.eq_ignore_ascii_case(expected_sha256) {
        Ok(())
    } else {
        Err(ImagingError::HashMismatch {
            path: path.to_path_buf(),
            expected: expected_sha256.to_ascii_lowercase(),
            actual,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dc_05_sha256_known_vector() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let (h, n) = sha256_reader(&b"abc"[..]).unwrap();
        assert_eq!(n, 3);
        assert_eq!(h, sha256_hex(b"abc"));
    }
}
