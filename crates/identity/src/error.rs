//! Everything that can go wrong in identity, and the one mapping to gRPC.

use allot_platform::clock::from_micros;
use allot_platform::db::{DbFailure, classify};
use allot_platform::error::{Failure, FieldViolation, ServiceError};
use tonic::Status;

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("invalid request: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldViolation>),
    #[error("{kind} {name} not found")]
    NotFound { kind: &'static str, name: String },
    #[error(
        "no invitation has this token; check the link, or ask a team admin to invite you again"
    )]
    UnknownToken,
    #[error("this invitation has expired (on {}); ask a team admin to resend it", format_time(*.expire_time))]
    InvitationExpired { expire_time: i64 },
    #[error(
        "this invitation has already been accepted; sign in instead, or ask a team admin to resend a new one if someone else used it"
    )]
    InvitationUsed,
    #[error(
        "this invitation link was replaced by a newer invitation email; use the link in the newest email, or ask a team admin to resend it"
    )]
    InvitationSuperseded,
    #[error("this invitation was withdrawn; ask a team admin to invite you again")]
    InvitationRevoked,
    #[error("invalid client id or secret")]
    BadCredentials,
    /// R-AUTH-2: the same answer for an unknown email and a wrong password.
    #[error("wrong email or password")]
    BadPassword,
    /// R-AUTH-2: the session was ended (signed out, password changed).
    #[error("this session has ended; sign in again")]
    SessionEnded,
    /// R-AUTH-2: one address asked for too many reset links.
    #[error("too many password reset requests from this address; try again in {wait_seconds} s")]
    ResetRequestsThrottled { requests: i64, wait_seconds: i64 },
    /// R-AUTH-2: too many failed sign-ins for this account or address.
    #[error(
        "too many failed sign-ins {whose}; try again in {wait_seconds} s (or reset the password)"
    )]
    SignInThrottled {
        whose: &'static str,
        failures: i64,
        wait_seconds: i64,
    },
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
    /// R-INV-1: the team sent its hourly share of invitations.
    #[error(
        "this team has sent {sent} invitations in the last hour and may send {limit}; {asked} more would exceed it, try again later"
    )]
    TooManyInvitations { sent: i64, asked: usize, limit: u32 },
    #[error("configuration: {0}")]
    Config(String),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("{0}")]
    Internal(String),
}

fn format_time(micros: i64) -> String {
    let t = from_micros(micros);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

impl IdentityError {
    pub fn invalid(field: &str, reason: impl Into<String>) -> IdentityError {
        IdentityError::Invalid(vec![FieldViolation::new(field, reason)])
    }

    pub fn not_found(kind: &'static str, name: impl Into<String>) -> IdentityError {
        IdentityError::NotFound {
            kind,
            name: name.into(),
        }
    }

    /// A unique violation means someone created the same thing at the same
    /// moment: worth running the transaction again.
    pub fn is_retryable(&self) -> bool {
        matches!(self, IdentityError::Db(e) if matches!(classify(e), DbFailure::UniqueViolation | DbFailure::Transient))
    }
}

impl From<FieldViolation> for IdentityError {
    fn from(v: FieldViolation) -> Self {
        IdentityError::Invalid(vec![v])
    }
}

impl ServiceError for IdentityError {
    const SERVICE: &'static str = "identity";

    fn failure(&self) -> Failure<'_> {
        let invitation = |kind| Failure::Precondition {
            kind,
            subject: "invitation",
        };
        match self {
            IdentityError::Invalid(v) => Failure::Invalid(v),
            IdentityError::NotFound { kind, name } => Failure::NotFound { kind, name },
            IdentityError::UnknownToken => Failure::Unknown,
            IdentityError::InvitationExpired { .. } => invitation("INVITATION_EXPIRED"),
            IdentityError::InvitationUsed => invitation("INVITATION_ALREADY_ACCEPTED"),
            IdentityError::InvitationSuperseded => invitation("INVITATION_SUPERSEDED"),
            IdentityError::InvitationRevoked => invitation("INVITATION_REVOKED"),
            IdentityError::BadCredentials
            | IdentityError::BadPassword
            | IdentityError::SessionEnded => Failure::Unauthenticated,
            IdentityError::ResetRequestsThrottled {
                requests,
                wait_seconds,
            } => Failure::Exhausted {
                reason: "RESET_REQUESTS",
                figures: vec![
                    ("requests", *requests),
                    ("limit", crate::domain::RESET_REQUESTS_PER_ADDRESS),
                    ("retry_after_seconds", *wait_seconds),
                ],
            },
            IdentityError::SignInThrottled {
                failures,
                wait_seconds,
                ..
            } => Failure::Exhausted {
                reason: "SIGN_IN_ATTEMPTS",
                figures: vec![
                    ("failures", *failures),
                    ("retry_after_seconds", *wait_seconds),
                ],
            },
            IdentityError::PermissionDenied(_) => Failure::PermissionDenied,
            IdentityError::AlreadyExists(_) => Failure::AlreadyExists,
            IdentityError::Precondition { kind, subject, .. } => {
                Failure::Precondition { kind, subject }
            }
            IdentityError::TooManyInvitations { sent, asked, limit } => Failure::Exhausted {
                reason: "INVITATIONS_PER_HOUR",
                figures: vec![
                    ("sent_last_hour", *sent),
                    ("asked", i64::try_from(*asked).unwrap_or(i64::MAX)),
                    ("limit", i64::from(*limit)),
                ],
            },
            IdentityError::Db(db) => Failure::Db(db),
            IdentityError::Config(_) | IdentityError::Internal(_) => Failure::Internal,
        }
    }
}

impl From<IdentityError> for Status {
    fn from(e: IdentityError) -> Status {
        e.status()
    }
}
