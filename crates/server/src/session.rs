//! Reading the caller's credentials and address from a request: the session cookie or an API
//! bearer token, and the client address behind trusted proxies (SEC-01).

use std::net::IpAddr;

use axum::http::{header, HeaderMap};

/// Name of the session cookie under TLS. `__Host-` binds it to this origin, HTTPS and path `/`.
pub const COOKIE_NAME: &str = probity_auth::SESSION_COOKIE_NAME;
/// The cookie name used when the server runs without TLS (tests, behind a TLS-terminating proxy).
pub const COOKIE_NAME_PLAIN: &str = "probity_session";

/// A credential presented with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    Session(String),
    ApiToken(String),
}

/// The credential a server answering over TLS (`tls`) or plain HTTP accepts:
/// `Authorization: Bearer` first (service accounts), then the session cookie. Under TLS only the
/// `__Host-` cookie counts: a cookie without the prefix may have been set by a sibling host or
/// over plain HTTP (cookie tossing), so it is ignored. Without TLS only the plain cookie is set
/// and read.
pub fn credential_for(headers: &HeaderMap, tls: bool) -> Option<Credential> {
    if let Some(token) = bearer(headers) {
        return Some(Credential::ApiToken(token));
    }
    let name = if tls { COOKIE_NAME } else { COOKIE_NAME_PLAIN };
    cookie(headers, name).map(Credential::Session)
}

/// Any credential the request carries, whichever cookie name: only for deriving values bound to
/// the session (the CSRF token of forms), never for recognising the caller; that is
/// [`credential_for`].
pub fn credential(headers: &HeaderMap) -> Option<Credential> {
    if let Some(token) = bearer(headers) {
        return Some(Credential::ApiToken(token));
    }
    cookie(headers, COOKIE_NAME)
        .or_else(|| cookie(headers, COOKIE_NAME_PLAIN))
        .map(Credential::Session)
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())?;
    probity_auth::bearer_token(v).map(str::to_string)
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

/// The client's address: the TCP `peer`, or, when the peer is one of `trusted_proxies`, the
/// address its `X-Forwarded-For` names (see [`probity_auth::client_address`]). `None` when a
/// trusted proxy sent something that is not an address: such a client is remote.
pub fn client_address(
    headers: &HeaderMap,
    peer: IpAddr,
    trusted_proxies: &probity_auth::NetworkConfig,
) -> Option<IpAddr> {
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .map(|v| v.to_str().unwrap_or("not an address"));
    probity_auth::client_address(peer, forwarded, trusted_proxies)
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
        assert_eq!(
            credential_for(&h, false),
            Some(Credential::Session("s1".into()))
        );
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer prb_x"),
        );
        assert_eq!(
            credential_for(&h, false),
            Some(Credential::ApiToken("prb_x".into()))
        );
    }

    #[test]
    fn sec_01_empty_credentials_are_none() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("probity_session="));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert_eq!(credential_for(&h, false), None);
        assert_eq!(credential(&h), None);
    }

    #[test]
    fn sec_03_under_tls_only_the_host_prefixed_cookie_counts() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("probity_session=tossed"),
        );
        assert_eq!(credential_for(&h, true), None);
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("probity_session=tossed; __Host-probity_session=real"),
        );
        assert_eq!(
            credential_for(&h, true),
            Some(Credential::Session("real".into()))
        );
        assert_eq!(
            credential_for(&h, false),
            Some(Credential::Session("tossed".into()))
        );
    }

    #[test]
    fn sec_01_forwarded_for_needs_a_trusted_peer() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_static("10.1.1.1"));
        let none = probity_auth::NetworkConfig::from_cidrs::<&str>(&[]).unwrap();
        let peer: IpAddr = "203.0.113.5".parse().unwrap();
        assert_eq!(client_address(&h, peer, &none), Some(peer));
        let proxies = probity_auth::NetworkConfig::from_cidrs(&["203.0.113.5/32"]).unwrap();
        assert_eq!(
            client_address(&h, peer, &proxies),
            Some("10.1.1.1".parse().unwrap())
        );
    }
}
