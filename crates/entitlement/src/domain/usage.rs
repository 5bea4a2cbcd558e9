//! Usage days (R-USE-2).

/// A day number: days since the Unix epoch, in UTC.
pub fn day_of(micros: i64) -> i64 {
    micros.div_euclid(86_400_000_000)
}
