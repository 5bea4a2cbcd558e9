//! Notification's SQL: the mail queue and delivery log.

use allot_platform::ids::DeliveryId;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::domain::{DeliveryState, Params};

type Result<T> = std::result::Result<T, sqlx::Error>;

#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: DeliveryId,
    pub dedupe_key: String,
    pub template: String,
    pub recipient: String,
    pub subject: String,
    pub params: Params,
    pub message_id: String,
    pub state: DeliveryState,
    pub attempts: i32,
    pub last_error: String,
    pub source_event: String,
    pub create_time: i64,
    pub next_attempt_time: i64,
    pub send_time: Option<i64>,
}

const COLUMNS: &str = "id, dedupe_key, template, recipient, subject, params, message_id, state, attempts, \
     last_error, source_event, create_time, next_attempt_time, send_time";

fn delivery(row: &AnyRow) -> Result<Delivery> {
    let params: String = row.try_get("params")?;
    Ok(Delivery {
        id: DeliveryId::from_db(row.try_get("id")?),
        dedupe_key: row.try_get("dedupe_key")?,
        template: row.try_get("template")?,
        recipient: row.try_get("recipient")?,
        subject: row.try_get("subject")?,
        params: serde_json::from_str(&params).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        message_id: row.try_get("message_id")?,
        state: DeliveryState::from_db(&row.try_get::<String, _>("state")?)?,
        attempts: row.try_get("attempts")?,
        last_error: row.try_get("last_error")?,
        source_event: row.try_get("source_event")?,
        create_time: row.try_get("create_time")?,
        next_attempt_time: row.try_get("next_attempt_time")?,
        send_time: row.try_get("send_time")?,
    })
}

/// Queues a delivery; false when one with the same dedupe key exists (the
/// event was seen before).
pub async fn enqueue(conn: &mut AnyConnection, d: &Delivery) -> Result<bool> {
    let params = serde_json::to_string(&d.params).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let n = sqlx::query(
        "INSERT INTO deliveries (id, dedupe_key, template, recipient, subject, params, message_id, state, \
         attempts, last_error, source_event, create_time, next_attempt_time) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, '', $9, $10, $11) ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind(d.id.as_str())
    .bind(&d.dedupe_key)
    .bind(&d.template)
    .bind(&d.recipient)
    .bind(&d.subject)
    .bind(params)
    .bind(&d.message_id)
    .bind(d.state.as_db())
    .bind(&d.source_event)
    .bind(d.create_time)
    .bind(d.next_attempt_time)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Pending deliveries whose time has come and that no live worker holds.
pub async fn due(conn: &mut AnyConnection, now: i64, limit: i64) -> Result<Vec<Delivery>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM deliveries WHERE state = 'PENDING' AND next_attempt_time <= $1 \
         AND lease_until <= $1 ORDER BY next_attempt_time, id LIMIT $2"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(now)
        .bind(limit)
        .fetch_all(conn)
        .await?
        .iter()
        .map(delivery)
        .collect()
}

/// Claims deliveries until `lease_until`, in one statement; returns those
/// this worker got (others may have been claimed by another).
pub async fn claim_all(
    conn: &mut AnyConnection,
    ids: &[&DeliveryId],
    now: i64,
    lease_until: i64,
) -> Result<std::collections::HashSet<String>> {
    let mut got = std::collections::HashSet::new();
    for chunk in ids.chunks(allot_platform::db::ROWS_PER_STATEMENT) {
        let sql = format!(
            "UPDATE deliveries SET lease_until = $2 WHERE state = 'PENDING' AND lease_until <= $1 \
             AND id IN ({}) RETURNING id",
            allot_platform::db::params(chunk.len(), 3)
        );
        let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql))
            .bind(now)
            .bind(lease_until);
        for id in chunk {
            q = q.bind(id.as_str());
        }
        got.extend(q.fetch_all(&mut *conn).await?);
    }
    Ok(got)
}

