//! SEC-01 against a real OpenLDAP server: the tests start Debian's `slapd` on a free loopback
//! port with a two-user, one-group fixture (see `probity_auth::testkit`) and stop it after.
//! They FAIL (not skip) when slapd is not installed: run scripts/setup.

use probity_auth::testkit::{
    Slapd, BASE_DN, FR_GROUP_DN, JDOE_PASSWORD, RROE_PASSWORD, SERVICE_DN, SERVICE_PASSWORD,
};
use probity_auth::{
    AccountStatus, AuthError, Directory, DirectoryConfig, GroupLookup, GroupRole, SecretString,
    StatusCheck, UserLookup, SIGN_IN_REFUSED,
};

fn start() -> Slapd {
    match Slapd::start() {
        Ok(s) => s,
        Err(e) => panic!("cannot start the test directory server: {e}"),
    }
}

fn role_map() -> Vec<GroupRole> {
    vec![GroupRole {
        group_dn: FR_GROUP_DN.to_string(),
        role: "fr_investigator".into(),
    }]
}

fn template_config(url: String) -> DirectoryConfig {
    DirectoryConfig {
        url,
        starttls: false,
        ca_file: None,
        lookup: UserLookup::Template {
            dn_template: Slapd::people_dn_template(),
        },
        display_name_attribute: "displayName".into(),
        groups: GroupLookup::Attribute {
            attribute: "memberOf".into(),
        },
        role_map: role_map(),
        timeout_seconds: 5,
        status: StatusCheck {
            reader_dn: Some(SERVICE_DN.into()),
            reader_password: SecretString(SERVICE_PASSWORD.into()),
            ..StatusCheck::default()
        },
    }
}

fn search_config(url: String) -> DirectoryConfig {
    DirectoryConfig {
        lookup: UserLookup::Search {
            service_dn: SERVICE_DN.into(),
            service_password: SecretString(SERVICE_PASSWORD.into()),
            base_dn: format!("ou=people,{BASE_DN}"),
            filter: "(&(objectClass=inetOrgPerson)(uid={username}))".into(),
        },
        groups: GroupLookup::Search {
            base_dn: format!("ou=groups,{BASE_DN}"),
            filter: "(&(objectClass=groupOfNames)(member={dn}))".into(),
        },
        ..template_config(url)
    }
}

