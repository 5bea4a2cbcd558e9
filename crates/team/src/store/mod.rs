//! Team's SQL, one file per concept.

mod groups;
mod members;
mod roles;
mod teams;

pub use groups::*;
pub use members::*;
pub use roles::*;
pub use teams::*;

use crate::domain::{Group, GuestFilter, Member, MemberFilter, MemberState, Plan, Role, Team};
use allot_platform::db::{flag, int_flag};
use allot_platform::ids::{AccountId, GroupId, TeamId};
use allot_platform::values::Email;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

pub(super) type Result<T> = std::result::Result<T, sqlx::Error>;
