//! People and service accounts (`users`) and their roles (`user_roles`).
//!
//! `kind` is `member`, `service`, `vendor` or `external_agency`; roles are free text parsed by the domain crate.
//! `password_hash` is `None` for directory (LDAP) accounts: no password is stored (SEC-01).
//! The second factor: the TOTP secret, the last step used (replay guard), a secret offered for
//! enrolment until confirmed, and one-time recovery codes stored as hashes (`recovery_codes`).

use chrono::{DateTime, Utc};
use sqlx::Row;
use uuid::Uuid;

use crate::db::{from_ms, now_ms, opt_from_ms, parse_uuid, to_ms, PageQuery, Tx};
use crate::error::{Result, StoreError};

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    pub rank: Option<String>,
    pub command: Option<String>,
    pub password_hash: Option<String>,
    pub totp_secret: Option<String>,
    /// The last one-time-code step accepted: a code is never accepted twice (replay guard).
    pub totp_last_step: Option<u64>,
    pub failed_logins: u32,
    pub locked_until: Option<DateTime<Utc>>,
    /// `member`, `service`, `vendor` or `external_agency`.
    pub kind: String,
    pub created_at: DateTime<Utc>,
    /// Set while the account is deactivated (SEC-02): it signs in to nothing and every session
    /// and token it holds stops working.
    pub deactivated_at: Option<DateTime<Utc>>,
    pub deactivation_reason: Option<String>,
    /// Changes, in the same transaction, whenever the person's assignments, training records
    /// or vendor contracts change (database triggers): rows loaded at one version stay valid
    /// while the version is unchanged.
    pub access_version: i64,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub rank: Option<String>,
    pub command: Option<String>,
    /// Argon2id PHC string; `None` for directory accounts.
    pub password_hash: Option<String>,
    /// `member`, `service`, `vendor` or `external_agency`.
    pub kind: String,
}

const COLUMNS: &str =
    "id, username, display_name, rank, command, password_hash, totp_secret, totp_last_step, \
                       failed_logins, locked_until, kind, created_at, deactivated_at, \
                       deactivation_reason, access_version";

fn from_row(r: &sqlx::any::AnyRow) -> Result<User> {
    let id: String = r.try_get("id")?;
    let failed: i64 = r.try_get("failed_logins")?;
    Ok(User {
        id: parse_uuid(&id)?,
        username: r.try_get("username")?,
        display_name: r.try_get("display_name")?,
        rank: r.try_get("rank")?,
        command: r.try_get("command")?,
        password_hash: r.try_get("password_hash")?,
        totp_secret: r.try_get("totp_secret")?,
        totp_last_step: r
            .try_get::<Option<i64>, _>("totp_last_step")?
            .and_then(|s| u64::try_from(s).ok()),
        failed_logins: failed.clamp(0, i64::from(u32::MAX)) as u32,
        locked_until: opt_from_ms(r.try_get("locked_until")?)?,
        kind: r.try_get("kind")?,
        created_at: from_ms(r.try_get("created_at")?)?,
        deactivated_at: opt_from_ms(r.try_get("deactivated_at")?)?,
        deactivation_reason: r.try_get("deactivation_reason")?,
        access_version: r.try_get("access_version")?,
    })
}

/// Deactivates an account (`Some((at, reason))`) or reactivates it (`None`). The caller audits.
pub async fn set_deactivated(
    tx: &mut Tx,
    id: Uuid,
    deactivated: Option<(DateTime<Utc>, &str)>,
) -> Result<()> {
    let r =
        sqlx::query("UPDATE users SET deactivated_at = $1, deactivation_reason = $2 WHERE id = $3")
            .bind(deactivated.map(|(at, _)| to_ms(at)))
            .bind(deactivated.map(|(_, reason)| reason.to_string()))
            .bind(id.to_string())
            .execute(tx.conn())
            .await?;
    if r.rows_affected() == 0 {
        return Err(StoreError::NotFound {
            what: "user",
            id: id.to_string(),
        });
    }
    Ok(())
}

