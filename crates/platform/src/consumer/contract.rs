//! What a consumer is given and what it asks of the code that handles its
//! events: the source stream, the handler and how its failures are told
//! apart.

use std::future::Future;

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use tonic::Status;

use crate::db::WriteTx;
use crate::outbox::NewEvent;

/// One item of a source stream.
#[derive(Debug, Clone)]
pub enum SourceItem<E> {
    Event {
        cursor: String,
        id: String,
        event: E,
        /// The trace of the change (its `traceparent`), continued while
        /// the event is handled; empty when it was not traced.
        traceparent: String,
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
    /// Retrying cannot help: the handler's writes are rolled back and the
    /// event is parked with this reason (see `parked_events`).
    #[error("{0}")]
    Permanent(String),
}

impl From<sqlx::Error> for HandleError {
    /// A database that is down or busy is worth waiting for; a statement
    /// that fails by itself (a constraint, a value too large) fails the
    /// same way every time and must not block the stream.
    fn from(e: sqlx::Error) -> Self {
        use crate::db::{DbFailure, classify};
        let transient = classify(&e) == DbFailure::Transient
            || matches!(
                e,
                sqlx::Error::Io(_)
                    | sqlx::Error::Tls(_)
                    | sqlx::Error::Protocol(_)
                    | sqlx::Error::PoolTimedOut
                    | sqlx::Error::PoolClosed
                    | sqlx::Error::WorkerCrashed
            );
        if transient {
            HandleError::Transient(e.to_string())
        } else {
            HandleError::Permanent(e.to_string())
        }
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

    /// Everything up to `cursor` of the source's stream is committed (after
    /// events, and after a checkpoint past events the handler skips).
    fn committed_through(&self, _cursor: &str) {}

    /// `event` could not be handled and is being parked: what of it must
    /// take effect all the same is written in `tx`, the transaction that
    /// parks it (a copy of the source's state stays exact while the event
    /// waits for an operator). A transient failure retries the parking.
    fn parked<'a>(
        &'a self,
        _tx: &'a mut WriteTx,
        _event: &'a E,
    ) -> impl Future<Output = Result<(), HandleError>> + Send + 'a {
        async { Ok(()) }
    }

    /// Runs before the consumer first follows the stream, and again after
    /// a failure of its own, until it succeeds (a handler whose state is not
    /// whole builds it here).
    fn startup(&self) -> impl Future<Output = Result<(), HandleError>> + Send + '_ {
        async { Ok(()) }
    }

    /// Brings the consumer's effects up to date from the source's current
    /// state, for when events were lost: the stream said the saved cursor
    /// is older than anything it still holds (CURSOR_EXPIRED). Effects must
    /// be idempotent, since the retained events are handled after it.
    fn reconcile(&self) -> impl Future<Output = Result<(), HandleError>> + Send + '_ {
        async { Ok(()) }
    }
}
