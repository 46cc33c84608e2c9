//! SEC-01: with an LDAP / Active Directory server configured, people sign in with their directory
//! password and no password is stored locally. Runs against a real OpenLDAP server (slapd).

mod common;

use common::Backend;
use probity_auth::ldap::{DirectoryConfig, GroupLookup, SecretString, StatusCheck, UserLookup};
use probity_auth::testkit::{Slapd, JDOE_PASSWORD, SERVICE_DN, SERVICE_PASSWORD};
use reqwest::StatusCode;
use serde_json::json;

async fn sec_01_directory_sign_in_stores_no_password_body(backend: Backend) {
    let slapd =
        Slapd::start().unwrap_or_else(|e| panic!("cannot start slapd ({e}); run scripts/setup"));
    let directory = DirectoryConfig {
        url: slapd.url(),
        starttls: false,
        ca_file: None,
        lookup: UserLookup::Template {
            dn_template: Slapd::people_dn_template(),
        },
        display_name_attribute: "displayName".into(),
        groups: GroupLookup::None,
        role_map: vec![],
        timeout_seconds: 5,
        status: StatusCheck {
            reader_dn: Some(SERVICE_DN.into()),
            reader_password: SecretString(SERVICE_PASSWORD.into()),
            ..StatusCheck::default()
        },
    };
    let srv = common::start_with(backend, move |c| c.ldap = Some(directory)).await;
    let admin_session = common::client();
    // Local passwords are refused while a directory is configured: the demo admin cannot sign in locally.
    let r = admin_session
        .post(format!("{}/api/session", srv.url))
        .json(&json!({"username": "admin", "password": probity_server::demo::DEMO_PASSWORD}))
        .send()
        .await
        .expect("request");
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "local password accepted despite the directory"
    );

    let mut tx = srv.state.store.begin().await.expect("tx");
    let jdoe = probity_store::users::create(
        &mut tx,
        &probity_store::users::NewUser {
            username: "jdoe".into(),
            display_name: "Det. Jane Doe".into(),
            rank: Some("detective".into()),
            command: Some("PCT-019".into()),
            password_hash: None,
            kind: "member".into(),
        },
    )
    .await
    .expect("account record");
    tx.commit().await.expect("commit");
    assert!(jdoe.password_hash.is_none());

    let c = common::client();
    let r = c
        .post(format!("{}/api/session", srv.url))
        .json(&json!({"username": "jdoe", "password": "wrong-password"}))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = c
        .post(format!("{}/api/session", srv.url))
        .json(&json!({"username": "jdoe", "password": JDOE_PASSWORD}))
        .send()
        .await
        .expect("request");
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "{}",
        r.text().await.unwrap_or_default()
    );
    let (s, me) = srv.get(&c, "/api/me").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(me["username"], "jdoe");
    // Still no password stored locally after the directory sign-in.
    let mut tx = srv.state.store.begin().await.expect("tx");
    let stored = probity_store::users::get_by_username(&mut tx, "jdoe")
        .await
        .expect("read")
        .expect("exists");
    tx.commit().await.expect("commit");
    assert!(
        stored.password_hash.is_none(),
        "a directory account must not get a local password"
    );
}
both!(
    sec_01_directory_sign_in_stores_no_password,
    super::sec_01_directory_sign_in_stores_no_password_body
);

/// SEC-02: an account disabled in the directory loses access at its very next request through
/// the session it already holds; the session ends; sign-in is refused until the directory lifts
/// the lock; and a directory that cannot answer lets nobody through unchecked.
async fn sec_02_directory_disabled_account_refused_at_next_request_body(backend: Backend) {
    let slapd =
        Slapd::start().unwrap_or_else(|e| panic!("cannot start slapd ({e}); run scripts/setup"));
    let directory = DirectoryConfig {
        url: slapd.url(),
        starttls: false,
        ca_file: None,
        lookup: UserLookup::Search {
            service_dn: SERVICE_DN.into(),
            service_password: SecretString(SERVICE_PASSWORD.into()),
            base_dn: "ou=people,dc=probity,dc=test".into(),
            filter: "(&(objectClass=inetOrgPerson)(uid={username}))".into(),
        },
        display_name_attribute: "displayName".into(),
        groups: GroupLookup::None,
        role_map: vec![],
        timeout_seconds: 2,
        status: StatusCheck::default(),
    };
    let srv = common::start_with(backend, move |c| c.ldap = Some(directory)).await;
    let mut tx = srv.state.store.begin().await.expect("tx");
    probity_store::users::create(
        &mut tx,
        &probity_store::users::NewUser {
            username: "jdoe".into(),
            display_name: "Det. Jane Doe".into(),
            rank: Some("detective".into()),
            command: Some("PCT-019".into()),
            password_hash: None,
            kind: "member".into(),
        },
    )
    .await
    .expect("account record");
    tx.commit().await.expect("commit");

    let sign_in = |c: reqwest::Client| {
        let url = format!("{}/api/session", srv.url);
        async move {
            let r = c
                .post(url)
                .json(&json!({"username": "jdoe", "password": JDOE_PASSWORD}))
                .send()
                .await
                .expect("request");
            let status = r.status();
            (
                status,
                r.json::<serde_json::Value>().await.unwrap_or_default(),
            )
        }
    };
    let c = common::client();
    let (s, body) = sign_in(c.clone()).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, _) = srv.get(&c, "/api/me").await;
    assert_eq!(s, StatusCode::OK);

    slapd
        .disable_person("jdoe")
        .expect("disable in the directory");
    let (s, body) = srv.get(&c, "/api/me").await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body["type"]
            .as_str()
            .unwrap_or_default()
            .ends_with("/account-disabled-in-directory"),
        "{body}"
    );
    assert_eq!(body["rule"], "SEC-02", "{body}");
    // The session ended with the refusal.
    let (s, _) = srv.get(&c, "/api/me").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // The right password does not open a new session while the directory says disabled.
    let (s, body) = sign_in(common::client()).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body["type"]
            .as_str()
            .unwrap_or_default()
            .ends_with("/account-disabled-in-directory"),
        "{body}"
    );

    // The refusals are in the audit trail.
    let mut tx = srv.state.store.begin().await.expect("tx");
    let denied = probity_store::audit::for_record(&mut tx, "user", "jdoe")
        .await
        .expect("audit");
    tx.commit().await.expect("commit");
    assert!(
        denied.iter().any(|e| e.action == "session.directory_check"
            && e.record_id == "jdoe"
            && e.detail.contains("\"rule\":\"SEC-02\"")),
        "the refusal at request time is audited"
    );

    slapd
        .enable_person("jdoe")
        .expect("enable in the directory");
    let c = common::client();
    let (s, body) = sign_in(c.clone()).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, _) = srv.get(&c, "/api/me").await;
    assert_eq!(s, StatusCode::OK);

    // A directory that cannot answer refuses the request instead of trusting the session.
    drop(slapd);
    let (s, body) = srv.get(&c, "/api/me").await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(
        body["type"]
            .as_str()
            .unwrap_or_default()
            .ends_with("/directory-unavailable"),
        "{body}"
    );
}
both!(
    sec_02_directory_disabled_account_refused_at_next_request,
    super::sec_02_directory_disabled_account_refused_at_next_request_body
);
