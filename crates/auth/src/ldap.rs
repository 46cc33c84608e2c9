//! Directory sign-in: LDAP / Active Directory simple bind through `ldap3` (SEC-01).
//!
//! When a directory is configured, the password is checked only by the directory: nothing here
//! returns or keeps it, and the store must keep no local password for such users.
//!
//! Two ways to find the user's entry:
//! - [`UserLookup::Template`]: bind directly as `dn_template` with `{username}` replaced by the
//!   DN-escaped username (RFC 4514), e.g. `uid={username},ou=people,dc=probity,dc=test`.
//! - [`UserLookup::Search`]: bind as a service account, search `base_dn` with `filter` where
//!   `{username}` is replaced by the filter-escaped username (RFC 4515), e.g.
//!   `(&(objectClass=user)(sAMAccountName={username}))`; exactly one entry must match; then bind
//!   as that entry's DN with the user's password.
//!
//! Groups come from an attribute of the user's entry (`memberOf`, Active Directory and OpenLDAP
//! with the memberof overlay) or from a group search (`(member={dn})`), read with the user's own
//! bind. [`DirectoryConfig::role_map`] turns group DNs into Probity role names.
//!
//! Guards: empty passwords are refused before any network traffic (a bind with a DN and an
//! empty password is an *unauthenticated* bind that many servers, Active Directory included,
//! answer with success); usernames with control characters or over 256 characters are refused;
//! every username is escaped for the place it goes (DN or filter).
//!
//! Account state (SEC-02): a session outlives the bind that opened it, so
//! [`Directory::account_status`] asks the directory again whether the entry still exists and is not
//! disabled ([`StatusCheck::disabled_filter`]); the server does so before each request it
//! authorizes, reusing an answer for at most [`StatusCheck::cache_seconds`].

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ldap3::{
    dn_escape, ldap_escape, Ldap, LdapConnAsync, LdapConnSettings, LdapError, Scope, SearchEntry,
};
use serde::{Deserialize, Serialize};

use crate::error::AuthError;
use crate::tls::tls_client_config;

/// LDAP result code "invalidCredentials" (RFC 4511).
const RC_INVALID_CREDENTIALS: u32 = 49;
/// "unwillingToPerform", e.g. an unauthenticated bind the server does not allow.
const RC_UNWILLING: u32 = 53;
/// "inappropriateAuthentication".
const RC_INAPPROPRIATE_AUTH: u32 = 48;

/// A secret configuration value; `Debug` hides it.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecretString(pub String);

impl std::fmt::Debug for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<hidden>")
    }
}

/// How the user's entry is found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum UserLookup {
    /// Bind directly to the DN made from a template containing `{username}`.
    Template {
        /// e.g. `uid={username},ou=people,dc=probity,dc=test`.
        dn_template: String,
    },
    /// Search with a service account, then bind as the entry found.
    Search {
        /// Service account DN.
        service_dn: String,
        /// Service account password (from the environment or a secrets file, never logged).
        service_password: SecretString,
        /// Where to search, subtree scope.
        base_dn: String,
        /// Filter containing `{username}`, e.g. `(uid={username})`.
        filter: String,
    },
}

/// Where group memberships come from.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum GroupLookup {
    /// No groups.
    #[default]
    None,
    /// A multi-valued attribute of the user's entry holding group DNs.
    Attribute {
        /// Usually `memberOf`.
        attribute: String,
    },
    /// A subtree search for groups naming the user.
    Search {
        /// Where groups live.
        base_dn: String,
        /// Filter containing `{dn}` (the filter-escaped user DN) and/or `{username}`,
        /// e.g. `(&(objectClass=groupOfNames)(member={dn}))`.
        filter: String,
    },
}

/// One group → role rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRole {
    /// Group DN (compared case-insensitively, spaces around `,` and `=` ignored).
    pub group_dn: String,
    /// Probity role name granted to members.
    pub role: String,
}

