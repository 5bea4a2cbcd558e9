//! Everything that can go wrong in notification, and the one mapping to gRPC.

use allot_platform::error::{self as status, FieldViolation};
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

impl From<NotificationError> for Status {
    fn from(e: NotificationError) -> Status {
        match e {
            NotificationError::Invalid(v) => status::invalid_argument(&v),
            NotificationError::NotFound { kind, name } => status::not_found(kind, &name),
            NotificationError::PermissionDenied(m) => status::permission_denied(m),
            NotificationError::Precondition {
                kind,
                subject,
                message,
            } => status::failed_precondition(kind, &subject, message),
            NotificationError::Db(db) => status::database("notification", &db),
            NotificationError::Internal(m) => status::internal("notification", &m),
        }
    }
}
