//! The whole sign-in decision in one place: lockout, first factor (local Argon2id or the
//! directory), second factor for remote peers, session token.
//!
//! The server reads the account's snapshot from the store, calls [`Authenticator::sign_in`],
//! writes back [`SignInResult::update`] (in the same transaction as its audit entry), and on
//! success sends [`SignedIn::set_cookie`] and keeps only the token hash.
//!
//! Order of checks (SEC-01):
//! 1. The first factor is always evaluated (against a dummy hash for unknown users), so timing
//!    does not tell whether the user exists. A directory is not asked while the account is
//!    locked (so Probity never helps lock the directory account).
//! 2. A locked account is refused whatever the credentials, with the generic message.
//! 3. After a correct first factor from outside the local networks, a TOTP code is required:
//!    without one the answer is [`AuthError::SecondFactorRequired`] (or
//!    [`AuthError::SecondFactorNotEnrolled`] when the account has none) and nothing is counted;
//!    a wrong or replayed code counts as a failure.
//! 4. A success resets the failure count and issues a session token.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::cookie::{session_set_cookie, DEFAULT_SESSION_SECONDS};
use crate::error::AuthError;
use crate::ldap::{Directory, DirectoryConfig, DirectoryIdentity};
use crate::lockout::{AttemptOutcome, LockoutPolicy, LockoutState};
use crate::network::{requires_second_factor, NetworkConfig};
use crate::password::{PasswordParams, PasswordPolicy, PasswordService};
use crate::token::{IssuedToken, TokenKind};
use crate::totp::TotpSecret;

/// All authentication settings, with safe defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthSettings {
    /// Networks whose peers need no second factor (default: loopback only).
    pub network: NetworkConfig,
    /// Lockout after repeated failures (default: 5 failures, 15 minutes).
    pub lockout: LockoutPolicy,
    /// Argon2id cost for local passwords.
    pub password_params: PasswordParams,
    /// Rules for new local passwords.
    pub password_policy: PasswordPolicy,
    /// Session lifetime in seconds (default: 8 hours).
    pub session_seconds: u64,
    /// Issuer shown in authenticator apps.
    pub totp_issuer: String,
    /// When set, passwords are checked by this directory and never stored locally.
    pub directory: Option<DirectoryConfig>,
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            network: NetworkConfig::default(),
            lockout: LockoutPolicy::default(),
            password_params: PasswordParams::default(),
            password_policy: PasswordPolicy::default(),
            session_seconds: DEFAULT_SESSION_SECONDS,
            totp_issuer: "Probity".into(),
            directory: None,
        }
    }
}

/// What the store holds about an account, read before the attempt.
#[derive(Debug, Clone, Default)]
pub struct AccountSnapshot {
    /// Argon2id PHC string; `None` for directory accounts.
    pub password_phc: Option<String>,
    /// TOTP secret, if enrolled.
    pub totp_secret: Option<TotpSecret>,
    /// Last TOTP step accepted (replay protection).
    pub last_totp_step: Option<u64>,
    /// Lockout state.
    pub lockout: LockoutState,
    /// False for a disabled account: always refused.
    pub enabled: bool,
}

/// One sign-in attempt. `Debug` hides the password and the code.
#[derive(Clone, Copy)]
pub struct SignInAttempt<'a> {
    /// Username as typed.
    pub username: &'a str,
    /// Password as typed; never stored or logged.
    pub password: &'a str,
    /// One-time code, when the form had one.
    pub totp_code: Option<&'a str>,
    /// TCP peer address (or the one a trusted proxy reports).
    pub peer: IpAddr,
    /// Current time.
    pub now: DateTime<Utc>,
}

impl std::fmt::Debug for SignInAttempt<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInAttempt")
            .field("username", &self.username)
            .field("password", &"<hidden>")
            .field("totp_code", &self.totp_code.map(|_| "<hidden>"))
            .field("peer", &self.peer)
            .field("now", &self.now)
            .finish()
    }
}

/// State to write back to the store after an attempt on a known account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountUpdate {
    /// New lockout state.
    pub lockout: LockoutState,
    /// New last TOTP step, when a code was accepted.
    pub last_totp_step: Option<u64>,
    /// A fresh PHC string when the stored one used old parameters (store it).
    pub new_password_phc: Option<String>,
    /// True when this attempt locked the account (worth an audit entry).
    pub locked_now: bool,
}

