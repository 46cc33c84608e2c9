//! People, access records, sessions, tokens and cases, on both backends.

mod common;

use chrono::{Duration, Utc};
use common::TestStore;
use probity_store::{
    assignments, cases, sessions, token_hash, tokens, training, users, vendors, StoreError,
};

fn person(username: &str) -> users::NewUser {
    users::NewUser {
        username: username.into(),
        display_name: format!("Det. {username}"),
        rank: Some("Detective".into()),
        command: Some("Pct 19".into()),
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
        kind: "member".into(),
    }
}

async fn users_and_roles(t: &TestStore) {
    let mut tx = t.store.begin().await.expect("begin");
    let alice = users::create(&mut tx, &person("alice"))
        .await
        .expect("create");
    let err = users::create(&mut tx, &person("alice"))
        .await
        .expect_err("unique username");
    assert!(
        matches!(err, StoreError::AlreadyExists { what: "user", .. }),
        "{err}"
    );
    tx.rollback().await.expect("rollback");

    let mut tx = t.store.begin().await.expect("begin");
    let alice = users::create(&mut tx, &person(&alice.username))
        .await
        .expect("create");
    let ldap = users::create(
        &mut tx,
        &users::NewUser {
            password_hash: None,
            ..person("bob")
        },
    )
    .await
    .expect("directory account");
    let bad = users::create(
        &mut tx,
        &users::NewUser {
            kind: "robot".into(),
            ..person("carol")
        },
    )
    .await;
    assert!(matches!(bad, Err(StoreError::Invalid(_))), "{bad:?}");
    tx.rollback().await.expect("rollback");

    let mut tx = t.store.begin().await.expect("begin");
    let alice = users::create(&mut tx, &person(&alice.username))
        .await
        .expect("create");
    let bob = users::create(
        &mut tx,
        &users::NewUser {
            password_hash: None,
            ..person(&ldap.username)
        },
    )
    .await
    .expect("create");
    users::grant_role(&mut tx, alice.id, "fr_investigator", Some("user:admin"))
        .await
        .expect("grant");
    users::grant_role(&mut tx, alice.id, "investigator", None)
        .await
        .expect("grant");
    users::grant_role(&mut tx, alice.id, "investigator", None)
        .await
        .expect("idempotent");
    let until = Utc::now() + Duration::minutes(15);
    assert_eq!(
        users::record_failed_login(&mut tx, alice.id, None)
            .await
            .expect("fail"),
        1
    );
    assert_eq!(
        users::record_failed_login(&mut tx, alice.id, Some(until))
            .await
            .expect("fail"),
        2
    );
    users::set_totp_secret(&mut tx, alice.id, Some("JBSWY3DPEHPK3PXP"))
        .await
        .expect("totp");
    users::update_profile(
        &mut tx,
        alice.id,
        "Det. Alice A.",
        Some("Sergeant"),
        Some("Pct 20"),
    )
    .await
    .expect("profile");
    tx.commit().await.expect("commit");

    let mut tx = t.store.begin_read().await.expect("begin");
    let a = users::get_by_username(&mut tx, "alice")
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(a.failed_logins, 2);
    assert_eq!(
        a.locked_until.map(|t| t.timestamp_millis()),
        Some(until.timestamp_millis())
    );
    assert_eq!(a.totp_secret.as_deref(), Some("JBSWY3DPEHPK3PXP"));
    assert_eq!(a.rank.as_deref(), Some("Sergeant"));
    assert_eq!(
        users::roles(&mut tx, alice.id).await.expect("roles"),
        ["fr_investigator", "investigator"]
    );
    let b = users::get(&mut tx, bob.id)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(
        b.password_hash, None,
        "SEC-01: no password stored for directory accounts"
    );
    assert_eq!(users::list(&mut tx).await.expect("list").len(), 2);
    tx.rollback().await.expect("rollback");

    let mut tx = t.store.begin().await.expect("begin");
    users::reset_failed_logins(&mut tx, alice.id)
        .await
        .expect("reset");
    assert!(users::revoke_role(&mut tx, alice.id, "fr_investigator")
        .await
        .expect("revoke"));
    assert!(!users::revoke_role(&mut tx, alice.id, "fr_investigator")
        .await
        .expect("revoke"));
    let a = users::get(&mut tx, alice.id)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!((a.failed_logins, a.locked_until), (0, None));
    tx.commit().await.expect("commit");
}
both_backends!(
    sec_01_users_roles_and_lockout_counters,
    super::users_and_roles
);

