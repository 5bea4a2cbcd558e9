//! Durable consumers of another service's Watch stream. Each event is
//! handled in one transaction together with saving the cursor after it, so
//! a consumer that stops at any point resumes exactly after the last event
//! whose effects committed: at-least-once delivery, exactly-once effects.

use std::future::Future;
use std::time::Duration;

use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use sqlx::AnyConnection;
use tokio_util::sync::CancellationToken;
use tonic::{Code, Status};

use crate::clock::{SharedClock, to_micros};
use crate::db::WriteTx;
use crate::outbox::{NewEvent, Outbox};

/// One item of a source stream.
#[derive(Debug, Clone)]
pub enum SourceItem<E> {
    Event {
        cursor: String,
        id: String,
        event: E,
    },
    Checkpoint {
        cursor: String,
    },
}

/// A stream of another service's events that can be opened after a cursor.
pub trait Source: Send + Sync + 'static {
    type Event: Send + Sync + 'static;

    #[allow(clippy::type_complexity)]
    /// Opens the stream after `after_cursor`, with only `event_types`
    /// (all when empty).
    fn open(
        &self,
        after_cursor: Option<String>,
        event_types: &'static [&'static str],
    ) -> BoxFuture<
        'static,
        Result<BoxStream<'static, Result<SourceItem<Self::Event>, Status>>, Status>,
    >;
}

/// Why handling an event failed.
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    /// Worth retrying the same event later (a database or peer was down).
    #[error("{0}")]
    Transient(String),
    /// Retrying cannot help; the event is logged and skipped.
    #[error("{0}")]
    Permanent(String),
}

impl From<sqlx::Error> for HandleError {
    fn from(e: sqlx::Error) -> Self {
        HandleError::Transient(e.to_string())
    }
}

/// What a consumer does with each event.
pub trait Handler<E>: Send + Sync + 'static {
    /// Applies `event` inside `tx`; returns events of the consumer's own
    /// service to append in the same transaction.
    fn handle<'a>(
        &'a self,
        tx: &'a mut WriteTx,
        event: &'a E,
    ) -> impl Future<Output = Result<Vec<NewEvent>, HandleError>> + Send + 'a;

    /// Called after an event's transaction committed (to wake a worker).
    fn after_commit(&self) {}
}

/// Loads a consumer's saved cursor.
pub async fn load_cursor(
    conn: &mut AnyConnection,
    consumer: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT cursor FROM consumer_cursors WHERE consumer = $1")
        .bind(consumer)
        .fetch_optional(conn)
        .await
}

/// Saves a consumer's cursor.
pub async fn save_cursor(
    conn: &mut AnyConnection,
    consumer: &str,
    cursor: &str,
    now_micros: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO consumer_cursors (consumer, cursor, update_time) VALUES ($1, $2, $3) \
         ON CONFLICT (consumer) DO UPDATE SET cursor = excluded.cursor, update_time = excluded.update_time",
    )
    .bind(consumer)
    .bind(cursor)
    .bind(now_micros)
    .execute(conn)
    .await?;
    Ok(())
}

/// Runs one consumer until `stop`.
pub struct Consumer<S, H> {
    pub name: &'static str,
    pub source: S,
    /// The event kinds the handler acts on; the others are never sent
    /// (checkpoints still move the cursor past them). Empty: all.
    pub event_types: &'static [&'static str],
    pub handler: H,
    /// The consumer's own outbox (and through it its database).
    pub outbox: Outbox,
    pub clock: SharedClock,
}

const MAX_BACKOFF: Duration = Duration::from_secs(10);

