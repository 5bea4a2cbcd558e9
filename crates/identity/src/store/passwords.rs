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