/// Creates a user; a taken username gives [`StoreError::AlreadyExists`].
pub async fn create(tx: &mut Tx, new: &NewUser) -> Result<User> {
    if new.username.trim().is_empty() {
        return Err(StoreError::Invalid("username must not be empty".into()));
    }
    let id = Uuid::now_v7();
    let created = now_ms();
    sqlx::query(
        "INSERT INTO users (id, username, display_name, rank, command, password_hash, kind, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id.to_string())
    .bind(&new.username)
    .bind(&new.display_name)
    .bind(new.rank.as_deref())
    .bind(new.command.as_deref())
    .bind(new.password_hash.as_deref())
    .bind(&new.kind)
    .bind(created)
    .execute(tx.conn())
    .await
    .map_err(|e| StoreError::from_sqlx("user", &new.username, e))?;
    get(tx, id).await?.ok_or_else(|| StoreError::NotFound {
        what: "user",
        id: id.to_string(),
    })
}

pub async fn get(tx: &mut Tx, id: Uuid) -> Result<Option<User>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
        .bind(id.to_string())
        .fetch_optional(tx.conn())
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn get_by_username(tx: &mut Tx, username: &str) -> Result<Option<User>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM users WHERE username = $1"))
        .bind(username)
        .fetch_optional(tx.conn())
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// All users ordered by username.
pub async fn list(tx: &mut Tx) -> Result<Vec<User>> {
    let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM users ORDER BY username"))
        .fetch_all(tx.conn())
        .await?;
    rows.iter().map(from_row).collect()
}

/// The columns a list of people may be sorted by (with descending beside it); each maps to a
/// fixed column name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UserSort {
    #[default]
    Username,
    DisplayName,
    Command,
    Rank,
}

impl UserSort {
    fn column(self) -> &'static str {
        match self {
            UserSort::Username => "username",
            UserSort::DisplayName => "display_name",
            UserSort::Command => "command",
            UserSort::Rank => "rank",
        }
    }
}

/// One page of people: `q` matches username or display name (any case), `command` and `kind`
/// exactly.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    pub q: Option<String>,
    pub command: Option<String>,
    pub kind: Option<String>,
    pub sort: UserSort,
    pub descending: bool,
    /// At most this many (0 = 50).
    pub limit: u32,
    pub offset: u64,
}

/// One page of people and how many match the filter in all.
pub async fn list_page(tx: &mut Tx, f: &UserFilter) -> Result<(Vec<User>, u64)> {
    let mut filter = String::from(" WHERE 1 = 1");
    let mut binds: Vec<String> = Vec::new();
    if let Some(q) = &f.q {
        binds.push(crate::cases::contains_pattern(q));
        let n = binds.len();
        filter += &format!(
            " AND (LOWER(username) LIKE ${n} ESCAPE '\\' OR LOWER(display_name) LIKE ${n} ESCAPE '\\')"
        );
    }
    if let Some(c) = &f.command {
        binds.push(c.clone());
        filter += &format!(" AND command = ${}", binds.len());
    }
    if let Some(k) = &f.kind {
        binds.push(k.clone());
        filter += &format!(" AND kind = ${}", binds.len());
    }
    PageQuery {
        columns: COLUMNS,
        table: "users",
        filter: &filter,
        binds,
        order: f.sort.column(),
        tiebreak: "username",
        descending: f.descending,
        limit: f.limit,
        offset: f.offset,
    }
    .fetch(tx, from_row)
    .await
}

fn affected_one(n: u64, id: Uuid) -> Result<()> {
    if n == 0 {
        Err(StoreError::NotFound {
            what: "user",
            id: id.to_string(),
        })
    } else {
        Ok(())
    }
}

/// Changes display name, rank and command.
pub async fn update_profile(
    tx: &mut Tx,
    id: Uuid,
    display_name: &str,
    rank: Option<&str>,
    command: Option<&str>,
) -> Result<()> {
    let r =
        sqlx::query("UPDATE users SET display_name = $1, rank = $2, command = $3 WHERE id = $4")
            .bind(display_name)
            .bind(rank)
            .bind(command)
            .bind(id.to_string())
            .execute(tx.conn())
            .await?;
    affected_one(r.rows_affected(), id)
}

/// Sets or clears (directory accounts) the password hash.
pub async fn set_password_hash(tx: &mut Tx, id: Uuid, hash: Option<&str>) -> Result<()> {
    let r = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(hash)
        .bind(id.to_string())
        .execute(tx.conn())
        .await?;
    affected_one(r.rows_affected(), id)
}