/// Records that these deliveries were sent at `sent_time`, in one
/// statement per few hundred.
pub async fn record_sent(
    conn: &mut AnyConnection,
    ids: &[&DeliveryId],
    sent_time: i64,
) -> Result<()> {
    for chunk in ids.chunks(allot_platform::db::ROWS_PER_STATEMENT) {
        let sql = format!(
            "UPDATE deliveries SET state = 'SENT', attempts = attempts + 1, last_error = '', \
             next_attempt_time = $1, send_time = $1, lease_until = 0 WHERE id IN ({})",
            allot_platform::db::params(chunk.len(), 2)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(sent_time);
        for id in chunk {
            q = q.bind(id.as_str());
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// The earliest time a pending delivery becomes due.
pub async fn next_due(conn: &mut AnyConnection) -> Result<Option<i64>> {
    sqlx::query_scalar(
        "SELECT MIN(CASE WHEN lease_until > next_attempt_time THEN lease_until ELSE next_attempt_time END) \
         FROM deliveries WHERE state = 'PENDING'",
    )
    .fetch_one(conn)
    .await
}

/// Records the end of an attempt.
pub async fn record(
    conn: &mut AnyConnection,
    id: &DeliveryId,
    state: DeliveryState,
    attempts: i32,
    last_error: &str,
    next_attempt_time: i64,
    send_time: Option<i64>,
) -> Result<()> {
    sqlx::query(
        "UPDATE deliveries SET state = $2, attempts = $3, last_error = $4, next_attempt_time = $5, \
         send_time = $6, lease_until = 0 WHERE id = $1",
    )
    .bind(id.as_str())
    .bind(state.as_db())
    .bind(attempts)
    .bind(last_error)
    .bind(next_attempt_time)
    .bind(send_time)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get(conn: &mut AnyConnection, id: &DeliveryId) -> Result<Option<Delivery>> {
    let sql = format!("SELECT {COLUMNS} FROM deliveries WHERE id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id.as_str())
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(delivery)
        .transpose()
}

/// Deliveries newest first, optionally in one state or to one address.
pub async fn list(
    conn: &mut AnyConnection,
    state: Option<DeliveryState>,
    recipient: Option<&str>,
    before_id: Option<&str>,
    limit: i64,
) -> Result<Vec<Delivery>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM deliveries WHERE ($1 = '' OR state = $1) AND ($2 = '' OR LOWER(recipient) = LOWER($2)) \
         AND ($3 = '' OR id < $3) ORDER BY id DESC LIMIT $4"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(state.map(DeliveryState::as_db).unwrap_or(""))
        .bind(recipient.unwrap_or(""))
        .bind(before_id.unwrap_or(""))
        .bind(limit + 1)
        .fetch_all(conn)
        .await?
        .iter()
        .map(delivery)
        .collect()
}

/// Puts a dead delivery back in the queue with fresh attempts.
pub async fn requeue(conn: &mut AnyConnection, id: &DeliveryId, now: i64) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE deliveries SET state = 'PENDING', attempts = 0, next_attempt_time = $2, lease_until = 0 \
         WHERE id = $1 AND state = 'DEAD'",
    )
    .bind(id.as_str())
    .bind(now)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

pub async fn find_by_dedupe(conn: &mut AnyConnection, key: &str) -> Result<Option<Delivery>> {
    let sql = format!("SELECT {COLUMNS} FROM deliveries WHERE dedupe_key = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(key)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(delivery)
        .transpose()
}

/// Rewrites an email's values while no attempt has touched it; false when
/// one has (it may be on the wire).
pub async fn merge(
    conn: &mut AnyConnection,
    id: &DeliveryId,
    params: &Params,
    subject: &str,
    source_event: &str,
    now: i64,
) -> Result<bool> {
    let params = serde_json::to_string(params).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let n = sqlx::query(
        "UPDATE deliveries SET params = $2, subject = $3, source_event = $4 \
         WHERE id = $1 AND state = 'PENDING' AND attempts = 0 AND lease_until <= $5",
    )
    .bind(id.as_str())
    .bind(params)
    .bind(subject)
    .bind(source_event)
    .bind(now)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}
