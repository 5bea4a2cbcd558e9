//! The rules of teams, roles and memberships. Pure: no database, no gRPC.
//!
//! Every change these rules allow is published as an event in commit order
//! (R-EVT-1); `crate::events` builds them from the values defined here.

mod authz;
mod exports;
mod groups;
mod imports;
mod invitations;
mod members;
mod roles;
mod teams;

pub use authz::*;
pub use exports::*;
pub use groups::*;
pub use imports::*;
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
