//! Server configuration: a TOML file, then `PROBITY_*` environment variables, then command-line flags.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where the embedded database, the encrypted evidence store and the keys live.
    pub data_dir: PathBuf,
    /// `postgres://...` for the multi-node backend; unset means SQLite in `data_dir`.
    pub database_url: Option<String>,
    /// `s3://bucket/prefix` to keep the encrypted blobs in an S3-compatible object store (endpoint,
    /// region and credentials from the `AWS_*` environment variables, as the AWS SDKs read them);
    /// unset means the local folder `data_dir/blobs`. Either way the store holds ciphertext only.
    pub blob_url: Option<String>,
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Serve HTTPS. A self-signed certificate is generated in `data_dir/tls` when no files are given.
    pub tls: bool,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Networks from which a session does not need a second factor (SEC-01). CIDR notation.
    pub local_networks: Vec<String>,
    /// Reverse proxies (CIDR notation) whose `X-Forwarded-For` is believed: from them, the client
    /// address is the rightmost entry that is not itself a trusted proxy, and that address decides
    /// local or remote (SEC-01). Empty (the default): the header is ignored, the TCP peer is the
    /// client.
    pub trusted_proxies: Vec<String>,
    /// Largest accepted request body in bytes (uploads included).
    pub max_body_bytes: usize,
    /// Session lifetime in minutes.
    pub session_minutes: i64,
    /// Lifetime of a half-open sign-in waiting for its second factor, in minutes (SEC-01).
    pub second_factor_pending_minutes: i64,
    /// Codes that may be tried against one half-open sign-in before it is ended (SEC-01). Each
    /// wrong code also counts toward the account's lockout.
    pub second_factor_attempts: u32,
    /// Failed sign-ins before the account is locked, and for how long (minutes).
    pub lockout_threshold: u32,
    pub lockout_minutes: i64,
    /// LDAP / Active Directory; when set, no password is stored locally (SEC-01).
    pub ldap: Option<probity_auth::ldap::DirectoryConfig>,
    /// The agency's commands. Which of them is the Intelligence Division decides who may work on
    /// investigations involving political activity (FR-25).
    pub commands: Vec<CommandSection>,
    /// Run the periodic jobs (retention runs) inside `probity serve`; no cron is needed. Safe on
    /// many nodes: a job is claimed under a lease in the database, so it never runs twice at once.
    pub scheduler_enabled: bool,
    /// How often each periodic job runs, in seconds (default 86400, a day).
    pub scheduler_interval_secs: u64,
    /// The time of day (UTC, `HH:MM`) the jobs' slots are aligned to; unset: a job first runs
    /// when the scheduler starts, then every interval.
    pub scheduler_time_of_day: Option<String>,
    /// How long a node's claim on a running job holds without a heartbeat, in seconds (default
    /// 1800; at least 5). The running node extends it every sixth of that; a node that dies
    /// leaves it to expire, and another node takes the job over from its checkpoint. Shorter
    /// means faster failover and more heartbeat writes.
    pub scheduler_lease_secs: u64,
    /// The SMTP relay the server's e-mail goes through (breach escalations, EXT-05), as `host` or
    /// `host:port` (port 25 when none is given), plain SMTP as relays inside the network take it.
    /// Unset (the default): nothing is sent, and each escalation is recorded "not sent: no relay
    /// configured".
    pub smtp_relay: Option<String>,
    /// The sender address of that e-mail.
    pub mail_from: String,
    /// Where the breach clock escalates at 12 and 20 hours after discovery (EXT-05), e.g. the
    /// Agency Privacy Officer's and the Chief Privacy Officer's liaison addresses.
    pub breach_escalation_to: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandSection {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub intelligence_division: bool,
}

