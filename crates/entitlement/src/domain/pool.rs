//! Pools: a team's seats of one product (R-SEAT-1, R-SEAT-2).

use allot_platform::error::FieldViolation;
use allot_platform::ids::{ProductId, TeamId};

use super::*;
use crate::error::EntitlementError;

/// A team's seats of one product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pool {
    pub team: TeamId,
    pub product: ProductId,
    pub seats: i32,
    pub assigned: i32,
    pub activation: ActivationType,
    pub serial_number: String,
}

impl Pool {
    pub fn available(&self) -> i32 {
        self.seats - self.assigned
    }

    /// R-SEAT-1: how many of `wanted` new seats the pool gives (in the
    /// order they were asked for; the rest find it full, R-SEAT-2), and
    /// the pool after giving them.
    pub fn grant(&self, wanted: usize) -> (usize, Pool) {
        let free = usize::try_from(self.available().max(0)).unwrap_or(0);
        let given = wanted.min(free);
        let after = Pool {
            assigned: self.assigned + i32::try_from(given).unwrap_or(i32::MAX),
            ..self.clone()
        };
        (given, after)
    }

    /// R-SEAT-2: the refusal when no seat is left, with the figures.
    pub fn exhausted(&self) -> EntitlementError {
        EntitlementError::NoSeat {
            pool: format!("{}/pools/{}", self.team.name(), self.product),
            seats: self.seats,
            assigned: self.assigned,
        }
    }
}

/// Largest seat count of one subscription or one addition.
pub const MAX_SEATS: i32 = 1_000_000;

/// A number of seats a purchase buys or adds: 1 to [`MAX_SEATS`], checked
/// once where it enters, so a use case never sees a count it must check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SeatCount(i32);

impl SeatCount {
    /// `n` as the request field `field` gave it.
    pub fn parse(field: &str, n: i32) -> Result<SeatCount, FieldViolation> {
        if n < 1 {
            return Err(FieldViolation::new(
                field,
                format!("must be at least 1, got {n}"),
            ));
        }
        if n > MAX_SEATS {
            return Err(FieldViolation::new(
                field,
                format!("must be at most {MAX_SEATS}"),
            ));
        }
        Ok(SeatCount(n))
    }

    pub fn get(self) -> i32 {
        self.0
    }

    /// A subscription's `seats` after adding these; refused past
    /// [`MAX_SEATS`].
    pub fn added_to(self, seats: i32) -> Result<i32, FieldViolation> {
        seats
            .checked_add(self.0)
            .filter(|s| *s <= MAX_SEATS)
            .ok_or_else(|| {
                FieldViolation::new("seats", format!("a subscription holds at most {MAX_SEATS}"))
            })
    }
}
