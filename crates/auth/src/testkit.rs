//! A real OpenLDAP server (Debian `slapd`) for tests of this crate and of the crates above it.
//!
//! [`Slapd::start`] writes a `slapd.conf` (mdb backend, `memberof` overlay) into a temporary
//! directory, starts `slapd` in the foreground on a free loopback port, loads the fixture
//! directory with `ldapadd`, and stops the server when the value is dropped. Never used at run
//! time by the server.
//!
//! Fixture (base `dc=probity,dc=test`):
//! - `uid=jdoe,ou=people,...` "Det. Jane Doe", password [`JDOE_PASSWORD`], member of
//!   `cn=fr-investigators,ou=groups,...`;
//! - `uid=rroe,ou=people,...` "Sgt. Richard Roe", password [`RROE_PASSWORD`], no group;
//! - `cn=probity-svc,ou=services,...`, the service account for search-then-bind, password
//!   [`SERVICE_PASSWORD`].
//!
//! The server is configured with `allow bind_anon_dn`, so, like Active Directory, it answers a
//! bind with a DN and an empty password as a successful anonymous bind: the trap
//! [`crate::ldap`] must not fall into.

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::tls::{generate_self_signed, TlsPaths};

/// Base DN of the fixture.
pub const BASE_DN: &str = "dc=probity,dc=test";
/// Password of `uid=jdoe`.
pub const JDOE_PASSWORD: &str = "jane-doe-directory-pw";
/// Password of `uid=rroe`.
pub const RROE_PASSWORD: &str = "richard-roe-directory-pw";
/// Password of the service account `cn=probity-svc,ou=services`.
pub const SERVICE_PASSWORD: &str = "service-account-pw-1";
/// DN of the service account.
pub const SERVICE_DN: &str = "cn=probity-svc,ou=services,dc=probity,dc=test";
/// DN of the group jdoe belongs to.
pub const FR_GROUP_DN: &str = "cn=fr-investigators,ou=groups,dc=probity,dc=test";
const ADMIN_DN: &str = "cn=admin,dc=probity,dc=test";
const ADMIN_PASSWORD: &str = "fixture-admin-pw";

const SLAPD: &str = "/usr/sbin/slapd";

/// A running `slapd`, stopped on drop.
pub struct Slapd {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
    tls_port: Option<u16>,
    tls: Option<TlsPaths>,
}

/// Why the fixture server could not be started. The message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum SlapdError {
    /// slapd or ldap-utils missing.
    #[error("{0} is not installed: run scripts/setup (it installs the Debian packages slapd and ldap-utils)")]
    NotInstalled(String),
    /// slapd failed to start or load the fixture.
    #[error("the test OpenLDAP server failed: {0}")]
    Failed(String),
}

fn tool(name: &str) -> Result<PathBuf, SlapdError> {
    for dir in ["/usr/sbin", "/usr/bin", "/sbin", "/bin"] {
        let p = Path::new(dir).join(name);
        if p.is_file() {
            return Ok(p);
        }
    }
    Err(SlapdError::NotInstalled(name.to_string()))
}

fn free_port() -> Result<u16, SlapdError> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| SlapdError::Failed(e.to_string()))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| SlapdError::Failed(e.to_string()))
}

