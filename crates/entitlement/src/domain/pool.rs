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

/// A seat count: at least 1.
pub fn parse_seats(field: &str, n: i32) -> Result<i32, FieldViolation> {
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
    Ok(n)
}
