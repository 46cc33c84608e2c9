//! SEC-01 (and SEC-02, SEC-04) against the running server, on SQLite and PostgreSQL: the one
//! sign-in path, the second factor, trusted proxies, API tokens bound to the local networks,
//! enrolment with recovery codes, and the sign-in forms' CSRF protection.
//!
//! The test server listens on 127.0.0.1 without TLS. A remote client is simulated by configuring
//! 127.0.0.1 as a trusted proxy and sending `X-Forwarded-For` with an outside address, or by
//! configuring no local network at all.

mod common;

use common::{Backend, TestServer};
use probity_auth::TotpSecret;
use probity_server::demo::DEMO_PASSWORD;
use reqwest::StatusCode;
use serde_json::{json, Value};

const OUTSIDE: &str = "198.51.100.7";
const INSIDE: &str = "10.1.2.3";
const PACK_RULE: &str = "SEC-01.remote-access-needs-second-factor";

// ------------------------------------------------------------------ helpers

/// A server where 127.0.0.1 is a trusted proxy and only 10.0.0.0/8 is local, so every request
/// names its client in `X-Forwarded-For`.
async fn behind_proxy(
    backend: Backend,
    adjust: impl FnOnce(&mut probity_server::Config),
) -> TestServer {
    common::start_with(backend, |c| {
        c.trusted_proxies = vec!["127.0.0.1/32".into()];
        c.local_networks = vec!["10.0.0.0/8".into()];
        adjust(c);
    })
    .await
}

/// Stores a TOTP secret for `username` directly (as an enrolment would).
async fn enrol(srv: &TestServer, username: &str) -> TotpSecret {
    let secret = TotpSecret::generate();
    let mut tx = srv.state.store.begin().await.expect("tx");
    let u = probity_store::users::get_by_username(&mut tx, username)
        .await
        .expect("user")
        .expect("exists");
    probity_store::users::set_totp_secret(&mut tx, u.id, Some(&secret.to_base32()))
        .await
        .expect("secret");
    tx.commit().await.expect("commit");
    secret
}

async fn user(srv: &TestServer, username: &str) -> probity_store::users::User {
    let mut tx = srv.state.store.begin_read().await.expect("tx");
    let u = probity_store::users::get_by_username(&mut tx, username)
        .await
        .expect("user")
        .expect("exists");
    tx.commit().await.expect("commit");
    u
}

async fn audit_of(srv: &TestServer, username: &str) -> Vec<probity_store::audit::AuditEntry> {
    let mut tx = srv.state.store.begin_read().await.expect("tx");
    let entries = probity_store::audit::for_record(&mut tx, "user", username)
        .await
        .expect("audit");
    tx.commit().await.expect("commit");
    entries
}

fn now_step() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0) / 30
}

/// A code that is valid now and later than `last` (the server never accepts a step twice).
fn fresh_code(secret: &TotpSecret, last: &mut Option<u64>) -> String {
    let now = now_step();
    let step = (now - 1..=now + 1)
        .find(|s| last.is_none_or(|l| *s > l))
        .expect("a step left in the window");
    *last = Some(step);
    secret.code_at_step(step)
}

/// A six-digit code that matches no step of the window.
fn wrong_code(secret: &TotpSecret) -> String {
    let now = now_step();
    let valid: Vec<String> = (now - 2..=now + 2)
        .map(|s| secret.code_at_step(s))
        .collect();
    (0..1000u32)
        .map(|n| format!("{:06}", (n * 7919 + 12345) % 1_000_000))
        .find(|c| !valid.contains(c))
        .expect("a wrong code")
}

/// POSTs JSON, optionally as the client `from` (through the trusted proxy).
async fn post(
    srv: &TestServer,
    c: &reqwest::Client,
    path: &str,
    from: Option<&str>,
    body: Value,
) -> (StatusCode, Value, Option<String>) {
    let mut r = c.post(format!("{}{path}", srv.url)).json(&body);
    if let Some(ip) = from {
        r = r.header("x-forwarded-for", ip);
    }
    let r = r.send().await.expect("request");
    let status = r.status();
    let cookie = session_cookie(&r);
    (status, r.json().await.unwrap_or(Value::Null), cookie)
}

