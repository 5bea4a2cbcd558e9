//! Everything that can go wrong in entitlement, and the one mapping to gRPC.

use allot_platform::error::{Failure, FieldViolation, ServiceError};
use allot_platform::idempotency::IdempotencyError;
use tonic::Status;

#[derive(Debug, thiserror::Error)]
pub enum EntitlementError {
    #[error("invalid request: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldViolation>),
    #[error("{kind} {name} not found")]
    NotFound { kind: &'static str, name: String },
    #[error("{0}")]
    AlreadyExists(String),
    #[error("{0}")]
    PermissionDenied(String),
    #[error("{message}")]
    Precondition {
        kind: &'static str,
        subject: String,
        message: String,
    },
    /// R-SEAT-2: the pool is full.
    #[error(
        "no seat left in {pool}: {seats} seats, {assigned} assigned, 0 available; unassign a seat or buy more"
    )]
    NoSeat {
        pool: String,
        seats: i32,
        assigned: i32,
    },
    #[error("{service} answered: {status}")]
    Peer {
        service: &'static str,
        status: tonic::Status,
    },
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("{0}")]
    Internal(String),
}

impl EntitlementError {
    pub fn invalid(field: &str, reason: impl Into<String>) -> EntitlementError {
        EntitlementError::Invalid(vec![FieldViolation::new(field, reason)])
    }

    pub fn not_found(kind: &'static str, name: impl Into<String>) -> EntitlementError {
        EntitlementError::NotFound {
            kind,
            name: name.into(),
        }
    }

    pub fn team(status: tonic::Status) -> EntitlementError {
        EntitlementError::Peer {
            service: "team",
            status,
        }
    }

    /// Why an assignment was not made, in a sentence for batch outcomes.
    pub fn reason(&self) -> String {
        self.to_string()
    }
}

impl From<IdempotencyError> for EntitlementError {
    fn from(e: IdempotencyError) -> Self {
        match e {
            IdempotencyError::Reused => {
                EntitlementError::Invalid(vec![IdempotencyError::violation()])
            }
            IdempotencyError::InFlight => EntitlementError::Precondition {
                kind: IdempotencyError::IN_FLIGHT,
                subject: "request_id".into(),
                message: e.to_string(),
            },
            IdempotencyError::Db(db) => EntitlementError::Db(db),
        }
    }
}

impl From<FieldViolation> for EntitlementError {
    fn from(v: FieldViolation) -> Self {
        EntitlementError::Invalid(vec![v])
    }
}

impl ServiceError for EntitlementError {
    const SERVICE: &'static str = "entitlement";

    fn failure(&self) -> Failure<'_> {
        match self {
            EntitlementError::Invalid(v) => Failure::Invalid(v),
            EntitlementError::NotFound { kind, name } => Failure::NotFound { kind, name },
            EntitlementError::AlreadyExists(_) => Failure::AlreadyExists,
            EntitlementError::PermissionDenied(_) => Failure::PermissionDenied,
            EntitlementError::Precondition { kind, subject, .. } => {
                Failure::Precondition { kind, subject }
            }
            EntitlementError::NoSeat {
                seats, assigned, ..
            } => Failure::Exhausted {
                reason: "POOL_FULL",
                figures: vec![
                    ("seats", i64::from(*seats)),
                    ("assigned", i64::from(*assigned)),
                    ("available", i64::from(seats - assigned)),
                ],
            },
            EntitlementError::Peer { service, status } => Failure::Peer { service, status },
            EntitlementError::Db(db) => Failure::Db(db),
            EntitlementError::Internal(_) => Failure::Internal,
        }
    }
}

impl From<EntitlementError> for Status {
    fn from(e: EntitlementError) -> Status {
        e.status()
    }
}
