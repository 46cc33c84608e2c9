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
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Serve HTTPS. A self-signed certificate is generated in `data_dir/tls` when no files are given.
    pub tls: bool,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Networks from which a session does not need a second factor (SEC-01). CIDR notation.
    pub local_networks: Vec<String>,
    /// Largest accepted request body in bytes (uploads included).
    pub max_body_bytes: usize,
    /// Session lifetime in minutes.
    pub session_minutes: i64,
    /// Failed sign-ins before the account is locked, and for how long (minutes).
    pub lockout_threshold: u32,
    pub lockout_minutes: i64,
    /// LDAP / Active Directory; when set, no password is stored locally (SEC-01).
    pub ldap: Option<probity_auth::ldap::DirectoryConfig>,
    /// The agency's commands. Which of them is the Intelligence Division decides who may work on
    /// investigations involving political activity (FR-25).
    pub commands: Vec<CommandSection>,
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
            listen: SocketAddr::from(([127, 0, 0, 1], 8443)),
            tls: true,
            tls_cert: None,
            tls_key: None,
            local_networks: vec!["127.0.0.0/8".into(), "::1/128".into(), "10.0.0.0/8".into()],
            max_body_bytes: 64 * 1024 * 1024,
            session_minutes: 8 * 60,
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
        if let Ok(v) = std::env::var("PROBITY_LISTEN") {
            config.listen = v.parse().map_err(|e| ConfigError::Env {
                name: "PROBITY_LISTEN",
                message: format!("{e}"),
            })?;
        }
        Ok(config)
    }
}
