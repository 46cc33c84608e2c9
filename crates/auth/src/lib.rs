//! Authentication for Probity (SEC-01, SEC-03, EXT-06): the primitives of sign-in, pure logic
//! and the network clients, no database and no HTTP.
//!
//! - [`password`]: Argon2id hashing and verification of local passwords (a dummy hash for unknown
//!   users, upgrade of hashes made with old parameters), password policy.
//! - [`totp`]: RFC 6238 one-time codes with a ±1 step window and replay protection.
//! - [`recovery`]: one-time recovery codes, stored as account-bound SHA-256 hashes.
//! - [`ldap`]: LDAP / Active Directory bind (template or search-then-bind), groups → roles.
//! - [`lockout`]: lockout after repeated failures, as a pure function of stored state.
//! - [`network`]: which client addresses are local (remote sessions need a second factor), and
//!   the client address behind trusted reverse proxies.
//! - [`token`]: session and API tokens, 256-bit, prefixed, stored only as SHA-256.
//! - [`cookie`]: the session cookie's `Set-Cookie` attributes; the sign-in forms' CSRF cookie and
//!   constant-time comparison.
//! - [`tls`]: self-signed demo certificate and rustls server configuration (SEC-03).
//! - [`testkit`]: a real OpenLDAP server (`slapd`) with a small fixture, for tests only.
//!
//! There is one sign-in path, and it is the server's (`probity_server::auth_flow`): it reads the
//! account from the store, calls these primitives in a fixed order (client address, lockout,
//! first factor, second factor, session token) and writes the outcome with its audit entry in one
//! transaction. This crate keeps no sign-in state of its own. See README.md for the flow.
//!
//! Architecture invariants:
//! - No plaintext password, one-time code, recovery code or token is ever stored or logged by this
//!   crate; it returns PHC strings and hashes for the store, and secrets only to hand to the
//!   client.
//! - Every refused sign-in carries the same user message ([`error::SIGN_IN_REFUSED`]); whether a
//!   user exists or is locked appears only in [`AuthError::log_detail`].
//! - A client outside [`NetworkConfig::local_networks`] needs a second factor (SEC-01); a client
//!   address comes from `X-Forwarded-For` only through [`client_address`] with trusted proxies.
//! - An empty password never reaches the directory (unauthenticated-bind trap); usernames are
//!   escaped for the DN or filter they go into.
//! - This crate never touches the database or HTTP; the store keeps the state it computes and
//!   the server calls it.

#![forbid(unsafe_code)]

pub mod cookie;
pub mod error;
pub mod ldap;
pub mod lockout;
pub mod network;
pub mod password;
pub mod recovery;
pub mod testkit;
pub mod tls;
pub mod token;
pub mod totp;

pub use cookie::{
    csrf_matches, csrf_set_cookie, new_csrf_token, session_clear_cookie, session_set_cookie,
    session_token_from_cookie_header, CSRF_COOKIE_NAME, CSRF_COOKIE_NAME_PLAIN,
    DEFAULT_SESSION_SECONDS, SESSION_COOKIE_NAME,
};
pub use error::{AuthError, AuthErrorKind, SIGN_IN_REFUSED};
pub use ldap::{
    AccountStatus, Directory, DirectoryConfig, DirectoryIdentity, GroupLookup, GroupRole,
    SecretString, StatusCheck, UserLookup,
};
pub use lockout::{AttemptOutcome, LockoutDecision, LockoutPolicy, LockoutState};
pub use network::{client_address, requires_second_factor, NetworkConfig};
pub use password::{PasswordParams, PasswordPolicy, PasswordService};
pub use recovery::{generate_recovery_codes, is_recovery_code, recovery_code_hash, RECOVERY_CODES};
pub use tls::{
    ensure_self_signed, generate_self_signed, tls_client_config, tls_server_config, TlsPaths,
};
pub use token::{bearer_token, IssuedToken, TokenHash, TokenKind};
pub use totp::TotpSecret;
