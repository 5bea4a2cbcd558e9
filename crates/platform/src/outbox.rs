//! The transactional outbox and the `Watch` streams served from it
//! (R-EVT-1).
//!
//! A change writes its events into `outbox` in the same transaction, last,
//! after all its other writes. Events get no position then: positions are
//! handed out after commit by a sequencer, in the order events become
//! visible, and a commit's events get consecutive positions. A reader that
//! has seen position N therefore never finds a later commit below N, which
//! is what goes wrong when ids from a sequence are used as cursors (a
//! transaction that took id 7 and commits after id 8 was read is skipped).

use std::sync::Arc;
use std::time::Duration;

use sqlx::AnyConnection;
use sqlx::Row;
use std::collections::HashMap;

use tokio::sync::{Notify, mpsc, oneshot, watch};
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::Status;

use crate::clock::{SharedClock, to_micros};
use crate::config::OutboxConfig;
use crate::db::{Db, Dialect, WriteTx};

mod streams;
pub use streams::*;

/// An event about to be written.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub event_id: String,
    /// Snake-case kind, such as `invitation_created`.
    pub event_type: &'static str,
    /// `teams/{id}`, when the change belongs to a team.
    pub team: Option<String>,
    /// The encoded event message of the service.
    pub payload: Vec<u8>,
}

/// An event as read back, with its position.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub position: i64,
    pub event_id: String,
    pub event_type: String,
    pub team: Option<String>,
    pub payload: Vec<u8>,
    /// The last event of its commit.
    pub last_in_commit: bool,
}

/// The largest encoded event: far below gRPC's 4 MiB message and NATS's
/// 1 MB payload, so every reader and the relay can always take it. Events
/// carry summaries (an import's counts), never unbounded lists.
pub const MAX_EVENT_BYTES: usize = 256 * 1024;

/// Appends events inside the caller's transaction. Call it after the
/// transaction's other writes, so conflicting transactions append in the
/// order they took their locks.
pub async fn append(
    conn: &mut AnyConnection,
    dialect: Dialect,
    events: &[NewEvent],
    now_micros: i64,
) -> Result<(), sqlx::Error> {
    // A key shared by the events of this commit keeps them together: the
    // first event takes a new one, the others repeat it.
    let (first_key, same_key) = match dialect {
        Dialect::Postgres => (
            "nextval('outbox_commit_seq')",
            "currval('outbox_commit_seq')",
        ),
        // One writer at a time: the next key cannot be taken concurrently.
        // Sequenced events count too, or keys would start over each time the
        // sequencer empties the pending table and two commits would merge.
        Dialect::Sqlite => (
            "(SELECT MAX(k) + 1 FROM (SELECT COALESCE(MAX(commit_key), 0) AS k FROM outbox_pending \
              UNION ALL SELECT COALESCE(MAX(commit_key), 0) FROM outbox))",
            "(SELECT MAX(commit_key) FROM outbox_pending)",
        ),
    };
    // Refused here, when written, not when read: one event too large for a
    // gRPC message or a NATS publish would stop every reader behind it.
    if let Some(e) = events.iter().find(|e| e.payload.len() > MAX_EVENT_BYTES) {
        return Err(sqlx::Error::Encode(
            format!(
                "event {} ({}) is {} bytes, over the {MAX_EVENT_BYTES}-byte limit; the change was not written",
                e.event_id,
                e.event_type,
                e.payload.len()
            )
            .into(),
        ));
    }
    // The first event takes the commit's key; the others follow in
    // multi-row statements (a batch of a thousand changes is a handful of
    // statements, not a thousand), in order.
    let Some((first, rest)) = events.split_first() else {
        return Ok(());
    };
    insert_pending(conn, first_key, std::slice::from_ref(first), now_micros).await?;
    for chunk in rest.chunks(APPEND_ROWS) {
        insert_pending(conn, same_key, chunk, now_micros).await?;
    }
    Ok(())
}

const APPEND_ROWS: usize = crate::db::ROWS_PER_STATEMENT;