/// A successful sign-in.
#[derive(Debug)]
pub struct SignedIn {
    /// The session token: its secret goes into the cookie once, its hash into the store.
    pub session: IssuedToken,
    /// `Set-Cookie` value carrying the session token.
    pub set_cookie: String,
    /// Session lifetime in seconds.
    pub session_seconds: u64,
    /// Whether a TOTP code was checked.
    pub second_factor_used: bool,
    /// The directory's answer, for directory sign-ins (display name, groups, roles).
    pub directory: Option<DirectoryIdentity>,
}

/// The outcome of an attempt and what to store.
#[derive(Debug)]
pub struct SignInResult {
    /// Signed in, or why not.
    pub outcome: Result<SignedIn, AuthError>,
    /// What to write back; `None` when the account is unknown (nothing to write).
    pub update: Option<AccountUpdate>,
}

/// The configured authentication service.
#[derive(Debug)]
pub struct Authenticator {
    settings: AuthSettings,
    passwords: PasswordService,
    directory: Option<Directory>,
}

impl Authenticator {
    /// Builds the service; checks the directory settings when present.
    pub fn new(settings: AuthSettings) -> Result<Authenticator, AuthError> {
        let passwords = PasswordService::new(settings.password_params, settings.password_policy);
        let directory = match &settings.directory {
            Some(config) => Some(Directory::new(config.clone())?),
            None => None,
        };
        Ok(Authenticator {
            settings,
            passwords,
            directory,
        })
    }

    /// The settings in force.
    pub fn settings(&self) -> &AuthSettings {
        &self.settings
    }

    /// Local password hashing and policy.
    pub fn passwords(&self) -> &PasswordService {
        &self.passwords
    }

    /// The directory, when configured.
    pub fn directory(&self) -> Option<&Directory> {
        self.directory.as_ref()
    }

    /// SEC-01: with a directory configured, the application stores no passwords. The server
    /// and store must not accept or keep a local password when this is false.
    pub fn local_passwords_allowed(&self) -> bool {
        self.directory.is_none()
    }

    /// The PHC string to store for a new local password, after the policy check. Refused when
    /// a directory is configured.
    pub fn hash_new_password(&self, username: &str, password: &str) -> Result<String, AuthError> {
        if !self.local_passwords_allowed() {
            return Err(AuthError::InvalidInput(
                "passwords are managed by the directory; change it there".into(),
            ));
        }
        self.passwords.hash(username, password)
    }

    /// Does a sign-in from `peer` need a one-time code?
    pub fn requires_second_factor(&self, peer: IpAddr) -> bool {
        requires_second_factor(peer, &self.settings.network)
    }

    /// A new TOTP secret and its `otpauth://` URI for `account`.
    pub fn begin_totp_enrolment(&self, account: &str) -> (TotpSecret, String) {
        let secret = TotpSecret::generate();
        let uri = secret.provisioning_uri(&self.settings.totp_issuer, account);
        (secret, uri)
    }

