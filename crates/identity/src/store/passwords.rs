//! Passwords and failed sign-ins as stored (R-AUTH-1, R-AUTH-2).

use allot_platform::ids::AccountId;
use sqlx::{AnyConnection, Row};

use super::Result;

/// The password hash of an account, if it has a password.
pub async fn password_hash(
    conn: &mut AnyConnection,
    account: &AccountId,
) -> Result<Option<String>> {
    let row = sqlx::query("SELECT hash FROM account_passwords WHERE account_id = $1")
        .bind(account.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| r.try_get(0)).transpose()
}

/// Sets (or replaces) an account's password hash.
pub async fn set_password(
    conn: &mut AnyConnection,
    account: &AccountId,
    hash: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO account_passwords (account_id, hash, change_time) VALUES ($1, $2, $3) \
         ON CONFLICT (account_id) DO UPDATE SET hash = excluded.hash, change_time = excluded.change_time",
    )
    .bind(account.as_str())
    .bind(hash)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Failed sign-ins of `subject` and when the last was (Unix seconds).
pub async fn sign_in_failures(conn: &mut AnyConnection, subject: &str) -> Result<(i64, i64)> {
    let row = sqlx::query("SELECT failures, last_time FROM sign_in_failures WHERE subject = $1")
        .bind(subject)
        .fetch_optional(&mut *conn)
        .await?;
    match row {
        Some(r) => Ok((r.try_get(0)?, r.try_get(1)?)),
        None => Ok((0, 0)),
    }
}

/// Counts one more failure of `subject` at `now`; failures from before
/// `forget_before` start the count again.
pub async fn record_sign_in_failure(
    conn: &mut AnyConnection,
    subject: &str,
    now: i64,
    forget_before: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO sign_in_failures (subject, failures, last_time) VALUES ($1, 1, $2) \
         ON CONFLICT (subject) DO UPDATE SET \
           failures = CASE WHEN sign_in_failures.last_time < $3 THEN 1 ELSE sign_in_failures.failures + 1 END, \
           last_time = excluded.last_time",
    )
    .bind(subject)
    .bind(now)
    .bind(forget_before)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Forgets the failures of `subject` (after a successful sign-in).
pub async fn clear_sign_in_failures(conn: &mut AnyConnection, subject: &str) -> Result<()> {
    sqlx::query("DELETE FROM sign_in_failures WHERE subject = $1")
        .bind(subject)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Opens a sign-in session of `account` until `expire_time` (Unix seconds).
pub async fn insert_session(
    conn: &mut AnyConnection,
    id: &str,
    account: &AccountId,
    now: i64,
    expire_time: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO sessions (id, account_id, create_time, expire_time) VALUES ($1, $2, $3, $4)",
    )
    .bind(id)
    .bind(account.as_str())
    .bind(now)
    .bind(expire_time)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A session as stored.
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub account_id: AccountId,
    /// Unix seconds.
    pub create_time: i64,
    /// When its newest token expires (Unix seconds).
    pub expire_time: i64,
    /// When it ended (microseconds), if it did.
    pub end_time: Option<i64>,
}

pub async fn get_session(conn: &mut AnyConnection, id: &str) -> Result<Option<SessionRow>> {
    let row = sqlx::query(
        "SELECT account_id, create_time, expire_time, end_time FROM sessions WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        Ok(SessionRow {
            account_id: AccountId::from_db(r.try_get(0)?),
            create_time: r.try_get(1)?,
            expire_time: r.try_get(2)?,
            end_time: r.try_get(3)?,
        })
    })
    .transpose()
}

/// Moves an open session's expiry to `expire_time` (never earlier, so an
/// ended session's tokens stay refused until the newest expires); false
/// when the session has ended.
pub async fn extend_session(conn: &mut AnyConnection, id: &str, expire_time: i64) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE sessions SET expire_time = CASE WHEN expire_time > $2 THEN expire_time ELSE $2 END \
         WHERE id = $1 AND end_time IS NULL",
    )
    .bind(id)
    .bind(expire_time)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Ends one session of `account` at `now_micros`; false when it had ended.
