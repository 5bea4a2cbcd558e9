//! The rules of teams, roles and memberships. Pure: no database, no gRPC.

mod authz;
mod groups;
mod invitations;
mod members;
mod roles;
mod teams;

pub use authz::*;
pub use groups::*;
pub use invitations::*;
pub use members::*;
pub use roles::*;
pub use teams::*;

use crate::error::TeamError;
use allot_platform::auth::{Caller, scopes};
use allot_platform::error::{FieldViolation, quote};
use allot_platform::ids::{AccountId, GroupId, TeamId};
use allot_platform::values::{Email, parse_person_name, parse_text};

pub(super) fn precondition(
    kind: &'static str,
    subject: &str,
    message: impl Into<String>,
) -> TeamError {
    TeamError::Precondition {
        kind,
        subject: subject.to_owned(),
        message: message.into(),
    }
}

#[cfg(test)]
mod tests;
