//! The session cookie's attributes, in one place so the server does not invent its own.
//!
//! Name `__Host-probity_session`: the `__Host-` prefix makes browsers accept the cookie only
//! with `Secure`, `Path=/` and no `Domain`, so a sibling host cannot set or read it. Attributes:
//! `Secure; HttpOnly; SameSite=Strict; Path=/; Max-Age=<seconds>`.

/// Name of the session cookie.
pub const SESSION_COOKIE_NAME: &str = "__Host-probity_session";

/// Default session lifetime: eight hours (one tour of duty).
pub const DEFAULT_SESSION_SECONDS: u64 = 8 * 60 * 60;

/// The `Set-Cookie` header value that hands a session token to the browser.
pub fn session_set_cookie(token: &str, max_age_seconds: u64) -> String {
    format!(
        "{SESSION_COOKIE_NAME}={token}; Secure; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age_seconds}"
    )
}

/// The `Set-Cookie` header value that removes the session cookie (sign-out).
pub fn session_clear_cookie() -> String {
    format!("{SESSION_COOKIE_NAME}=; Secure; HttpOnly; SameSite=Strict; Path=/; Max-Age=0")
}

/// Name of the pre-session CSRF cookie of the sign-in forms under TLS (`__Host-`: this origin,
/// HTTPS, path `/`).
pub const CSRF_COOKIE_NAME: &str = "__Host-probity_csrf";
/// Name of the pre-session CSRF cookie when the server runs without TLS.
pub const CSRF_COOKIE_NAME_PLAIN: &str = "probity_csrf";

/// A fresh CSRF token: 128 random bits, hex.
pub fn new_csrf_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The `Set-Cookie` value of the pre-session CSRF cookie (double submit: the sign-in form echoes
/// it). `secure` under TLS: then the name carries the `__Host-` prefix.
pub fn csrf_set_cookie(token: &str, secure: bool) -> String {
    if secure {
        format!("{CSRF_COOKIE_NAME}={token}; Secure; HttpOnly; SameSite=Strict; Path=/")
    } else {
        format!("{CSRF_COOKIE_NAME_PLAIN}={token}; HttpOnly; SameSite=Strict; Path=/")
    }
}

/// Compares a CSRF token presented with a form to the expected one in constant time (the time
/// depends on the lengths only). An empty expected token never matches.
pub fn csrf_matches(expected: &str, presented: &str) -> bool {
    use subtle::ConstantTimeEq;
    !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(presented.as_bytes()))
}

/// The session token from a `Cookie` request header, if present.
pub fn session_token_from_cookie_header(cookie_header: &str) -> Option<&str> {
    cookie_header.split(';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        (name.trim() == SESSION_COOKIE_NAME && !value.trim().is_empty()).then(|| value.trim())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sec_03_session_cookie_is_secure_httponly_strict() {
        let v = session_set_cookie("prb_sess_abc", 3600);
        assert!(v.starts_with("__Host-probity_session=prb_sess_abc;"));
        for attr in [
            "Secure",
            "HttpOnly",
            "SameSite=Strict",
            "Path=/",
            "Max-Age=3600",
        ] {
            assert!(v.split("; ").any(|a| a == attr), "{attr} missing in {v}");
        }
        assert!(!v.contains("Domain"));
        let clear = session_clear_cookie();
        assert!(clear.contains("Max-Age=0") && clear.contains("Secure"));
    }

    #[test]
    fn sec_04_csrf_cookie_and_comparison() {
        let t = new_csrf_token();
        assert_eq!(t.len(), 32);
        assert_ne!(t, new_csrf_token());
        assert!(csrf_matches(&t, &t));
        assert!(!csrf_matches(&t, &t[..31]));
        assert!(!csrf_matches(&t, ""));
        assert!(!csrf_matches("", ""));
        let secure = csrf_set_cookie(&t, true);
        assert!(secure.starts_with("__Host-probity_csrf=") && secure.contains("; Secure;"));
        let plain = csrf_set_cookie(&t, false);
        assert!(plain.starts_with("probity_csrf=") && !plain.contains("Secure"));
    }

    #[test]
    fn sec_01_token_read_from_cookie_header() {
        let h = "theme=dark; __Host-probity_session=prb_sess_abc; other=1";
        assert_eq!(session_token_from_cookie_header(h), Some("prb_sess_abc"));
        assert_eq!(session_token_from_cookie_header("probity_session=x"), None);
        assert_eq!(
            session_token_from_cookie_header("__Host-probity_session="),
            None
        );
    }
}