    /// Signs in: local accounts when no directory is configured, else the directory.
    /// `account` is `None` when the store has no such user (for a directory user on first
    /// sign-in, the server creates the row from the returned identity).
    pub async fn sign_in(
        &self,
        attempt: SignInAttempt<'_>,
        account: Option<&AccountSnapshot>,
    ) -> SignInResult {
        let lockout_state = account.map(|a| a.lockout).unwrap_or_default();
        let locked = self.settings.lockout.is_locked(&lockout_state, attempt.now);

        // First factor.
        let mut identity = None;
        let mut rehash = None;
        let first: Result<(), AuthError> = match &self.directory {
            None => {
                let phc = account.and_then(|a| a.password_phc.as_deref());
                let r = self.passwords.verify(phc, attempt.password);
                if r.is_ok() && !locked {
                    if let Some(phc) = phc {
                        if self.passwords.needs_rehash(phc) {
                            // Same password, current parameters; the policy is not re-applied
                            // to a password that was accepted when it was set.
                            rehash = self.passwords.hash_unchecked(attempt.password).ok();
                        }
                    }
                }
                r
            }
            Some(_) if locked => Err(AuthError::refused("account locked; directory not asked")),
            Some(dir) => match dir.authenticate(attempt.username, attempt.password).await {
                Ok(id) => {
                    identity = Some(id);
                    Ok(())
                }
                // An outage is not the user's failure: nothing counted, nothing written.
                Err(e @ AuthError::DirectoryUnavailable { .. })
                | Err(e @ AuthError::Misconfigured { .. }) => {
                    return SignInResult {
                        outcome: Err(e),
                        update: None,
                    }
                }
                Err(e) => Err(e),
            },
        };
        let first = first.and_then(|()| match account {
            Some(a) if !a.enabled => Err(AuthError::refused("account disabled")),
            _ => Ok(()),
        });

        // Second factor, only once the first passed and the account is not locked.
        let mut totp_step = None;
        let mut second_factor_used = false;
        let second = match first {
            Err(e) => Err(e),
            Ok(()) if locked => Err(AuthError::refused("account locked")),
            Ok(()) if !self.requires_second_factor(attempt.peer) => Ok(()),
            Ok(()) => match (
                account.and_then(|a| a.totp_secret.as_ref()),
                attempt.totp_code,
            ) {
                (None, _) => {
                    return SignInResult {
                        outcome: Err(AuthError::SecondFactorNotEnrolled),
                        update: None,
                    }
                }
                (Some(_), None) => {
                    return SignInResult {
                        outcome: Err(AuthError::SecondFactorRequired),
                        update: None,
                    }
                }
                (Some(secret), Some(code)) => {
                    let now = u64::try_from(attempt.now.timestamp()).unwrap_or(0);
                    let last = account.and_then(|a| a.last_totp_step);
                    secret.verify(code, now, last).map(|step| {
                        totp_step = Some(step);
                        second_factor_used = true;
                    })
                }
            },
        };

        let outcome = if second.is_ok() {
            AttemptOutcome::Success
        } else {
            AttemptOutcome::Failure
        };
        let decision = self
            .settings
            .lockout
            .register(lockout_state, attempt.now, outcome);
        let update = account.map(|a| AccountUpdate {
            lockout: decision.state,
            last_totp_step: totp_step.or(a.last_totp_step),
            new_password_phc: if decision.refused { None } else { rehash },
            locked_now: decision.locked_now,
        });
        let outcome = match (second, decision.into_result()) {
            (Err(e), _) => Err(e),
            (Ok(()), Err(e)) => Err(e),
            (Ok(()), Ok(())) => {
                let session = IssuedToken::generate(TokenKind::Session);
                let set_cookie =
                    session_set_cookie(session.secret(), self.settings.session_seconds);
                Ok(SignedIn {
                    session,
                    set_cookie,
                    session_seconds: self.settings.session_seconds,
                    second_factor_used,
                    directory: identity,
                })
            }
        };
        SignInResult { outcome, update }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn settings() -> AuthSettings {
        AuthSettings {
            password_params: PasswordParams {
                memory_kib: 1024,
                iterations: 1,
                parallelism: 1,
            },
            network: NetworkConfig::from_cidrs(&["10.0.0.0/8", "127.0.0.0/8", "::1/128"]).unwrap(),
            ..AuthSettings::default()
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap()
    }

    fn account(auth: &Authenticator) -> AccountSnapshot {
        AccountSnapshot {
            password_phc: Some(
                auth.hash_new_password("jdoe", "correct horse battery")
                    .unwrap(),
            ),
            totp_secret: Some(TotpSecret::generate()),
            last_totp_step: None,
            lockout: LockoutState::default(),
            enabled: true,
        }
    }

    fn attempt<'a>(pw: &'a str, code: Option<&'a str>, peer: &str) -> SignInAttempt<'a> {
        SignInAttempt {
            username: "jdoe",
            password: pw,
            totp_code: code,
            peer: peer.parse().unwrap(),
            now: now(),
        }
    }

    #[tokio::test]
    async fn sec_01_local_peer_signs_in_with_password_alone() {
        let auth = Authenticator::new(settings()).unwrap();
        let acct = account(&auth);
        let r = auth
            .sign_in(
                attempt("correct horse battery", None, "10.1.2.3"),
                Some(&acct),
            )
            .await;
        let signed = r.outcome.unwrap();
        assert!(signed.session.secret().starts_with("prb_sess_"));
        assert!(signed.set_cookie.contains(signed.session.secret()));
        assert!(!signed.second_factor_used);
        assert_eq!(r.update.unwrap().lockout, LockoutState::default());
    }

    #[tokio::test]
    async fn sec_01_remote_peer_needs_a_valid_unused_code() {
        let auth = Authenticator::new(settings()).unwrap();
        let mut acct = account(&auth);
        let secret = acct.totp_secret.clone().unwrap();
        let code = secret.code_at(now().timestamp() as u64);

        let r = auth
            .sign_in(
                attempt("correct horse battery", None, "203.0.113.9"),
                Some(&acct),
            )
            .await;
        assert!(matches!(r.outcome, Err(AuthError::SecondFactorRequired)));
        assert!(r.update.is_none());

        let r = auth
            .sign_in(
                attempt("correct horse battery", Some("000000"), "203.0.113.9"),
                Some(&acct),
            )
            .await;
        if code != "000000" {
            assert!(matches!(r.outcome, Err(AuthError::Refused { .. })));
            assert_eq!(r.update.unwrap().lockout.failed_count, 1);
        }

        let r = auth
            .sign_in(
                attempt("correct horse battery", Some(&code), "203.0.113.9"),
                Some(&acct),
            )
            .await;
        let signed = r.outcome.unwrap();
        assert!(signed.second_factor_used);
        let update = r.update.unwrap();
        assert!(update.last_totp_step.is_some());

        // The same code again is a replay.
        acct.last_totp_step = update.last_totp_step;
        let r = auth
            .sign_in(
                attempt("correct horse battery", Some(&code), "203.0.113.9"),
                Some(&acct),
            )
            .await;
        assert!(matches!(r.outcome, Err(AuthError::Refused { .. })));
    }

    #[test]
    fn sec_01_attempt_debug_hides_password_and_code() {
        let a = attempt("correct horse battery", Some("123456"), "127.0.0.1");
        let text = format!("{a:?}");
        assert!(
            !text.contains("correct horse") && !text.contains("123456"),
            "{text}"
        );
        assert!(text.contains("jdoe"));
    }

    #[tokio::test]
    async fn sec_01_remote_without_enrolled_second_factor_is_refused() {
        let auth = Authenticator::new(settings()).unwrap();
        let mut acct = account(&auth);
        acct.totp_secret = None;
        let r = auth
            .sign_in(
                attempt("correct horse battery", None, "203.0.113.9"),
                Some(&acct),
            )
            .await;
        assert!(matches!(r.outcome, Err(AuthError::SecondFactorNotEnrolled)));
        // From the local network the same account signs in (and can then enrol).
        let r = auth
            .sign_in(
                attempt("correct horse battery", None, "127.0.0.1"),
                Some(&acct),
            )
            .await;
        assert!(r.outcome.is_ok());
    }

    #[tokio::test]
    async fn sec_01_wrong_password_never_reaches_the_code_prompt() {
        let auth = Authenticator::new(settings()).unwrap();
        let acct = account(&auth);
        let r = auth
            .sign_in(
                attempt("wrong password!!", None, "203.0.113.9"),
                Some(&acct),
            )
            .await;
        assert!(matches!(r.outcome, Err(AuthError::Refused { .. })));
    }

    #[tokio::test]
    async fn sec_01_lockout_refuses_even_the_right_password() {
        let auth = Authenticator::new(settings()).unwrap();
        let mut acct = account(&auth);
        for _ in 0..5 {
            let r = auth
                .sign_in(attempt("wrong password!!", None, "127.0.0.1"), Some(&acct))
                .await;
            acct.lockout = r.update.unwrap().lockout;
        }
        assert!(acct.lockout.locked_until.is_some());
        let r = auth
            .sign_in(
                attempt("correct horse battery", None, "127.0.0.1"),
                Some(&acct),
            )
            .await;
        let err = r.outcome.unwrap_err();
        assert_eq!(err.user_message(), crate::SIGN_IN_REFUSED);
        assert!(err.log_detail().to_string().contains("locked"));
    }

    #[tokio::test]
    async fn sec_01_unknown_and_disabled_users_get_the_same_refusal() {
        let auth = Authenticator::new(settings()).unwrap();
        let unknown = auth
            .sign_in(attempt("correct horse battery", None, "127.0.0.1"), None)
            .await;
        assert!(unknown.update.is_none());
        let mut acct = account(&auth);
        acct.enabled = false;
        let disabled = auth
            .sign_in(
                attempt("correct horse battery", None, "127.0.0.1"),
                Some(&acct),
            )
            .await;
        let wrong = auth
            .sign_in(
                attempt("wrong password!!", None, "127.0.0.1"),
                Some(&account(&auth)),
            )
            .await;
        let a = unknown.outcome.unwrap_err().user_message();
        let b = disabled.outcome.unwrap_err().user_message();
        let c = wrong.outcome.unwrap_err().user_message();
        assert!(a == b && b == c);
    }

    #[tokio::test]
    async fn sec_01_old_hash_parameters_are_upgraded_on_success() {
        let auth = Authenticator::new(settings()).unwrap();
        let old = PasswordService::new(
            PasswordParams {
                memory_kib: 512,
                iterations: 1,
                parallelism: 1,
            },
            PasswordPolicy::default(),
        );
        let mut acct = account(&auth);
        acct.password_phc = Some(old.hash("jdoe", "correct horse battery").unwrap());
        let r = auth
            .sign_in(
                attempt("correct horse battery", None, "127.0.0.1"),
                Some(&acct),
            )
            .await;
        assert!(r.outcome.is_ok());
        let phc = r.update.unwrap().new_password_phc.unwrap();
        assert!(phc.contains("m=1024,t=1,p=1"), "{phc}");
    }
}