impl CommandSection {
    fn new(code: &str, name: &str, intelligence_division: bool) -> Self {
        CommandSection {
            code: code.into(),
            name: name.into(),
            intelligence_division,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from(".probity"),
            database_url: None,
            blob_url: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 8443)),
            tls: true,
            tls_cert: None,
            tls_key: None,
            local_networks: vec!["127.0.0.0/8".into(), "::1/128".into(), "10.0.0.0/8".into()],
            trusted_proxies: Vec::new(),
            max_body_bytes: 64 * 1024 * 1024,
            session_minutes: 8 * 60,
            second_factor_pending_minutes: 5,
            second_factor_attempts: 5,
            lockout_threshold: 5,
            lockout_minutes: 15,
            ldap: None,
            commands: vec![
                CommandSection::new("PCT-019", "19th Precinct", false),
                CommandSection::new(
                    "DB-FIS",
                    "Detective Bureau, Facial Identification Section",
                    false,
                ),
                CommandSection::new("INTEL", "Intelligence Division", true),
                CommandSection::new(
                    "HQ",
                    "Headquarters: offices of the Chief of Department and the Chief of Detectives, DCI",
                    false,
                ),
                CommandSection::new("IAB", "Internal Affairs Bureau", false),
                CommandSection::new("LEGAL", "Legal Bureau", false),
                CommandSection::new("RECORDS", "Records Management", false),
                CommandSection::new("MISD", "Management Information Systems Division", false),
                CommandSection::new("VENDOR", "Contractors", false),
            ],
            scheduler_enabled: true,
            scheduler_interval_secs: 24 * 60 * 60,
            scheduler_time_of_day: None,
            scheduler_lease_secs: 30 * 60,
            smtp_relay: None,
            mail_from: "probity@localhost".into(),
            breach_escalation_to: Vec::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("configuration file {path} is invalid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("environment variable {name} is invalid: {message}")]
    Env { name: &'static str, message: String },
}

impl Config {
    /// Loads the file (if given), then applies environment overrides.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        let mut config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                })?;
                toml::from_str(&text).map_err(|e| ConfigError::Parse {
                    path: path.to_path_buf(),
                    message: e.to_string(),
                })?
            }
            None => Config::default(),
        };
        if let Ok(v) = std::env::var("PROBITY_DATA_DIR") {
            config.data_dir = PathBuf::from(v);
        }
        if let Ok(v) = std::env::var("PROBITY_DATABASE_URL") {
            config.database_url = Some(v);
        }
        if let Ok(v) = std::env::var("PROBITY_BLOB_URL") {
            config.blob_url = Some(v).filter(|v| !v.trim().is_empty());
        }
        if let Ok(v) = std::env::var("PROBITY_LISTEN") {
            config.listen = v.parse().map_err(|e| ConfigError::Env {
                name: "PROBITY_LISTEN",
                message: format!("{e}"),
            })?;
        }
        if let Ok(v) = std::env::var("PROBITY_SCHEDULER_ENABLED") {
            config.scheduler_enabled = match v.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => true,
                "0" | "false" | "no" | "off" => false,
                _ => {
                    return Err(ConfigError::Env {
                        name: "PROBITY_SCHEDULER_ENABLED",
                        message: format!("{v:?} is not true or false"),
                    })
                }
            };
        }
        if let Ok(v) = std::env::var("PROBITY_SCHEDULER_INTERVAL_SECS") {
            config.scheduler_interval_secs = v.trim().parse().map_err(|e| ConfigError::Env {
                name: "PROBITY_SCHEDULER_INTERVAL_SECS",
                message: format!("{e}"),
            })?;
        }
        if let Ok(v) = std::env::var("PROBITY_SCHEDULER_LEASE_SECS") {
            config.scheduler_lease_secs = v.trim().parse().map_err(|e| ConfigError::Env {
                name: "PROBITY_SCHEDULER_LEASE_SECS",
                message: format!("{e}"),
            })?;
        }
        if let Ok(v) = std::env::var("PROBITY_SCHEDULER_TIME_OF_DAY") {
            config.scheduler_time_of_day = Some(v).filter(|v| !v.trim().is_empty());
        }
        if let Ok(v) = std::env::var("PROBITY_SMTP_RELAY") {
            config.smtp_relay = Some(v).filter(|v| !v.trim().is_empty());
        }
        if let Ok(v) = std::env::var("PROBITY_MAIL_FROM") {
            config.mail_from = v.trim().to_string();
        }
        if let Ok(v) = std::env::var("PROBITY_BREACH_ESCALATION_TO") {
            config.breach_escalation_to = v
                .split(',')
                .map(|a| a.trim().to_string())
                .filter(|a| !a.is_empty())
                .collect();
        }
        if let Err(message) = config.check() {
            return Err(ConfigError::Parse {
                path: file.map(Path::to_path_buf).unwrap_or_default(),
                message,
            });
        }
        Ok(config)
    }

    /// Checks the sign-in settings: every network is a CIDR block, lifetimes and limits are
    /// positive.
    pub fn check(&self) -> Result<(), String> {
        probity_auth::NetworkConfig::from_cidrs(&self.local_networks)
            .map_err(|e| format!("local_networks: {e}"))?;
        probity_auth::NetworkConfig::from_cidrs(&self.trusted_proxies)
            .map_err(|e| format!("trusted_proxies: {e}"))?;
        if self.session_minutes < 1 || self.second_factor_pending_minutes < 1 {
            return Err(
                "session_minutes and second_factor_pending_minutes must be at least 1".into(),
            );
        }
        if self.second_factor_attempts < 1 {
            return Err("second_factor_attempts must be at least 1".into());
        }
        if self.scheduler_interval_secs < 60 {
            return Err("scheduler_interval_secs must be at least 60".into());
        }
        if self.scheduler_lease_secs < 5 {
            return Err("scheduler_lease_secs must be at least 5".into());
        }
        self.scheduler_time()?;
        self.smtp_relay_address()?;
        self.blob_store()?;
        for a in std::iter::once(&self.mail_from).chain(&self.breach_escalation_to) {
            a.parse::<lettre::Address>()
                .map_err(|e| format!("{a:?} is not an e-mail address: {e}"))?;
        }
        Ok(())
    }

    /// The scheduler's time of day (UTC), if one is configured; an error names a value that is
    /// not `HH:MM`.
    pub fn scheduler_time(&self) -> Result<Option<chrono::NaiveTime>, String> {
        match self.scheduler_time_of_day.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(t) => chrono::NaiveTime::parse_from_str(t, "%H:%M")
                .map(Some)
                .map_err(|_| {
                    format!("scheduler_time_of_day: {t:?} is not a UTC time of day as HH:MM")
                }),
        }
    }

    /// The object store of `blob_url` (nothing is contacted yet); `None` for the local folder. An
    /// error names a URL that is not `s3://bucket/prefix`.
    pub fn blob_store(
        &self,
    ) -> Result<Option<std::sync::Arc<dyn probity_store::blobs::ObjectStore>>, String> {
        match self.blob_url.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(url) => probity_store::blobs::object_store_from_url(url)
                .map(Some)
                .map_err(|e| format!("blob_url: {e}")),
        }
    }

    /// The SMTP relay as (host, port), if one is configured.
    pub fn smtp_relay_address(&self) -> Result<Option<(String, u16)>, String> {
        let Some(relay) = self
            .smtp_relay
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
        else {
            return Ok(None);
        };
        match relay.rsplit_once(':') {
            Some((host, port)) if !host.contains(':') || host.ends_with(']') => {
                let port = port
                    .parse::<u16>()
                    .map_err(|_| format!("smtp_relay: {port:?} is not a port"))?;
                Ok(Some((host.trim_matches(['[', ']']).to_string(), port)))
            }
            _ => Ok(Some((relay.to_string(), 25))),
        }
    }

    /// The trusted reverse proxies. An entry that does not parse (only possible when the
    /// configuration was built without [`Config::check`]) trusts no proxy at all: the TCP peer is
    /// then the client, which can only make callers look remote, never local.
    pub fn trusted_proxy_networks(&self) -> probity_auth::NetworkConfig {
        probity_auth::NetworkConfig::from_cidrs(&self.trusted_proxies).unwrap_or_else(|e| {
            tracing::error!(error = %e, "trusted_proxies is invalid; trusting no proxy");
            probity_auth::NetworkConfig {
                local_networks: Vec::new(),
            }
        })
    }
}