async fn access_ends_by_itself(t: &TestStore) {
    let now = Utc::now();
    let mut tx = t.store.begin().await.expect("begin");
    let u = users::create(&mut tx, &person("dana")).await.expect("user");
    let old = assignments::create(
        &mut tx,
        &assignments::NewAssignment {
            user_id: u.id,
            role: Some("investigator".into()),
            unit: None,
            command: "Pct 19".into(),
            starts_at: now - Duration::days(400),
            ends_at: Some(now - Duration::days(30)),
        },
    )
    .await
    .expect("old assignment");
    let cur = assignments::create(
        &mut tx,
        &assignments::NewAssignment {
            user_id: u.id,
            role: Some("fr_investigator".into()),
            unit: Some("Facial Identification Section".into()),
            command: "Detective Bureau".into(),
            starts_at: now - Duration::days(30),
            ends_at: None,
        },
    )
    .await
    .expect("assignment");
    training::create(
        &mut tx,
        &training::NewTraining {
            user_id: u.id,
            course: "FR-101".into(),
            completed_at: now - Duration::days(400),
            expires_at: Some(now - Duration::days(35)),
        },
    )
    .await
    .expect("expired training");
    training::create(
        &mut tx,
        &training::NewTraining {
            user_id: u.id,
            course: "FR-101".into(),
            completed_at: now - Duration::days(10),
            expires_at: Some(now + Duration::days(355)),
        },
    )
    .await
    .expect("training");
    tx.commit().await.expect("commit");

    let mut tx = t.store.begin_read().await.expect("begin");
    let current = assignments::current(&mut tx, u.id, now)
        .await
        .expect("current");
    assert_eq!(current.iter().map(|a| a.id).collect::<Vec<_>>(), [cur.id]);
    let then = assignments::current(&mut tx, u.id, now - Duration::days(100))
        .await
        .expect("then");
    assert_eq!(then.iter().map(|a| a.id).collect::<Vec<_>>(), [old.id]);
    assert_eq!(
        assignments::for_user(&mut tx, u.id)
            .await
            .expect("all")
            .len(),
        2
    );
    // OVR-01: only the unexpired record counts now; a year on, none.
    assert_eq!(
        training::current(&mut tx, u.id, now)
            .await
            .expect("training")
            .len(),
        1
    );
    assert!(training::current(&mut tx, u.id, now + Duration::days(400))
        .await
        .expect("later")
        .is_empty());
    assert_eq!(
        training::for_user(&mut tx, u.id).await.expect("all").len(),
        2
    );
    tx.rollback().await.expect("rollback");

    // SEC-02: ending the assignment ends it as of that moment.
    let mut tx = t.store.begin().await.expect("begin");
    assignments::end(&mut tx, cur.id, now).await.expect("end");
    assert!(assignments::current(&mut tx, u.id, now)
        .await
        .expect("current")
        .is_empty());
    let bad = assignments::create(
        &mut tx,
        &assignments::NewAssignment {
            user_id: u.id,
            role: None,
            unit: None,
            command: "x".into(),
            starts_at: now,
            ends_at: None,
        },
    )
    .await;
    assert!(matches!(bad, Err(StoreError::Invalid(_))), "{bad:?}");
    tx.commit().await.expect("commit");
}
both_backends!(
    sec_02_assignment_and_training_end_by_themselves,
    super::access_ends_by_itself
);