/// Directory settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryConfig {
    /// `ldap://host:389` or `ldaps://host:636`.
    pub url: String,
    /// Upgrade an `ldap://` connection with StartTLS.
    #[serde(default)]
    pub starttls: bool,
    /// PEM file of the CA to trust for `ldaps://`/StartTLS; the system store when absent.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// How the user's entry is found.
    pub lookup: UserLookup,
    /// Attribute with the person's display name (falls back to `cn`).
    #[serde(default = "default_display_attribute")]
    pub display_name_attribute: String,
    /// Where group memberships come from.
    #[serde(default)]
    pub groups: GroupLookup,
    /// Group → role rules.
    #[serde(default)]
    pub role_map: Vec<GroupRole>,
    /// Limit for connecting and for each operation, in seconds.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
    /// How an open session's account is checked against the directory (SEC-02).
    #[serde(default)]
    pub status: StatusCheck,
}

/// The per-request check that a directory account still exists and is not disabled (SEC-02).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCheck {
    /// An entry matching this filter is disabled. The default matches OpenLDAP's password-policy
    /// administrative lock (`pwdAccountLockedTime=000001010000Z`) and Active Directory's
    /// ACCOUNTDISABLE bit of `userAccountControl`; a server that knows neither attribute simply
    /// never matches it.
    #[serde(default = "default_disabled_filter")]
    pub disabled_filter: String,
    /// Account that reads user entries for the check in template mode (search mode uses its
    /// service account). Template mode needs it: users cannot read their own entry without
    /// their password, which is never kept.
    #[serde(default)]
    pub reader_dn: Option<String>,
    /// Password of `reader_dn`.
    #[serde(default)]
    pub reader_password: SecretString,
    /// An answer is reused for this many seconds; 0 (the default) asks the directory before
    /// every request, so a disabled account loses access at its very next request.
    #[serde(default)]
    pub cache_seconds: u64,
}

impl Default for StatusCheck {
    fn default() -> Self {
        StatusCheck {
            disabled_filter: default_disabled_filter(),
            reader_dn: None,
            reader_password: SecretString::default(),
            cache_seconds: 0,
        }
    }
}

fn default_disabled_filter() -> String {
    "(|(pwdAccountLockedTime=000001010000Z)(userAccountControl:1.2.840.113556.1.4.803:=2))".into()
}

/// What the directory says of an account now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountStatus {
    /// The entry exists and does not match the disabled filter.
    Enabled,
    /// No entry (or more than one) for the username: the account was removed.
    Missing,
    /// The entry matches [`StatusCheck::disabled_filter`].
    Disabled,
}

impl AccountStatus {
    /// Words for refusals and the audit trail.
    pub fn describe(&self) -> &'static str {
        match self {
            AccountStatus::Enabled => "enabled in the directory",
            AccountStatus::Missing => "no longer in the directory",
            AccountStatus::Disabled => "disabled in the directory",
        }
    }
}

fn default_display_attribute() -> String {
    "displayName".into()
}

fn default_timeout() -> u64 {
    10
}

/// Who the directory says the user is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryIdentity {
    /// The entry's DN.
    pub dn: String,
    /// The username as typed (after validation).
    pub username: String,
    /// Display name from the directory, if it has one.
    pub display_name: Option<String>,
    /// Group DNs the user belongs to.
    pub groups: Vec<String>,
    /// Probity role names from [`DirectoryConfig::role_map`], sorted, without duplicates.
    pub roles: Vec<String>,
}

/// A configured directory.
#[derive(Debug, Clone)]
pub struct Directory {
    config: DirectoryConfig,
    tls: Option<Arc<rustls::ClientConfig>>,
    /// Recent answers of [`Directory::account_status`], by username.
    status_cache: Arc<Mutex<HashMap<String, (Instant, AccountStatus)>>>,
}

fn normalize_dn(dn: &str) -> String {
    let mut out = String::with_capacity(dn.len());
    for part in dn.split(',') {
        if !out.is_empty() {
            out.push(',');
        }
        let mut first = true;
        for side in part.splitn(2, '=') {
            if !first {
                out.push('=');
            }
            first = false;
            out.push_str(&side.trim().to_lowercase());
        }
    }
    out
}

