//! Sign-in cost on this machine: Argon2id hashing at the default parameters against the
//! reference C implementation (Debian `argon2` tool, same parameters), TOTP checks, token
//! issue, and directory binds against a real slapd.
//!
//! Run: `cargo bench -p probity-auth --bench auth` (needs the `argon2`, `slapd` and
//! `ldap-utils` Debian packages for the comparison rows; missing tools are reported).

use std::process::{Command, Stdio};
use std::time::Instant;

use probity_auth::testkit::{Slapd, JDOE_PASSWORD, SERVICE_DN, SERVICE_PASSWORD};
use probity_auth::{
    Directory, DirectoryConfig, GroupLookup, IssuedToken, PasswordService, SecretString,
    StatusCheck, TokenKind, TotpSecret, UserLookup,
};

const HASHES: u32 = 30;

fn ours_argon2() -> f64 {
    let svc = PasswordService::default();
    let phc = svc
        .hash("bench", "correct horse battery")
        .unwrap_or_default();
    let start = Instant::now();
    for _ in 0..HASHES {
        let _ = svc.verify(Some(&phc), "correct horse battery");
    }
    start.elapsed().as_secs_f64() / f64::from(HASHES)
}

/// Mean seconds per hash reported by the reference tool (it times the hash itself).
fn reference_argon2() -> Option<f64> {
    let mut total = 0.0;
    for _ in 0..HASHES {
        let mut child = Command::new("argon2")
            .args([
                "somesaltsomesalt",
                "-id",
                "-t",
                "2",
                "-k",
                "19456",
                "-p",
                "1",
                "-l",
                "32",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .ok()?;
        if let Some(stdin) = child.stdin.as_mut() {
            use std::io::Write;
            stdin.write_all(b"correct horse battery").ok()?;
        }
        let out = child.wait_with_output().ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        let secs = text
            .lines()
            .find_map(|l| l.strip_suffix(" seconds"))
            .and_then(|s| s.trim().parse::<f64>().ok())?;
        total += secs;
    }
    Some(total / f64::from(HASHES))
}

fn main() {
    println!(
        "probity-auth benchmark ({} cores)",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );

    let ours = ours_argon2();
    println!("argon2id m=19456 t=2 p=1, probity (Rust argon2): {:.1} ms/hash, {:.0} verifications/s per core", ours * 1e3, 1.0 / ours);
    match reference_argon2() {
        Some(r) => println!(
            "argon2id m=19456 t=2 p=1, reference C tool:       {:.1} ms/hash; ratio probity/reference time = {:.2}",
            r * 1e3,
            ours / r
        ),
        None => println!("reference argon2 tool not installed (apt-get install argon2): no comparison"),
    }

    let secret = TotpSecret::generate();
    let n = 200_000u64;
    let start = Instant::now();
    let mut ok = 0u64;
    for i in 0..n {
        let t = 1_700_000_000 + i * 30;
        if secret.verify("123456", t, None).is_ok() {
            ok += 1;
        }
    }
    let el = start.elapsed().as_secs_f64();
    println!(
        "totp verify (3 steps checked): {:.0} checks/s ({ok} random hits)",
        n as f64 / el
    );

    let n = 200_000u32;
    let start = Instant::now();
    for _ in 0..n {
        let t = IssuedToken::generate(TokenKind::Session);
        std::hint::black_box(t.hash());
    }
    println!(
        "session token issue + SHA-256: {:.0} tokens/s",
        f64::from(n) / start.elapsed().as_secs_f64()
    );

    match Slapd::start() {
        Ok(slapd) => {
            let dir = Directory::new(DirectoryConfig {
                url: slapd.url(),
                starttls: false,
                ca_file: None,
                lookup: UserLookup::Template {
                    dn_template: Slapd::people_dn_template(),
                },
                display_name_attribute: "displayName".into(),
                groups: GroupLookup::Attribute {
                    attribute: "memberOf".into(),
                },
                role_map: Vec::new(),
                timeout_seconds: 5,
                status: StatusCheck {
                    reader_dn: Some(SERVICE_DN.into()),
                    reader_password: SecretString(SERVICE_PASSWORD.into()),
                    ..StatusCheck::default()
                },
            });
            let Ok(dir) = dir else {
                println!("directory config refused");
                return;
            };
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            let n = 300u32;
            let start = Instant::now();
            let mut good = 0;
            rt.block_on(async {
                for _ in 0..n {
                    if dir.authenticate("jdoe", JDOE_PASSWORD).await.is_ok() {
                        good += 1;
                    }
                }
            });
            println!("directory sign-in (connect, bind, read entry) vs slapd on loopback: {:.0} sign-ins/s sequential ({good}/{n} ok)", f64::from(n) / start.elapsed().as_secs_f64());
        }
        Err(e) => println!("directory row skipped: {e}"),
    }
}