fn assert_refused(result: Result<probity_auth::DirectoryIdentity, AuthError>, what: &str) {
    match result {
        Err(e @ AuthError::Refused { .. }) => {
            assert_eq!(e.user_message(), SIGN_IN_REFUSED, "{what}");
            assert_eq!(e.http_status(), 401, "{what}");
        }
        other => panic!("{what}: expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn sec_01_directory_bind_template_mode() {
    let slapd = start();
    let dir = Directory::new(template_config(slapd.url())).unwrap();

    let id = dir.authenticate("jdoe", JDOE_PASSWORD).await.unwrap();
    assert_eq!(id.dn, format!("uid=jdoe,ou=people,{BASE_DN}"));
    assert_eq!(id.display_name.as_deref(), Some("Det. Jane Doe"));
    assert_eq!(id.groups, vec![FR_GROUP_DN.to_string()]);
    assert_eq!(id.roles, vec!["fr_investigator".to_string()]);

    let id = dir.authenticate("rroe", RROE_PASSWORD).await.unwrap();
    assert!(id.groups.is_empty() && id.roles.is_empty());

    assert_refused(
        dir.authenticate("jdoe", RROE_PASSWORD).await,
        "wrong password",
    );
    assert_refused(
        dir.authenticate("nobody", JDOE_PASSWORD).await,
        "unknown user",
    );
    assert_refused(dir.authenticate("jdoe", "").await, "empty password");
}

#[tokio::test]
async fn sec_01_directory_bind_search_mode_with_group_search() {
    let slapd = start();
    let dir = Directory::new(search_config(slapd.url())).unwrap();
    dir.check().await.unwrap();

    let id = dir.authenticate("jdoe", JDOE_PASSWORD).await.unwrap();
    assert_eq!(id.dn, format!("uid=jdoe,ou=people,{BASE_DN}"));
    assert_eq!(id.groups, vec![FR_GROUP_DN.to_string()]);
    assert_eq!(id.roles, vec!["fr_investigator".to_string()]);
    assert_eq!(id.display_name.as_deref(), Some("Det. Jane Doe"));

    assert_refused(
        dir.authenticate("jdoe", "not-her-password").await,
        "wrong password",
    );
    assert_refused(
        dir.authenticate("nobody", JDOE_PASSWORD).await,
        "unknown user",
    );
    assert_refused(dir.authenticate("jdoe", "").await, "empty password");
}

/// Without escaping, `j*` would match jdoe as the only entry and her password would get in;
/// `*)(uid=*` would widen the filter; a DN fragment would reach another entry.
#[tokio::test]
async fn sec_01_ldap_injection_is_refused() {
    let slapd = start();
    let search = Directory::new(search_config(slapd.url())).unwrap();
    let template = Directory::new(template_config(slapd.url())).unwrap();
    let attempts = [
        "j*",
        "*",
        "jdoe)(uid=*",
        "*)(|(objectClass=*)",
        "jdoe)(|(uid=rroe)",
        "jdoe\\2a",
        "probity-svc,ou=services",
        "jdoe,ou=people,dc=probity,dc=test",
    ];
    for user in attempts {
        assert_refused(search.authenticate(user, JDOE_PASSWORD).await, user);
        assert_refused(template.authenticate(user, JDOE_PASSWORD).await, user);
    }
    // The service account itself cannot be reached through the template by DN fragments.
    assert_refused(
        template
            .authenticate("x,cn=probity-svc,ou=services", SERVICE_PASSWORD)
            .await,
        "dn fragment",
    );
}

/// The fixture server, like Active Directory, accepts a DN with an empty password as an
/// anonymous bind. Prove the trap is real, then that `authenticate` does not fall into it.
#[tokio::test]
async fn sec_01_empty_password_is_not_an_anonymous_bind() {
    let slapd = start();
    let (conn, mut raw) = ldap3::LdapConnAsync::new(&slapd.url()).await.unwrap();
    ldap3::drive!(conn);
    let trap = raw
        .simple_bind(&format!("uid=jdoe,ou=people,{BASE_DN}"), "")
        .await
        .unwrap();
    assert_eq!(
        trap.rc, 0,
        "the fixture should accept unauthenticated binds"
    );
    let _ = raw.unbind().await;

    for config in [template_config(slapd.url()), search_config(slapd.url())] {
        let dir = Directory::new(config).unwrap();
        assert_refused(dir.authenticate("jdoe", "").await, "empty password");
    }
}

#[tokio::test]
async fn sec_01_wrong_service_account_password_is_a_configuration_error() {
    let slapd = start();
    let mut config = search_config(slapd.url());
    if let UserLookup::Search {
        service_password, ..
    } = &mut config.lookup
    {
        *service_password = SecretString("wrong".into());
    }
    let dir = Directory::new(config).unwrap();
    let err = dir.authenticate("jdoe", JDOE_PASSWORD).await.unwrap_err();
    assert!(matches!(err, AuthError::Misconfigured { .. }), "{err:?}");
    assert!(err.to_string().contains("service account"), "{err}");
    assert!(dir.check().await.is_err());
}

#[tokio::test]
async fn sec_03_ldaps_with_trusted_ca() {
    let slapd = match Slapd::start_with_tls() {
        Ok(s) => s,
        Err(e) => panic!("cannot start the test directory server: {e}"),
    };
    let url = slapd.ldaps_url().unwrap();
    let mut config = template_config(url.clone());
    config.ca_file = slapd.ca_file().map(|p| p.to_path_buf());
    let dir = Directory::new(config).unwrap();
    let id = dir.authenticate("jdoe", JDOE_PASSWORD).await.unwrap();
    assert_eq!(id.display_name.as_deref(), Some("Det. Jane Doe"));

    // A certificate not signed by the configured CA is not trusted: the directory is
    // "unavailable", never silently accepted.
    let other = tempfile::tempdir().unwrap();
    let other_paths = probity_auth::TlsPaths::in_dir(other.path());
    probity_auth::generate_self_signed(&other_paths, &[]).unwrap();
    let mut config = template_config(url);
    config.ca_file = Some(other_paths.cert.clone());
    let dir = Directory::new(config).unwrap();
    let err = dir.authenticate("jdoe", JDOE_PASSWORD).await.unwrap_err();
    assert!(
        matches!(err, AuthError::DirectoryUnavailable { .. }),
        "{err:?}"
    );
}

/// SEC-01: with a directory configured, the directory alone decides: a password that a stored
/// local hash would accept is refused when the directory refuses it. (The server's sign-in path,
/// `probity_server::auth_flow`, never consults a stored hash when a directory is configured and
/// refuses to store one: `crates/server/tests/ldap.rs`.)
#[tokio::test]
async fn sec_01_directory_decides_not_a_stored_hash() {
    let slapd = start();
    let dir = Directory::new(search_config(slapd.url())).unwrap();
    let passwords = probity_auth::PasswordService::default();
    let stale_local = passwords.hash("jdoe", "old local password").unwrap();
    passwords
        .verify(Some(&stale_local), "old local password")
        .unwrap();
    assert_refused(
        dir.authenticate("jdoe", "old local password").await,
        "a password only a stale local hash knows",
    );
    let id = dir.authenticate("jdoe", JDOE_PASSWORD).await.unwrap();
    assert_eq!(id.roles, vec!["fr_investigator".to_string()]);
}

/// SEC-02: the directory's word on an account is asked again after sign-in; a disabled or
/// removed entry is reported as such in both lookup modes, and a lifted lock as enabled.
#[tokio::test]
async fn sec_02_account_status_follows_the_directory() {
    let slapd = start();
    for config in [template_config(slapd.url()), search_config(slapd.url())] {
        let dir = Directory::new(config).unwrap();
        assert_eq!(
            dir.account_status("jdoe").await.unwrap(),
            AccountStatus::Enabled
        );
        assert_eq!(
            dir.account_status("nobody").await.unwrap(),
            AccountStatus::Missing
        );
        slapd.disable_person("jdoe").unwrap();
        assert_eq!(
            dir.account_status("jdoe").await.unwrap(),
            AccountStatus::Disabled
        );
        // rroe is untouched by jdoe's lock.
        assert_eq!(
            dir.account_status("rroe").await.unwrap(),
            AccountStatus::Enabled
        );
        slapd.enable_person("jdoe").unwrap();
        assert_eq!(
            dir.account_status("jdoe").await.unwrap(),
            AccountStatus::Enabled
        );
    }
    let dir = Directory::new(search_config(slapd.url())).unwrap();
    slapd.delete_person("rroe").unwrap();
    assert_eq!(
        dir.account_status("rroe").await.unwrap(),
        AccountStatus::Missing
    );
}

/// SEC-02: with `cache_seconds` set, an answer is reused until it expires (the operator's
/// trade between directory load and how soon a disabled account stops); with 0 it never is.
#[tokio::test]
async fn sec_02_account_status_cache_is_bounded() {
    let slapd = start();
    let mut config = search_config(slapd.url());
    config.status.cache_seconds = 3600;
    let cached = Directory::new(config).unwrap();
    let fresh = Directory::new(search_config(slapd.url())).unwrap();
    assert_eq!(
        cached.account_status("jdoe").await.unwrap(),
        AccountStatus::Enabled
    );
    slapd.disable_person("jdoe").unwrap();
    assert_eq!(
        cached.account_status("jdoe").await.unwrap(),
        AccountStatus::Enabled
    );
    assert_eq!(
        fresh.account_status("jdoe").await.unwrap(),
        AccountStatus::Disabled
    );
}

/// SEC-02: a directory that cannot be reached never answers "enabled".
#[tokio::test]
async fn sec_02_account_status_unreachable_directory_is_not_enabled() {
    let dir = Directory::new(search_config("ldap://127.0.0.1:1".into())).unwrap();
    match dir.account_status("jdoe").await {
        Err(AuthError::DirectoryUnavailable { .. }) => {}
        other => panic!("expected DirectoryUnavailable, got {other:?}"),
    }
}