/// Checks a username before it goes near the directory. Returns the refusal to give.
fn check_username(username: &str) -> Result<(), AuthError> {
    if username.is_empty() {
        return Err(AuthError::refused("empty username"));
    }
    if username.chars().count() > 256 {
        return Err(AuthError::refused("username longer than 256 characters"));
    }
    if username.chars().any(char::is_control) {
        return Err(AuthError::refused("username contains control characters"));
    }
    if username.trim() != username {
        return Err(AuthError::refused(
            "username has leading or trailing spaces",
        ));
    }
    Ok(())
}

fn ldap_failure(context: &str, e: LdapError) -> AuthError {
    AuthError::DirectoryUnavailable {
        cause: format!("{context}: {e}"),
    }
}

impl Directory {
    /// Checks the configuration and prepares TLS. Errors name the setting at fault.
    pub fn new(config: DirectoryConfig) -> Result<Directory, AuthError> {
        let url = config.url.to_ascii_lowercase();
        let tls_needed = if url.starts_with("ldaps://") {
            true
        } else if url.starts_with("ldap://") {
            config.starttls
        } else {
            return Err(AuthError::misconfigured(format!(
                "directory url {:?} must start with ldap:// or ldaps://",
                config.url
            )));
        };
        match &config.lookup {
            UserLookup::Template { dn_template } => {
                if !dn_template.contains("{username}") {
                    return Err(AuthError::misconfigured(
                        "directory dn_template must contain {username}",
                    ));
                }
            }
            UserLookup::Search {
                service_dn,
                service_password,
                filter,
                ..
            } => {
                if !filter.contains("{username}") {
                    return Err(AuthError::misconfigured(
                        "directory search filter must contain {username}",
                    ));
                }
                if service_dn.is_empty() || service_password.0.is_empty() {
                    return Err(AuthError::misconfigured(
                        "directory search needs a service account DN and password \
                         (an empty password would be an unauthenticated bind)",
                    ));
                }
            }
        }
        if let GroupLookup::Search { filter, .. } = &config.groups {
            if !filter.contains("{dn}") && !filter.contains("{username}") {
                return Err(AuthError::misconfigured(
                    "directory group filter must contain {dn} or {username}",
                ));
            }
        }
        if matches!(config.lookup, UserLookup::Template { .. }) {
            match (
                &config.status.reader_dn,
                config.status.reader_password.0.is_empty(),
            ) {
                (Some(dn), false) if !dn.is_empty() => {}
                _ => {
                    return Err(AuthError::misconfigured(
                        "directory status.reader_dn and status.reader_password are needed in \
                         template mode: every request checks that the account is still enabled \
                         in the directory (SEC-02)",
                    ))
                }
            }
        }
        let disabled = config.status.disabled_filter.trim();
        if !(disabled.starts_with('(') && disabled.ends_with(')')) {
            return Err(AuthError::misconfigured(format!(
                "directory status.disabled_filter {:?} must be an LDAP filter in parentheses",
                config.status.disabled_filter
            )));
        }
        if config.timeout_seconds == 0 {
            return Err(AuthError::misconfigured(
                "directory timeout_seconds must be at least 1",
            ));
        }
        let tls = if tls_needed {
            Some(tls_client_config(config.ca_file.as_deref())?)
        } else {
            None
        };
        Ok(Directory {
            config,
            tls,
            status_cache: Arc::new(Mutex::new(HashMap::new())),
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &DirectoryConfig {
        &self.config
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(self.config.timeout_seconds)
    }

    async fn connect(&self) -> Result<Ldap, AuthError> {
        let mut settings = LdapConnSettings::new()
            .set_conn_timeout(self.timeout())
            .set_starttls(self.config.starttls);
        if let Some(tls) = &self.tls {
            settings = settings.set_config(tls.clone());
        }
        let (conn, ldap) = LdapConnAsync::with_settings(settings, &self.config.url)
            .await
            .map_err(|e| ldap_failure(&format!("connect to {}", self.config.url), e))?;
        tokio::spawn(async move {
            if let Err(e) = conn.drive().await {
                tracing::debug!(error = %e, "directory connection closed with an error");
            }
        });
        Ok(ldap)
    }

    /// Binds with `dn` and `password`. A refusal by the directory becomes `Refused`; anything
    /// else `DirectoryUnavailable`.
    async fn bind(&self, ldap: &mut Ldap, dn: &str, password: &str) -> Result<(), AuthError> {
        let result = ldap
            .with_timeout(self.timeout())
            .simple_bind(dn, password)
            .await
            .map_err(|e| ldap_failure("bind", e))?;
        match result.rc {
            0 => Ok(()),
            RC_INVALID_CREDENTIALS | RC_UNWILLING | RC_INAPPROPRIATE_AUTH => {
                Err(AuthError::refused(format!(
                    "directory refused the bind as {dn}: rc={} {}",
                    result.rc, result.text
                )))
            }
            rc => Err(AuthError::DirectoryUnavailable {
                cause: format!("bind as {dn}: rc={rc} {}", result.text),
            }),
        }
    }

    async fn search(
        &self,
        ldap: &mut Ldap,
        base: &str,
        scope: Scope,
        filter: &str,
        attrs: Vec<String>,
    ) -> Result<Vec<SearchEntry>, AuthError> {
        let result = ldap
            .with_timeout(self.timeout())
            .search(base, scope, filter, attrs)
            .await
            .map_err(|e| ldap_failure(&format!("search {base} {filter}"), e))?;
        // noSuchObject (32) on the base means "nothing there", not an outage.
        if result.1.rc == 32 {
            return Ok(Vec::new());
        }
        let (entries, _) = result
            .success()
            .map_err(|e| ldap_failure(&format!("search {base} {filter}"), e))?;
        // `SearchEntry::construct` panics on a malformed entry; a broken or hostile directory
        // must not take the request down with it.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            entries
                .into_iter()
                .map(SearchEntry::construct)
                .collect::<Vec<_>>()
        }))
        .map_err(|_| AuthError::DirectoryUnavailable {
            cause: format!("malformed entry in the answer to {base} {filter}"),
        })
    }

