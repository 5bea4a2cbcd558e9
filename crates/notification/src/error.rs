//! Everything that can go wrong in notification, and the one mapping to gRPC.

use allot_platform::error::{Failure, FieldViolation, ServiceError};
use tonic::Status;

#[derive(Debug, thiserror::Error)]
pub enum NotificationError {
    #[error("invalid request: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldViolation>),
    #[error("{kind} {name} not found")]
    NotFound { kind: &'static str, name: String },
    #[error("{0}")]
    PermissionDenied(String),
    #[error("{message}")]
    Precondition {
        kind: &'static str,
        subject: String,
        message: String,
    },
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("{0}")]
    Internal(String),
}

impl NotificationError {
    pub fn not_found(kind: &'static str, name: impl Into<String>) -> NotificationError {
        NotificationError::NotFound {
            kind,
            name: name.into(),
        }
    }
}

impl From<FieldViolation> for NotificationError {
    fn from(v: FieldViolation) -> Self {
        NotificationError::Invalid(vec![v])
    }
}

impl ServiceError for NotificationError {
    const SERVICE: &'static str = "notification";

    fn failure(&self) -> Failure<'_> {
        match self {
            NotificationError::Invalid(v) => Failure::Invalid(v),
            NotificationError::NotFound { kind, name } => Failure::NotFound { kind, name },
            NotificationError::PermissionDenied(_) => Failure::PermissionDenied,
            NotificationError::Precondition { kind, subject, .. } => {
                Failure::Precondition { kind, subject }
            }
            NotificationError::Db(db) => Failure::Db(db),
            NotificationError::Internal(_) => Failure::Internal,
        }
    }
}

impl From<NotificationError> for Status {
    fn from(e: NotificationError) -> Status {
        e.status()
    }
}
