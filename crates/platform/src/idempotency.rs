//! Request ids on creates and adds (AIP-155): a retry with the same id
//! within the retention window gets the first answer and changes nothing;
//! the same id with a different request is refused.
//!
//! The key is claimed in the same transaction as the change it guards, so
//! the change and its key commit together or not at all.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Row};

use crate::error::FieldViolation;

/// The longest request id a caller may send.
pub const MAX_REQUEST_ID_LEN: usize = 100;

/// How long a request id is remembered by default.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(24 * 3600);

static RETENTION_SECS: AtomicU64 = AtomicU64::new(DEFAULT_RETENTION.as_secs());

/// Sets how long this process remembers request ids (`requests.retention`);
/// at least a second.
pub fn set_retention(retention: Duration) {
    RETENTION_SECS.store(retention.as_secs().max(1), Ordering::Relaxed);
}

/// How long this process remembers request ids.
pub fn retention() -> Duration {
    Duration::from_secs(RETENTION_SECS.load(Ordering::Relaxed))
}

/// One request's idempotency key: who sent it, to which method, with which
/// id, and a fingerprint of everything else in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestKey {
    pub caller: String,
    pub method: &'static str,
    pub request_id: String,
    pub fingerprint: String,
}

impl RequestKey {
    /// The key of a request with `request_id` (`None` when it is empty: the
    /// caller asked for no idempotency). `body` is the request without its
    /// request id, in a stable encoding (protobuf bytes do).
    pub fn parse(
        caller: &str,
        method: &'static str,
        request_id: &str,
        body: &[u8],
    ) -> Result<Option<RequestKey>, FieldViolation> {
        if request_id.is_empty() {
            return Ok(None);
        }
        if request_id.len() > MAX_REQUEST_ID_LEN
            || !request_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        {
            return Err(FieldViolation::new(
                "request_id",
                format!(
                    "must be at most {MAX_REQUEST_ID_LEN} letters, digits or - _ . : (a UUID is typical)"
                ),
            ));
        }
        Ok(Some(RequestKey {
            caller: caller.to_owned(),
            method,
            request_id: request_id.to_owned(),
            fingerprint: hex(&Sha256::digest(body)),
        }))
    }
}

/// The [`RequestKey`] of a protobuf request with a `request_id` field:
/// `request_key!(caller, "Method", request)` fingerprints the request with
/// its id cleared and answers `Result<Option<RequestKey>, FieldViolation>`.
#[macro_export]
macro_rules! request_key {
    ($caller:expr, $method:literal, $request:expr) => {{
        let request = &$request;
        let mut body = request.clone();
        body.request_id = ::std::string::String::new();
        $crate::idempotency::RequestKey::parse(
            &$caller.name(),
            $method,
            &request.request_id,
            &::prost::Message::encode_to_vec(&body),
        )
    }};
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What a claimed key says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The first time: make the change, then `remember` its answer.
    First,
    /// A retry: this is the first answer (what `remember` stored).
    Replay(String),
}

/// Why a key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum IdempotencyError {
    #[error("request_id: already used for a different request; use a new request id")]
    Reused,
    #[error("another call with this request_id is being handled; retry to get its answer")]
    InFlight,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl IdempotencyError {
    /// The precondition type of an id whose first call is still running.
    pub const IN_FLIGHT: &'static str = "REQUEST_IN_FLIGHT";

    /// The field violation a caller sees for a reused id.
    pub fn violation() -> FieldViolation {
        FieldViolation::new(
            "request_id",
            "already used for a different request; use a new request id",
        )
    }
}

/// Looks `key` up inside the transaction that will make the change. Keys
/// older than `retention` are forgotten first.
pub async fn claim(
    conn: &mut AnyConnection,
    key: &RequestKey,
    now_micros: i64,
    retention: Duration,
) -> Result<Claim, IdempotencyError> {
    let oldest =
        now_micros.saturating_sub(i64::try_from(retention.as_micros()).unwrap_or(i64::MAX));
    sqlx::query("DELETE FROM idempotency_keys WHERE create_time < $1")
        .bind(oldest)
        .execute(&mut *conn)
        .await?;
    let row = sqlx::query(
        "SELECT fingerprint, answer FROM idempotency_keys \
         WHERE caller = $1 AND method = $2 AND request_id = $3",
    )
    .bind(&key.caller)
    .bind(key.method)
    .bind(&key.request_id)
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        None => Ok(Claim::First),
        Some(row) => {
            let fingerprint: String = row.try_get(0)?;
            if fingerprint != key.fingerprint {
                return Err(IdempotencyError::Reused);
            }
            Ok(Claim::Replay(row.try_get(1)?))
        }
    }
}

