//! Authentication for Probity (SEC-01, SEC-03, EXT-06): pure logic and the network clients,
//! no database and no HTTP.
//!
//! - [`signin`]: [`Authenticator`], the whole sign-in decision (lockout, first factor,
//!   second factor for remote peers, session token) over a snapshot of the stored account.
//! - [`password`]: Argon2id hashing and verification of local passwords, password policy.
//! - [`totp`]: RFC 6238 one-time codes with a ±1 step window and replay protection.
//! - [`ldap`]: LDAP / Active Directory bind (template or search-then-bind), groups → roles.
//! - [`lockout`]: lockout after repeated failures, as a pure function of stored state.
//! - [`network`]: which peers are local; remote sessions need a second factor.
//! - [`token`]: session and API tokens, 256-bit, prefixed, stored only as SHA-256.
//! - [`cookie`]: the session cookie's `Set-Cookie` attributes.
//! - [`tls`]: self-signed demo certificate and rustls server configuration (SEC-03).
//! - [`testkit`]: a real OpenLDAP server (`slapd`) with a small fixture, for tests only.
//!
//! The server's entry points: [`Authenticator::sign_in`] for a login form,
//! [`TokenHash::of_presented`] with [`session_token_from_cookie_header`] or [`bearer_token`] on
//! each request, [`IssuedToken::generate`] for API tokens, [`tls_server_config`] and
//! [`ensure_self_signed`] for HTTPS. See README.md for the full flow.
//!
//! Architecture invariants:
//! - No plaintext password, one-time code or token is ever stored or logged by this crate; it
//!   returns PHC strings and token hashes for the store, and secrets only to hand to the client.
//! - Every refused sign-in carries the same user message ([`error::SIGN_IN_REFUSED`]); whether a
//!   user exists or is locked appears only in [`AuthError::log_detail`].
//! - LDAP configured ⇒ no local password: [`Authenticator::local_passwords_allowed`] is false,
//!   [`Authenticator::hash_new_password`] refuses, and sign-in asks only the directory.
//! - A remote peer (outside [`NetworkConfig::local_networks`]) needs a TOTP code (SEC-01).
//! - An empty password never reaches the directory (unauthenticated-bind trap); usernames are
//!   escaped for the DN or filter they go into.
//! - This crate never touches the database or HTTP; the store keeps the state it computes and
//!   the server calls it.

pub mod cookie;
pub mod error;
pub mod ldap;
pub mod lockout;
pub mod network;
pub mod password;
pub mod signin;
pub mod testkit;
pub mod tls;
pub mod token;
pub mod totp;

pub use cookie::{
    session_clear_cookie, session_set_cookie, session_token_from_cookie_header,
    DEFAULT_SESSION_SECONDS, SESSION_COOKIE_NAME,
};
pub use error::{AuthError, AuthErrorKind, SIGN_IN_REFUSED};
pub use ldap::{
    Directory, DirectoryConfig, DirectoryIdentity, GroupLookup, GroupRole, SecretString, UserLookup,
};
pub use lockout::{AttemptOutcome, LockoutDecision, LockoutPolicy, LockoutState};
pub use network::{requires_second_factor, NetworkConfig};
pub use password::{PasswordParams, PasswordPolicy, PasswordService};
pub use signin::{
    AccountSnapshot, AccountUpdate, AuthSettings, Authenticator, SignInAttempt, SignInResult,
    SignedIn,
};
pub use tls::{
    ensure_self_signed, generate_self_signed, tls_client_config, tls_server_config, TlsPaths,
};
pub use token::{bearer_token, IssuedToken, TokenHash, TokenKind};
pub use totp::TotpSecret;