async fn insert_pending(
    conn: &mut AnyConnection,
    key: &str,
    events: &[NewEvent],
    now_micros: i64,
) -> Result<(), sqlx::Error> {
    // `(key, $1, …, $5), (key, $6, …)`: the key is SQL, not a value.
    let values = crate::db::values_rows(events.len(), 5, 1).replace('(', &format!("({key}, "));
    let sql = format!(
        "INSERT INTO outbox_pending (commit_key, event_id, event_type, team, payload, create_time) VALUES {values}"
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for e in events {
        q = q
            .bind(&e.event_id)
            .bind(e.event_type)
            .bind(e.team.as_deref())
            .bind(&e.payload)
            .bind(now_micros);
    }
    q.execute(&mut *conn).await?;
    Ok(())
}

tokio::task_local! {
    /// Within a call ([`tracking_writes`]): the outbox the call committed
    /// events to, and the last of them.
    static WRITTEN: std::cell::RefCell<Option<(Outbox, String)>>;
}

/// Runs `call`, noting the last event it commits; returns its output and
/// the cursor of that event once positioned (none when it wrote nothing).
/// The front door of every service answers a write with it
/// (`x-allot-cursor`), so a caller can ask another service to be answered
/// only once it has seen that change.
pub async fn tracking_writes<F: std::future::Future>(call: F) -> (F::Output, Option<String>) {
    let (output, written) = WRITTEN
        .scope(std::cell::RefCell::new(None), async move {
            let output = call.await;
            let written = WRITTEN.with(|w| w.borrow_mut().take());
            (output, written)
        })
        .await;
    let cursor = match written {
        Some((outbox, event_id)) => {
            match tokio::time::timeout(Duration::from_secs(5), outbox.position_of(&event_id)).await
            {
                Ok(Ok(p)) => Some(cursor(p)),
                _ => None,
            }
        }
        None => None,
    };
    (output, cursor)
}

/// One service's outbox: the sequencer, the head position, and readers.
#[derive(Clone)]
pub struct Outbox {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    clock: SharedClock,
    config: OutboxConfig,
    wake: Notify,
    head: watch::Sender<i64>,
    /// Cancelled when the service stops: Watch streams end so the server can
    /// drain, and clients resume elsewhere from their cursor.
    closing: CancellationToken,
    /// Writers waiting to learn the position of their commit's last event.
    waiters: std::sync::Mutex<HashMap<String, oneshot::Sender<i64>>>,
    /// Open Watch streams per caller.
    watchers: crate::streams::StreamSlots,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("head", &*self.inner.head.borrow())
            .finish()
    }
}

const READ_BATCH: i64 = 500;
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

impl Outbox {
    pub fn new(db: Db, clock: SharedClock, config: OutboxConfig) -> Outbox {
        let (head, _) = watch::channel(0);
        Outbox {
            inner: Arc::new(Inner {
                db,
                clock,
                config,
                wake: Notify::new(),
                head,
                closing: CancellationToken::new(),
                waiters: std::sync::Mutex::new(HashMap::new()),
                watchers: crate::streams::StreamSlots::new(
                    "Watch",
                    "TOO_MANY_WATCHES",
                    MAX_WATCHES_PER_CALLER,
                ),
            }),
        }
    }

    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    /// Appends `events` to `tx`, commits, and wakes the sequencer.
    pub async fn commit(&self, mut tx: WriteTx, events: &[NewEvent]) -> Result<(), sqlx::Error> {
        let now = to_micros(self.inner.clock.now());
        append(tx.conn(), self.inner.db.dialect(), events, now).await?;
        tx.commit().await?;
        if let Some(last) = events.last() {
            self.inner.wake.notify_one();
            // A call that wrote answers with the cursor of its change.
            let _ = WRITTEN.try_with(|w| {
                *w.borrow_mut() = Some((self.clone(), last.event_id.clone()));
            });
        }
        Ok(())
    }

    /// The position the sequencer gave event `event_id` (committed), once
    /// it has one.
    pub async fn position_of(&self, event_id: &str) -> Result<i64, sqlx::Error> {
        let positioned = |pool| async move {
            let pos: Option<Option<i64>> =
                sqlx::query_scalar("SELECT position FROM outbox WHERE event_id = $1")
                    .bind(event_id)
                    .fetch_optional(pool)
                    .await?;
            Ok::<_, sqlx::Error>(pos.flatten())
        };
        if let Some(p) = positioned(self.inner.db.pool()).await? {
            return Ok(p);
        }
        let (send, receive) = oneshot::channel();
        if let Ok(mut w) = self.inner.waiters.lock() {
            w.insert(event_id.to_owned(), send);
        }
        // Usually this process's sequencer positions it within a moment;
        // another replica's may have, so look in the table too.
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        tick.tick().await;
        let mut receive = Some(receive);
        loop {
            if let Some(r) = receive.as_mut() {
                tokio::select! {
                    pos = r => {
                        if let Ok(p) = pos {
                            return Ok(p);
                        }
                        receive = None;
                    }
                    _ = tick.tick() => {}
                }
            } else {
                tick.tick().await;
            }
            if let Some(p) = positioned(self.inner.db.pool()).await? {
                if let Ok(mut w) = self.inner.waiters.lock() {
                    w.remove(event_id);
                }
                return Ok(p);
            }
        }
    }

    /// Wakes the sequencer after events were committed some other way.
    pub fn committed(&self) {
        self.inner.wake.notify_one();
    }

