//! Watch streams served from the outbox: cursors, reading after a
//! position, and one stream per subscriber (R-EVT-1).

use super::*;

/// What a Watch stream carries before the service turns it into its own
/// response message.
#[derive(Debug, Clone)]
pub enum WatchItem {
    Event(StoredEvent),
    /// Everything up to this position has been delivered.
    Checkpoint(i64),
}

/// Where a Watch stream starts.
#[derive(Debug, Clone, Default)]
pub struct WatchParams {
    /// The cursor the client saw last; `None` starts at the oldest retained
    /// event, or at the newest with `start_at_now`.
    pub after_cursor: Option<String>,
    pub start_at_now: bool,
    /// Only these event types (all when empty).
    pub event_types: Vec<String>,
    /// Only events of this team.
    pub team: Option<String>,
    /// Who opens the stream (a caller's resource name), for the cap on
    /// open streams per caller.
    pub holder: String,
}

/// The most Watch streams one caller may hold open on one server.
pub const MAX_WATCHES_PER_CALLER: usize = 16;

/// Formats a position as the opaque cursor clients pass back.
pub fn cursor(position: i64) -> String {
    position.to_string()
}

/// Reads a cursor given by a client.
pub fn parse_cursor(field: &str, cursor: &str) -> Result<i64, Status> {
    cursor
        .parse::<i64>()
        .ok()
        .filter(|p| *p >= 0)
        .ok_or_else(|| {
            crate::error::invalid_argument(&[crate::error::FieldViolation::new(
                field,
                "is not a cursor returned by Watch",
            )])
        })
}

impl Outbox {
    /// Reads up to `limit` events after `after`, up to `head`.
    pub async fn read(
        &self,
        after: i64,
        head: i64,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT position, commit_key, event_type, team, payload, event_id FROM outbox \
             WHERE position > $1 AND position <= $2 ORDER BY position LIMIT $3",
        )
        .bind(after)
        .bind(head)
        .bind(limit + 1)
        .fetch_all(self.inner.db.pool())
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        let mut keys = Vec::with_capacity(rows.len());
        for row in &rows {
            keys.push(row.try_get::<i64, _>(1)?);
            out.push(StoredEvent {
                position: row.try_get(0)?,
                event_type: row.try_get(2)?,
                team: row.try_get(3)?,
                payload: row.try_get(4)?,
                event_id: row.try_get(5)?,
                last_in_commit: false,
            });
        }
        for i in 0..out.len() {
            out[i].last_in_commit = match keys.get(i + 1) {
                Some(next) => *next != keys[i],
                // Commits are positioned whole, so the event at the head
                // closes its commit.
                None => out[i].position == head,
            };
        }
        let keep = usize::try_from(limit).unwrap_or(usize::MAX);
        out.truncate(keep);
        Ok(out)
    }

    /// Serves a Watch stream: events after the cursor in commit order, then
    /// live ones, with checkpoints when idle. `map` turns each item into the
    /// service's response message.
    pub async fn watch<R, F>(
        &self,
        params: WatchParams,
        map: F,
    ) -> Result<ReceiverStream<Result<R, Status>>, Status>
    where
        R: Send + 'static,
        F: Fn(WatchItem) -> Result<R, Status> + Send + 'static,
    {
        let (retained, stored_head) = self
            .bounds()
            .await
            .map_err(|e| crate::error::internal("reading the event stream", &e))?;
        let start = match &params.after_cursor {
            Some(c) => {
                let p = parse_cursor("after_cursor", c)?;
                if p < retained {
                    return Err(crate::error::cursor_expired(
                        format!(
                            "cursor {p} is older than the retained events (which start after {retained}); list the current state again and watch from a new cursor"
                        ),
                        retained,
                    ));
                }
                // Ahead of the head: the stream was restored from a backup
                // (its newer events are gone), or the cursor is another
                // stream's. Either way the follower's view is not this
                // stream's: it starts again from current state, as for an
                // expired cursor, and follows from the head.
                if p > stored_head {
                    return Err(crate::error::cursor_expired(
                        format!(
                            "cursor {p} is ahead of the newest event ({stored_head}): the stream was restored from a backup, or the cursor is another stream's; list the current state again and watch from a new cursor"
                        ),
                        stored_head,
                    ));
                }
                p
            }
            None if params.start_at_now => stored_head,
            None => retained,
        };
        let slot = self.inner.watchers.take(&params.holder)?;
        let (tx, rx) = mpsc::channel(64);
        let this = self.clone();
        tokio::spawn(async move {
            let _slot = slot;
            if let Err(status) = this.stream_loop(start, params, map, &tx).await {
                let _ = tx.send(Err(status)).await;
            }
        });
        Ok(ReceiverStream::new(rx))
    }

    async fn stream_loop<R, F>(
        &self,
        mut cursor: i64,
        params: WatchParams,
        map: F,
        tx: &mpsc::Sender<Result<R, Status>>,
    ) -> Result<(), Status>
    where
        F: Fn(WatchItem) -> Result<R, Status>,
    {
        let mut head_rx = self.subscribe();
        let interval = self.inner.config.checkpoint_interval;
        let read_err = |e: sqlx::Error| crate::error::internal("reading the event stream", &e);
        loop {
            let head = *head_rx.borrow_and_update();
            if cursor < head {
                let (retained, _) = self.bounds().await.map_err(read_err)?;
                if cursor < retained {
                    return Err(crate::error::cursor_expired(
                        "the stream fell behind the retained events; list the current state again and watch from a new cursor",
                        retained,
                    ));
                }
                let batch = self
                    .read(cursor, head, READ_BATCH)
                    .await
                    .map_err(read_err)?;
                for event in batch {
                    cursor = event.position;
                    let wanted = (params.event_types.is_empty()
                        || params.event_types.contains(&event.event_type))
                        && params
                            .team
                            .as_ref()
                            .is_none_or(|t| event.team.as_deref() == Some(t.as_str()));
                    if wanted && tx.send(map(WatchItem::Event(event))).await.is_err() {
                        return Ok(());
                    }
                }
                continue;
            }
            tokio::select! {
                () = self.inner.closing.cancelled() => {
                    return Err(Status::unavailable("the server is shutting down; resume from your cursor"));
                }
                changed = head_rx.changed() => {
                    if changed.is_err() {
                        return Ok(());
                    }
                }
                () = tokio::time::sleep(interval) => {
                    if tx.send(map(WatchItem::Checkpoint(cursor))).await.is_err() {
                        return Ok(());
                    }
                }
                () = tx.closed() => return Ok(()),
            }
        }
    }
}

