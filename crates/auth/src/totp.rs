//! Time-based one-time passwords (RFC 6238 over RFC 4226 HOTP), the second factor of SEC-01.
//!
//! HMAC-SHA1, 6 digits, 30-second steps: what every authenticator app speaks. A code is
//! accepted for the current step and one step either side (clock drift), and only for a step
//! later than the last one used by that account, so a code cannot be replayed: the caller stores
//! the step returned by [`TotpSecret::verify`] and hands it back next time.

use hmac::{Hmac, Mac};
use rand::rngs::OsRng;
use rand::RngCore;
use sha1::Sha1;
use subtle::ConstantTimeEq;

use crate::error::AuthError;

/// Seconds per step.
pub const TOTP_STEP_SECONDS: u64 = 30;
/// Digits per code.
pub const TOTP_DIGITS: u32 = 6;
/// Steps accepted either side of the current one.
pub const TOTP_WINDOW: u64 = 1;
/// Secret length in bytes (160 bits, RFC 4226 recommendation).
pub const TOTP_SECRET_BYTES: usize = 20;

/// A shared TOTP secret. Debug output hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(Vec<u8>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(<hidden>)")
    }
}

impl TotpSecret {
    /// A fresh random 160-bit secret from the operating system's generator.
    pub fn generate() -> Self {
        let mut bytes = vec![0u8; TOTP_SECRET_BYTES];
        OsRng.fill_bytes(&mut bytes);
        TotpSecret(bytes)
    }

    /// Wraps raw secret bytes (at least 16 bytes).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, AuthError> {
        if bytes.len() < 16 {
            return Err(AuthError::InvalidInput(
                "a TOTP secret must be at least 128 bits".into(),
            ));
        }
        Ok(TotpSecret(bytes.to_vec()))
    }

    /// Parses the base32 form (RFC 4648, padding and case optional, spaces ignored).
    pub fn from_base32(text: &str) -> Result<Self, AuthError> {
        let cleaned: String = text
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '=')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let bytes = data_encoding::BASE32_NOPAD
            .decode(cleaned.as_bytes())
            .map_err(|_| AuthError::InvalidInput("the TOTP secret is not valid base32".into()))?;
        TotpSecret::from_bytes(&bytes)
    }

    /// The base32 form without padding, as authenticator apps and the store expect.
    pub fn to_base32(&self) -> String {
        data_encoding::BASE32_NOPAD.encode(&self.0)
    }

    /// Raw bytes (for storage encrypted at rest by the store).
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The `otpauth://` URI for enrolment (shown as a QR code or typed in).
    pub fn provisioning_uri(&self, issuer: &str, account: &str) -> String {
        format!(
            "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={}&period={}",
            percent_encode(issuer),
            percent_encode(account),
            self.to_base32(),
            percent_encode(issuer),
            TOTP_DIGITS,
            TOTP_STEP_SECONDS
        )
    }

    /// The code for a given step.
    pub fn code_at_step(&self, step: u64) -> String {
        hotp(&self.0, step, TOTP_DIGITS)
    }

    /// The code for a Unix time in seconds.
    pub fn code_at(&self, unix_seconds: u64) -> String {
        self.code_at_step(unix_seconds / TOTP_STEP_SECONDS)
    }

    /// Checks `code` at Unix time `now`. Accepts steps `now-1..=now+1` that are strictly later
    /// than `last_used_step`, and returns the step matched, which the caller must store as the
    /// new `last_used_step`. Spaces in the code are ignored.
    pub fn verify(
        &self,
        code: &str,
        unix_seconds: u64,
        last_used_step: Option<u64>,
    ) -> Result<u64, AuthError> {
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        if code.len() != TOTP_DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AuthError::refused("one-time code malformed"));
        }
        let now = unix_seconds / TOTP_STEP_SECONDS;
        let mut matched = None;
        let mut replayed = false;
        // Check every candidate so the work does not depend on which one matches.
        for step in now.saturating_sub(TOTP_WINDOW)..=now + TOTP_WINDOW {
            let expected = self.code_at_step(step);
            let equal: bool = expected.as_bytes().ct_eq(code.as_bytes()).into();
            if equal {
                if last_used_step.is_some_and(|last| step <= last) {
                    replayed = true;
                } else if matched.is_none() {
                    matched = Some(step);
                }
            }
        }
        match matched {
            Some(step) => Ok(step),
            None if replayed => Err(AuthError::refused("one-time code already used")),
            None => Err(AuthError::refused("one-time code wrong or expired")),
        }
    }
}