/// Sets or clears the TOTP secret (stored as given; the caller encodes it).
pub async fn set_totp_secret(tx: &mut Tx, id: Uuid, secret: Option<&str>) -> Result<()> {
    let r = sqlx::query("UPDATE users SET totp_secret = $1 WHERE id = $2")
        .bind(secret)
        .bind(id.to_string())
        .execute(tx.conn())
        .await?;
    affected_one(r.rows_affected(), id)
}

/// Records the one-time-code step just accepted (replay guard, SEC-01).
pub async fn set_totp_last_step(tx: &mut Tx, id: Uuid, step: u64) -> Result<()> {
    let step = i64::try_from(step)
        .map_err(|_| StoreError::Invalid("one-time-code step out of range".into()))?;
    let r = sqlx::query("UPDATE users SET totp_last_step = $1 WHERE id = $2")
        .bind(step)
        .bind(id.to_string())
        .execute(tx.conn())
        .await?;
    affected_one(r.rows_affected(), id)
}

/// Records the step of a one-time code just accepted, only if it is later than the last one
/// stored: returns false when another sign-in already used this step or a later one (a replay,
/// even by a concurrent request).
pub async fn advance_totp_step(tx: &mut Tx, id: Uuid, step: u64) -> Result<bool> {
    let step = i64::try_from(step)
        .map_err(|_| StoreError::Invalid("one-time-code step out of range".into()))?;
    let r = sqlx::query(
        "UPDATE users SET totp_last_step = $1 \
         WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)",
    )
    .bind(step)
    .bind(id.to_string())
    .execute(tx.conn())
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Keeps a TOTP secret offered for enrolment (base32) until the person confirms it, or clears
/// it (`None`).
pub async fn set_totp_pending(
    tx: &mut Tx,
    id: Uuid,
    secret: Option<&str>,
    at: DateTime<Utc>,
) -> Result<()> {
    let r = sqlx::query(
        "UPDATE users SET totp_pending_secret = $1, totp_pending_at = $2 WHERE id = $3",
    )
    .bind(secret)
    .bind(secret.map(|_| to_ms(at)))
    .bind(id.to_string())
    .execute(tx.conn())
    .await?;
    affected_one(r.rows_affected(), id)
}

/// The TOTP secret offered for enrolment and when it was offered.
pub async fn totp_pending(tx: &mut Tx, id: Uuid) -> Result<Option<(String, DateTime<Utc>)>> {
    let row = sqlx::query("SELECT totp_pending_secret, totp_pending_at FROM users WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(tx.conn())
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let secret: Option<String> = row.try_get("totp_pending_secret")?;
    let at = opt_from_ms(row.try_get("totp_pending_at")?)?;
    Ok(secret.zip(at))
}

/// Enrols a second factor: stores the confirmed secret and the step of the confirming code
/// (so that code cannot be used again), clears the offered secret, and replaces the recovery
/// codes with `recovery_code_hashes`.
pub async fn enrol_totp(
    tx: &mut Tx,
    id: Uuid,
    secret: &str,
    confirmed_step: u64,
    recovery_code_hashes: &[String],
) -> Result<()> {
    let step = i64::try_from(confirmed_step)
        .map_err(|_| StoreError::Invalid("one-time-code step out of range".into()))?;
    let r = sqlx::query(
        "UPDATE users SET totp_secret = $1, totp_last_step = $2, totp_pending_secret = NULL, \
         totp_pending_at = NULL WHERE id = $3",
    )
    .bind(secret)
    .bind(step)
    .bind(id.to_string())
    .execute(tx.conn())
    .await?;
    affected_one(r.rows_affected(), id)?;
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(id.to_string())
        .execute(tx.conn())
        .await?;
    let now = now_ms();
    for hash in recovery_code_hashes {
        sqlx::query(
            "INSERT INTO recovery_codes (id, user_id, code_hash, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(Uuid::now_v7().to_string())
        .bind(id.to_string())
        .bind(hash)
        .bind(now)
        .execute(tx.conn())
        .await
        .map_err(|e| StoreError::from_sqlx("recovery code", "(hash)", e))?;
    }
    Ok(())
}

/// Removes the second factor (an administrator's reset): secret, replay step, offered secret and
/// every recovery code.
pub async fn reset_second_factor(tx: &mut Tx, id: Uuid) -> Result<()> {
    let r = sqlx::query(
        "UPDATE users SET totp_secret = NULL, totp_last_step = NULL, totp_pending_secret = NULL, \
         totp_pending_at = NULL WHERE id = $1",
    )
    .bind(id.to_string())
    .execute(tx.conn())
    .await?;
    affected_one(r.rows_affected(), id)?;
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(id.to_string())
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Uses the recovery code whose hash is `code_hash` for the account `id`: true when it existed
/// unused and is now marked used at `now`; false otherwise (unknown, another account's, or used
/// before, even by a concurrent request).
pub async fn use_recovery_code(
    tx: &mut Tx,
    id: Uuid,
    code_hash: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE recovery_codes SET used_at = $1 \
         WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL",
    )
    .bind(to_ms(now))
    .bind(id.to_string())
    .bind(code_hash)
    .execute(tx.conn())
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Recovery codes of the account not used yet.
pub async fn recovery_codes_left(tx: &mut Tx, id: Uuid) -> Result<u32> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL",
    )
    .bind(id.to_string())
    .fetch_one(tx.conn())
    .await?;
    let n: i64 = row.try_get("n")?;
    Ok(n.clamp(0, i64::from(u32::MAX)) as u32)
}

/// Locks the account until `until` and starts the failure count again from zero (the lockout
/// rule decided it, SEC-01).
pub async fn lock_until(tx: &mut Tx, id: Uuid, until: DateTime<Utc>) -> Result<()> {
    let r = sqlx::query("UPDATE users SET failed_logins = 0, locked_until = $1 WHERE id = $2")
        .bind(to_ms(until))
        .bind(id.to_string())
        .execute(tx.conn())
        .await?;
    affected_one(r.rows_affected(), id)
}

/// Counts a failed login and returns the new count; `lock_until` (decided by the caller's
/// lockout rule) locks the account until then.
pub async fn record_failed_login(
    tx: &mut Tx,
    id: Uuid,
    lock_until: Option<DateTime<Utc>>,
) -> Result<u32> {
    let row = sqlx::query(
        "UPDATE users SET failed_logins = failed_logins + 1, \
         locked_until = COALESCE($1, locked_until) WHERE id = $2 RETURNING failed_logins",
    )
    .bind(lock_until.map(to_ms))
    .bind(id.to_string())
    .fetch_optional(tx.conn())
    .await?
    .ok_or_else(|| StoreError::NotFound {
        what: "user",
        id: id.to_string(),
    })?;
    let n: i64 = row.try_get("failed_logins")?;
    Ok(n.clamp(0, i64::from(u32::MAX)) as u32)
}

/// After a successful login or an unlock: zero failures, no lock.
pub async fn reset_failed_logins(tx: &mut Tx, id: Uuid) -> Result<()> {
    let r = sqlx::query("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1")
        .bind(id.to_string())
        .execute(tx.conn())
        .await?;
    affected_one(r.rows_affected(), id)
}

/// Grants a role (idempotent).
pub async fn grant_role(
    tx: &mut Tx,
    user_id: Uuid,
    role: &str,
    granted_by: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO user_roles (user_id, role, granted_by, granted_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (user_id, role) DO NOTHING",
    )
    .bind(user_id.to_string())
    .bind(role)
    .bind(granted_by)
    .bind(now_ms())
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Revokes a role; returns whether it was held.
pub async fn revoke_role(tx: &mut Tx, user_id: Uuid, role: &str) -> Result<bool> {
    let r = sqlx::query("DELETE FROM user_roles WHERE user_id = $1 AND role = $2")
        .bind(user_id.to_string())
        .bind(role)
        .execute(tx.conn())
        .await?;
    Ok(r.rows_affected() > 0)
}

/// Roles held, sorted.
pub async fn roles(tx: &mut Tx, user_id: Uuid) -> Result<Vec<String>> {
    let rows = sqlx::query("SELECT role FROM user_roles WHERE user_id = $1 ORDER BY role")
        .bind(user_id.to_string())
        .fetch_all(tx.conn())
        .await?;
    rows.iter().map(|r| Ok(r.try_get("role")?)).collect()
}
