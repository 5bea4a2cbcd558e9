//! Usage records of launches (R-USE-1), written in batches off the check's
//! path so that recording a launch costs the check nothing but a queue push.

use std::time::Duration;

use allot_platform::db::Db;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::store::{self, UsageRecord};

/// How many launches may wait to be written before new ones are dropped
/// (with a warning): a database that is down must not fill the memory.
const QUEUE: usize = 100_000;
const FLUSH_EVERY: Duration = Duration::from_millis(200);
const BATCH: usize = 1000;

enum Message {
    Record(UsageRecord),
    /// Answered once everything queued before it is written.
    Flush(oneshot::Sender<()>),
}

#[derive(Debug, Clone)]
pub struct UsageRecorder {
    tx: mpsc::Sender<Message>,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("usage message")
    }
}

impl UsageRecorder {
    /// Starts the writer; it drains its queue when `stop` fires.
    pub fn spawn(db: Db, stop: CancellationToken) -> (UsageRecorder, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let handle = tokio::spawn(write_loop(db, rx, stop));
        (UsageRecorder { tx }, handle)
    }

    /// Queues a launch.
    pub fn record(&self, r: UsageRecord) {
        if self.tx.try_send(Message::Record(r)).is_err() {
            tracing::warn!("usage queue full or closed; a launch was not recorded");
        }
    }

    /// Waits until every launch queued so far is in the database.
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Message::Flush(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }
}

async fn write_loop(db: Db, mut rx: mpsc::Receiver<Message>, stop: CancellationToken) {
    let mut pending: Vec<UsageRecord> = Vec::new();
    let mut waiting: Vec<oneshot::Sender<()>> = Vec::new();
    let mut tick = tokio::time::interval(FLUSH_EVERY);
    loop {
        let (stopping, ticked) = tokio::select! {
            () = stop.cancelled() => (true, false),
            m = rx.recv() => {
                match m {
                    Some(Message::Record(r)) => pending.push(r),
                    Some(Message::Flush(w)) => waiting.push(w),
                    None => return,
                }
                (false, false)
            }
            _ = tick.tick() => (false, true),
        };
        if stopping {
            while let Ok(m) = rx.try_recv() {
                match m {
                    Message::Record(r) => pending.push(r),
                    Message::Flush(w) => waiting.push(w),
                }
            }
        }
        if pending.len() >= BATCH
            || !waiting.is_empty()
            || stopping
            || (ticked && !pending.is_empty())
        {
            while !pending.is_empty() {
                let n = pending.len().min(BATCH);
                match write(&db, &pending[..n]).await {
                    Ok(()) => {
                        pending.drain(..n);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, records = pending.len(), "writing usage records failed; retrying");
                        tokio::time::sleep(Duration::from_millis(500)).await;
                        if stopping {
                            break;
                        }
                    }
                }
            }
            for w in waiting.drain(..) {
                let _ = w.send(());
            }
        }
        if stopping {
            return;
        }
    }
}

async fn write(db: &Db, records: &[UsageRecord]) -> Result<(), sqlx::Error> {
    let mut tx = db.begin_write().await?;
    store::insert_usage(tx.conn(), records).await?;
    tx.commit().await
}
