//! Everything that can go wrong in team, and the one mapping to gRPC.

use allot_platform::db::{DbFailure, classify};
use allot_platform::error::{self as status, FieldViolation};
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

impl From<TeamError> for Status {
    fn from(e: TeamError) -> Status {
        match e {
            TeamError::Invalid(v) => status::invalid_argument(&v),
            TeamError::NotFound { kind, name } => status::not_found(kind, &name),
            TeamError::PermissionDenied(m) => status::permission_denied(m),
            TeamError::AlreadyExists(m) => Status::already_exists(m),
            TeamError::Precondition {
                kind,
                subject,
                message,
            } => status::failed_precondition(kind, &subject, message),
            TeamError::Db(db) => status::database("team", &db),
            TeamError::Peer { service, status } => status::peer(service, status),
            TeamError::Internal(m) => status::internal("team", &m),
        }
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
