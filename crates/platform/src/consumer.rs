//! Durable consumers of another service's Watch stream. Events are
//! handled in one transaction together with saving the cursor after them
//! (the events the stream already holds together, up to 500), so a
//! consumer that stops at any point resumes exactly after the last event
//! whose effects committed: at-least-once delivery, exactly-once effects.

use std::time::Duration;

use futures::{FutureExt, StreamExt};
use prost::Message as _;
use sqlx::AnyConnection;
use tokio_util::sync::CancellationToken;
use tonic::Status;
use tracing::Instrument;

use crate::error::expired_cursor_boundary;

use crate::clock::{SharedClock, to_micros};
use crate::db::WriteTx;
use crate::outbox::Outbox;

mod contract;
pub use contract::*;

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

/// The most events one transaction handles.
const MAX_BATCH: usize = 500;

/// An event as it came off the stream.
struct Received<E> {
    cursor: String,
    id: String,
    event: E,
    traceparent: String,
}

/// How often a running consumer looks for parked events an operator asked
/// to retry (`allot parked retry`).
pub const PARKED_POLL: Duration = Duration::from_secs(2);

impl<S, H> Consumer<S, H>
where
    S: Source,
    S::Event: prost::Message + Default,
    H: Handler<S::Event>,
{
    pub fn spawn(self, stop: CancellationToken) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move { self.run(stop).await })
    }

    async fn run(self, stop: CancellationToken) {
        let mut backoff = Duration::from_millis(100);
        let mut failures: u32 = 0;
        if let Err(e) = self.retry_parked(false).await {
            tracing::warn!(consumer = self.name, error = %e, "could not retry parked events");
        }
        while let Err(e) = self.handler.startup().await {
            tracing::warn!(consumer = self.name, error = %e, "getting ready failed; retrying");
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
        backoff = Duration::from_millis(100);
        loop {
            if stop.is_cancelled() {
                return;
            }
            match self.follow(&stop).await {
                Ok(()) => return,
                Err(status) if expired_cursor_boundary(&status).is_some() => {
                    let boundary = expired_cursor_boundary(&status).unwrap_or_default();
                    tracing::error!(
                        consumer = self.name,
                        reason = %status.message(),
                        "consumer fell behind the retained events; reconciling from current state, then resuming from the oldest retained event"
                    );
                    match self.handler.reconcile().await {
                        Ok(()) => {
                            if let Err(e) = self.reset_cursor(&boundary).await {
                                tracing::warn!(consumer = self.name, error = %e, "could not reset cursor");
                            }
                        }
                        Err(e) => {
                            // The cursor stays: the next attempt reconciles again.
                            tracing::warn!(consumer = self.name, error = %e, "reconciling failed; retrying");
                            tokio::select! {
                                () = stop.cancelled() => return,
                                () = tokio::time::sleep(backoff) => {}
                            }
                            backoff = (backoff * 2).min(MAX_BACKOFF);
                            continue;
                        }
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

    /// Moves the cursor to where the retained events start, after
    /// reconciling: everything before it is reflected in current state.
    async fn reset_cursor(&self, retained_after: &str) -> Result<(), sqlx::Error> {
        let mut conn = self.outbox.db().conn().await?;
        save_cursor(
            &mut conn,
            self.name,
            retained_after,
            to_micros(self.clock.now()),
        )
        .await
    }

    /// Follows the stream until it ends with an error or `stop`.
    async fn follow(&self, stop: &CancellationToken) -> Result<(), Status> {
        let db = self.outbox.db();
        // A consumer that never saved a cursor starts from the very first
        // event: when that one is gone, the stream says so and the consumer
        // reconciles, instead of silently starting after a gap.
        let cursor = {
            let mut conn = db.conn().await.map_err(unavailable)?;
            load_cursor(&mut conn, self.name)
                .await
                .map_err(unavailable)?
                .unwrap_or_else(|| crate::outbox::cursor(0))
        };
        let mut stream = tokio::select! {
            () = stop.cancelled() => return Ok(()),
            s = self.source.open(Some(cursor), self.event_types) => s?,
        };
        let mut parked_poll = tokio::time::interval(PARKED_POLL);
        parked_poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let item = tokio::select! {
                () = stop.cancelled() => return Ok(()),
                item = stream.next() => item,
                _ = parked_poll.tick() => {
                    if let Err(e) = self.retry_parked(true).await {
                        tracing::warn!(consumer = self.name, error = %e, "could not retry parked events");
                    }
                    continue;
                }
            };
            match item {
                None => return Err(Status::unavailable("event stream ended")),
                Some(Err(status)) => return Err(status),
                Some(Ok(SourceItem::Checkpoint { cursor })) => {
                    let mut conn = db.conn().await.map_err(unavailable)?;
                    save_cursor(&mut conn, self.name, &cursor, to_micros(self.clock.now()))
                        .await
                        .map_err(unavailable)?;
                    self.handler.committed_through(&cursor);
                }
                Some(Ok(SourceItem::Event {
                    cursor,
                    id,
                    event,
                    traceparent,
                })) => {
                    // Whatever else the stream already holds joins this
                    // event: a burst (an import's thousand invitations) is
                    // handled in a few transactions, not one per event.
                    let mut batch = vec![Received {
                        cursor,
                        id,
                        event,
                        traceparent,
                    }];
                    let mut after: Option<Result<Option<String>, Status>> = None;
                    while batch.len() < MAX_BATCH {
                        match stream.next().now_or_never() {
                            Some(Some(Ok(SourceItem::Event {
                                cursor,
                                id,
                                event,
                                traceparent,
                            }))) => batch.push(Received {
                                cursor,
                                id,
                                event,
                                traceparent,
                            }),
                            Some(Some(Ok(SourceItem::Checkpoint { cursor }))) => {
                                after = Some(Ok(Some(cursor)));
                                break;
                            }
                            Some(Some(Err(status))) => {
                                after = Some(Err(status));
                                break;
                            }
                            Some(None) => {
                                after = Some(Err(Status::unavailable("event stream ended")));
                                break;
                            }
                            None => break,
                        }
                    }
                    self.handle_batch(&batch, stop).await?;
                    match after {
                        Some(Err(status)) => return Err(status),
                        Some(Ok(Some(cursor))) => {
                            let mut conn = db.conn().await.map_err(unavailable)?;
                            save_cursor(&mut conn, self.name, &cursor, to_micros(self.clock.now()))
                                .await
                                .map_err(unavailable)?;
                            self.handler.committed_through(&cursor);
                        }
                        _ => {}
                    }
                }
            }
        }
    }

    /// Handles events in order: all in one transaction with the cursor
    /// after the last; when one of them cannot be handled, one by one (so
    /// that one is parked and the others still take effect).
    async fn handle_batch(
        &self,
        batch: &[Received<S::Event>],
        stop: &CancellationToken,
    ) -> Result<(), Status> {
        let span_of = |r: &Received<S::Event>| {
            let span = tracing::info_span!(
                "consume",
                otel.name = %format!("{} consume", self.name),
                otel.kind = "consumer",
                messaging.consumer.group.name = self.name,
                messaging.message.id = %r.id,
            );
            crate::telemetry::continue_trace(&span, &r.traceparent);
            span
        };
        let (Some(last), true) = (batch.last(), batch.len() > 1) else {
            for r in batch {
                self.handle_one(&r.cursor, &r.id, &r.event, stop)
                    .instrument(span_of(r))
                    .await?;
            }
            return Ok(());
        };
        let mut backoff = Duration::from_millis(50);
        let mut attempts: u32 = 0;
        loop {
            attempts += 1;
            let result = async {
                let mut tx = self.outbox.db().begin_write().await?;
                let mut own = Vec::new();
                for r in batch {
                    match self
                        .handler
                        .handle(&mut tx, &r.event)
                        .instrument(span_of(r))
                        .await
                    {
                        Ok(events) => own.extend(events),
                        Err(HandleError::Permanent(_)) => {
                            tx.rollback().await?;
                            return Ok(false);
                        }
                        Err(e) => return Err(e),
                    }
                }
                save_cursor(
                    tx.conn(),
                    self.name,
                    &last.cursor,
                    to_micros(self.clock.now()),
                )
                .await?;
                self.outbox.commit(tx, &own).await?;
                Ok::<bool, HandleError>(true)
            }
            .await;
            match result {
                Ok(true) => {
                    self.handler.after_commit();
                    self.handler.committed_through(&last.cursor);
                    return Ok(());
                }
                // One of them is for parking: one by one, so only it is.
                Ok(false) => {
                    for r in batch {
                        self.handle_one(&r.cursor, &r.id, &r.event, stop)
                            .instrument(span_of(r))
                            .await?;
                    }
                    return Ok(());
                }
                Err(e) => {
                    if attempts == 1 || attempts.is_multiple_of(20) {
                        tracing::warn!(consumer = self.name, events = batch.len(), error = %e, attempts, "handling events failed; retrying");
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
                        // Nothing of the failed attempt stays.
                        tx.rollback().await?;
                        tracing::error!(consumer = self.name, event_id = id, %reason, "event cannot be handled; parked it, the stream goes on");
                        let mut tx = self.outbox.db().begin_write().await?;
                        match self.handler.parked(&mut tx, event).await {
                            Err(HandleError::Permanent(also)) => {
                                tracing::error!(consumer = self.name, event_id = id, reason = %also, "what a parked event still changes could not be written either");
                            }
                            other => other?,
                        }
                        self.park(&mut tx, cursor, id, event, &reason).await?;
                        save_cursor(tx.conn(), self.name, cursor, to_micros(self.clock.now()))
                            .await?;
                        tx.commit().await?;
                        return Ok(false);
                    }
                    Err(e) => return Err(e),
                };
                save_cursor(tx.conn(), self.name, cursor, to_micros(self.clock.now())).await?;
                self.outbox.commit(tx, &events).await?;
                Ok::<bool, HandleError>(true)
            }
            .await;
            match result {
                Ok(handled) => {
                    if handled {
                        self.handler.after_commit();
                    }
                    self.handler.committed_through(cursor);
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

impl<S, H> Consumer<S, H>
where
    S: Source,
    S::Event: prost::Message + Default,
    H: Handler<S::Event>,
{
    async fn park(
        &self,
        tx: &mut WriteTx,
        cursor: &str,
        id: &str,
        event: &S::Event,
        reason: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO parked_events (consumer, event_id, cursor, reason, payload, park_time) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (consumer, event_id) DO UPDATE \
             SET reason = excluded.reason, park_time = excluded.park_time, retry_time = NULL",
        )
        .bind(self.name)
        .bind(id)
        .bind(cursor)
        .bind(crate::error::clip(reason, 2000))
        .bind(event.encode_to_vec())
        .bind(to_micros(self.clock.now()))
        .execute(tx.conn())
        .await?;
        Ok(())
    }

    /// Handles parked events once more (all of them, or only those an
    /// operator asked to retry), in the order they were parked: those that
    /// now succeed leave the table, the others stay with their new reason.
    async fn retry_parked(&self, only_requested: bool) -> Result<(), HandleError> {
        let parked: Vec<(String, String, Vec<u8>)> = {
            let mut conn = self.outbox.db().conn().await?;
            sqlx::query_as(
                "SELECT event_id, cursor, payload FROM parked_events WHERE consumer = $1 \
                 AND ($2 = 0 OR retry_time IS NOT NULL) ORDER BY park_time, event_id",
            )
            .bind(self.name)
            .bind(i64::from(only_requested))
            .fetch_all(&mut *conn)
            .await?
        };
        for (id, cursor, payload) in parked {
            let Ok(event) = S::Event::decode(payload.as_slice()) else {
                continue;
            };
            let mut tx = self.outbox.db().begin_write().await?;
            match self.handler.handle(&mut tx, &event).await {
                Ok(events) => {
                    sqlx::query("DELETE FROM parked_events WHERE consumer = $1 AND event_id = $2")
                        .bind(self.name)
                        .bind(&id)
                        .execute(tx.conn())
                        .await?;
                    self.outbox.commit(tx, &events).await?;
                    self.handler.after_commit();
                    tracing::info!(consumer = self.name, event_id = id, "parked event handled");
                }
                Err(e) => {
                    tx.rollback().await?;
                    let mut tx = self.outbox.db().begin_write().await?;
                    self.park(&mut tx, &cursor, &id, &event, &e.to_string())
                        .await?;
                    tx.commit().await?;
                    tracing::warn!(consumer = self.name, event_id = id, error = %e, "parked event still fails");
                }
            }
        }
        Ok(())
    }
}

fn unavailable(e: sqlx::Error) -> Status {
    Status::unavailable(format!("consumer database: {e}"))
}

#[cfg(test)]
mod tests;
