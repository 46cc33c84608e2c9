//! TLS for the server (SEC-03): a self-signed certificate for the demo, and a rustls
//! `ServerConfig` from PEM files.
//!
//! Crypto provider: `ring`, named explicitly (no process-wide default is relied on, so the
//! configuration builds the same whichever other rustls providers the workspace pulls in).
//! Protocols: TLS 1.3 and 1.2 with rustls' safe defaults. ALPN: `http/1.1` only, which every
//! HTTP server stack accepts; a server that also speaks HTTP/2 may set `alpn_protocols` on a
//! clone of the returned configuration.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{Datelike, Duration, Utc};
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::error::AuthError;

/// Where a certificate and its private key are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsPaths {
    /// PEM certificate chain (mode 0644).
    pub cert: PathBuf,
    /// PEM PKCS#8 private key (mode 0600).
    pub key: PathBuf,
}

impl TlsPaths {
    /// `cert.pem` and `key.pem` in `dir`.
    pub fn in_dir(dir: &Path) -> Self {
        TlsPaths {
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
        }
    }
}

fn io_err(path: &Path, source: std::io::Error) -> AuthError {
    AuthError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Generates a self-signed ECDSA P-256 certificate for the demo, valid for one year from
/// yesterday, with subject alternative names `localhost`, `127.0.0.1`, `::1` and any extra
/// `hostnames`, and writes it to `paths` (key with mode 0600, written atomically).
pub fn generate_self_signed(paths: &TlsPaths, hostnames: &[String]) -> Result<(), AuthError> {
    let mut sans = vec!["localhost".to_string(), "127.0.0.1".into(), "::1".into()];
    for h in hostnames {
        if !sans.contains(h) {
            sans.push(h.clone());
        }
    }
    let mut params = rcgen::CertificateParams::new(sans)
        .map_err(|e| AuthError::misconfigured(format!("certificate names: {e}")))?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Probity demonstration server");
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "Probity");
    let from = Utc::now() - Duration::days(1);
    let to = from + Duration::days(366);
    params.not_before = rcgen::date_time_ymd(from.year(), from.month() as u8, from.day() as u8);
    params.not_after = rcgen::date_time_ymd(to.year(), to.month() as u8, to.day() as u8);
    params.is_ca = rcgen::IsCa::NoCa;
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let key = rcgen::KeyPair::generate().map_err(|e| AuthError::Internal {
        cause: format!("key generation: {e}"),
    })?;
    let cert = params.self_signed(&key).map_err(|e| AuthError::Internal {
        cause: format!("certificate signing: {e}"),
    })?;
    write_private(&paths.key, key.serialize_pem().as_bytes())?;
    write_public(&paths.cert, cert.pem().as_bytes())?;
    Ok(())
}

/// Uses the certificate at `paths` if both files exist, otherwise generates a self-signed one
/// there (see [`generate_self_signed`]). Returns true when it generated a new one.
pub fn ensure_self_signed(paths: &TlsPaths, hostnames: &[String]) -> Result<bool, AuthError> {
    if paths.cert.is_file() && paths.key.is_file() {
        return Ok(false);
    }
    generate_self_signed(paths, hostnames)?;
    Ok(true)
}

fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Writes a secret file atomically with mode 0600 from its creation on.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), AuthError> {
    let dir = parent_of(path);
    fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
    // tempfile creates files with mode 0600 on Unix.
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| io_err(dir, e))?;
    tmp.write_all(bytes).map_err(|e| io_err(path, e))?;
    tmp.as_file().sync_all().map_err(|e| io_err(path, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o600))
            .map_err(|e| io_err(path, e))?;
    }
    tmp.persist(path).map_err(|e| io_err(path, e.error))?;
    Ok(())
}

fn write_public(path: &Path, bytes: &[u8]) -> Result<(), AuthError> {
    let dir = parent_of(path);
    fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| io_err(dir, e))?;
    tmp.write_all(bytes).map_err(|e| io_err(path, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o644))
            .map_err(|e| io_err(path, e))?;
    }
    tmp.persist(path).map_err(|e| io_err(path, e.error))?;
    Ok(())
}

