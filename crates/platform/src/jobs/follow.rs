//! WatchOperation: following one operation until it is done, with a cap
//! on open streams per caller.

use super::*;

/// The most `WatchOperation` streams one caller may hold open on one
/// service.
pub const MAX_OPERATION_WATCHES_PER_CALLER: usize = 16;

/// The per-caller count of open `WatchOperation` streams of one service.
pub fn operation_watchers() -> crate::streams::StreamSlots {
    crate::streams::StreamSlots::new(
        "WatchOperation",
        "TOO_MANY_OPERATION_WATCHES",
        MAX_OPERATION_WATCHES_PER_CALLER,
    )
}

/// A stream of operations, as `WatchOperation` answers.
pub type OperationStream<T> =
    std::pin::Pin<Box<dyn futures::Stream<Item = Result<T, tonic::Status>> + Send>>;

/// `WatchOperation`: takes one of `holder`'s slots (refused at the cap),
/// then streams the operation now and each time its progress or state
/// changes, until it is done or the client goes. `get` reads it afresh
/// (and authorizes the caller each time).
pub async fn watch<T, F, Fut>(
    slots: &crate::streams::StreamSlots,
    holder: &str,
    get: F,
) -> Result<OperationStream<T>, tonic::Status>
where
    T: Clone + PartialEq + Send + 'static + HasDone,
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, tonic::Status>> + Send,
{
    let first = get().await?;
    let slot = slots.take(holder)?;
    Ok(follow(slot, first, get))
}

fn follow<T, F, Fut>(slot: crate::streams::StreamSlot, first: T, get: F) -> OperationStream<T>
where
    T: Clone + PartialEq + Send + 'static + HasDone,
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, tonic::Status>> + Send,
{
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tokio::spawn(async move {
        let _slot = slot;
        let mut last = first;
        if tx.send(Ok(last.clone())).await.is_err() {
            return;
        }
        while !last.is_done() {
            // The follower ends with its client, even while nothing changes.
            tokio::select! {
                () = tx.closed() => return,
                () = tokio::time::sleep(Duration::from_millis(200)) => {}
            }
            let now = match get().await {
                Ok(op) => op,
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
            };
            if now != last && tx.send(Ok(now.clone())).await.is_err() {
                return;
            }
            last = now;
        }
    });
    Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))
}

/// Whether a long-running operation has finished.
pub trait HasDone {
    fn is_done(&self) -> bool;
}

impl HasDone for allot_proto::common::Operation {
    fn is_done(&self) -> bool {
        self.done
    }
}
