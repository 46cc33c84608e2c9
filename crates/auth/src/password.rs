//! Local passwords: Argon2id in PHC strings, and the password policy (SEC-01).
//!
//! Parameters (defaults, OWASP 2024 recommendation for Argon2id): memory 19 MiB
//! (`m=19456` KiB), 2 iterations (`t=2`), 1 lane (`p=1`), 16-byte random salt, 32-byte output.
//! They are written into every PHC string (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`), so
//! hashes made with older parameters still verify; [`PasswordService::needs_rehash`] tells the
//! caller to re-hash on the next successful sign-in.
//!
//! Verification compares the derived hash in constant time (the `password-hash` crate's output
//! comparison). For an unknown user, [`PasswordService::verify`] takes `None` and still runs one
//! Argon2id derivation against a dummy hash, so the time taken does not reveal whether the
//! account exists.

use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use serde::{Deserialize, Serialize};

use crate::error::AuthError;

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordParams {
    /// Memory per hash in KiB.
    pub memory_kib: u32,
    /// Number of passes.
    pub iterations: u32,
    /// Degree of parallelism (lanes).
    pub parallelism: u32,
}

impl Default for PasswordParams {
    fn default() -> Self {
        PasswordParams {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        }
    }
}

/// Rules a new password must meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordPolicy {
    /// Minimum length in characters (Unicode scalar values).
    pub min_length: usize,
    /// Maximum length in characters; bounds the work an attacker can ask for.
    pub max_length: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy {
            min_length: 12,
            max_length: 256,
        }
    }
}

impl PasswordPolicy {
    /// Checks a new password for `username`. The reason in the error is safe to show.
    pub fn check(&self, username: &str, password: &str) -> Result<(), AuthError> {
        let chars = password.chars().count();
        if chars < self.min_length {
            return Err(AuthError::PasswordPolicy(format!(
                "it must be at least {} characters long",
                self.min_length
            )));
        }
        if chars > self.max_length {
            return Err(AuthError::PasswordPolicy(format!(
                "it must be at most {} characters long",
                self.max_length
            )));
        }
        if password.chars().any(char::is_control) {
            return Err(AuthError::PasswordPolicy(
                "it must not contain control characters".into(),
            ));
        }
        if !username.is_empty() && password.trim().to_lowercase() == username.trim().to_lowercase()
        {
            return Err(AuthError::PasswordPolicy(
                "it must not be the same as the username".into(),
            ));
        }
        if let Some(first) = password.chars().next() {
            if password.chars().all(|c| c == first) {
                return Err(AuthError::PasswordPolicy(
                    "it must not repeat a single character".into(),
                ));
            }
        }
        Ok(())
    }
}

/// Hashes and verifies local passwords.
#[derive(Debug)]
pub struct PasswordService {
    params: PasswordParams,
    policy: PasswordPolicy,
    dummy: OnceLock<String>,
}

impl Default for PasswordService {
    fn default() -> Self {
        PasswordService::new(PasswordParams::default(), PasswordPolicy::default())
    }
}

impl PasswordService {
    /// A service with the given cost parameters and policy.
    pub fn new(params: PasswordParams, policy: PasswordPolicy) -> Self {
        PasswordService {
            params,
            policy,
            dummy: OnceLock::new(),
        }
    }

    /// The policy new passwords are checked against.
    pub fn policy(&self) -> &PasswordPolicy {
        &self.policy
    }

    /// The cost parameters used for new hashes.
    pub fn params(&self) -> &PasswordParams {
        &self.params
    }

