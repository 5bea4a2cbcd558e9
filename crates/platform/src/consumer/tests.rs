use super::*;
use crate::clock::SystemClock;
use crate::config::OutboxConfig;
use crate::db::{Db, Migrations};
use crate::outbox::NewEvent;
use futures::future::BoxFuture;
use futures::stream;
use futures::stream::BoxStream;
use sqlx::migrate::Migrator;

static NONE: Migrator = Migrator::DEFAULT;

async fn outbox(dir: &tempfile::TempDir) -> Outbox {
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let db = Db::connect(&url, 2).await.expect("sqlite");
    db.migrate(Migrations {
        sqlite: &NONE,
        postgres: &NONE,
    })
    .await
    .expect("migrate");
    Outbox::new(db, SystemClock::shared(), OutboxConfig::default())
}

/// Events are plain `Timestamp`s here; the source replays a fixed list.
struct Scripted(Vec<(String, prost_types::Timestamp)>);

impl Source for Scripted {
    type Event = prost_types::Timestamp;

    fn open(
        &self,
        _after: Option<String>,
        _types: &'static [&'static str],
    ) -> BoxFuture<
        'static,
        Result<BoxStream<'static, Result<SourceItem<Self::Event>, Status>>, Status>,
    > {
        let items: Vec<Result<SourceItem<Self::Event>, Status>> = self
            .0
            .iter()
            .map(|(id, e)| {
                Ok(SourceItem::Event {
                    cursor: e.seconds.to_string(),
                    id: id.clone(),
                    event: *e,
                    traceparent: String::new(),
                })
            })
            .collect();
        Box::pin(async move { Ok(stream::iter(items).chain(stream::pending()).boxed()) })
    }
}

/// Writes a row for each event, then fails permanently on odd seconds.
struct Writer;

impl Handler<prost_types::Timestamp> for Writer {
    async fn handle(
        &self,
        tx: &mut WriteTx,
        event: &prost_types::Timestamp,
    ) -> Result<Vec<NewEvent>, HandleError> {
        save_cursor(tx.conn(), &format!("wrote-{}", event.seconds), "x", 0).await?;
        if event.seconds % 2 == 1 {
            return Err(HandleError::Permanent(format!("{} is odd", event.seconds)));
        }
        Ok(Vec::new())
    }
}

async fn cursor_of(outbox: &Outbox, name: &str) -> Option<String> {
    let mut conn = outbox.db().conn().await.expect("conn");
    load_cursor(&mut conn, name).await.expect("cursor")
}

/// Runs a consumer named `test` with `handler` over `events` until its
/// cursor reaches `last`, then stops it.
async fn consume_all<H: Handler<prost_types::Timestamp>>(
    outbox: &Outbox,
    handler: H,
    events: Vec<(String, prost_types::Timestamp)>,
    last: &str,
) {
    let stop = CancellationToken::new();
    let task = Consumer {
        name: "test",
        source: Scripted(events),
        event_types: &[],
        handler,
        outbox: outbox.clone(),
        clock: SystemClock::shared(),
    }
    .spawn(stop.clone());
    wait_for("the stream reaches its end", async || {
        cursor_of(outbox, "test").await.as_deref() == Some(last)
    })
    .await;
    stop.cancel();
    task.await.expect("consumer ends");
}

#[tokio::test]
async fn r_evt_1_a_permanent_failure_rolls_back_and_parks_the_event() {
    let dir = tempfile::tempdir().expect("dir");
    let outbox = outbox(&dir).await;
    consume_all(&outbox, Writer, timestamps(1..=2), "2").await;
    assert_eq!(
        cursor_of(&outbox, "wrote-1").await,
        None,
        "the failed event's writes were rolled back"
    );
    assert!(
        cursor_of(&outbox, "wrote-2").await.is_some(),
        "the next event was handled"
    );
    let mut conn = outbox.db().conn().await.expect("conn");
    let parked: Vec<(String, String)> =
        sqlx::query_as("SELECT event_id, reason FROM parked_events WHERE consumer = 'test'")
            .fetch_all(&mut *conn)
            .await
            .expect("parked");
    assert_eq!(parked, vec![("e1".to_owned(), "1 is odd".to_owned())]);
}

