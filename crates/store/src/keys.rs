//! Key material kept in the data directory: the master key that wraps every blob's data key,
//! and the server's Ed25519 signing key. Both files are created on first run with mode 0600
//! and refused when group or others can read them.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::{Result, StoreError};

pub const MASTER_KEY_FILE: &str = "master.key";
pub const SERVER_KEY_FILE: &str = "server.ed25519";

/// The 256-bit key that wraps the per-object data keys.
pub(crate) struct MasterKey {
    pub(crate) key: [u8; 32],
    pub(crate) id: String,
}

impl MasterKey {
    pub(crate) fn load_or_create(data_dir: &Path, from_env: Option<&str>) -> Result<MasterKey> {
        let key = match from_env {
            Some(b64) => decode_master(b64.trim(), "PROBITY_MASTER_KEY")?,
            None => {
                let path = data_dir.join(MASTER_KEY_FILE);
                let text = read_or_create_secret(&path, || {
                    let mut k = [0u8; 32];
                    rand::rngs::OsRng.fill_bytes(&mut k);
                    let mut s = base64::engine::general_purpose::STANDARD.encode(k);
                    s.push('\n');
                    s.into_bytes()
                })?;
                let text = String::from_utf8(text).map_err(|_| {
                    StoreError::Key(format!("{} is not base64 text", path.display()))
                })?;
                decode_master(text.trim(), &path.display().to_string())?
            }
        };
        let digest = Sha256::new()
            .chain_update(b"probity-master-key-id-v1")
            .chain_update(key)
            .finalize();
        Ok(MasterKey {
            key,
            id: hex::encode(&digest[..8]),
        })
    }
}

fn decode_master(b64: &str, origin: &str) -> Result<[u8; 32]> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| StoreError::Key(format!("master key from {origin} is not valid base64")))?;
    bytes.try_into().map_err(|_| {
        StoreError::Key(format!(
            "master key from {origin} must be exactly 32 bytes (base64 of 32 random bytes)"
        ))
    })
}

/// The server's Ed25519 identity: signs audit checkpoints and the chain head; other crates
/// use it to sign manifests (for example discovery manifests). Cheap to clone.
#[derive(Clone)]
pub struct ServerKeys {
    inner: Arc<ServerKeysInner>,
}

struct ServerKeysInner {
    signing: SigningKey,
    key_id: String,
    path: PathBuf,
}

impl std::fmt::Debug for ServerKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerKeys")
            .field("key_id", &self.inner.key_id)
            .field("path", &self.inner.path)
            .finish()
    }
}

impl ServerKeys {
    /// Loads `<data_dir>/server.ed25519` (PKCS#8 PEM), creating it on first run (mode 0600).
    pub fn load_or_create(data_dir: &Path) -> Result<ServerKeys> {
        let path = data_dir.join(SERVER_KEY_FILE);
        let pem = read_or_create_secret(&path, || {
            let mut seed = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut seed);
            let key = SigningKey::from_bytes(&seed);
            match key.to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF) {
                Ok(p) => p.as_bytes().to_vec(),
                Err(_) => Vec::new(),
            }
        })?;
        let pem = std::str::from_utf8(&pem)
            .map_err(|_| StoreError::Key(format!("{} is not PEM text", path.display())))?;
        let signing = SigningKey::from_pkcs8_pem(pem).map_err(|e| {
            StoreError::Key(format!(
                "{} is not an Ed25519 PKCS#8 PEM key ({e}); restore it from backup",
                path.display()
            ))
        })?;
        let key_id = key_id_of(&signing.verifying_key());
        Ok(ServerKeys {
            inner: Arc::new(ServerKeysInner {
                signing,
                key_id,
                path,
            }),
        })
    }

    /// Signs `message` with the server key (64-byte Ed25519 signature).
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.inner.signing.sign(message).to_bytes()
    }

    /// Checks a signature made by [`ServerKeys::sign`].
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match ed25519_dalek::Signature::from_slice(signature) {
            Ok(sig) => self.verifying_key().verify(message, &sig).is_ok(),
            Err(_) => false,
        }
    }

    /// The public half.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.inner.signing.verifying_key()
    }

    /// Raw 32-byte public key, base64.
    pub fn public_key_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.verifying_key().to_bytes())
    }

    /// Short identifier of the public key (first 8 bytes of its SHA-256, hex).
    pub fn key_id(&self) -> &str {
        &self.inner.key_id
    }
}

fn key_id_of(vk: &VerifyingKey) -> String {
    let d = Sha256::digest(vk.to_bytes());
    hex::encode(&d[..8])
}

/// Reads a secret file, refusing it if group/others have any access; creates it (mode
/// 0600, fsynced, directory fsynced) with `make()` when absent.
fn read_or_create_secret(path: &Path, make: impl FnOnce() -> Vec<u8>) -> Result<Vec<u8>> {
    match std::fs::metadata(path) {
        Ok(meta) => {
            check_private(path, &meta)?;
            std::fs::read(path).map_err(|e| StoreError::io(path, e))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let contents = make();
            if contents.is_empty() {
                return Err(StoreError::Key(format!(
                    "could not generate {}",
                    path.display()
                )));
            }
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            match opts.open(path) {
                Ok(mut f) => {
                    f.write_all(&contents)
                        .map_err(|e| StoreError::io(path, e))?;
                    f.sync_all().map_err(|e| StoreError::io(path, e))?;
                    if let Some(dir) = path.parent() {
                        sync_dir(dir)?;
                    }
                    Ok(contents)
                }
                // Another process created it first: use theirs.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    std::fs::read(path).map_err(|e| StoreError::io(path, e))
                }
                Err(e) => Err(StoreError::io(path, e)),
            }
        }
        Err(e) => Err(StoreError::io(path, e)),
    }
}

#[cfg(unix)]
fn check_private(path: &Path, meta: &std::fs::Metadata) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(StoreError::Key(format!(
            "{} has mode {mode:o}; key files must be readable by the service account only \
             (run: chmod 600 {})",
            path.display(),
            path.display()
        )));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path, _meta: &std::fs::Metadata) -> Result<()> {
    Ok(())
}

pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        let f = std::fs::File::open(dir).map_err(|e| StoreError::io(dir, e))?;
        f.sync_all().map_err(|e| StoreError::io(dir, e))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}
