//! Building blocks for the one place per service where its error enum
//! becomes a `tonic::Status`: precise codes, words a caller can act on, and
//! machine-readable details (`BadRequest`, `PreconditionFailure`,
//! `ErrorInfo`, `ResourceInfo`).

use std::collections::HashMap;
use std::fmt;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The domain of `ErrorInfo` details.
pub const ERROR_DOMAIN: &str = "allot";

/// One field of a request that is wrong, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub reason: String,
}

impl FieldViolation {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        FieldViolation {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// The same violation under a parent field (`invitees[2].email`).
    pub fn within(mut self, parent: &str) -> Self {
        self.field = format!("{parent}.{}", self.field);
        self
    }
}

impl fmt::Display for FieldViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

impl std::error::Error for FieldViolation {}

impl From<FieldViolation> for allot_proto::common::FieldViolation {
    fn from(v: FieldViolation) -> Self {
        allot_proto::common::FieldViolation {
            field: v.field,
            description: v.reason,
        }
    }
}

/// The most characters of a caller's value an error quotes.
pub const QUOTE_CHARS: usize = 40;
/// The most characters of one field or reason an error carries.
const TEXT_CHARS: usize = 300;
/// The most violations one error lists; the rest are counted.
const MAX_VIOLATIONS: usize = 20;

/// A caller's value as an error quotes it: whole when short, else a short
/// prefix and its length, so a megabyte value never comes back to its
/// sender (gRPC metadata has a hard size limit).
pub fn quote(value: &str) -> String {
    match value.char_indices().nth(QUOTE_CHARS) {
        None => format!("{value:?}"),
        Some((end, _)) => format!("{:?}… ({} bytes)", &value[..end], value.len()),
    }
}

/// At most `max` characters of `text`.
pub fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some((end, _)) => format!("{}…", &text[..end]),
    }
}

/// INVALID_ARGUMENT naming every bad field (the first twenty of them, each
/// clipped, however many there are and however long their values).
pub fn invalid_argument(violations: &[FieldViolation]) -> Status {
    let shown: Vec<FieldViolation> = violations
        .iter()
        .take(MAX_VIOLATIONS)
        .map(|v| FieldViolation::new(clip(&v.field, TEXT_CHARS), clip(&v.reason, TEXT_CHARS)))
        .collect();
    let mut message = shown
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    if violations.len() > shown.len() {
        message.push_str(&format!(
            "; and {} more fields",
            violations.len() - shown.len()
        ));
    }
    let mut details = ErrorDetails::new();
    for v in shown {
        details.add_bad_request_violation(v.field, v.reason);
    }
    Status::with_error_details(Code::InvalidArgument, message, details)
}

/// FAILED_PRECONDITION: the request is valid but the state forbids it;
/// `message` says what to do first.
pub fn failed_precondition(kind: &str, subject: &str, message: impl Into<String>) -> Status {
    let message = clip(&message.into(), 4 * TEXT_CHARS);
    let subject = clip(subject, TEXT_CHARS);
    let subject = subject.as_str();
    Status::with_error_details(
        Code::FailedPrecondition,
        message.clone(),
        ErrorDetails::with_precondition_failure_violation(kind, subject, message),
    )
}

/// NOT_FOUND for one resource.
pub fn not_found(resource_type: &str, name: &str) -> Status {
    let name = clip(name, TEXT_CHARS);
    let name = name.as_str();
    Status::with_error_details(
        Code::NotFound,
        format!("{resource_type} {name} not found"),
        ErrorDetails::with_resource_info(resource_type, name, "", "not found"),
    )
}

/// RESOURCE_EXHAUSTED with the figures the caller needs (for a full pool:
/// seats, assigned, available).
pub fn resource_exhausted(
    reason: &str,
    message: impl Into<String>,
    figures: &[(&str, i64)],
) -> Status {
    let metadata: HashMap<String, String> = figures
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.to_string()))
        .collect();
    Status::with_error_details(
        Code::ResourceExhausted,
        message,
        ErrorDetails::with_error_info(reason, ERROR_DOMAIN, metadata),
    )
}