async fn vendor_contracts(t: &TestStore) {
    let now = Utc::now();
    let mut tx = t.store.begin().await.expect("begin");
    let v = users::create(
        &mut tx,
        &users::NewUser {
            kind: "vendor".into(),
            ..person("acme-tech")
        },
    )
    .await
    .expect("vendor");
    let c = vendors::create(
        &mut tx,
        &vendors::NewVendorContract {
            user_id: v.id,
            contract_ref: "PO-2026-0042".into(),
            starts_at: now - Duration::days(1),
            ends_at: now + Duration::days(6),
            technologies: vec!["thermographic_cameras".into()],
            agreement_terms: None,
        },
    )
    .await
    .expect("contract");
    let bad = vendors::create(
        &mut tx,
        &vendors::NewVendorContract {
            user_id: v.id,
            contract_ref: "PO-x".into(),
            starts_at: now,
            ends_at: now - Duration::days(1),
            technologies: Vec::new(),
            agreement_terms: None,
        },
    )
    .await;
    assert!(matches!(bad, Err(StoreError::Invalid(_))), "{bad:?}");
    tx.commit().await.expect("commit");
    let mut tx = t.store.begin_read().await.expect("begin");
    assert_eq!(
        vendors::current(&mut tx, v.id, now).await.expect("now")[0].contract_ref,
        "PO-2026-0042"
    );
    assert!(vendors::current(&mut tx, v.id, now + Duration::days(7))
        .await
        .expect("later")
        .is_empty());
    assert_eq!(
        vendors::for_user(&mut tx, v.id).await.expect("all")[0].id,
        c.id
    );
    tx.rollback().await.expect("rollback");
}
both_backends!(
    ext_06_vendor_access_is_time_boxed_by_contract,
    super::vendor_contracts
);

async fn sessions_and_tokens(t: &TestStore) {
    let now = Utc::now();
    let mut tx = t.store.begin().await.expect("begin");
    let u = users::create(&mut tx, &person("erin")).await.expect("user");
    let svc = users::create(
        &mut tx,
        &users::NewUser {
            kind: "service".into(),
            password_hash: None,
            ..person("ingest")
        },
    )
    .await
    .expect("service");
    let h = token_hash("session-token-secret");
    assert_ne!(h, "session-token-secret");
    sessions::create(
        &mut tx,
        &sessions::NewSession {
            token_hash: h.clone(),
            user_id: u.id,
            expires_at: now + Duration::hours(8),
            second_factor_done: false,
            remote: true,
        },
    )
    .await
    .expect("session");
    sessions::create(
        &mut tx,
        &sessions::NewSession {
            token_hash: token_hash("old"),
            user_id: u.id,
            expires_at: now - Duration::hours(1),
            second_factor_done: true,
            remote: false,
        },
    )
    .await
    .expect("expired session");
    let tok = tokens::create(
        &mut tx,
        &tokens::NewApiToken {
            token_hash: token_hash("api-token"),
            user_id: svc.id,
            label: "nightly ingest".into(),
            expires_at: Some(now + Duration::days(90)),
        },
    )
    .await
    .expect("token");
    tx.commit().await.expect("commit");

    let mut tx = t.store.begin().await.expect("begin");
    let s = sessions::get_valid(&mut tx, &h, now)
        .await
        .expect("get")
        .expect("valid");
    assert!(s.remote && !s.second_factor_done);
    sessions::mark_second_factor(&mut tx, &h)
        .await
        .expect("2fa");
    assert!(
        sessions::get_valid(&mut tx, &h, now)
            .await
            .expect("get")
            .expect("valid")
            .second_factor_done
    );
    assert!(sessions::get_valid(&mut tx, &token_hash("old"), now)
        .await
        .expect("get")
        .is_none());
    assert_eq!(
        sessions::delete_expired(&mut tx, now)
            .await
            .expect("expire"),
        1
    );
    let found = tokens::get_by_hash(&mut tx, &token_hash("api-token"))
        .await
        .expect("get")
        .expect("found");
    assert!(found.is_usable(now));
    tokens::revoke(&mut tx, tok.id).await.expect("revoke");
    let found = tokens::get(&mut tx, tok.id)
        .await
        .expect("get")
        .expect("found");
    assert!(!found.is_usable(now));
    assert_eq!(
        tokens::for_user(&mut tx, svc.id).await.expect("list").len(),
        1
    );
    assert_eq!(
        sessions::delete_for_user(&mut tx, u.id)
            .await
            .expect("logout all"),
        1
    );
    assert!(sessions::get_valid(&mut tx, &h, now)
        .await
        .expect("get")
        .is_none());
    tx.commit().await.expect("commit");
}
both_backends!(
    sec_01_sessions_and_api_tokens_store_only_hashes,
    super::sessions_and_tokens
);

