//! Session and API tokens (SEC-01, EXT-06 for vendor and service accounts).
//!
//! A token is 256 bits from the operating system's generator, written as
//! `prb_sess_<43 base64url characters>` (browser sessions) or `prb_api_<43 characters>` (API
//! tokens for service accounts), so a leaked token is recognisable by secret scanners and in
//! logs. The secret is handed to the client once, by [`IssuedToken::secret`]; only its SHA-256
//! ([`TokenHash`]) is stored. The store looks a presented token up by its hash, and
//! [`TokenHash::matches`] compares in constant time.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::rngs::OsRng;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::AuthError;

/// Bytes of randomness in a token.
pub const TOKEN_BYTES: usize = 32;
const ENCODED_LEN: usize = 43;

/// What a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TokenKind {
    /// A browser session (in the session cookie).
    Session,
    /// An API token for a service account (in `Authorization: Bearer`).
    Api,
}

impl TokenKind {
    /// The recognisable prefix of tokens of this kind.
    pub fn prefix(self) -> &'static str {
        match self {
            TokenKind::Session => "prb_sess_",
            TokenKind::Api => "prb_api_",
        }
    }

    /// The kind a token claims by its prefix, if any.
    pub fn of(token: &str) -> Option<TokenKind> {
        [TokenKind::Session, TokenKind::Api]
            .into_iter()
            .find(|k| token.starts_with(k.prefix()))
    }
}

/// A freshly issued token: give [`IssuedToken::secret`] to the client once, store
/// [`IssuedToken::hash`]. `Debug` hides the secret.
pub struct IssuedToken {
    secret: String,
    hash: TokenHash,
    kind: TokenKind,
}

impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedToken")
            .field("kind", &self.kind)
            .field("hash", &self.hash)
            .field("secret", &"<hidden>")
            .finish()
    }
}

impl IssuedToken {
    /// A new random token of `kind`.
    pub fn generate(kind: TokenKind) -> Self {
        let mut bytes = [0u8; TOKEN_BYTES];
        OsRng.fill_bytes(&mut bytes);
        let secret = format!("{}{}", kind.prefix(), URL_SAFE_NO_PAD.encode(bytes));
        let hash = TokenHash::digest(&secret);
        IssuedToken { secret, hash, kind }
    }

    /// The token to hand to the client. Never store or log it.
    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// The hash to store.
    pub fn hash(&self) -> &TokenHash {
        &self.hash
    }

    /// The kind of token.
    pub fn kind(&self) -> TokenKind {
        self.kind
    }
}

/// SHA-256 of a token, the only form that is stored.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TokenHash([u8; 32]);

impl std::fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenHash({})", self.to_hex())
    }
}

impl TokenHash {
    fn digest(token: &str) -> Self {
        TokenHash(Sha256::digest(token.as_bytes()).into())
    }

    /// Checks that `presented` is a well-formed token of `expected` kind and returns its hash,
    /// the key to look it up by. A malformed token is refused without touching the store.
    pub fn of_presented(presented: &str, expected: TokenKind) -> Result<TokenHash, AuthError> {
        let Some(body) = presented.strip_prefix(expected.prefix()) else {
            return Err(AuthError::refused(format!(
                "token does not start with {}",
                expected.prefix()
            )));
        };
        if body.len() != ENCODED_LEN
            || !body
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(AuthError::refused("token malformed"));
        }
        Ok(TokenHash::digest(presented))
    }

    /// Constant-time check of a presented token against a stored hash.
    pub fn matches(&self, presented: &str) -> bool {
        let other = TokenHash::digest(presented);
        self.0.ct_eq(&other.0).into()
    }

    /// Lower-case hex (64 characters), for a text column.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses the hex form.
    pub fn from_hex(text: &str) -> Result<TokenHash, AuthError> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(text, &mut out).map_err(|_| {
            AuthError::InvalidInput("a token hash must be 64 hex characters".into())
        })?;
        Ok(TokenHash(out))
    }

    /// The raw 32 bytes, for a binary column.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// The token in an `Authorization` header value of the form `Bearer <token>`.
pub fn bearer_token(authorization: &str) -> Option<&str> {
    let (scheme, rest) = authorization.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = rest.trim();
    (!token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sec_01_tokens_are_prefixed_random_and_only_hashed() {
        let a = IssuedToken::generate(TokenKind::Api);
        let b = IssuedToken::generate(TokenKind::Api);
        assert!(a.secret().starts_with("prb_api_"));
        assert_eq!(a.secret().len(), "prb_api_".len() + 43);
        assert_ne!(a.secret(), b.secret());
        assert_ne!(a.hash(), b.hash());
        let hex = a.hash().to_hex();
        assert_eq!(hex.len(), 64);
        assert!(!hex.contains(&a.secret()[8..]));
        assert!(!format!("{a:?}").contains(a.secret()));
        assert_eq!(TokenHash::from_hex(&hex).unwrap(), *a.hash());
        let s = IssuedToken::generate(TokenKind::Session);
        assert!(s.secret().starts_with("prb_sess_"));
        assert_eq!(TokenKind::of(s.secret()), Some(TokenKind::Session));
    }

    #[test]
    fn sec_01_presented_token_is_checked_and_hashed() {
        let t = IssuedToken::generate(TokenKind::Session);
        let h = TokenHash::of_presented(t.secret(), TokenKind::Session).unwrap();
        assert_eq!(&h, t.hash());
        assert!(t.hash().matches(t.secret()));
        let mut tampered = t.secret().to_string();
        tampered.pop();
        tampered.push(if t.secret().ends_with('A') { 'B' } else { 'A' });
        assert!(!t.hash().matches(&tampered));
        // Wrong kind, wrong length, bad characters: refused before any lookup.
        assert!(TokenHash::of_presented(t.secret(), TokenKind::Api).is_err());
        assert!(TokenHash::of_presented("prb_sess_short", TokenKind::Session).is_err());
        let bad = format!("prb_sess_{}", "*".repeat(43));
        assert!(TokenHash::of_presented(&bad, TokenKind::Session).is_err());
        assert!(TokenHash::from_hex("zz").is_err());
    }

    #[test]
    fn sec_01_bearer_header() {
        assert_eq!(bearer_token("Bearer prb_api_x"), Some("prb_api_x"));
        assert_eq!(bearer_token("bearer  prb_api_x "), Some("prb_api_x"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer "), None);
    }
}
