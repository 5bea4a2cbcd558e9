//! Everything that can go wrong in team, and the one mapping to gRPC.

use allot_platform::db::{DbFailure, classify};
use allot_platform::error::{Failure, FieldViolation, ServiceError};
use allot_platform::idempotency::IdempotencyError;
use tonic::Status;

#[derive(Debug, thiserror::Error)]
pub enum TeamError {
    #[error("invalid request: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldViolation>),
    #[error("{kind} {name} not found")]
    NotFound { kind: &'static str, name: String },
    #[error("{0}")]
    PermissionDenied(String),
    #[error("{0}")]
    AlreadyExists(String),
    #[error("{message}")]
    Precondition {
        kind: &'static str,
        subject: String,
        message: String,
    },
    /// Another service did not answer as it should.
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

impl TeamError {
    pub fn invalid(field: &str, reason: impl Into<String>) -> TeamError {
        TeamError::Invalid(vec![FieldViolation::new(field, reason)])
    }

    pub fn not_found(kind: &'static str, name: impl Into<String>) -> TeamError {
        TeamError::NotFound {
            kind,
            name: name.into(),
        }
    }

    /// A unique violation means someone created the same thing at the same
    /// moment: worth running the transaction again.
    pub fn is_retryable(&self) -> bool {
        matches!(self, TeamError::Db(e) if matches!(classify(e), DbFailure::UniqueViolation | DbFailure::Transient))
    }
}

impl From<FieldViolation> for TeamError {
    fn from(v: FieldViolation) -> Self {
        TeamError::Invalid(vec![v])
    }
}

impl ServiceError for TeamError {
    const SERVICE: &'static str = "team";

    fn failure(&self) -> Failure<'_> {
        match self {
            TeamError::Invalid(v) => Failure::Invalid(v),
            TeamError::NotFound { kind, name } => Failure::NotFound { kind, name },
            TeamError::PermissionDenied(_) => Failure::PermissionDenied,
            TeamError::AlreadyExists(_) => Failure::AlreadyExists,
            TeamError::Precondition { kind, subject, .. } => {
                Failure::Precondition { kind, subject }
            }
            TeamError::Db(db) => Failure::Db(db),
            TeamError::Peer { service, status } => Failure::Peer { service, status },
            TeamError::Internal(_) => Failure::Internal,
        }
    }
}

impl From<TeamError> for Status {
    fn from(e: TeamError) -> Status {
        e.status()
    }
}

impl From<IdempotencyError> for TeamError {
    fn from(e: IdempotencyError) -> Self {
        match e {
            IdempotencyError::Reused => TeamError::Invalid(vec![IdempotencyError::violation()]),
            IdempotencyError::InFlight => TeamError::Precondition {
                kind: IdempotencyError::IN_FLIGHT,
                subject: "request_id".into(),
                message: e.to_string(),
            },
            IdempotencyError::Db(db) => TeamError::Db(db),
        }
    }
}