pub async fn end_session(
    conn: &mut AnyConnection,
    id: &str,
    account: &AccountId,
    now_micros: i64,
) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE sessions SET end_time = $3 WHERE id = $1 AND account_id = $2 AND end_time IS NULL",
    )
    .bind(id)
    .bind(account.as_str())
    .bind(now_micros)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Ends every open session of `account` at `now_micros`.
pub async fn end_sessions_of(
    conn: &mut AnyConnection,
    account: &AccountId,
    now_micros: i64,
) -> Result<u64> {
    Ok(
        sqlx::query("UPDATE sessions SET end_time = $2 WHERE account_id = $1 AND end_time IS NULL")
            .bind(account.as_str())
            .bind(now_micros)
            .execute(&mut *conn)
            .await?
            .rows_affected(),
    )
}

/// Sessions that ended at or after `after_micros` and whose tokens have not all
/// expired by `now` (Unix seconds): `(id, expire_time, end_time)`, oldest
/// end first, at most `limit`.
pub async fn ended_sessions(
    conn: &mut AnyConnection,
    after_micros: i64,
    now: i64,
    limit: i64,
) -> Result<Vec<(String, i64, i64)>> {
    let rows = sqlx::query(
        "SELECT id, expire_time, end_time FROM sessions \
         WHERE end_time >= $1 AND expire_time > $2 ORDER BY end_time LIMIT $3",
    )
    .bind(after_micros)
    .bind(now)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
        .collect()
}

/// A password reset link as stored: its account, expiry (Unix seconds) and
/// whether it was used.
#[derive(Debug, Clone)]
pub struct ResetRow {
    pub id: String,
    pub account_id: AccountId,
    pub expire_time: i64,
    pub used: bool,
}

fn reset_row(r: &sqlx::any::AnyRow) -> Result<ResetRow> {
    Ok(ResetRow {
        id: r.try_get("id")?,
        account_id: AccountId::from_db(r.try_get("account_id")?),
        expire_time: r.try_get("expire_time")?,
        used: r.try_get::<Option<i64>, _>("used_time")?.is_some(),
    })
}

/// Records a reset link of `account`, valid until `expire_time`.
pub async fn insert_reset(
    conn: &mut AnyConnection,
    id: &str,
    account: &AccountId,
    token_hash: &str,
    now: i64,
    expire_time: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO password_resets (id, account_id, token_hash, create_time, expire_time) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(account.as_str())
    .bind(token_hash)
    .bind(now)
    .bind(expire_time)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// How many reset links `account` got since `since` (Unix seconds).
pub async fn resets_since(
    conn: &mut AnyConnection,
    account: &AccountId,
    since: i64,
) -> Result<i64> {
    let row = sqlx::query(
        "SELECT COUNT(*) FROM password_resets WHERE account_id = $1 AND create_time >= $2",
    )
    .bind(account.as_str())
    .bind(since)
    .fetch_one(&mut *conn)
    .await?;
    row.try_get(0)
}

pub async fn get_reset(conn: &mut AnyConnection, id: &str) -> Result<Option<ResetRow>> {
    let row = sqlx::query(
        "SELECT id, account_id, expire_time, used_time FROM password_resets WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(reset_row).transpose()
}

pub async fn find_reset_by_hash(
    conn: &mut AnyConnection,
    token_hash: &str,
) -> Result<Option<ResetRow>> {
    let row = sqlx::query(
        "SELECT id, account_id, expire_time, used_time FROM password_resets WHERE token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(reset_row).transpose()
}

/// Marks a reset link used; false when it was already.
pub async fn use_reset(conn: &mut AnyConnection, id: &str, now: i64) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE password_resets SET used_time = $2 WHERE id = $1 AND used_time IS NULL",
    )
    .bind(id)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}