impl<S, H> Consumer<S, H>
where
    S: Source,
    H: Handler<S::Event>,
{
    pub fn spawn(self, stop: CancellationToken) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move { self.run(stop).await })
    }

    async fn run(self, stop: CancellationToken) {
        let mut backoff = Duration::from_millis(100);
        let mut failures: u32 = 0;
        loop {
            if stop.is_cancelled() {
                return;
            }
            match self.follow(&stop).await {
                Ok(()) => return,
                Err(status) if status.code() == Code::OutOfRange => {
                    tracing::error!(
                        consumer = self.name,
                        reason = %status.message(),
                        "consumer fell behind the retained events; resuming from the oldest retained event, events in between were not handled"
                    );
                    if let Err(e) = self.reset_cursor().await {
                        tracing::warn!(consumer = self.name, error = %e, "could not reset cursor");
                    }
                }
                Err(status) => {
                    failures += 1;
                    if failures == 1 || failures.is_multiple_of(20) {
                        tracing::warn!(consumer = self.name, code = ?status.code(), reason = %status.message(), failures, "event stream interrupted; reconnecting");
                    }
                    tokio::select! {
                        () = stop.cancelled() => return,
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    continue;
                }
            }
            backoff = Duration::from_millis(100);
        }
    }

    async fn reset_cursor(&self) -> Result<(), sqlx::Error> {
        let mut tx = self.outbox.db().begin_write().await?;
        sqlx::query("DELETE FROM consumer_cursors WHERE consumer = $1")
            .bind(self.name)
            .execute(tx.conn())
            .await?;
        tx.commit().await
    }

    /// Follows the stream until it ends with an error or `stop`.
    async fn follow(&self, stop: &CancellationToken) -> Result<(), Status> {
        let db = self.outbox.db();
        let cursor = {
            let mut conn = db.conn().await.map_err(unavailable)?;
            load_cursor(&mut conn, self.name)
                .await
                .map_err(unavailable)?
        };
        let mut stream = tokio::select! {
            () = stop.cancelled() => return Ok(()),
            s = self.source.open(cursor, self.event_types) => s?,
        };
        loop {
            let item = tokio::select! {
                () = stop.cancelled() => return Ok(()),
                item = stream.next() => item,
            };
            match item {
                None => return Err(Status::unavailable("event stream ended")),
                Some(Err(status)) => return Err(status),
                Some(Ok(SourceItem::Checkpoint { cursor })) => {
                    let mut conn = db.conn().await.map_err(unavailable)?;
                    save_cursor(&mut conn, self.name, &cursor, to_micros(self.clock.now()))
                        .await
                        .map_err(unavailable)?;
                }
                Some(Ok(SourceItem::Event { cursor, id, event })) => {
                    self.handle_one(&cursor, &id, &event, stop).await?;
                }
            }
        }
    }

    /// Handles one event, retrying transient failures until it commits.
    async fn handle_one(
        &self,
        cursor: &str,
        id: &str,
        event: &S::Event,
        stop: &CancellationToken,
    ) -> Result<(), Status> {
        let mut backoff = Duration::from_millis(50);
        let mut attempts: u32 = 0;
        loop {
            attempts += 1;
            let result = async {
                let mut tx = self.outbox.db().begin_write().await?;
                let events = match self.handler.handle(&mut tx, event).await {
                    Ok(events) => events,
                    Err(HandleError::Permanent(reason)) => {
                        tracing::error!(consumer = self.name, event_id = id, %reason, "event cannot be handled; skipping it");
                        Vec::new()
                    }
                    Err(e) => return Err(e),
                };
                save_cursor(tx.conn(), self.name, cursor, to_micros(self.clock.now())).await?;
                self.outbox.commit(tx, &events).await?;
                Ok::<(), HandleError>(())
            }
            .await;
            match result {
                Ok(()) => {
                    self.handler.after_commit();
                    return Ok(());
                }
                Err(e) => {
                    if attempts == 1 || attempts.is_multiple_of(20) {
                        tracing::warn!(consumer = self.name, event_id = id, error = %e, attempts, "handling event failed; retrying");
                    }
                    tokio::select! {
                        () = stop.cancelled() => return Ok(()),
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }
}

fn unavailable(e: sqlx::Error) -> Status {
    Status::unavailable(format!("consumer database: {e}"))
}
