//! The one error type of this crate.
//!
//! Every variant has two faces:
//! - [`std::fmt::Display`] (and [`AuthError::user_message`]) is what a person at the login
//!   form or API client may see. It never says whether a username exists, whether the account
//!   is locked, or which of username, password or code was wrong.
//! - [`AuthError::log_detail`] is the cause for the operator's log. It may name the user and
//!   the directory's answer, but never contains a password, a one-time code or a token.

use std::fmt;

/// The one message for every refused sign-in, whatever the reason (unknown user, wrong
/// password, wrong or replayed code, locked account, directory refused the bind).
pub const SIGN_IN_REFUSED: &str =
    "Sign-in refused: the username, password or one-time code was not \
accepted, or sign-in is paused after repeated failures. Check them and try again later; \
if it keeps failing, ask an administrator.";

/// Broad class of an [`AuthError`], for mapping to a response (see [`AuthError::http_status`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthErrorKind {
    /// Credentials, code or token not accepted (including a locked account). HTTP 401.
    Refused,
    /// Password and username accepted, a second factor is still needed. HTTP 401 with a form
    /// asking for the code.
    SecondFactorRequired,
    /// The input itself is unusable (password policy, malformed value). HTTP 400.
    InvalidInput,
    /// A dependency (directory server) did not answer. HTTP 503.
    Unavailable,
    /// The configuration or a key/certificate file is wrong; an operator must fix it. HTTP 500.
    Misconfigured,
}

/// Errors of `probity-auth`.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// A sign-in or token check was refused. One message for every reason.
    #[error("{SIGN_IN_REFUSED}")]
    Refused {
        /// Why, for the log only (e.g. "unknown user", "bad password", "locked until ...").
        cause: String,
    },

    /// The first factor passed; a one-time code is required because the request comes from
    /// outside the configured local networks (SEC-01).
    #[error(
        "A one-time code from your authenticator app is required to sign in from outside the \
         local network. Enter the six-digit code and try again."
    )]
    SecondFactorRequired,

    /// The first factor passed from a remote peer, but the account has no second factor
    /// enrolled. Safe to say: the password was right.
    #[error(
        "Sign-in from outside the local network needs a one-time code, and this account has no \
         authenticator app enrolled. Sign in once from the local network and enrol one, or ask \
         an administrator."
    )]
    SecondFactorNotEnrolled,

    /// A new password breaks the password policy. Safe to show: it concerns the password being
    /// set, not an existing account.
    #[error("The password is not acceptable: {0}. Choose another password.")]
    PasswordPolicy(String),

    /// A value handed in is malformed (not a sign-in secret), e.g. a bad CIDR in configuration
    /// supplied by a form.
    #[error("Invalid input: {0}.")]
    InvalidInput(String),

    /// The directory server could not be reached or answered with an error other than
    /// "invalid credentials".
    #[error(
        "The directory server cannot be reached, so sign-in is not possible right now. Try again \
         in a few minutes; if it persists, ask an administrator to check the directory settings."
    )]
    DirectoryUnavailable {
        /// The connection or protocol error, for the log.
        cause: String,
    },

    /// Authentication is misconfigured (directory settings, TLS files). Message is for the
    /// operator who starts the server.
    #[error("Authentication configuration error: {what}. Fix the configuration and restart.")]
    Misconfigured {
        /// What is wrong and where.
        what: String,
    },

    /// Reading or writing a key or certificate file failed.
    #[error("Cannot use {path}: {source}. Check that the file exists and is readable.")]
    Io {
        /// The file concerned.
        path: String,
        /// The operating-system error.
        #[source]
        source: std::io::Error,
    },

    /// An internal cryptographic operation failed (random source, hashing).
    #[error("Authentication failed because of an internal error. Try again; if it persists, ask an administrator.")]
    Internal {
        /// The cause, for the log.
        cause: String,
    },
}

impl AuthError {
    /// A refused sign-in with its logged cause.
    pub fn refused(cause: impl Into<String>) -> Self {
        AuthError::Refused {
            cause: cause.into(),
        }
    }

    /// A configuration error.
    pub fn misconfigured(what: impl Into<String>) -> Self {
        AuthError::Misconfigured { what: what.into() }
    }

    /// The broad class of the error.
    pub fn kind(&self) -> AuthErrorKind {
        match self {
            AuthError::Refused { .. } => AuthErrorKind::Refused,
            AuthError::SecondFactorRequired | AuthError::SecondFactorNotEnrolled => {
                AuthErrorKind::SecondFactorRequired
            }
            AuthError::PasswordPolicy(_) | AuthError::InvalidInput(_) => {
                AuthErrorKind::InvalidInput
            }
            AuthError::DirectoryUnavailable { .. } => AuthErrorKind::Unavailable,
            AuthError::Misconfigured { .. } | AuthError::Io { .. } | AuthError::Internal { .. } => {
                AuthErrorKind::Misconfigured
            }
        }
    }

    /// The HTTP status the server should answer with.
    pub fn http_status(&self) -> u16 {
        match self.kind() {
            AuthErrorKind::Refused | AuthErrorKind::SecondFactorRequired => 401,
            AuthErrorKind::InvalidInput => 400,
            AuthErrorKind::Unavailable => 503,
            AuthErrorKind::Misconfigured => 500,
        }
    }

    /// The message safe to show to the person signing in (same as `Display`).
    pub fn user_message(&self) -> String {
        self.to_string()
    }

    /// The cause for the operator's log. Never contains a password, code or token.
    pub fn log_detail(&self) -> LogDetail<'_> {
        LogDetail(self)
    }
}

/// Display adapter returned by [`AuthError::log_detail`].
pub struct LogDetail<'a>(&'a AuthError);

impl fmt::Display for LogDetail<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            AuthError::Refused { cause } => write!(f, "sign-in refused: {cause}"),
            AuthError::SecondFactorRequired => write!(f, "second factor required (remote peer)"),
            AuthError::SecondFactorNotEnrolled => {
                write!(f, "remote sign-in refused: no second factor enrolled")
            }
            AuthError::PasswordPolicy(why) => write!(f, "password policy: {why}"),
            AuthError::InvalidInput(why) => write!(f, "invalid input: {why}"),
            AuthError::DirectoryUnavailable { cause } => {
                write!(f, "directory unavailable: {cause}")
            }
            AuthError::Misconfigured { what } => write!(f, "misconfigured: {what}"),
            AuthError::Io { path, source } => write!(f, "i/o on {path}: {source}"),
            AuthError::Internal { cause } => write!(f, "internal: {cause}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sec_01_refusal_message_is_the_same_for_every_cause() {
        let unknown = AuthError::refused("unknown user alice");
        let wrong = AuthError::refused("wrong password for bob");
        let locked = AuthError::refused("bob locked until 2026-01-01T00:00:00Z");
        assert_eq!(unknown.user_message(), wrong.user_message());
        assert_eq!(wrong.user_message(), locked.user_message());
        assert!(!unknown.user_message().contains("alice"));
        assert!(unknown.log_detail().to_string().contains("alice"));
        assert_eq!(unknown.http_status(), 401);
    }
}