/// Reads all certificates of a PEM file.
pub fn load_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, AuthError> {
    let bytes = fs::read(path).map_err(|e| io_err(path, e))?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            AuthError::misconfigured(format!(
                "{} is not a PEM certificate file: {e}",
                path.display()
            ))
        })?;
    if certs.is_empty() {
        return Err(AuthError::misconfigured(format!(
            "{} holds no certificate (expected -----BEGIN CERTIFICATE-----)",
            path.display()
        )));
    }
    Ok(certs)
}

fn load_private_key(path: &Path) -> Result<PrivateKeyDer<'static>, AuthError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = fs::metadata(path).map_err(|e| io_err(path, e))?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o007 != 0 {
            return Err(AuthError::misconfigured(format!(
                "private key {} is readable by every user (mode {mode:o}); run chmod 600 on it",
                path.display()
            )));
        }
    }
    let bytes = fs::read(path).map_err(|e| io_err(path, e))?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| {
        AuthError::misconfigured(format!(
            "{} is not a PEM private key (PKCS#8, PKCS#1 or SEC1): {e}",
            path.display()
        ))
    })
}

/// The rustls server configuration for the certificate chain and key in the given PEM files.
pub fn tls_server_config(
    cert_path: &Path,
    key_path: &Path,
) -> Result<Arc<ServerConfig>, AuthError> {
    let certs = load_certificates(cert_path)?;
    let key = load_private_key(key_path)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| AuthError::misconfigured(format!("TLS protocol versions: {e}")))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            AuthError::misconfigured(format!(
                "certificate {} and key {} do not form a usable pair: {e}",
                cert_path.display(),
                key_path.display()
            ))
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A rustls client configuration trusting the certificates in `ca_pem` (or, with `None`, the
/// operating system's trust store). Used for `ldaps://` and StartTLS to the directory.
pub fn tls_client_config(ca_pem: Option<&Path>) -> Result<Arc<rustls::ClientConfig>, AuthError> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_pem {
        Some(path) => {
            for cert in load_certificates(path)? {
                roots.add(cert).map_err(|e| {
                    AuthError::misconfigured(format!(
                        "CA certificate in {} is unusable: {e}",
                        path.display()
                    ))
                })?;
            }
        }
        None => {
            let native = rustls_native_certs::load_native_certs();
            for cert in native.certs {
                // Certificates the system store holds but rustls cannot parse are skipped.
                let _ = roots.add(cert);
            }
            if roots.is_empty() {
                return Err(AuthError::misconfigured(
                    "no trusted CA certificates found in the system store; set the directory's CA file",
                ));
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| AuthError::misconfigured(format!("TLS protocol versions: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sec_03_self_signed_key_is_private_and_loads() {
        let dir = tempfile::tempdir().unwrap();
        let paths = TlsPaths::in_dir(&dir.path().join("tls"));
        assert!(ensure_self_signed(&paths, &["probity.test".into()]).unwrap());
        assert!(!ensure_self_signed(&paths, &[]).unwrap());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&paths.key).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let key_text = fs::read_to_string(&paths.key).unwrap();
        assert!(key_text.contains("PRIVATE KEY"));
        let config = tls_server_config(&paths.cert, &paths.key).unwrap();
        assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
    }

    #[cfg(unix)]
    #[test]
    fn sec_03_world_readable_key_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let paths = TlsPaths::in_dir(dir.path());
        generate_self_signed(&paths, &[]).unwrap();
        fs::set_permissions(&paths.key, fs::Permissions::from_mode(0o644)).unwrap();
        let err = tls_server_config(&paths.cert, &paths.key).unwrap_err();
        assert!(err.to_string().contains("chmod 600"), "{err}");
    }

    #[test]
    fn sec_03_missing_or_garbage_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.pem");
        let err = tls_server_config(&missing, &missing).unwrap_err();
        assert!(err.to_string().contains("nope.pem"), "{err}");
        let garbage = dir.path().join("garbage.pem");
        fs::write(&garbage, "hello").unwrap();
        let err = tls_server_config(&garbage, &garbage).unwrap_err();
        assert!(err.to_string().contains("garbage.pem"), "{err}");
        // A key that does not belong to the certificate.
        let a = TlsPaths::in_dir(&dir.path().join("a"));
        let b = TlsPaths::in_dir(&dir.path().join("b"));
        generate_self_signed(&a, &[]).unwrap();
        generate_self_signed(&b, &[]).unwrap();
        assert!(tls_server_config(&a.cert, &b.key).is_err());
    }
}
