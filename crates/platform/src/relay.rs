//! The JetStream relay: when `nats_url` is set, every event of a service's
//! outbox is also published to NATS JetStream, on the subject
//! `allot.<service>.<event_type>`, in commit order.
//!
//! Each message carries the event id as `Nats-Msg-Id`, so JetStream drops a
//! message it already holds (within the stream's duplicate window). The
//! relay saves how far it got in the service's own database after JetStream
//! acknowledged a batch; after a crash it publishes again from there, and
//! the duplicates of the unsaved tail are dropped by id.

use std::future::IntoFuture;
use std::time::Duration;

use async_nats::jetstream::{self, message::PublishMessage};
use tokio_util::sync::CancellationToken;

use crate::consumer::{load_cursor, save_cursor};
use crate::outbox::{Outbox, StoredEvent, cursor, parse_cursor};

/// The stream every service publishes into.
pub const STREAM: &str = "ALLOT";
/// How long JetStream remembers message ids to drop duplicates.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(10 * 60);
/// Events published per batch before the relay waits for acknowledgements
/// and saves its cursor.
const BATCH: i64 = 256;
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(10);

/// Headers every relayed message carries besides `Nats-Msg-Id`.
pub mod headers {
    /// The event's position in its service's stream (the Watch cursor).
    pub const POSITION: &str = "Allot-Position";
    /// The snake-case event type, also the last subject token.
    pub const EVENT_TYPE: &str = "Allot-Event-Type";
    /// `teams/{id}` when the event belongs to a team.
    pub const TEAM: &str = "Allot-Team";
}

/// The subject an event of `service` is published on.
pub fn subject(service: &str, event_type: &str) -> String {
    format!("allot.{service}.{event_type}")
}

/// Publishes one service's outbox to JetStream.
#[derive(Debug, Clone)]
pub struct Relay {
    /// `identity`, `team` or `entitlement`.
    pub service: &'static str,
    pub nats_url: String,
    pub outbox: Outbox,
}

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("NATS: {0}")]
    Nats(String),
}

fn nats(e: impl std::fmt::Display) -> RelayError {
    RelayError::Nats(e.to_string())
}

/// How to connect to `url`: the client does not read a user and password
/// in the URL itself (`nats://allot:secret@nats:4222`), so they become the
/// connection's credentials here.
pub fn connect_options(
    url: &str,
) -> Result<(async_nats::ConnectOptions, async_nats::ServerAddr), RelayError> {
    let addr: async_nats::ServerAddr = url
        .parse()
        .map_err(|e| nats(format!("nats_url {}: {e}", crate::redact::url(url))))?;
    let mut options = async_nats::ConnectOptions::new();
    if let (Some(user), Some(password)) = (addr.username(), addr.password()) {
        options = options.user_and_password(user.to_owned(), password.to_owned());
    }
    Ok((options, addr))
}

impl Relay {
    fn cursor_name(&self) -> String {
        format!("jetstream:{}", self.service)
    }

    /// Runs until `stop`, reconnecting with a growing pause after errors.
    pub fn spawn(self, stop: CancellationToken) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut pause = Duration::from_millis(200);
            loop {
                let outcome = tokio::select! {
                    () = stop.cancelled() => return,
                    r = self.run(&stop) => r,
                };
                match outcome {
                    Ok(()) => return,
                    Err(e) => {
                        tracing::warn!(service = self.service, error = %e, retry_in = ?pause, "JetStream relay stopped; retrying");
                    }
                }
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(pause) => {}
                }
                pause = (pause * 2).min(Duration::from_secs(10));
            }
        })
    }

    async fn run(&self, stop: &CancellationToken) -> Result<(), RelayError> {
        let (options, addr) = connect_options(&self.nats_url)?;
        let client = options
            .name(format!("allot-{}", self.service))
            .connect(addr)
            .await
            .map_err(nats)?;
        let js = jetstream::new(client);
        js.get_or_create_stream(jetstream::stream::Config {
            name: STREAM.into(),
            subjects: vec!["allot.>".into()],
            duplicate_window: DUPLICATE_WINDOW,
            ..Default::default()
        })
        .await
        .map_err(nats)?;
        let name = self.cursor_name();
        let mut after = {
            let mut conn = self.outbox.db().conn().await?;
            match load_cursor(&mut conn, &name).await? {
                Some(c) => parse_cursor("cursor", &c).map_err(|s| nats(s.message()))?,
                None => 0,
            }
        };
        tracing::info!(service = self.service, after, "JetStream relay publishing");
        let mut heads = self.outbox.subscribe();
        loop {
            let (retained, head) = self.outbox.bounds().await?;
            if after < retained {
                tracing::error!(
                    service = self.service,
                    after,
                    retained,
                    "events were pruned before the relay published them; continuing after the gap"
                );
                after = retained;
            }
            if head > after {
                let events = self.outbox.read(after, head, BATCH).await?;
                if let Some(last) = events.last() {
                    let upto = last.position;
                    self.publish(&js, &events).await?;
                    let mut tx = self.outbox.db().begin_write().await?;
                    save_cursor(tx.conn(), &name, &cursor(upto), self.outbox.now_micros()).await?;
                    tx.commit().await?;
                    after = upto;
                    continue;
                }
            }
            tokio::select! {
                () = stop.cancelled() => return Ok(()),
                r = heads.changed() => if r.is_err() { return Ok(()) },
                // Other processes' commits reach the head through polling.
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }

    /// Publishes a batch, pipelined, and waits for every acknowledgement.
    async fn publish(
        &self,
        js: &jetstream::Context,
        events: &[StoredEvent],
    ) -> Result<(), RelayError> {
        let mut acks = Vec::with_capacity(events.len());
        for e in events {
            let mut msg = PublishMessage::build()
                .payload(e.payload.clone().into())
                .message_id(&e.event_id)
                .header(headers::POSITION, e.position.to_string().as_str())
                .header(headers::EVENT_TYPE, e.event_type.as_str());
            if let Some(team) = &e.team {
                msg = msg.header(headers::TEAM, team.as_str());
            }
            acks.push(
                js.send_publish(subject(self.service, &e.event_type), msg)
                    .await
                    .map_err(nats)?,
            );
        }
        for ack in acks {
            tokio::time::timeout(PUBLISH_TIMEOUT, ack.into_future())
                .await
                .map_err(|_| nats("no acknowledgement from JetStream"))?
                .map_err(nats)?;
        }
        Ok(())
    }
}