    /// The current time by the outbox's clock, in microseconds.
    pub fn now_micros(&self) -> i64 {
        to_micros(self.inner.clock.now())
    }

    /// The newest position this process knows of.
    pub fn head(&self) -> i64 {
        *self.inner.head.borrow()
    }

    /// Follows the head position.
    pub fn subscribe(&self) -> watch::Receiver<i64> {
        self.inner.head.subscribe()
    }

    /// Gives positions to every committed event that has none, and publishes
    /// the new head. Several replicas may run this; they take turns on the
    /// `outbox_state` row.
    pub async fn sequence_once(&self) -> Result<i64, sqlx::Error> {
        self.sequence(true).await
    }

    /// One sequencer pass. `look_first` checks cheaply for pending events
    /// before taking the write lock, for passes nobody asked for.
    async fn sequence(&self, look_first: bool) -> Result<i64, sqlx::Error> {
        let db = &self.inner.db;
        let pending = !look_first
            || sqlx::query_scalar::<_, i64>("SELECT id FROM outbox_pending LIMIT 1")
                .fetch_optional(db.pool())
                .await?
                .is_some();
        let head = if pending {
            let mut tx = db.begin_write().await?;
            let head: i64 = sqlx::query_scalar(
                "UPDATE outbox_state SET head = head WHERE id = 1 RETURNING head",
            )
            .fetch_one(tx.conn())
            .await?;
            // Everything committed so far moves into the outbox with the
            // next positions, one commit's events together.
            let positioned = match db.dialect() {
                // One statement: the sequencer is on the path of every write
                // that waits for its position.
                Dialect::Postgres => {
                    sqlx::query(
                        "WITH moved AS (DELETE FROM outbox_pending \
                           RETURNING id, commit_key, event_id, event_type, team, payload, create_time), \
                         placed AS (INSERT INTO outbox (position, commit_key, event_id, event_type, team, payload, create_time) \
                           SELECT $1 + ROW_NUMBER() OVER (ORDER BY commit_key, id), commit_key, event_id, \
                           event_type, team, payload, create_time FROM moved RETURNING event_id, position), \
                         head AS (UPDATE outbox_state SET head = $1 + (SELECT COUNT(*) FROM moved) WHERE id = 1) \
                         SELECT event_id, position FROM placed",
                    )
                    .bind(head)
                    .fetch_all(tx.conn())
                    .await?
                }
                // SQLite has no data-changing statements in WITH.
                Dialect::Sqlite => {
                    let positioned = sqlx::query(
                        "INSERT INTO outbox (position, commit_key, event_id, event_type, team, payload, create_time) \
                         SELECT $1 + ROW_NUMBER() OVER (ORDER BY commit_key, id), commit_key, event_id, event_type, \
                         team, payload, create_time FROM outbox_pending RETURNING event_id, position",
                    )
                    .bind(head)
                    .fetch_all(tx.conn())
                    .await?;
                    sqlx::query("DELETE FROM outbox_pending")
                        .execute(tx.conn())
                        .await?;
                    sqlx::query("UPDATE outbox_state SET head = $1 WHERE id = 1")
                        .bind(head + i64::try_from(positioned.len()).unwrap_or(0))
                        .execute(tx.conn())
                        .await?;
                    positioned
                }
            };
            tx.commit().await?;
            self.tell_waiters(&positioned);
            head + i64::try_from(positioned.len()).unwrap_or(0)
        } else {
            sqlx::query_scalar("SELECT head FROM outbox_state WHERE id = 1")
                .fetch_one(db.pool())
                .await?
        };
        self.inner.head.send_if_modified(|h| {
            if head > *h {
                *h = head;
                true
            } else {
                false
            }
        });
        Ok(head)
    }

    fn tell_waiters(&self, positioned: &[sqlx::any::AnyRow]) {
        let Ok(mut waiters) = self.inner.waiters.lock() else {
            return;
        };
        if waiters.is_empty() {
            return;
        }
        for row in positioned {
            if let (Ok(id), Ok(pos)) = (row.try_get::<String, _>(0), row.try_get::<i64, _>(1))
                && let Some(w) = waiters.remove(&id)
            {
                let _ = w.send(pos);
            }
        }
    }