/// RFC 4226 HOTP with HMAC-SHA1 and dynamic truncation.
fn hotp(key: &[u8], counter: u64, digits: u32) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = (digest[19] & 0x0f) as usize;
    let binary = (u32::from(digest[offset] & 0x7f) << 24)
        | (u32::from(digest[offset + 1]) << 16)
        | (u32::from(digest[offset + 2]) << 8)
        | u32::from(digest[offset + 3]);
    let value = binary % 10u32.pow(digits);
    format!("{value:0width$}", width = digits as usize)
}

/// Percent-encoding for the label and issuer of an otpauth URI (RFC 3986 unreserved kept).
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, SHA-1 key "12345678901234567890"; the 8-digit reference values
    /// reduced to 6 digits are their last 6 digits.
    #[test]
    fn sec_01_rfc6238_test_vectors() {
        let key = TotpSecret::from_bytes(b"12345678901234567890").unwrap();
        let vectors = [
            (59u64, "94287082"),
            (1111111109, "07081804"),
            (1111111111, "14050471"),
            (1234567890, "89005924"),
            (2000000000, "69279037"),
            (20000000000, "65353130"),
        ];
        for (t, eight) in vectors {
            assert_eq!(hotp(key.as_bytes(), t / 30, 8), eight, "t={t}");
            assert_eq!(key.code_at(t), &eight[2..], "t={t}");
        }
    }

    #[test]
    fn sec_01_window_of_one_step_each_side() {
        let key = TotpSecret::generate();
        let now = 1_700_000_000u64;
        let step = now / 30;
        assert_eq!(
            key.verify(&key.code_at_step(step), now, None).unwrap(),
            step
        );
        assert_eq!(
            key.verify(&key.code_at_step(step - 1), now, None).unwrap(),
            step - 1
        );
        assert_eq!(
            key.verify(&key.code_at_step(step + 1), now, None).unwrap(),
            step + 1
        );
        let far = key.code_at_step(step - 2);
        // A code two steps old only passes if it happens to equal a code in the window.
        if far != key.code_at_step(step - 1)
            && far != key.code_at_step(step)
            && far != key.code_at_step(step + 1)
        {
            assert!(key.verify(&far, now, None).is_err());
        }
    }

    #[test]
    fn sec_01_code_cannot_be_replayed() {
        let key = TotpSecret::generate();
        let now = 1_700_000_000u64;
        let code = key.code_at(now);
        let used = key.verify(&code, now, None).unwrap();
        let err = key.verify(&code, now + 5, Some(used)).unwrap_err();
        assert!(err.log_detail().to_string().contains("already used"));
        // An earlier step's code is refused once a later step was used.
        let earlier = key.code_at_step(used - 1);
        assert!(key.verify(&earlier, now, Some(used)).is_err() || earlier == code);
        // The next step's code is still accepted.
        let next = key.code_at_step(used + 1);
        assert_eq!(key.verify(&next, now + 30, Some(used)).unwrap(), used + 1);
    }

    #[test]
    fn sec_01_malformed_codes_are_refused() {
        let key = TotpSecret::generate();
        for bad in ["", "12345", "1234567", "12a456", "１２３４５６"] {
            assert!(key.verify(bad, 1_700_000_000, None).is_err(), "{bad}");
        }
        let code = key.code_at(1_700_000_000);
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert!(key.verify(&spaced, 1_700_000_000, None).is_ok());
    }

    #[test]
    fn sec_01_secret_base32_and_provisioning_uri() {
        let key = TotpSecret::generate();
        assert_eq!(key.as_bytes().len(), 20);
        let b32 = key.to_base32();
        assert_eq!(b32.len(), 32);
        assert_eq!(TotpSecret::from_base32(&b32.to_lowercase()).unwrap(), key);
        assert!(TotpSecret::from_base32("not base32!").is_err());
        let uri = key.provisioning_uri("Probity NYPD", "jane.doe@probity.test");
        assert_eq!(
            uri,
            format!(
                "otpauth://totp/Probity%20NYPD:jane.doe%40probity.test?secret={b32}\
                 &issuer=Probity%20NYPD&algorithm=SHA1&digits=6&period=30"
            )
        );
        assert!(!format!("{key:?}").contains(&b32));
    }
}