fn hash_password(slappasswd: &Path, password: &str) -> Result<String, SlapdError> {
    let out = Command::new(slappasswd)
        .args(["-h", "{SSHA}", "-s", password])
        .output()
        .map_err(|e| SlapdError::Failed(format!("slappasswd: {e}")))?;
    if !out.status.success() {
        return Err(SlapdError::Failed(format!(
            "slappasswd: {}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

impl Slapd {
    /// Starts a plain `ldap://` server with the fixture loaded.
    pub fn start() -> Result<Slapd, SlapdError> {
        Slapd::start_inner(false)
    }

    /// Starts a server that also listens on `ldaps://` with a freshly generated self-signed
    /// certificate for `localhost`/`127.0.0.1` (see [`Slapd::ca_file`]).
    pub fn start_with_tls() -> Result<Slapd, SlapdError> {
        Slapd::start_inner(true)
    }

    fn start_inner(tls: bool) -> Result<Slapd, SlapdError> {
        if !Path::new(SLAPD).is_file() {
            return Err(SlapdError::NotInstalled("slapd (OpenLDAP server)".into()));
        }
        let ldapadd = tool("ldapadd")?;
        let slappasswd = tool("slappasswd")?;
        let mut last = String::new();
        // A free port can be taken by someone else between probing and binding: retry.
        for _ in 0..5 {
            match Slapd::try_start(tls, &ldapadd, &slappasswd) {
                Ok(s) => return Ok(s),
                Err(SlapdError::Failed(why)) => last = why,
                Err(e) => return Err(e),
            }
        }
        Err(SlapdError::Failed(last))
    }

    fn try_start(tls: bool, ldapadd: &Path, slappasswd: &Path) -> Result<Slapd, SlapdError> {
        let fail = |e: std::io::Error| SlapdError::Failed(e.to_string());
        let dir = tempfile::tempdir().map_err(fail)?;
        let db = dir.path().join("db");
        std::fs::create_dir(&db).map_err(fail)?;
        let port = free_port()?;
        let tls_port = if tls { Some(free_port()?) } else { None };
        let tls_paths = if tls {
            let paths = TlsPaths::in_dir(&dir.path().join("tls"));
            generate_self_signed(&paths, &[]).map_err(|e| SlapdError::Failed(e.to_string()))?;
            Some(paths)
        } else {
            None
        };
        let d = dir.path().display();
        let tls_conf = match &tls_paths {
            Some(p) => format!(
                "TLSCertificateFile {}\nTLSCertificateKeyFile {}\n",
                p.cert.display(),
                p.key.display()
            ),
            None => String::new(),
        };
        let conf = format!(
            "include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
pidfile {d}/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
moduleload ppolicy
allow bind_anon_dn
{tls_conf}access to attrs=userPassword by self write by anonymous auth by * none
access to * by self read by users read by anonymous auth
database mdb
maxsize 16777216
suffix \"{BASE_DN}\"
rootdn \"{ADMIN_DN}\"
rootpw {ADMIN_PASSWORD}
directory {d}/db
overlay memberof
memberof-group-oc groupOfNames
memberof-member-ad member
memberof-memberof-ad memberOf
memberof-refint TRUE
overlay ppolicy
"
        );
        let conf_path = dir.path().join("slapd.conf");
        std::fs::write(&conf_path, conf).map_err(fail)?;
        let mut urls = format!("ldap://127.0.0.1:{port}/");
        if let Some(tp) = tls_port {
            urls.push_str(&format!(" ldaps://127.0.0.1:{tp}/"));
        }
        let log = std::fs::File::create(dir.path().join("slapd.log")).map_err(fail)?;
        let log2 = log.try_clone().map_err(fail)?;
        let child = Command::new(SLAPD)
            .arg("-f")
            .arg(&conf_path)
            .args(["-h", &urls, "-d", "0"])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .map_err(|e| SlapdError::Failed(format!("cannot run {SLAPD}: {e}")))?;
        let mut server = Slapd {
            child,
            dir,
            port,
            tls_port,
            tls: tls_paths,
        };
        server.wait_ready()?;
        server.load_fixture(ldapadd, slappasswd)?;
        Ok(server)
    }

    fn log_text(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = std::fs::File::open(self.dir.path().join("slapd.log")) {
            let _ = f.read_to_string(&mut s);
        }
        s
    }

    fn wait_ready(&mut self) -> Result<(), SlapdError> {
        let deadline = Instant::now() + Duration::from_secs(15);
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(SlapdError::Failed(format!(
                    "slapd exited with {status}: {}",
                    self.log_text()
                )));
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(SlapdError::Failed(format!(
                    "slapd did not listen on {addr} within 15 s: {}",
                    self.log_text()
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn load_fixture(&self, ldapadd: &Path, slappasswd: &Path) -> Result<(), SlapdError> {
        let jdoe = hash_password(slappasswd, JDOE_PASSWORD)?;
        let rroe = hash_password(slappasswd, RROE_PASSWORD)?;
        let svc = hash_password(slappasswd, SERVICE_PASSWORD)?;
        let ldif = format!(
            "dn: {BASE_DN}
objectClass: dcObject
objectClass: organization
o: Probity
dc: probity

dn: ou=people,{BASE_DN}
objectClass: organizationalUnit
ou: people

dn: ou=groups,{BASE_DN}
objectClass: organizationalUnit
ou: groups

dn: ou=services,{BASE_DN}
objectClass: organizationalUnit
ou: services

dn: uid=jdoe,ou=people,{BASE_DN}
objectClass: inetOrgPerson
uid: jdoe
cn: Jane Doe
sn: Doe
displayName: Det. Jane Doe
userPassword: {jdoe}

dn: uid=rroe,ou=people,{BASE_DN}
objectClass: inetOrgPerson
uid: rroe
cn: Richard Roe
sn: Roe
displayName: Sgt. Richard Roe
userPassword: {rroe}

dn: {SERVICE_DN}
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: probity-svc
userPassword: {svc}

dn: {FR_GROUP_DN}
objectClass: groupOfNames
cn: fr-investigators
member: uid=jdoe,ou=people,{BASE_DN}
"
        );
        self.ldapadd(ldapadd, &ldif)
    }

    fn ldapadd(&self, ldapadd: &Path, ldif: &str) -> Result<(), SlapdError> {
        let path = self.dir.path().join("load.ldif");
        std::fs::write(&path, ldif).map_err(|e| SlapdError::Failed(e.to_string()))?;
        let out = Command::new(ldapadd)
            .args([
                "-x",
                "-H",
                &self.url(),
                "-D",
                ADMIN_DN,
                "-w",
                ADMIN_PASSWORD,
                "-f",
            ])
            .arg(&path)
            .output()
            .map_err(|e| SlapdError::Failed(format!("ldapadd: {e}")))?;
        if !out.status.success() {
            return Err(SlapdError::Failed(format!(
                "ldapadd: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        Ok(())
    }

    /// Applies changes (LDIF with `changetype`) as the directory administrator.
    pub fn modify_ldif(&self, ldif: &str) -> Result<(), SlapdError> {
        let path = self.dir.path().join("modify.ldif");
        std::fs::write(&path, ldif).map_err(|e| SlapdError::Failed(e.to_string()))?;
        let out = Command::new(tool("ldapmodify")?)
            .args([
                "-x",
                "-H",
                &self.url(),
                "-D",
                ADMIN_DN,
                "-w",
                ADMIN_PASSWORD,
                "-f",
            ])
            .arg(&path)
            .output()
            .map_err(|e| SlapdError::Failed(format!("ldapmodify: {e}")))?;
        if !out.status.success() {
            return Err(SlapdError::Failed(format!(
                "ldapmodify: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        Ok(())
    }

    /// Disables `uid=<uid>` as an administrator does with the password-policy overlay: the
    /// permanent lock `pwdAccountLockedTime: 000001010000Z`.
    pub fn disable_person(&self, uid: &str) -> Result<(), SlapdError> {
        self.modify_ldif(&format!(
            "dn: uid={uid},ou=people,{BASE_DN}\nchangetype: modify\nadd: pwdAccountLockedTime\npwdAccountLockedTime: 000001010000Z\n"
        ))
    }

    /// Lifts the lock [`Slapd::disable_person`] set.
    pub fn enable_person(&self, uid: &str) -> Result<(), SlapdError> {
        self.modify_ldif(&format!(
            "dn: uid={uid},ou=people,{BASE_DN}\nchangetype: modify\ndelete: pwdAccountLockedTime\n"
        ))
    }

    /// Removes `uid=<uid>` from the directory.
    pub fn delete_person(&self, uid: &str) -> Result<(), SlapdError> {
        self.modify_ldif(&format!(
            "dn: uid={uid},ou=people,{BASE_DN}\nchangetype: delete\n"
        ))
    }

    /// Adds entries (LDIF text) as the directory administrator.
    pub fn add_ldif(&self, ldif: &str) -> Result<(), SlapdError> {
        self.ldapadd(&tool("ldapadd")?, ldif)
    }

    /// `ldap://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }

    /// `ldaps://localhost:<port>` when started with TLS.
    pub fn ldaps_url(&self) -> Option<String> {
        self.tls_port.map(|p| format!("ldaps://localhost:{p}"))
    }

    /// The server's self-signed certificate, to trust as CA, when started with TLS.
    pub fn ca_file(&self) -> Option<&Path> {
        self.tls.as_ref().map(|t| t.cert.as_path())
    }

    /// `uid=<uid>,ou=people,dc=probity,dc=test`.
    pub fn people_dn_template() -> String {
        format!("uid={{username}},ou=people,{BASE_DN}")
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_slapd_message_says_to_run_setup() {
        let e = SlapdError::NotInstalled("slapd (OpenLDAP server)".into());
        assert!(e.to_string().contains("run scripts/setup"), "{e}");
    }
}
