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
