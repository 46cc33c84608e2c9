//! Reading the caller's credentials from a request: the session cookie or an API bearer token.

use axum::http::{header, HeaderMap};

/// Name of the session cookie. `__Host-` binds it to this origin, HTTPS and path `/`.
pub const COOKIE_NAME: &str = probity_auth::SESSION_COOKIE_NAME;
/// The cookie name used when the server runs without TLS (tests, behind a TLS-terminating proxy).
pub const COOKIE_NAME_PLAIN: &str = "probity_session";

/// A credential presented with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    Session(String),
    ApiToken(String),
}

/// Finds the credential: `Authorization: Bearer` first (service accounts), then the session cookie.
pub fn credential(headers: &HeaderMap) -> Option<Credential> {
    if let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        if let Some(token) = v.strip_prefix("Bearer ") {
            let token = token.trim();
            if !token.is_empty() {
                return Some(Credential::ApiToken(token.to_string()));
            }
        }
    }
    cookie(headers, COOKIE_NAME)
        .or_else(|| cookie(headers, COOKIE_NAME_PLAIN))
        .map(Credential::Session)
}

/// The value of cookie `name`, if present.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn sec_01_bearer_token_wins_over_cookie() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=b; probity_session=s1"),
        );
        assert_eq!(credential(&h), Some(Credential::Session("s1".into())));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer prb_x"),
        );
        assert_eq!(credential(&h), Some(Credential::ApiToken("prb_x".into())));
    }

    #[test]
    fn sec_01_empty_credentials_are_none() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("probity_session="));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert_eq!(credential(&h), None);
    }
}