    fn entry_attrs(&self) -> Vec<String> {
        let mut attrs = vec![self.config.display_name_attribute.clone(), "cn".to_string()];
        if let GroupLookup::Attribute { attribute } = &self.config.groups {
            attrs.push(attribute.clone());
        }
        attrs
    }

    /// Checks `username` and `password` against the directory and returns who it is.
    ///
    /// Every refusal (unknown user, wrong password, empty password, ambiguous search, malformed
    /// username) is [`AuthError::Refused`] with the same user message; an unreachable or failing
    /// directory is [`AuthError::DirectoryUnavailable`]; a service account the directory refuses
    /// is [`AuthError::Misconfigured`].
    pub async fn authenticate(
        &self,
        username: &str,
        password: &str,
    ) -> Result<DirectoryIdentity, AuthError> {
        check_username(username)?;
        if password.is_empty() {
            return Err(AuthError::refused(
                "empty password (would be an unauthenticated bind)",
            ));
        }
        let overall = self.timeout() * 4;
        match tokio::time::timeout(overall, self.authenticate_inner(username, password)).await {
            Ok(result) => result,
            Err(_) => Err(AuthError::DirectoryUnavailable {
                cause: format!("no answer from {} within {overall:?}", self.config.url),
            }),
        }
    }

    async fn authenticate_inner(
        &self,
        username: &str,
        password: &str,
    ) -> Result<DirectoryIdentity, AuthError> {
        let mut ldap = self.connect().await?;
        let result = self.authenticate_on(&mut ldap, username, password).await;
        let _ = ldap.unbind().await;
        result
    }