/// An event message of a service, with its context.
pub trait EventMessage: prost::Message + Default {
    fn context_mut(&mut self) -> &mut Option<allot_proto::common::EventContext>;
}

macro_rules! event_message {
    ($t:ty) => {
        impl EventMessage for $t {
            fn context_mut(&mut self) -> &mut Option<allot_proto::common::EventContext> {
                &mut self.context
            }
        }
    };
}

event_message!(allot_proto::identity::Event);
event_message!(allot_proto::team::Event);
event_message!(allot_proto::entitlement::Event);

/// Decodes a stored event and fills in its cursor and commit boundary.
pub fn decode_stored<E: EventMessage>(stored: &StoredEvent) -> Result<E, Status> {
    let mut event = E::decode(stored.payload.as_slice())
        .map_err(|e| crate::error::internal("decoding a stored event", &e))?;
    let ctx = event.context_mut().get_or_insert_with(Default::default);
    ctx.cursor = cursor(stored.position);
    ctx.last_in_commit = stored.last_in_commit;
    Ok(event)
}

/// The checkpoint message for a position.
pub fn checkpoint(position: i64, now_micros: i64) -> allot_proto::common::Checkpoint {
    allot_proto::common::Checkpoint {
        cursor: cursor(position),
        time: Some(crate::clock::timestamp(now_micros)),
    }
}

/// Turns a watch item into a service's response message.
pub fn map_watch_item<E: EventMessage, R>(
    item: WatchItem,
    now_micros: i64,
    on_event: impl Fn(E) -> R,
    on_checkpoint: impl Fn(allot_proto::common::Checkpoint) -> R,
) -> Result<R, Status> {
    match item {
        WatchItem::Event(stored) => decode_stored::<E>(&stored).map(on_event),
        WatchItem::Checkpoint(position) => Ok(on_checkpoint(checkpoint(position, now_micros))),
    }
}

impl WatchParams {
    /// Parameters from a request's fields; an empty cursor means "none".
    pub fn from_request(
        after_cursor: String,
        start_at_now: bool,
        event_types: Vec<String>,
        team: Option<String>,
        holder: String,
    ) -> Self {
        WatchParams {
            after_cursor: (!after_cursor.is_empty()).then_some(after_cursor),
            start_at_now,
            event_types,
            team,
            holder,
        }
    }
}

impl Outbox {
    /// A Watch stream of a service's own event and response types.
    pub async fn watch_events<E, R>(
        &self,
        params: WatchParams,
        on_event: fn(E) -> R,
        on_checkpoint: fn(allot_proto::common::Checkpoint) -> R,
    ) -> Result<tonic::codegen::BoxStream<R>, Status>
    where
        E: EventMessage + 'static,
        R: Send + 'static,
    {
        let clock = self.inner.clock.clone();
        let stream = self
            .watch(params, move |item| {
                map_watch_item(item, to_micros(clock.now()), on_event, on_checkpoint)
            })
            .await?;
        Ok(Box::pin(stream))
    }
}