/// [`claim`] for a request that may have no key, with the configured
/// [`retention`]: the first call's answer when this is a retry, else `None`.
pub async fn replayed(
    conn: &mut AnyConnection,
    key: Option<&RequestKey>,
    now_micros: i64,
) -> Result<Option<String>, IdempotencyError> {
    let Some(key) = key else {
        return Ok(None);
    };
    match claim(conn, key, now_micros, retention()).await? {
        Claim::First => Ok(None),
        Claim::Replay(first) => Ok(Some(first)),
    }
}

/// [`remember`] for a request that may have no key.
pub async fn remember_if(
    conn: &mut AnyConnection,
    key: Option<&RequestKey>,
    answer: &str,
    now_micros: i64,
) -> Result<(), IdempotencyError> {
    match key {
        Some(key) => remember(conn, key, answer, now_micros).await,
        None => Ok(()),
    }
}

/// Stores the first answer under `key`, in the change's transaction. Two
/// first tries racing with one id: the second fails on the primary key and
/// its whole transaction rolls back.
pub async fn remember(
    conn: &mut AnyConnection,
    key: &RequestKey,
    answer: &str,
    now_micros: i64,
) -> Result<(), IdempotencyError> {
    sqlx::query(
        "INSERT INTO idempotency_keys (caller, method, request_id, fingerprint, answer, create_time) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&key.caller)
    .bind(key.method)
    .bind(&key.request_id)
    .bind(&key.fingerprint)
    .bind(answer)
    .bind(now_micros)
    .execute(conn)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => IdempotencyError::InFlight,
        _ => IdempotencyError::Db(e),
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_request_id_asks_for_no_idempotency() {
        assert_eq!(RequestKey::parse("a", "m", "", b"x"), Ok(None));
    }

    #[test]
    fn the_fingerprint_tells_requests_apart() {
        let one = RequestKey::parse("a", "m", "r-1", b"x").ok().flatten();
        let two = RequestKey::parse("a", "m", "r-1", b"y").ok().flatten();
        assert!(one.is_some() && two.is_some());
        assert_ne!(one.map(|k| k.fingerprint), two.map(|k| k.fingerprint));
    }

    #[tokio::test]
    async fn a_request_id_is_remembered_for_the_retention_window_only() {
        use crate::db::{Db, Migrations};
        static NONE: sqlx::migrate::Migrator = sqlx::migrate::Migrator::DEFAULT;
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("k.db").display());
        let db = Db::connect(&url, 1).await.expect("sqlite");
        db.migrate(Migrations {
            sqlite: &NONE,
            postgres: &NONE,
        })
        .await
        .expect("migrate");
        let mut conn = db.conn().await.expect("conn");
        let key = RequestKey::parse("a", "m", "r-1", b"x")
            .ok()
            .flatten()
            .expect("key");
        let hour = Duration::from_secs(3600);
        let t0 = 1_000_000_000_000;
        assert_eq!(
            claim(&mut conn, &key, t0, hour).await.ok(),
            Some(Claim::First)
        );
        remember(&mut conn, &key, "first", t0)
            .await
            .expect("remember");
        let within = t0 + 3_599_000_000;
        assert_eq!(
            claim(&mut conn, &key, within, hour).await.ok(),
            Some(Claim::Replay("first".into()))
        );
        let other = RequestKey::parse("a", "m", "r-1", b"y")
            .ok()
            .flatten()
            .expect("key");
        assert!(matches!(
            claim(&mut conn, &other, within, hour).await,
            Err(IdempotencyError::Reused)
        ));
        let after = t0 + 3_601_000_000;
        assert_eq!(
            claim(&mut conn, &key, after, hour).await.ok(),
            Some(Claim::First)
        );
    }

    #[test]
    fn long_or_odd_request_ids_are_refused() {
        let long = "a".repeat(MAX_REQUEST_ID_LEN + 1);
        for bad in [long.as_str(), "has space", "semi;colon"] {
            let err = RequestKey::parse("a", "m", bad, b"").err();
            assert_eq!(err.map(|e| e.field), Some("request_id".to_owned()), "{bad}");
        }
    }
}