    async fn authenticate_on(
        &self,
        ldap: &mut Ldap,
        username: &str,
        password: &str,
    ) -> Result<DirectoryIdentity, AuthError> {
        let entry = match &self.config.lookup {
            UserLookup::Template { dn_template } => {
                let dn = dn_template.replace("{username}", &dn_escape(username));
                self.bind(ldap, &dn, password).await?;
                let mut found = self
                    .search(
                        ldap,
                        &dn,
                        Scope::Base,
                        "(objectClass=*)",
                        self.entry_attrs(),
                    )
                    .await?;
                match found.pop() {
                    Some(entry) if found.is_empty() => entry,
                    _ => {
                        return Err(AuthError::refused(format!(
                            "bound as {dn} but cannot read the entry"
                        )))
                    }
                }
            }
            UserLookup::Search {
                service_dn,
                service_password,
                base_dn,
                filter,
            } => {
                if let Err(e) = self.bind(ldap, service_dn, &service_password.0).await {
                    return Err(match e {
                        AuthError::Refused { cause } => AuthError::misconfigured(format!(
                            "the directory refused the service account: {cause}"
                        )),
                        other => other,
                    });
                }
                let filter = filter.replace("{username}", &ldap_escape(username));
                let mut found = self
                    .search(ldap, base_dn, Scope::Subtree, &filter, self.entry_attrs())
                    .await?;
                let entry = match (found.pop(), found.is_empty()) {
                    (Some(entry), true) => entry,
                    (None, _) => {
                        return Err(AuthError::refused(format!(
                            "unknown user: no entry for {filter} under {base_dn}"
                        )))
                    }
                    (Some(_), false) => {
                        return Err(AuthError::refused(format!(
                            "{} entries match {filter} under {base_dn}",
                            found.len() + 1
                        )))
                    }
                };
                self.bind(ldap, &entry.dn, password).await?;
                entry
            }
        };
        let display_name = first_value(&entry, &self.config.display_name_attribute)
            .or_else(|| first_value(&entry, "cn"));
        let groups = self.groups(ldap, username, &entry).await?;
        let roles = self.roles_for(&groups);
        Ok(DirectoryIdentity {
            dn: entry.dn,
            username: username.to_string(),
            display_name,
            groups,
            roles,
        })
    }

