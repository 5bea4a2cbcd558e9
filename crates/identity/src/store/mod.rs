//! Identity's SQL, one file per concept. Every function takes a
//! connection so it runs inside whatever transaction the caller holds.

mod accounts;
mod credentials;
mod invitations;
mod passwords;
mod service_accounts;

pub use accounts::*;
pub use credentials::*;
pub use invitations::*;
pub use passwords::*;
pub use service_accounts::*;

use allot_platform::db::{ROWS_PER_STATEMENT, params, values_rows};
use allot_platform::ids::{AccountId, InvitationId, ServiceAccountId, TeamId};
use allot_platform::values::Email;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::domain::{Account, AccountState, Invitation, InvitationState};

type Result<T> = std::result::Result<T, sqlx::Error>;
