//! Caps on the server streams one caller holds open (Watch, WatchOperation):
//! each open stream holds a slot, closing it (or the client going away)
//! frees it, and a caller at the cap is refused with the figures.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tonic::Status;

/// The open streams of one kind, counted per caller.
#[derive(Clone, Debug)]
pub struct StreamSlots {
    open: Arc<Mutex<HashMap<String, usize>>>,
    /// The method, as the refusal names it (`Watch`).
    method: &'static str,
    /// The `ErrorInfo` reason of a refusal (`TOO_MANY_WATCHES`).
    reason: &'static str,
    limit: usize,
}

/// One open stream of a caller; dropping it frees the slot.
pub struct StreamSlot {
    open: Arc<Mutex<HashMap<String, usize>>>,
    holder: String,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        if let Ok(mut open) = self.open.lock()
            && let Some(n) = open.get_mut(&self.holder)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.holder);
            }
        }
    }
}

impl StreamSlots {
    pub fn new(method: &'static str, reason: &'static str, limit: usize) -> StreamSlots {
        StreamSlots {
            open: Arc::default(),
            method,
            reason,
            limit,
        }
    }

    /// Counts a new stream of `holder` (a caller's resource name);
    /// RESOURCE_EXHAUSTED with the figures when they hold the most already.
    pub fn take(&self, holder: &str) -> Result<StreamSlot, Status> {
        let mut open = self
            .open
            .lock()
            .map_err(|_| Status::internal("stream registry poisoned"))?;
        let n = open.entry(holder.to_owned()).or_default();
        if *n >= self.limit {
            return Err(crate::error::resource_exhausted(
                self.reason,
                format!(
                    "{holder} already has {n} {} streams open here, the most one caller may; close one first",
                    self.method
                ),
                &[
                    ("open", i64::try_from(*n).unwrap_or(i64::MAX)),
                    ("limit", i64::try_from(self.limit).unwrap_or(i64::MAX)),
                ],
            ));
        }
        *n += 1;
        Ok(StreamSlot {
            open: self.open.clone(),
            holder: holder.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_evt_1_a_caller_at_the_cap_is_refused_until_a_stream_closes() {
        let slots = StreamSlots::new("Watch", "TOO_MANY_WATCHES", 2);
        let a = slots.take("accounts/a").expect("first");
        let _b = slots.take("accounts/a").expect("second");
        let err = slots.take("accounts/a").err().expect("third refused");
        assert_eq!(err.code(), tonic::Code::ResourceExhausted);
        assert!(
            err.message().contains("2 Watch streams"),
            "{}",
            err.message()
        );
        let _other = slots.take("accounts/b").expect("others are not held back");
        drop(a);
        let _again = slots
            .take("accounts/a")
            .expect("a closed stream frees its slot");
    }
}