    async fn groups(
        &self,
        ldap: &mut Ldap,
        username: &str,
        entry: &SearchEntry,
    ) -> Result<Vec<String>, AuthError> {
        let mut groups = match &self.config.groups {
            GroupLookup::None => Vec::new(),
            GroupLookup::Attribute { attribute } => entry
                .attrs
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case(attribute))
                .flat_map(|(_, v)| v.iter().cloned())
                .collect(),
            GroupLookup::Search { base_dn, filter } => {
                let filter = filter
                    .replace("{dn}", &ldap_escape(entry.dn.as_str()))
                    .replace("{username}", &ldap_escape(username));
                self.search(
                    ldap,
                    base_dn,
                    Scope::Subtree,
                    &filter,
                    vec!["1.1".to_string()],
                )
                .await?
                .into_iter()
                .map(|e| e.dn)
                .collect()
            }
        };
        groups.sort();
        groups.dedup();
        Ok(groups)
    }

    /// Whether `username`'s entry still exists and is not disabled (SEC-02). Reads with the
    /// service account (search mode) or the status reader (template mode); an unreachable or
    /// failing directory is [`AuthError::DirectoryUnavailable`], never "enabled".
    pub async fn account_status(&self, username: &str) -> Result<AccountStatus, AuthError> {
        check_username(username)?;
        let ttl = Duration::from_secs(self.config.status.cache_seconds);
        if !ttl.is_zero() {
            if let Some((at, status)) = self.cached_status(username) {
                if at.elapsed() < ttl {
                    return Ok(status);
                }
            }
        }
        let overall = self.timeout() * 4;
        let status = match tokio::time::timeout(overall, self.account_status_inner(username)).await
        {
            Ok(result) => result?,
            Err(_) => {
                return Err(AuthError::DirectoryUnavailable {
                    cause: format!("no answer from {} within {overall:?}", self.config.url),
                })
            }
        };
        if !ttl.is_zero() {
            if let Ok(mut cache) = self.status_cache.lock() {
                cache.insert(username.to_string(), (Instant::now(), status.clone()));
            }
        }
        Ok(status)
    }

    fn cached_status(&self, username: &str) -> Option<(Instant, AccountStatus)> {
        self.status_cache.lock().ok()?.get(username).cloned()
    }

    async fn account_status_inner(&self, username: &str) -> Result<AccountStatus, AuthError> {
        let mut ldap = self.connect().await?;
        let result = self.account_status_on(&mut ldap, username).await;
        let _ = ldap.unbind().await;
        result
    }

    async fn account_status_on(
        &self,
        ldap: &mut Ldap,
        username: &str,
    ) -> Result<AccountStatus, AuthError> {
        let reader_refused = |e: AuthError| match e {
            AuthError::Refused { cause } => AuthError::misconfigured(format!(
                "the directory refused the account that checks account state: {cause}"
            )),
            other => other,
        };
        let found = match &self.config.lookup {
            UserLookup::Template { dn_template } => {
                let (Some(reader), password) = (
                    self.config.status.reader_dn.as_deref(),
                    &self.config.status.reader_password.0,
                ) else {
                    return Err(AuthError::misconfigured(
                        "directory status.reader_dn is not set (SEC-02)",
                    ));
                };
                self.bind(ldap, reader, password)
                    .await
                    .map_err(reader_refused)?;
                let dn = dn_template.replace("{username}", &dn_escape(username));
                self.search(
                    ldap,
                    &dn,
                    Scope::Base,
                    "(objectClass=*)",
                    vec!["1.1".into()],
                )
                .await?
            }
            UserLookup::Search {
                service_dn,
                service_password,
                base_dn,
                filter,
            } => {
                self.bind(ldap, service_dn, &service_password.0)
                    .await
                    .map_err(reader_refused)?;
                let filter = filter.replace("{username}", &ldap_escape(username));
                self.search(ldap, base_dn, Scope::Subtree, &filter, vec!["1.1".into()])
                    .await?
            }
        };
        let [entry] = found.as_slice() else {
            return Ok(AccountStatus::Missing);
        };
        let disabled = self
            .search(
                ldap,
                &entry.dn,
                Scope::Base,
                &self.config.status.disabled_filter,
                vec!["1.1".into()],
            )
            .await?;
        Ok(if disabled.is_empty() {
            AccountStatus::Enabled
        } else {
            AccountStatus::Disabled
        })
    }

    /// Probity roles granted by the given group DNs under [`DirectoryConfig::role_map`].
    pub fn roles_for(&self, groups: &[String]) -> Vec<String> {
        let member_of: BTreeSet<String> = groups.iter().map(|g| normalize_dn(g)).collect();
        let roles: BTreeSet<String> = self
            .config
            .role_map
            .iter()
            .filter(|rule| member_of.contains(&normalize_dn(&rule.group_dn)))
            .map(|rule| rule.role.clone())
            .collect();
        roles.into_iter().collect()
    }

    /// Connects and, in search mode, binds as the service account: a readiness check.
    pub async fn check(&self) -> Result<(), AuthError> {
        let mut ldap = self.connect().await?;
        let result = match &self.config.lookup {
            UserLookup::Search {
                service_dn,
                service_password,
                ..
            } => self
                .bind(&mut ldap, service_dn, &service_password.0)
                .await
                .map_err(|e| match e {
                    AuthError::Refused { cause } => AuthError::misconfigured(format!(
                        "the directory refused the service account: {cause}"
                    )),
                    other => other,
                }),
            UserLookup::Template { .. } => Ok(()),
        };
        let _ = ldap.unbind().await;
        result
    }
}

