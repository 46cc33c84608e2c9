//! SEC-01: with an LDAP / Active Directory server configured, people sign in with their directory
//! password and no password is stored locally. Runs against a real OpenLDAP server (slapd).

mod common;

use common::Backend;
use probity_auth::ldap::{DirectoryConfig, GroupLookup, UserLookup};
use probity_auth::testkit::{Slapd, JDOE_PASSWORD};
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
