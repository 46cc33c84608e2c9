//! Recovery codes: one-time replacements for a TOTP code when the authenticator is lost (SEC-01).
//!
//! A set of [`RECOVERY_CODES`] codes is generated when a second factor is enrolled and shown once.
//! Each code is 80 random bits written as 16 lower-case base32 characters in four groups
//! (`abcd-efgh-ijkm-npqr`). Only a SHA-256 of the normalised code, bound to the account it belongs
//! to ([`recovery_code_hash`]), is stored: 80 bits of entropy make the hash as safe to keep as a
//! token hash (no password-style stretching is needed), and binding it to the account means a code
//! of one account is worth nothing on another. The store marks a code used; it is never accepted
//! twice.

use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Codes in one set.
pub const RECOVERY_CODES: usize = 10;
/// Random bytes per code (80 bits).
const CODE_BYTES: usize = 10;
/// Characters per code, without the dashes.
const CODE_CHARS: usize = 16;

/// A fresh set of [`RECOVERY_CODES`] codes, to be shown to the person once.
pub fn generate_recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES).map(|_| generate_one()).collect()
}

fn generate_one() -> String {
    let mut bytes = [0u8; CODE_BYTES];
    OsRng.fill_bytes(&mut bytes);
    let plain = data_encoding::BASE32_NOPAD.encode(&bytes).to_lowercase();
    plain
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

/// The code as typed, normalised (case, dashes and spaces ignored); `None` when it cannot be a
/// recovery code (wrong length or alphabet), so the store is not asked.
pub fn normalise_recovery_code(code: &str) -> Option<String> {
    let cleaned: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let valid = cleaned.len() == CODE_CHARS
        && cleaned
            .bytes()
            .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b));
    valid.then_some(cleaned)
}

/// The stored form of `code` for the account `account_id`: lower-case hex SHA-256 over a domain
/// tag, the account and the normalised code. `None` when `code` is not a recovery code.
pub fn recovery_code_hash(account_id: &str, code: &str) -> Option<String> {
    let code = normalise_recovery_code(code)?;
    let mut h = Sha256::new();
    h.update(b"probity-recovery-code\0");
    h.update(account_id.as_bytes());
    h.update(b"\0");
    h.update(code.as_bytes());
    Some(hex::encode(h.finalize()))
}

/// True when `code` looks like a recovery code rather than a six-digit TOTP code.
pub fn is_recovery_code(code: &str) -> bool {
    normalise_recovery_code(code).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sec_01_recovery_codes_are_random_grouped_and_hashed_per_account() {
        let codes = generate_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let unique: std::collections::BTreeSet<_> = codes.iter().collect();
        assert_eq!(unique.len(), RECOVERY_CODES);
        for c in &codes {
            assert_eq!(c.len(), 19, "{c}");
            assert_eq!(c.matches('-').count(), 3, "{c}");
            assert!(is_recovery_code(c));
        }
        let a = recovery_code_hash("user-a", &codes[0]).unwrap();
        assert_eq!(a.len(), 64);
        assert!(!a.contains(&codes[0].replace('-', "")));
        // Typed in upper case, without dashes, with spaces: the same code.
        let typed = codes[0].to_uppercase().replace('-', " ");
        assert_eq!(recovery_code_hash("user-a", &typed).unwrap(), a);
        // Bound to the account.
        assert_ne!(recovery_code_hash("user-b", &codes[0]).unwrap(), a);
    }

    #[test]
    fn sec_01_totp_codes_and_garbage_are_not_recovery_codes() {
        for bad in [
            "123456",
            "",
            "abcd-efgh-ijkl-mnop-q",
            "abcd-efgh-ijk1-mnop",
            "ａｂｃｄ",
        ] {
            assert!(!is_recovery_code(bad), "{bad}");
            assert!(recovery_code_hash("u", bad).is_none(), "{bad}");
        }
    }
}