async fn get(
    srv: &TestServer,
    c: &reqwest::Client,
    path: &str,
    from: Option<&str>,
) -> (StatusCode, Value) {
    let mut r = c
        .get(format!("{}{path}", srv.url))
        .header("accept", "application/json");
    if let Some(ip) = from {
        r = r.header("x-forwarded-for", ip);
    }
    let r = r.send().await.expect("request");
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// The session token a response set, if any.
fn session_cookie(r: &reqwest::Response) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, v)| *k == "probity_session" && !v.is_empty())
        .map(|(_, v)| v.to_string())
}

/// Signs in from `from`; returns the status, body and session cookie.
async fn sign_in(
    srv: &TestServer,
    c: &reqwest::Client,
    username: &str,
    from: Option<&str>,
) -> (StatusCode, Value, Option<String>) {
    post(
        srv,
        c,
        "/api/session",
        from,
        json!({ "username": username, "password": DEMO_PASSWORD }),
    )
    .await
}

/// A remote sign-in up to the half-open session; returns the pending token.
async fn pending(
    srv: &TestServer,
    c: &reqwest::Client,
    username: &str,
    from: Option<&str>,
) -> String {
    let (s, body, cookie) = sign_in(srv, c, username, from).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{body}");
    assert!(
        cookie.is_none(),
        "a half-open sign-in sets no session cookie"
    );
    body["pending"].as_str().expect("pending token").to_string()
}

async fn totp(
    srv: &TestServer,
    c: &reqwest::Client,
    pending: &str,
    code: &str,
    from: Option<&str>,
) -> (StatusCode, Value, Option<String>) {
    post(
        srv,
        c,
        "/api/session/totp",
        from,
        json!({ "pending": pending, "code": code }),
    )
    .await
}