async fn case_records(t: &TestStore) {
    let mut tx = t.store.begin().await.expect("begin");
    let inv = users::create(&mut tx, &person("frank"))
        .await
        .expect("user");
    let new = cases::NewCase {
        case_number: "2026-019-000123".into(),
        offence_classification: "robbery".into(),
        status: "open".into(),
        command: "PCT-019".into(),
        assigned_investigator: Some(inv.id),
        political_activity: true,
        created_by: "user:frank".into(),
    };
    let c = cases::create(&mut tx, &new).await.expect("case");
    let dup = cases::create(&mut tx, &new)
        .await
        .expect_err("unique number");
    assert!(
        matches!(dup, StoreError::AlreadyExists { what: "case", .. }),
        "{dup}"
    );
    tx.rollback().await.expect("rollback");

    let mut tx = t.store.begin().await.expect("begin");
    let inv = users::create(&mut tx, &person("frank"))
        .await
        .expect("user");
    let c = cases::create(
        &mut tx,
        &cases::NewCase {
            assigned_investigator: Some(inv.id),
            ..new.clone()
        },
    )
    .await
    .unwrap_or_else(|e| panic!("case {}: {e}", c.case_number));
    let other = cases::create(
        &mut tx,
        &cases::NewCase {
            case_number: "2026-019-000124".into(),
            assigned_investigator: None,
            political_activity: false,
            ..new.clone()
        },
    )
    .await
    .expect("case");
    assert!(c.political_activity && c.closure_reason.is_none());
    let c2 = cases::set_status(&mut tx, c.id, "under_investigation")
        .await
        .expect("status");
    assert_eq!(c2.status, "under_investigation");
    cases::assign(&mut tx, other.id, Some(inv.id))
        .await
        .expect("assign");
    cases::update_details(&mut tx, other.id, "burglary", false)
        .await
        .expect("details");
    let closed = cases::close(&mut tx, c.id, "closed", "no_arrest", Utc::now())
        .await
        .expect("close");
    assert_eq!(closed.closure_reason.as_deref(), Some("no_arrest"));
    let again = cases::close(&mut tx, c.id, "closed", "settlement", Utc::now())
        .await
        .expect_err("closed once");
    assert!(matches!(again, StoreError::Conflict(_)), "{again}");
    let edit = cases::set_status(&mut tx, c.id, "open")
        .await
        .expect_err("closed is final");
    assert!(matches!(edit, StoreError::Conflict(_)), "{edit}");
    tx.commit().await.expect("commit");

    let mut tx = t.store.begin_read().await.expect("begin");
    let mine = cases::list(
        &mut tx,
        &cases::CaseFilter {
            assigned_investigator: Some(inv.id),
            ..Default::default()
        },
    )
    .await
    .expect("list");
    assert_eq!(mine.len(), 2);
    let open = cases::list(
        &mut tx,
        &cases::CaseFilter {
            status: Some("open".into()),
            ..Default::default()
        },
    )
    .await
    .expect("list");
    assert_eq!(
        open.iter()
            .map(|c| c.case_number.as_str())
            .collect::<Vec<_>>(),
        ["2026-019-000124"]
    );
    let by_number = cases::get_by_number(&mut tx, "2026-019-000123")
        .await
        .expect("get")
        .expect("found");
    assert_eq!(by_number.id, c.id);
    assert_eq!(by_number.assigned_investigator, Some(inv.id));
    tx.rollback().await.expect("rollback");
}
both_backends!(
    case_numbers_unique_and_closure_recorded_once,
    super::case_records
);