fn first_value(entry: &SearchEntry, attribute: &str) -> Option<String> {
    entry
        .attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(attribute))
        .and_then(|(_, v)| v.first().cloned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template() -> DirectoryConfig {
        DirectoryConfig {
            url: "ldap://127.0.0.1:1".into(),
            starttls: false,
            ca_file: None,
            lookup: UserLookup::Template {
                dn_template: "uid={username},ou=people,dc=probity,dc=test".into(),
            },
            display_name_attribute: "displayName".into(),
            groups: GroupLookup::None,
            role_map: vec![GroupRole {
                group_dn: "CN=FR-Investigators, OU=groups,dc=probity,dc=test".into(),
                role: "fr_investigator".into(),
            }],
            timeout_seconds: 2,
            status: StatusCheck {
                reader_dn: Some("cn=probity-svc,ou=services,dc=probity,dc=test".into()),
                reader_password: SecretString("pw".into()),
                ..StatusCheck::default()
            },
        }
    }

    #[test]
    fn sec_01_bad_directory_settings_are_named() {
        let mut c = template();
        c.url = "http://dir".into();
        assert!(Directory::new(c)
            .unwrap_err()
            .to_string()
            .contains("ldap://"));
        let mut c = template();
        c.lookup = UserLookup::Template {
            dn_template: "uid=x,dc=probity".into(),
        };
        assert!(Directory::new(c)
            .unwrap_err()
            .to_string()
            .contains("{username}"));
        let mut c = template();
        c.lookup = UserLookup::Search {
            service_dn: "cn=svc".into(),
            service_password: SecretString(String::new()),
            base_dn: "dc=probity,dc=test".into(),
            filter: "(uid={username})".into(),
        };
        assert!(Directory::new(c).is_err());
    }

    #[test]
    fn sec_02_template_mode_needs_a_status_reader() {
        let mut c = template();
        c.status.reader_dn = None;
        let e = Directory::new(c).unwrap_err().to_string();
        assert!(
            e.contains("status.reader_dn") && e.contains("SEC-02"),
            "{e}"
        );
        let mut c = template();
        c.status.disabled_filter = "pwdAccountLockedTime=*".into();
        let e = Directory::new(c).unwrap_err().to_string();
        assert!(e.contains("disabled_filter"), "{e}");
    }

    #[test]
    fn sec_01_service_password_is_hidden_in_debug() {
        let s = UserLookup::Search {
            service_dn: "cn=svc".into(),
            service_password: SecretString("hunter2-service".into()),
            base_dn: "dc=x".into(),
            filter: "(uid={username})".into(),
        };
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn sec_02_roles_from_groups_ignore_case_and_spacing() {
        let d = Directory::new(template()).unwrap();
        let roles = d.roles_for(&["cn=fr-investigators,ou=groups,dc=probity,dc=test".into()]);
        assert_eq!(roles, vec!["fr_investigator".to_string()]);
        assert!(d
            .roles_for(&["cn=other,dc=probity,dc=test".into()])
            .is_empty());
    }

    #[tokio::test]
    async fn sec_01_empty_password_and_bad_usernames_refused_before_the_network() {
        // Port 1 on loopback has no directory: reaching the network would be Unavailable.
        let d = Directory::new(template()).unwrap();
        for (user, pw) in [
            ("jdoe", ""),
            ("", "pw"),
            ("jd\u{0}oe", "pw"),
            (" jdoe", "pw"),
        ] {
            let err = d.authenticate(user, pw).await.unwrap_err();
            assert!(
                matches!(err, AuthError::Refused { .. }),
                "{user:?}: {err:?}"
            );
        }
    }

    #[tokio::test]
    async fn sec_01_unreachable_directory_is_unavailable_not_refused() {
        let d = Directory::new(template()).unwrap();
        let err = d.authenticate("jdoe", "pw").await.unwrap_err();
        assert!(
            matches!(err, AuthError::DirectoryUnavailable { .. }),
            "{err:?}"
        );
        assert_eq!(err.http_status(), 503);
    }
}