/// A service account holding the IAB auditor role (may verify the audit chain) with an API token,
/// made by `admin` signed in from inside.
async fn service_token(
    srv: &TestServer,
    admin: &reqwest::Client,
    name: &str,
    bound: Option<bool>,
) -> String {
    let (s, b, _) = post(
        srv,
        admin,
        "/api/users",
        Some(INSIDE),
        json!({ "username": name, "display_name": format!("Service {name}"),
                "rank": "civilian", "command": "IAB", "kind": "service" }),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let today = chrono::Utc::now().date_naive();
    let (s, b, _) = post(
        srv,
        admin,
        &format!("/api/users/{name}/assignments"),
        Some(INSIDE),
        json!({ "role": "iab_auditor", "command": "IAB", "starts": today }),
    )
    .await;
    assert!(s.is_success(), "{b}");
    let mut body = json!({ "label": "chain check" });
    if let Some(bound) = bound {
        body["bound_to_local_networks"] = json!(bound);
    }
    let (s, b, _) = post(
        srv,
        admin,
        &format!("/api/users/{name}/tokens"),
        Some(INSIDE),
        body,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["bound_to_local_networks"], json!(bound.unwrap_or(true)));
    b["token"].as_str().expect("token").to_string()
}

// ------------------------------------------------------------------ second factor

/// SEC-01: a half-open sign-in takes a limited number of codes, then it is gone; every wrong
/// code also counts toward the account's lockout.
async fn sec_01_totp_guessing_stopped_after_limit_body(backend: Backend) {
    let srv = common::start_with(backend, |c| {
        c.local_networks = vec![];
        c.second_factor_attempts = 3;
        c.lockout_threshold = 20;
    })
    .await;
    let secret = enrol(&srv, "det.rivera").await;
    let c = common::client();
    let p = pending(&srv, &c, "det.rivera", None).await;
    let wrong = wrong_code(&secret);
    for _ in 0..3 {
        let (s, body, _) = totp(&srv, &c, &p, &wrong, None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{body}");
    }
    // The limit is reached: even the right code no longer opens this half-open sign-in.
    let mut last = None;
    let (s, _, cookie) = totp(&srv, &c, &p, &fresh_code(&secret, &mut last), None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(cookie.is_none());
    // The wrong codes counted toward the account's lockout.
    assert_eq!(user(&srv, "det.rivera").await.failed_logins, 3);
    let denied = audit_of(&srv, "det.rivera")
        .await
        .into_iter()
        .filter(|e| e.action == "session.second_factor" && e.outcome == "denied")
        .count();
    assert!(denied >= 3, "every refused code is audited");
    // A new sign-in starts a new half-open session, and the right code completes it.
    let p2 = pending(&srv, &c, "det.rivera", None).await;
    let (s, body, cookie) = totp(&srv, &c, &p2, &fresh_code(&secret, &mut last), None).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(cookie.is_some());
    assert_eq!(user(&srv, "det.rivera").await.failed_logins, 0);
}
both!(
    sec_01_totp_guessing_stopped_after_limit,
    super::sec_01_totp_guessing_stopped_after_limit_body
);

/// SEC-01: wrong codes lock the account like wrong passwords, and a locked account cannot finish
/// the second-factor step even with the right code.
async fn sec_01_locked_account_cannot_finish_second_factor_body(backend: Backend) {
    let srv = common::start_with(backend, |c| {
        c.local_networks = vec![];
        c.lockout_threshold = 3;
    })
    .await;
    let secret = enrol(&srv, "det.rivera").await;
    let c = common::client();
    // Two half-open sign-ins; wrong codes on the first lock the account.
    let first = pending(&srv, &c, "det.rivera", None).await;
    let second = pending(&srv, &c, "det.rivera", None).await;
    let wrong = wrong_code(&secret);
    for _ in 0..3 {
        let (s, _, _) = totp(&srv, &c, &first, &wrong, None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    let locked = user(&srv, "det.rivera").await;
    assert!(
        locked.locked_until.is_some_and(|t| t > chrono::Utc::now()),
        "three wrong codes lock the account"
    );
    let mut last = None;
    let (s, body, cookie) = totp(&srv, &c, &second, &fresh_code(&secret, &mut last), None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{body}");
    assert!(cookie.is_none());
    assert_eq!(body["detail"], json!(probity_auth::SIGN_IN_REFUSED));
    // The right password is refused too while the lock lasts.
    let (s, _, _) = sign_in(&srv, &c, "det.rivera", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // Locked by wrong passwords while a half-open sign-in waits: the code is refused as well.
    let secret = enrol(&srv, "det.okafor").await;
    let waiting = pending(&srv, &c, "det.okafor", None).await;
    for _ in 0..3 {
        let (s, _, _) = post(
            &srv,
            &c,
            "/api/session",
            None,
            json!({ "username": "det.okafor", "password": "not the password" }),
        )
        .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    let mut last = None;
    let (s, _, cookie) = totp(&srv, &c, &waiting, &fresh_code(&secret, &mut last), None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(cookie.is_none());
}
both!(
    sec_01_locked_account_cannot_finish_second_factor,
    super::sec_01_locked_account_cannot_finish_second_factor_body
);

/// SEC-01: the half-open session lives minutes, is not a session, is used once, and the accepted
/// code gets a new token with the normal session length. A code is never accepted twice.
async fn sec_01_pending_session_is_single_use_and_rotated_body(backend: Backend) {
    let srv = common::start_with(backend, |c| c.local_networks = vec![]).await;
    let secret = enrol(&srv, "det.rivera").await;
    let c = common::client();
    let p = pending(&srv, &c, "det.rivera", None).await;

    // Short-lived.
    let hash = probity_auth::TokenHash::of_presented(&p, probity_auth::TokenKind::Session)
        .expect("pending token")
        .to_hex();
    let mut tx = srv.state.store.begin_read().await.expect("tx");
    let half = probity_store::sessions::get_valid(&mut tx, &hash, chrono::Utc::now())
        .await
        .expect("get")
        .expect("half-open session");
    tx.commit().await.expect("commit");
    assert!(half.pending);
    assert!(half.expires_at - half.created_at <= chrono::Duration::minutes(5));

    // Not a session: neither as a cookie nor as a bearer token.
    let as_cookie = reqwest::Client::builder()
        .default_headers(
            [(
                reqwest::header::COOKIE,
                format!("probity_session={p}").parse().expect("header"),
            )]
            .into_iter()
            .collect(),
        )
        .build()
        .expect("client");
    let (s, _) = get(&srv, &as_cookie, "/api/me", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    let mut last = None;
    let code = fresh_code(&secret, &mut last);
    let r = c
        .post(format!("{}/api/session/totp", srv.url))
        .json(&json!({ "pending": p, "code": code, "return_token": true }))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), StatusCode::OK);
    let cookie = session_cookie(&r).expect("session cookie");
    let body: Value = r.json().await.expect("body");
    assert_ne!(cookie, p, "the session token is rotated");
    assert_eq!(
        body["session"],
        json!(cookie),
        "asked for: the token is in the body"
    );
    assert_eq!(body["second_factor"], json!(true));

    // The new session has the normal length and records the second factor.
    let hash = probity_auth::TokenHash::of_presented(&cookie, probity_auth::TokenKind::Session)
        .expect("token")
        .to_hex();
    let mut tx = srv.state.store.begin_read().await.expect("tx");
    let open = probity_store::sessions::get_valid(&mut tx, &hash, chrono::Utc::now())
        .await
        .expect("get")
        .expect("session");
    tx.commit().await.expect("commit");
    assert!(!open.pending && open.second_factor_done && open.remote);
    assert!(open.expires_at - open.created_at > chrono::Duration::hours(7));
    let (s, me) = get(&srv, &c, "/api/me", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(me["remote_session"], json!(true));
    assert_eq!(me["second_factor"], json!(true));

    // Single use: the half-open token is gone, even with a new valid code.
    let (s, _, _) = totp(&srv, &c, &p, &fresh_code(&secret, &mut last), None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = get(&srv, &as_cookie, "/api/me", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // Replay: the code already used does not complete another sign-in.
    let p2 = pending(&srv, &common::client(), "det.rivera", None).await;
    let (s, _, _) = totp(&srv, &common::client(), &p2, &code, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}
both!(
    sec_01_pending_session_is_single_use_and_rotated,
    super::sec_01_pending_session_is_single_use_and_rotated_body
);

// ------------------------------------------------------------------ remote without second factor

/// SEC-01: an API token not bound to the local networks is a remote credential without a second
/// factor; the pack rule itself refuses it. A bound token works from a local address, and is
/// refused (401, audited) from outside.
async fn sec_01_remote_session_without_second_factor_refused_by_pack_rule_body(backend: Backend) {
    let srv = behind_proxy(backend, |_| {}).await;
    // The administrator works from inside.
    let admin = common::client();
    let (s, body, _) = sign_in(&srv, &admin, "admin", Some(INSIDE)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let bound = service_token(&srv, &admin, "svc.bound", None).await;
    let unbound = service_token(&srv, &admin, "svc.unbound", Some(false)).await;
    let c = common::client();
    let with = |token: &str, from: &str| {
        c.get(format!("{}/api/audit/verify", srv.url))
            .header("accept", "application/json")
            .header("authorization", format!("Bearer {token}"))
            .header("x-forwarded-for", from.to_string())
    };

    let r = with(&bound, INSIDE).send().await.expect("request");
    assert_eq!(r.status(), StatusCode::OK, "bound token from inside");

    let r = with(&unbound, INSIDE).send().await.expect("request");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let body: Value = r.json().await.expect("problem");
    assert_eq!(body["rule"], json!(PACK_RULE), "{body}");

    let r = with(&bound, OUTSIDE).send().await.expect("request");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let refused = audit_of(&srv, "svc.bound")
        .await
        .into_iter()
        .find(|e| e.action == "session.api_token" && e.outcome == "denied")
        .expect("the refusal is audited");
    assert!(refused.detail.contains(OUTSIDE), "{}", refused.detail);

    // A session opened inside without a second factor, then used from outside, is remote now.
    let auditor = common::client();
    let (s, _, _) = sign_in(&srv, &auditor, "iab.walsh", Some(INSIDE)).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = get(&srv, &auditor, "/api/audit/verify", Some(INSIDE)).await;
    assert_eq!(s, StatusCode::OK);
    let (s, body) = get(&srv, &auditor, "/api/audit/verify", Some(OUTSIDE)).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["rule"], json!(PACK_RULE), "{body}");
    let (s, me) = get(&srv, &auditor, "/api/me", Some(OUTSIDE)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(me["remote_session"], json!(true));
    assert_eq!(me["second_factor"], json!(false));
}
both!(
    sec_01_remote_session_without_second_factor_refused_by_pack_rule,
    super::sec_01_remote_session_without_second_factor_refused_by_pack_rule_body
);

// ------------------------------------------------------------------ proxies

/// SEC-01: `X-Forwarded-For` from a peer that is not a trusted proxy is the caller's own claim and
/// is ignored: the TCP peer decides.
async fn sec_01_forged_x_forwarded_for_from_untrusted_peer_is_ignored_body(backend: Backend) {
    // Only 10.0.0.0/8 is local and no proxy is trusted: 127.0.0.1 is an outside peer.
    let srv = common::start_with(backend, |c| c.local_networks = vec!["10.0.0.0/8".into()]).await;
    let c = common::client();
    let (s, body, cookie) = sign_in(&srv, &c, "det.okafor", Some(INSIDE)).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["rule"], json!("SEC-01"));
    assert!(cookie.is_none());
    enrol(&srv, "det.rivera").await;
    pending(&srv, &c, "det.rivera", Some(INSIDE)).await;
    let entry = audit_of(&srv, "det.okafor")
        .await
        .into_iter()
        .rev()
        .find(|e| e.action == "session.sign_in")
        .expect("audited");
    assert!(entry.detail.contains("127.0.0.1"), "{}", entry.detail);
    assert!(!entry.detail.contains(INSIDE), "{}", entry.detail);
}
both!(
    sec_01_forged_x_forwarded_for_from_untrusted_peer_is_ignored,
    super::sec_01_forged_x_forwarded_for_from_untrusted_peer_is_ignored_body
);

/// SEC-01: behind a trusted proxy, the client address (the rightmost untrusted entry) decides
/// local or remote, not the proxy's address; entries the client wrote further left do not count.
async fn sec_01_trusted_proxy_client_address_decides_remote_body(backend: Backend) {
    let srv = behind_proxy(backend, |_| {}).await;
    let c = common::client();
    let (s, body, cookie) = sign_in(&srv, &c, "det.okafor", Some(INSIDE)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(cookie.is_some());
    assert!(
        body.get("session").is_none(),
        "no token in the body unless asked"
    );
    assert_eq!(body["remote_session"], json!(false));
    let (s, me) = get(&srv, &c, "/api/me", Some(INSIDE)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(me["remote_session"], json!(false));
    assert_eq!(
        me["second_factor"],
        json!(false),
        "a local session presented no second factor"
    );

    // The proxy appended the real client after what the client claimed.
    let forged = format!("{INSIDE}, {OUTSIDE}");
    let (s, body, _) = sign_in(&srv, &common::client(), "det.okafor", Some(&forged)).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["rule"], json!("SEC-01"));
    let secret = enrol(&srv, "det.rivera").await;
    let remote = common::client();
    let p = pending(&srv, &remote, "det.rivera", Some(&forged)).await;
    let mut last = None;
    let (s, body, _) = totp(
        &srv,
        &remote,
        &p,
        &fresh_code(&secret, &mut last),
        Some(OUTSIDE),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, me) = get(&srv, &remote, "/api/me", Some(OUTSIDE)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(me["remote_session"], json!(true));
    assert_eq!(me["second_factor"], json!(true));
    // Two trusted hops: still the client, not a proxy.
    let (s, _, _) = sign_in(
        &srv,
        &common::client(),
        "det.okafor",
        Some(&format!("{OUTSIDE}, 127.0.0.1")),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Garbage where the client should be is remote, never local.
    let (s, _, _) = sign_in(&srv, &common::client(), "det.okafor", Some("unknown")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}
both!(
    sec_01_trusted_proxy_client_address_decides_remote,
    super::sec_01_trusted_proxy_client_address_decides_remote_body
);

// ------------------------------------------------------------------ enrolment

/// SEC-01: a person enrols an authenticator (the secret is stored only once a code confirms it),
/// gets ten recovery codes once, and each replaces a code once at the second-factor step. Every
/// step is audited.
async fn sec_01_totp_enrolment_and_recovery_codes_body(backend: Backend) {
    let srv = behind_proxy(backend, |_| {}).await;
    let c = common::client();
    let (s, _, _) = sign_in(&srv, &c, "det.okafor", Some(INSIDE)).await;
    assert_eq!(s, StatusCode::OK);
    let (s, status) = get(&srv, &c, "/api/me/second-factor", Some(INSIDE)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(status["enrolled"], json!(false));

    let (s, offer, _) = post(&srv, &c, "/api/me/second-factor", Some(INSIDE), json!({})).await;
    assert_eq!(s, StatusCode::CREATED, "{offer}");
    let uri = offer["otpauth_uri"].as_str().expect("uri");
    assert!(
        uri.starts_with("otpauth://totp/Probity:det.okafor?secret="),
        "{uri}"
    );
    let secret =
        TotpSecret::from_base32(offer["secret"].as_str().expect("secret")).expect("base32");
    assert!(
        user(&srv, "det.okafor").await.totp_secret.is_none(),
        "not stored before confirmation"
    );

    let (s, body, _) = post(
        &srv,
        &c,
        "/api/me/second-factor/confirm",
        Some(INSIDE),
        json!({ "code": wrong_code(&secret) }),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["field"], json!("code"));
    let mut last = None;
    let (s, body, _) = post(
        &srv,
        &c,
        "/api/me/second-factor/confirm",
        Some(INSIDE),
        json!({ "code": fresh_code(&secret, &mut last) }),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let codes: Vec<String> = body["recovery_codes"]
        .as_array()
        .expect("codes")
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    assert_eq!(codes.len(), 10);
    assert!(user(&srv, "det.okafor").await.totp_secret.is_some());
    // Once only: a second enrolment over the first is refused, the codes are not shown again.
    let (s, _, _) = post(&srv, &c, "/api/me/second-factor", Some(INSIDE), json!({})).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (_, status) = get(&srv, &c, "/api/me/second-factor", Some(INSIDE)).await;
    assert_eq!(
        status,
        json!({ "enrolled": true, "recovery_codes_left": 10 })
    );

    // From outside: a recovery code instead of a TOTP code, once.
    let remote = common::client();
    let p = pending(&srv, &remote, "det.okafor", Some(OUTSIDE)).await;
    let (s, body, _) = totp(&srv, &remote, &p, &codes[3].to_uppercase(), Some(OUTSIDE)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (_, me) = get(&srv, &remote, "/api/me", Some(OUTSIDE)).await;
    assert_eq!(me["second_factor"], json!(true));
    let again = common::client();
    let p = pending(&srv, &again, "det.okafor", Some(OUTSIDE)).await;
    let (s, _, _) = totp(&srv, &again, &p, &codes[3], Some(OUTSIDE)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "a recovery code works once");
    let (s, _, _) = totp(
        &srv,
        &again,
        &p,
        &fresh_code(&secret, &mut last),
        Some(OUTSIDE),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "the authenticator still works");
    let (_, status) = get(&srv, &again, "/api/me/second-factor", Some(OUTSIDE)).await;
    assert_eq!(status["recovery_codes_left"], json!(9));

    // Only hashes are stored.
    let mut tx = srv.state.store.begin().await.expect("tx");
    let u = user(&srv, "det.okafor").await;
    let stored_plain =
        probity_store::users::use_recovery_code(&mut tx, u.id, &codes[0], chrono::Utc::now())
            .await
            .expect("lookup");
    tx.rollback().await.expect("rollback");
    assert!(!stored_plain, "a recovery code is not stored as itself");

    let actions: Vec<String> = audit_of(&srv, "det.okafor")
        .await
        .into_iter()
        .map(|e| format!("{} {}", e.action, e.outcome))
        .collect();
    for expected in [
        "account.second_factor.enrol success",
        "account.second_factor.confirm denied",
        "account.second_factor.confirm success",
        "account.recovery_code.use success",
    ] {
        assert!(
            actions.iter().any(|a| a == expected),
            "{expected} in {actions:?}"
        );
    }

    // The page: the QR code is an inline SVG, the forms carry the CSRF token.
    let page = common::client();
    let (s, _, _) = sign_in(&srv, &page, "lt.moreau", Some(INSIDE)).await;
    assert_eq!(s, StatusCode::OK);
    let html = page
        .get(format!("{}/account/second-factor", srv.url))
        .header("accept", "text/html")
        .header("x-forwarded-for", INSIDE)
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    let csrf = hidden_value(&html, "csrf").expect("csrf field");
    let r = page
        .post(format!("{}/account/second-factor", srv.url))
        .header("accept", "text/html")
        .header("x-forwarded-for", INSIDE)
        .form(&[("csrf", "forged")])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = page
        .post(format!("{}/account/second-factor", srv.url))
        .header("accept", "text/html")
        .header("x-forwarded-for", INSIDE)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.expect("html");
    assert!(html.contains("<svg"), "QR code drawn as SVG");
    assert!(!html.contains("<script"), "no script");
    assert!(html.contains("/account/second-factor/confirm"));
}
both!(
    sec_01_totp_enrolment_and_recovery_codes,
    super::sec_01_totp_enrolment_and_recovery_codes_body
);

/// SEC-02: resetting a second factor is administration of that very account: an administrator
/// may reset another person's (audited, their sessions end), never their own, and nobody else may.
async fn sec_02_admin_cannot_reset_own_second_factor_body(backend: Backend) {
    let srv = common::start(backend).await;
    enrol(&srv, "admin").await;
    enrol(&srv, "det.rivera").await;
    let rivera = srv.login("det.rivera").await;
    let admin = srv.login("admin").await;

    let (s, body) = srv
        .post(&admin, "/api/users/admin/second-factor/reset", json!({}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["rule"], json!("SEC-02.no-self-administration"));
    assert!(user(&srv, "admin").await.totp_secret.is_some());
    assert!(audit_of(&srv, "admin")
        .await
        .iter()
        .any(|e| e.action == "user.admin" && e.outcome == "denied"));

    let okafor = srv.login("det.okafor").await;
    let (s, body) = srv
        .post(
            &okafor,
            "/api/users/det.rivera/second-factor/reset",
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    // An unknown name tells a non-administrator nothing more than a known one.
    let (s, _) = srv
        .post(
            &okafor,
            "/api/users/no.such.person/second-factor/reset",
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = srv
        .post(
            &admin,
            "/api/users/no.such.person/second-factor/reset",
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let (s, body) = srv
        .post(
            &admin,
            "/api/users/det.rivera/second-factor/reset",
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(user(&srv, "det.rivera").await.totp_secret.is_none());
    let (s, _) = srv.get(&rivera, "/api/me").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "the person's sessions ended");
    assert!(audit_of(&srv, "det.rivera")
        .await
        .iter()
        .any(|e| e.action == "user.second_factor.reset" && e.actor == "user:admin"));
}
both!(
    sec_02_admin_cannot_reset_own_second_factor,
    super::sec_02_admin_cannot_reset_own_second_factor_body
);

// ------------------------------------------------------------------ web forms

fn hidden_value(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_string())
}

/// SEC-01 / SEC-04: the login and second-factor forms carry a CSRF token bound to a pre-session
/// cookie; without it nothing is signed in. The JSON sign-in keeps the token out of the body
/// unless asked.
async fn sec_01_login_form_needs_csrf_body(backend: Backend) {
    let srv = common::start(backend).await;
    let c = common::client();
    let r = c
        .get(format!("{}/login", srv.url))
        .send()
        .await
        .expect("page");
    let set: Vec<String> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect();
    assert!(
        set.iter().any(|v| v.starts_with("probity_csrf=")
            && v.contains("HttpOnly")
            && v.contains("SameSite=Strict")),
        "{set:?}"
    );
    let html = r.text().await.expect("html");
    let token = hidden_value(&html, "csrf").expect("csrf field in the login form");
    assert_eq!(token.len(), 32);

    let form = |csrf: Option<&str>| {
        let mut f = vec![("username", "det.rivera"), ("password", DEMO_PASSWORD)];
        if let Some(t) = csrf {
            f.push(("csrf", t));
        }
        c.post(format!("{}/login", srv.url))
            .header("accept", "text/html")
            .form(&f)
    };
    for csrf in [None, Some("0123456789abcdef0123456789abcdef")] {
        let r = form(csrf).send().await.expect("post");
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "csrf {csrf:?}");
        assert!(session_cookie(&r).is_none());
    }
    // Another client's token with this client's cookie, or no cookie at all: refused.
    let stranger = common::client();
    let r = stranger
        .post(format!("{}/login", srv.url))
        .form(&[
            ("username", "det.rivera"),
            ("password", DEMO_PASSWORD),
            ("csrf", token.as_str()),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = form(Some(&token)).send().await.expect("post");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(session_cookie(&r).is_some());

    // The second-factor form needs it as well.
    let r = c
        .post(format!("{}/login/totp", srv.url))
        .form(&[("pending", "prb_sess_x"), ("code", "123456")])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // JSON: the cookie carries the session; the body only when asked.
    let (s, body, cookie) = sign_in(&srv, &common::client(), "det.okafor", None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(cookie.is_some());
    assert!(body.get("session").is_none(), "{body}");
    let (s, body, cookie) = post(
        &srv,
        &common::client(),
        "/api/session",
        None,
        json!({ "username": "det.okafor", "password": DEMO_PASSWORD, "return_token": true }),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body["session"].as_str(), cookie.as_deref());
}
both!(
    sec_01_login_form_needs_csrf,
    super::sec_01_login_form_needs_csrf_body
);

/// SEC-01: a password hash made with older Argon2id parameters is replaced with the current ones
/// at the next successful sign-in.
async fn sec_01_old_password_hashes_are_upgraded_at_sign_in_body(backend: Backend) {
    let srv = common::start(backend).await;
    let old = probity_auth::PasswordService::new(
        probity_auth::PasswordParams {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        },
        probity_auth::PasswordPolicy::default(),
    );
    let u = user(&srv, "det.okafor").await;
    let mut tx = srv.state.store.begin().await.expect("tx");
    let phc = old.hash("det.okafor", DEMO_PASSWORD).expect("hash");
    probity_store::users::set_password_hash(&mut tx, u.id, Some(&phc))
        .await
        .expect("store");
    tx.commit().await.expect("commit");
    let (s, _, _) = sign_in(&srv, &common::client(), "det.okafor", None).await;
    assert_eq!(s, StatusCode::OK);
    let stored = user(&srv, "det.okafor").await.password_hash.expect("hash");
    assert!(stored.contains("m=19456,t=2,p=1"), "{stored}");
    let (s, _, _) = sign_in(&srv, &common::client(), "det.okafor", None).await;
    assert_eq!(s, StatusCode::OK, "the upgraded hash still verifies");
}
both!(
    sec_01_old_password_hashes_are_upgraded_at_sign_in,
    super::sec_01_old_password_hashes_are_upgraded_at_sign_in_body
);