    /// Appends `events`, commits, and returns the position the last of them
    /// got: the point a projection of this outbox must reach to show the
    /// change. `None` when there were no events.
    pub async fn commit_positioned(
        &self,
        tx: WriteTx,
        events: &[NewEvent],
    ) -> Result<Option<i64>, sqlx::Error> {
        let Some(last) = events.last() else {
            tx.commit().await?;
            return Ok(None);
        };
        let (send, receive) = oneshot::channel();
        if let Ok(mut w) = self.inner.waiters.lock() {
            w.insert(last.event_id.clone(), send);
        }
        let committed = self.commit(tx, events).await;
        if let Err(e) = committed {
            if let Ok(mut w) = self.inner.waiters.lock() {
                w.remove(&last.event_id);
            }
            return Err(e);
        }
        if let Ok(p) = tokio::time::timeout(Duration::from_millis(20), receive).await
            && let Ok(p) = p
        {
            return Ok(Some(p));
        }
        self.position_of(&last.event_id).await.map(Some)
    }

    /// Runs the sequencer and the pruner until `stop`.
    pub fn spawn(&self, stop: CancellationToken) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            let mut last_prune = tokio::time::Instant::now();
            let mut failures: u32 = 0;
            let mut woken = false;
            loop {
                match this.sequence(!woken).await {
                    Ok(_) => failures = 0,
                    Err(e) => {
                        failures += 1;
                        if failures == 1 || failures.is_multiple_of(100) {
                            tracing::warn!(error = %e, failures, "outbox sequencer could not assign positions; retrying");
                        }
                    }
                }
                // Short retentions (tests, small installations) prune often
                // enough that nothing outlives them by much.
                if last_prune.elapsed() >= PRUNE_EVERY.min(this.inner.config.retention / 2) {
                    last_prune = tokio::time::Instant::now();
                    if let Err(e) = this.prune().await {
                        tracing::warn!(error = %e, "outbox pruning failed");
                    }
                }
                woken = tokio::select! {
                    () = stop.cancelled() => break,
                    () = this.inner.wake.notified() => true,
                    () = tokio::time::sleep(this.inner.config.poll_interval) => false,
                };
            }
            this.inner.closing.cancel();
        })
    }

    /// Deletes events older than the retention period.
    pub async fn prune(&self) -> Result<i64, sqlx::Error> {
        let retention = time::Duration::try_from(self.inner.config.retention)
            .unwrap_or(time::Duration::days(7));
        self.prune_before(to_micros(self.inner.clock.now() - retention))
            .await
    }

    /// Deletes positioned events created before `cutoff_micros`; returns the
    /// new retention boundary.
    pub async fn prune_before(&self, cutoff_micros: i64) -> Result<i64, sqlx::Error> {
        let db = &self.inner.db;
        let mut tx = db.begin_write().await?;
        let upto: i64 = sqlx::query_scalar(
            "SELECT COALESCE(MAX(position), 0) FROM outbox \
             WHERE position IS NOT NULL AND create_time < $1",
        )
        .bind(cutoff_micros)
        .fetch_one(tx.conn())
        .await?;
        if upto > 0 {
            sqlx::query("DELETE FROM outbox WHERE position <= $1")
                .bind(upto)
                .execute(tx.conn())
                .await?;
            sqlx::query(
                "UPDATE outbox_state SET retained_after = $1 WHERE id = 1 AND retained_after < $1",
            )
            .bind(upto)
            .execute(tx.conn())
            .await?;
        }
        let retained: i64 =
            sqlx::query_scalar("SELECT retained_after FROM outbox_state WHERE id = 1")
                .fetch_one(tx.conn())
                .await?;
        tx.commit().await?;
        Ok(retained)
    }

    /// `(retained_after, head)` as stored.
    pub async fn bounds(&self) -> Result<(i64, i64), sqlx::Error> {
        let row = sqlx::query("SELECT retained_after, head FROM outbox_state WHERE id = 1")
            .fetch_one(self.inner.db.pool())
            .await?;
        Ok((row.try_get(0)?, row.try_get(1)?))
    }
}

/// Who made a change and when: the context every event of it carries.
#[derive(Debug, Clone)]
pub struct ChangeMeta {
    /// Resource name of the caller (`accounts/…`, `serviceAccounts/…`).
    pub actor: String,
    pub request_id: String,
    pub now_micros: i64,
}

impl ChangeMeta {
    /// Builds one event of this change.
    pub fn event<E: prost::Message>(
        &self,
        event_type: &'static str,
        team: Option<String>,
        build: impl FnOnce(allot_proto::common::EventContext) -> E,
    ) -> NewEvent {
        let event_id = uuid::Uuid::now_v7().to_string();
        let context = allot_proto::common::EventContext {
            id: event_id.clone(),
            cursor: String::new(),
            create_time: Some(crate::clock::timestamp(self.now_micros)),
            actor: self.actor.clone(),
            request_id: self.request_id.clone(),
            team: team.clone().unwrap_or_default(),
            last_in_commit: false,
            traceparent: crate::telemetry::current_traceparent(),
        };
        NewEvent {
            event_id,
            event_type,
            team,
            payload: build(context).encode_to_vec(),
        }
    }
}
