//! SEC-01 against a real OpenLDAP server: the tests start Debian's `slapd` on a free loopback
//! port with a two-user, one-group fixture (see `probity_auth::testkit`) and stop it after.
//! They FAIL (not skip) when slapd is not installed: run scripts/setup.

use probity_auth::testkit::{
    Slapd, BASE_DN, FR_GROUP_DN, JDOE_PASSWORD, RROE_PASSWORD, SERVICE_DN, SERVICE_PASSWORD,
};
use probity_auth::{
    AuthError, Directory, DirectoryConfig, GroupLookup, GroupRole, SecretString, UserLookup,
    SIGN_IN_REFUSED,
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

/// SEC-01: with a directory configured, no local password is accepted or stored, and the
/// whole sign-in goes through the directory.
#[tokio::test]
async fn sec_01_directory_configured_means_no_local_password() {
    use probity_auth::{AccountSnapshot, AuthSettings, Authenticator, SignInAttempt};
    let slapd = start();
    let auth = Authenticator::new(AuthSettings {
        directory: Some(search_config(slapd.url())),
        ..AuthSettings::default()
    })
    .unwrap();
    assert!(!auth.local_passwords_allowed());
    assert!(auth.hash_new_password("jdoe", "a local password").is_err());

    let attempt = |password: &'static str| SignInAttempt {
        username: "jdoe",
        password,
        totp_code: None,
        peer: "127.0.0.1".parse().unwrap(),
        now: chrono::Utc::now(),
    };
    // First sign-in: the store has no row yet.
    let r = auth.sign_in(attempt(JDOE_PASSWORD), None).await;
    let signed = r.outcome.unwrap();
    let id = signed.directory.unwrap();
    assert_eq!(id.roles, vec!["fr_investigator".to_string()]);
    assert!(r.update.is_none());

    // A known row that (wrongly) still holds a local hash: the directory decides, not the hash.
    let row = AccountSnapshot {
        password_phc: Some(
            probity_auth::PasswordService::default()
                .hash("jdoe", "old local password")
                .unwrap(),
        ),
        enabled: true,
        ..AccountSnapshot::default()
    };
    let r = auth
        .sign_in(attempt("old local password"), Some(&row))
        .await;
    assert!(matches!(r.outcome, Err(AuthError::Refused { .. })));
    assert_eq!(r.update.unwrap().lockout.failed_count, 1);
    let r = auth.sign_in(attempt(JDOE_PASSWORD), Some(&row)).await;
    assert!(r.outcome.is_ok());
}
