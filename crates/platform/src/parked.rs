//! Parked events, as an operator sees them: events a consumer could not
//! handle for a reason retrying cannot fix (see `consumer`). They wait in
//! `parked_events` with their reason; `allot parked list` shows them and
//! `allot parked retry` asks the running consumer to handle them again,
//! which it does within `consumer::PARKED_POLL`.

use crate::clock::to_micros;
use crate::db::Db;

/// One parked event.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ParkedEvent {
    pub consumer: String,
    pub event_id: String,
    pub reason: String,
    /// When it was parked (or last failed again), in microseconds.
    pub park_time: i64,
    /// When an operator asked for it to be handled again, until the
    /// consumer has tried.
    pub retry_time: Option<i64>,
}

/// Which parked events an operator means.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Only this consumer's.
    pub consumer: Option<String>,
    /// Only these events (all when empty).
    pub event_ids: Vec<String>,
}

/// At most this many parked events are listed at once, oldest first.
pub const LIST_LIMIT: i64 = 1000;

/// The parked events of one service's database, oldest first.
pub async fn list(db: &Db, consumer: Option<&str>) -> Result<Vec<ParkedEvent>, sqlx::Error> {
    let mut conn = db.conn().await?;
    sqlx::query_as(
        "SELECT consumer, event_id, reason, park_time, retry_time FROM parked_events \
         WHERE ($1 = '' OR consumer = $1) ORDER BY park_time, consumer, event_id LIMIT $2",
    )
    .bind(consumer.unwrap_or_default())
    .bind(LIST_LIMIT)
    .fetch_all(&mut *conn)
    .await
}

/// Asks for the selected events to be handled again; returns how many
/// were selected.
pub async fn request_retry(
    db: &Db,
    selection: &Selection,
    now: time::OffsetDateTime,
) -> Result<u64, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let mut selected = 0;
    let consumer = selection.consumer.clone().unwrap_or_default();
    let ids: Vec<&str> = if selection.event_ids.is_empty() {
        vec![""]
    } else {
        selection.event_ids.iter().map(String::as_str).collect()
    };
    for id in ids {
        selected += sqlx::query(
            "UPDATE parked_events SET retry_time = $1 \
             WHERE ($2 = '' OR consumer = $2) AND ($3 = '' OR event_id = $3)",
        )
        .bind(to_micros(now))
        .bind(&consumer)
        .bind(id)
        .execute(tx.conn())
        .await?
        .rows_affected();
    }
    tx.commit().await?;
    Ok(selected)
}