    fn argon2(&self) -> Result<Argon2<'static>, AuthError> {
        let params = Params::new(
            self.params.memory_kib,
            self.params.iterations,
            self.params.parallelism,
            None,
        )
        .map_err(|e| AuthError::misconfigured(format!("Argon2id parameters: {e}")))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }

    /// Checks the policy for `username`, then returns the Argon2id PHC string to store.
    pub fn hash(&self, username: &str, password: &str) -> Result<String, AuthError> {
        self.policy.check(username, password)?;
        self.hash_unchecked(password)
    }

    fn hash_unchecked(&self, password: &str) -> Result<String, AuthError> {
        let salt = SaltString::generate(&mut OsRng);
        let hash = self
            .argon2()?
            .hash_password(password.as_bytes(), &salt)
            .map_err(|e| AuthError::Internal {
                cause: format!("argon2id hashing: {e}"),
            })?;
        Ok(hash.to_string())
    }

    fn dummy_hash(&self) -> &str {
        self.dummy.get_or_init(|| {
            // A fixed, non-secret input: only the cost of the derivation matters.
            self.hash_unchecked("probity-dummy-password-for-timing")
                .unwrap_or_default()
        })
    }

    /// Verifies `password` against the stored PHC string, or against a dummy hash when the user
    /// is unknown (`stored == None`), which always fails. Same work either way.
    ///
    /// Errors are always [`AuthError::Refused`] with a logged cause; the user message does not
    /// say which case applied.
    pub fn verify(&self, stored: Option<&str>, password: &str) -> Result<(), AuthError> {
        let (phc, known) = match stored {
            Some(phc) => (phc, true),
            None => (self.dummy_hash(), false),
        };
        let parsed = PasswordHash::new(phc)
            .map_err(|e| AuthError::refused(format!("stored password hash unreadable: {e}")))?;
        if parsed.algorithm.as_str() != "argon2id" {
            return Err(AuthError::refused(format!(
                "stored password hash uses {}, only argon2id is accepted",
                parsed.algorithm
            )));
        }
        let ok = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        match (known, ok) {
            (true, true) => Ok(()),
            (true, false) => Err(AuthError::refused("wrong password")),
            (false, _) => Err(AuthError::refused("unknown user")),
        }
    }

    /// True when `stored` was made with parameters other than the current ones (or is not
    /// Argon2id at all), so the caller should store a fresh hash after a successful sign-in.
    pub fn needs_rehash(&self, stored: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(stored) else {
            return true;
        };
        if parsed.algorithm.as_str() != "argon2id" {
            return true;
        }
        let Ok(params) = Params::try_from(&parsed) else {
            return true;
        };
        params.m_cost() != self.params.memory_kib
            || params.t_cost() != self.params.iterations
            || params.p_cost() != self.params.parallelism
    }

    /// After `password` was accepted against `stored`: a fresh PHC string with the current
    /// parameters when `stored` was made with others (store it), else `None`. The policy is not
    /// re-applied to a password that was accepted when it was set.
    pub fn upgraded_hash(&self, stored: &str, password: &str) -> Option<String> {
        if !self.needs_rehash(stored) {
            return None;
        }
        self.hash_unchecked(password).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast() -> PasswordService {
        // Small parameters keep unit tests quick; the default is covered by one test below.
        PasswordService::new(
            PasswordParams {
                memory_kib: 1024,
                iterations: 1,
                parallelism: 1,
            },
            PasswordPolicy::default(),
        )
    }

    #[test]
    fn sec_01_argon2id_phc_string_round_trip() {
        let svc = PasswordService::default();
        let phc = svc.hash("alice", "correct horse battery").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(!phc.contains("correct horse"));
        svc.verify(Some(&phc), "correct horse battery").unwrap();
        let err = svc.verify(Some(&phc), "correct horse batterY").unwrap_err();
        assert_eq!(err.http_status(), 401);
        assert!(!svc.needs_rehash(&phc));
    }

    /// Produced by the reference C implementation (Debian `argon2` tool):
    /// `echo -n password | argon2 somesaltsomesalt -id -t 2 -k 19456 -p 1 -l 32 -e`.
    #[test]
    fn sec_01_argon2id_agrees_with_the_reference_implementation() {
        let reference = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$\
                         K13EBUiG7JV+9ZxztmHFTdb7J0WQsnj2V8bZaqyPptE";
        let svc = PasswordService::default();
        svc.verify(Some(reference), "password").unwrap();
        assert!(svc.verify(Some(reference), "Password").is_err());
        assert!(!svc.needs_rehash(reference));
    }

    #[test]
    fn sec_01_same_password_gets_different_salts() {
        let svc = fast();
        let a = svc.hash("alice", "correct horse battery").unwrap();
        let b = svc.hash("alice", "correct horse battery").unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn sec_01_unknown_user_is_refused_with_the_same_message() {
        let svc = fast();
        let phc = svc.hash("alice", "correct horse battery").unwrap();
        let wrong = svc.verify(Some(&phc), "nope nope nope").unwrap_err();
        let unknown = svc.verify(None, "correct horse battery").unwrap_err();
        assert_eq!(wrong.user_message(), unknown.user_message());
        assert!(unknown.log_detail().to_string().contains("unknown user"));
    }

    #[test]
    fn sec_01_policy_minimum_length_and_not_username() {
        let svc = fast();
        assert!(matches!(
            svc.hash("alice", "short"),
            Err(AuthError::PasswordPolicy(_))
        ));
        assert!(matches!(
            svc.hash("alice.longname", "Alice.LongName"),
            Err(AuthError::PasswordPolicy(_))
        ));
        assert!(matches!(
            svc.hash("alice", "aaaaaaaaaaaaaaaa"),
            Err(AuthError::PasswordPolicy(_))
        ));
        let too_long = "x1".repeat(200);
        assert!(matches!(
            svc.hash("alice", &too_long),
            Err(AuthError::PasswordPolicy(_))
        ));
        assert!(svc.hash("alice", "twelve chars!").is_ok());
    }

    #[test]
    fn sec_01_other_algorithms_and_garbage_are_refused() {
        let svc = fast();
        // A valid argon2i hash is not accepted: only argon2id.
        let argon2i = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x13,
            Params::new(1024, 1, 1, None).unwrap(),
        )
        .hash_password(b"correct horse battery", &SaltString::generate(&mut OsRng))
        .unwrap()
        .to_string();
        assert!(svc.verify(Some(&argon2i), "correct horse battery").is_err());
        assert!(svc.needs_rehash(&argon2i));
        assert!(svc.verify(Some("plaintext"), "plaintext").is_err());
        assert!(svc.verify(Some(""), "").is_err());
    }

    #[test]
    fn sec_01_old_parameters_verify_and_ask_for_rehash() {
        let old = fast();
        let phc = old.hash("alice", "correct horse battery").unwrap();
        let current = PasswordService::default();
        current.verify(Some(&phc), "correct horse battery").unwrap();
        assert!(current.needs_rehash(&phc));
        let upgraded = current
            .upgraded_hash(&phc, "correct horse battery")
            .unwrap();
        assert!(upgraded.contains("m=19456,t=2,p=1"), "{upgraded}");
        current
            .verify(Some(&upgraded), "correct horse battery")
            .unwrap();
        assert!(current
            .upgraded_hash(&upgraded, "correct horse battery")
            .is_none());
    }
}
