//! Time as a dependency, so rules about expiry can be tested without waiting.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use time::OffsetDateTime;

/// Where a service reads the current time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> OffsetDateTime;
}

pub type SharedClock = Arc<dyn Clock>;

/// The wall clock, optionally shifted: tests move it forward to make
/// invitations expire.
#[derive(Debug, Default)]
pub struct SystemClock {
    offset_micros: AtomicI64,
}

impl SystemClock {
    pub fn shared() -> Arc<SystemClock> {
        Arc::new(SystemClock::default())
    }

    /// Moves this clock forward (or back, with a negative duration).
    pub fn advance(&self, by: time::Duration) {
        let micros = i64::try_from(by.whole_microseconds()).unwrap_or(i64::MAX);
        self.offset_micros.fetch_add(micros, Ordering::SeqCst);
    }
}

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
            + time::Duration::microseconds(self.offset_micros.load(Ordering::SeqCst))
    }
}

/// Microseconds since the Unix epoch: how every timestamp is stored, so the
/// same column type works on SQLite and PostgreSQL.
pub fn to_micros(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1000).unwrap_or(i64::MAX)
}

pub fn from_micros(micros: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The protobuf form of a stored timestamp.
pub fn timestamp(micros: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: micros.div_euclid(1_000_000),
        nanos: i32::try_from(micros.rem_euclid(1_000_000) * 1000).unwrap_or(0),
    }
}

/// `Some(timestamp)` for a set optional column.
pub fn opt_timestamp(micros: Option<i64>) -> Option<prost_types::Timestamp> {
    micros.map(timestamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn micros_round_trip_through_protobuf() {
        let t = time::macros::datetime!(2026-11-22 10:15:30.123456 UTC);
        let m = to_micros(t);
        assert_eq!(from_micros(m), t);
        let ts = timestamp(m);
        assert_eq!(ts.seconds, t.unix_timestamp());
        assert_eq!(ts.nanos, 123_456_000);
    }

    #[test]
    fn advanced_clock_runs_ahead() {
        let c = SystemClock::default();
        let before = c.now();
        c.advance(time::Duration::days(8));
        assert!(c.now() - before >= time::Duration::days(8));
    }
}