/// R-EVT-1: events that arrive together are applied in one transaction;
/// when some of them cannot be, the batch is rolled back and applied one
/// by one, so only those are parked and every other one takes effect.
#[tokio::test]
async fn r_evt_1_a_batch_with_bad_events_parks_only_them() {
    let dir = tempfile::tempdir().expect("dir");
    let outbox = outbox(&dir).await;
    consume_all(&outbox, Writer, timestamps(1..=40), "40").await;
    for s in 1..=40 {
        let wrote = cursor_of(&outbox, &format!("wrote-{s}")).await;
        assert_eq!(wrote.is_some(), s % 2 == 0, "event {s}");
    }
    let parked = crate::parked::list(outbox.db(), Some("test"))
        .await
        .expect("list");
    let mut ids: Vec<&str> = parked.iter().map(|p| p.event_id.as_str()).collect();
    ids.sort_unstable();
    let mut odd: Vec<String> = (1..=40)
        .filter(|s| s % 2 == 1)
        .map(|s| format!("e{s}"))
        .collect();
    odd.sort_unstable();
    assert_eq!(ids, odd, "each bad event parked once");
}

/// Writes a row per event, fails permanently on odd seconds, writes what a
/// parked event still changes (`parked-N`), and counts commits.
#[derive(Default)]
struct Counted {
    commits: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Handler<prost_types::Timestamp> for Counted {
    async fn handle(
        &self,
        tx: &mut WriteTx,
        event: &prost_types::Timestamp,
    ) -> Result<Vec<NewEvent>, HandleError> {
        Writer.handle(tx, event).await
    }

    fn after_commit(&self) {
        self.commits
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    async fn parked(
        &self,
        tx: &mut WriteTx,
        event: &prost_types::Timestamp,
    ) -> Result<(), HandleError> {
        save_cursor(tx.conn(), &format!("parked-{}", event.seconds), "x", 0).await?;
        Ok(())
    }
}

fn timestamps(range: std::ops::RangeInclusive<i64>) -> Vec<(String, prost_types::Timestamp)> {
    range
        .map(|s| {
            (
                format!("e{s}"),
                prost_types::Timestamp {
                    seconds: s,
                    nanos: 0,
                },
            )
        })
        .collect()
}

/// R-EVT-1: what the stream already holds is handled in one transaction,
/// not one per event.
#[tokio::test]
async fn r_evt_1_events_that_arrive_together_commit_together() {
    let dir = tempfile::tempdir().expect("dir");
    let outbox = outbox(&dir).await;
    let evens: Vec<_> = timestamps(1..=60)
        .into_iter()
        .filter(|(_, t)| t.seconds % 2 == 0)
        .collect();
    let handler = Counted::default();
    let commits = handler.commits.clone();
    consume_all(&outbox, handler, evens, "60").await;
    for s in (2..=60).step_by(2) {
        assert!(
            cursor_of(&outbox, &format!("wrote-{s}")).await.is_some(),
            "event {s}"
        );
    }
    let commits = commits.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        commits <= 2,
        "30 waiting events took {commits} transactions"
    );
}

/// R-EVT-1: a parked event's writes are rolled back, but what the handler
/// says must still take effect (entitlement's copy of team's directory)
/// is written with the parking, and the good events around it are whole.
#[tokio::test]
async fn r_evt_1_what_a_parked_event_still_changes_is_written_with_it() {
    let dir = tempfile::tempdir().expect("dir");
    let outbox = outbox(&dir).await;
    consume_all(&outbox, Counted::default(), timestamps(1..=6), "6").await;
    for s in 1..=6 {
        let odd = s % 2 == 1;
        assert_eq!(
            cursor_of(&outbox, &format!("wrote-{s}")).await.is_some(),
            !odd,
            "wrote {s}"
        );
        assert_eq!(
            cursor_of(&outbox, &format!("parked-{s}")).await.is_some(),
            odd,
            "parked {s}"
        );
    }
}

/// Fails permanently until `fixed` is set (an operator fixed the cause).
struct UntilFixed(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Handler<prost_types::Timestamp> for UntilFixed {
    async fn handle(
        &self,
        tx: &mut WriteTx,
        event: &prost_types::Timestamp,
    ) -> Result<Vec<NewEvent>, HandleError> {
        if !self.0.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(HandleError::Permanent("not yet".into()));
        }
        save_cursor(tx.conn(), &format!("wrote-{}", event.seconds), "x", 0).await?;
        Ok(Vec::new())
    }
}

async fn wait_for(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !done().await {
        assert!(std::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn r_evt_1_an_operator_sees_and_retries_a_parked_event() {
    let dir = tempfile::tempdir().expect("dir");
    let outbox = outbox(&dir).await;
    let event = prost_types::Timestamp {
        seconds: 7,
        nanos: 0,
    };
    let fixed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop = CancellationToken::new();
    let task = Consumer {
        name: "test",
        source: Scripted(vec![("e7".into(), event)]),
        event_types: &[],
        handler: UntilFixed(fixed.clone()),
        outbox: outbox.clone(),
        clock: SystemClock::shared(),
    }
    .spawn(stop.clone());
    let db = outbox.db().clone();
    wait_for("the event is parked", async || {
        !crate::parked::list(&db, None)
            .await
            .expect("list")
            .is_empty()
    })
    .await;
    let parked = crate::parked::list(&db, Some("test")).await.expect("list");
    assert_eq!(
        parked
            .iter()
            .map(|p| (p.event_id.as_str(), p.reason.as_str(), p.retry_time))
            .collect::<Vec<_>>(),
        vec![("e7", "not yet", None)]
    );
    assert!(
        crate::parked::list(&db, Some("other"))
            .await
            .expect("list")
            .is_empty(),
        "listed per consumer"
    );

    // Asked again before the cause is fixed: it stays, the request is
    // spent, the reason is fresh.
    let all = crate::parked::Selection::default();
    let selected = crate::parked::request_retry(&db, &all, time::OffsetDateTime::now_utc())
        .await
        .expect("retry");
    assert_eq!(selected, 1);
    wait_for("the failed retry is recorded", async || {
        crate::parked::list(&db, None).await.expect("list")[0]
            .retry_time
            .is_none()
    })
    .await;
    assert_eq!(cursor_of(&outbox, "wrote-7").await, None);

    fixed.store(true, std::sync::atomic::Ordering::SeqCst);
    let one = crate::parked::Selection {
        consumer: Some("test".into()),
        event_ids: vec!["e7".into()],
    };
    crate::parked::request_retry(&db, &one, time::OffsetDateTime::now_utc())
        .await
        .expect("retry");
    wait_for("the retried event leaves the table", async || {
        crate::parked::list(&db, None)
            .await
            .expect("list")
            .is_empty()
    })
    .await;
    assert!(
        cursor_of(&outbox, "wrote-7").await.is_some(),
        "the handler's writes committed"
    );
    stop.cancel();
    task.await.expect("consumer ends");
}

#[tokio::test]
async fn r_evt_1_an_oversized_event_is_refused_when_written() {
    let dir = tempfile::tempdir().expect("dir");
    let outbox = outbox(&dir).await;
    let big = NewEvent {
        event_id: "big".into(),
        event_type: "member_added",
        team: None,
        payload: vec![0; crate::outbox::MAX_EVENT_BYTES + 1],
    };
    let tx = outbox.db().begin_write().await.expect("tx");
    let err = outbox.commit(tx, &[big]).await.expect_err("refused");
    assert!(err.to_string().contains("limit"), "{err}");
    let mut conn = outbox.db().conn().await.expect("conn");
    let pending: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox_pending")
        .fetch_one(&mut *conn)
        .await
        .expect("count");
    assert_eq!(pending, 0);
}

#[test]
fn a_statement_that_fails_by_itself_is_permanent() {
    let e: HandleError = sqlx::Error::RowNotFound.into();
    assert!(matches!(e, HandleError::Permanent(_)));
    let e: HandleError = sqlx::Error::PoolTimedOut.into();
    assert!(matches!(e, HandleError::Transient(_)));
}