/// What kind of failure a service's error is: the one list every service's
/// error enum maps onto, so the mapping to gRPC is written once.
#[derive(Debug)]
pub enum Failure<'a> {
    /// INVALID_ARGUMENT naming each bad field.
    Invalid(&'a [FieldViolation]),
    /// NOT_FOUND for one named resource.
    NotFound {
        kind: &'a str,
        name: &'a str,
    },
    /// NOT_FOUND for something a caller holds but cannot name (a token).
    Unknown,
    AlreadyExists,
    PermissionDenied,
    Unauthenticated,
    /// FAILED_PRECONDITION; the error's message says what to do first.
    Precondition {
        kind: &'a str,
        subject: &'a str,
    },
    /// RESOURCE_EXHAUSTED with the figures behind it.
    Exhausted {
        reason: &'static str,
        figures: Vec<(&'static str, i64)>,
    },
    /// Another service refused or failed.
    Peer {
        service: &'a str,
        status: &'a Status,
    },
    Db(&'a sqlx::Error),
    Internal,
}

/// A service's error (as quickwit's `ServiceError`): it says which
/// [`Failure`] it is, and [`ServiceError::status`] turns it into the precise
/// gRPC status, the same way in every service.
pub trait ServiceError: std::error::Error {
    /// The service the error comes from, as messages and logs name it.
    const SERVICE: &'static str;

    fn failure(&self) -> Failure<'_>;

    fn status(&self) -> Status {
        let message = self.to_string();
        match self.failure() {
            Failure::Invalid(v) => invalid_argument(v),
            Failure::NotFound { kind, name } => not_found(kind, name),
            Failure::Unknown => Status::not_found(message),
            Failure::AlreadyExists => Status::already_exists(message),
            Failure::PermissionDenied => permission_denied(message),
            Failure::Unauthenticated => Status::unauthenticated(message),
            Failure::Precondition { kind, subject } => failed_precondition(kind, subject, message),
            Failure::Exhausted { reason, figures } => resource_exhausted(reason, message, &figures),
            Failure::Peer { service, status } => peer(service, status.clone()),
            Failure::Db(db) => database(Self::SERVICE, db),
            Failure::Internal => internal(Self::SERVICE, &message),
        }
    }
}

/// The `ErrorInfo` reason of a Watch cursor older than the retained events.
pub const CURSOR_EXPIRED: &str = "CURSOR_EXPIRED";

/// OUT_OF_RANGE for a Watch cursor older than the retained events: the
/// reader must reconcile from current state. It carries `CURSOR_EXPIRED`,
/// because gRPC also answers OUT_OF_RANGE for a message too large to
/// decode, which is no reason to skip anything.
/// Its `retained_after` says where the retained events start.
pub fn cursor_expired(message: impl Into<String>, retained_after: i64) -> Status {
    Status::with_error_details(
        Code::OutOfRange,
        message,
        ErrorDetails::with_error_info(
            CURSOR_EXPIRED,
            ERROR_DOMAIN,
            HashMap::from([("retained_after".to_owned(), retained_after.to_string())]),
        ),
    )
}

/// The `retained_after` cursor of [`cursor_expired`]'s answer; `None` for
/// any other status.
pub fn expired_cursor_boundary(status: &Status) -> Option<String> {
    if status.code() != Code::OutOfRange {
        return None;
    }
    let info = status.get_details_error_info()?;
    (info.reason == CURSOR_EXPIRED && info.domain == ERROR_DOMAIN)
        .then(|| info.metadata.get("retained_after").cloned())
        .flatten()
}

/// PERMISSION_DENIED naming what is missing.
pub fn permission_denied(message: impl Into<String>) -> Status {
    Status::permission_denied(message)
}

/// An unexpected failure: the cause is logged, the caller only learns that
/// it happened.
pub fn internal(context: &str, cause: &dyn fmt::Display) -> Status {
    tracing::error!(error = %cause, "{context} failed");
    Status::internal(format!("{context} failed; the server log has the cause"))
}

/// A database failure as the caller sees it: UNAVAILABLE when retrying can
/// help, INTERNAL (cause logged) otherwise.
pub fn database(service: &str, err: &sqlx::Error) -> Status {
    use crate::db::{DbFailure, classify};
    if matches!(
        err,
        sqlx::Error::PoolTimedOut
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            // A connection cut during its TLS request reads as a protocol
            // error: the database host, not the query.
            | sqlx::Error::Protocol(_)
    ) {
        tracing::warn!(error = %err, "{service} database out of reach");
        return Status::unavailable(format!(
            "the {service} database is not answering; retry the call in a few seconds"
        ));
    }
    if classify(err) == DbFailure::Transient {
        return Status::unavailable("the database is busy; retry the call");
    }
    internal(&format!("{service} database access"), err)
}

/// A peer service's answer as the caller sees it: a refusal the caller can
/// act on passes through; a peer that is down or broken becomes UNAVAILABLE.
pub fn peer(service: &str, status: Status) -> Status {
    match status.code() {
        Code::InvalidArgument
        | Code::NotFound
        | Code::FailedPrecondition
        | Code::AlreadyExists
        | Code::PermissionDenied
        | Code::ResourceExhausted
        | Code::OutOfRange => status,
        _ => {
            tracing::warn!(peer = service, code = ?status.code(), message = status.message(), "call to another service failed");
            Status::unavailable(format!(
                "the {service} service is not answering; retry the call"
            ))
        }
    }
}
