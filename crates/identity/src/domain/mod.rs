//! The rules of accounts, invitations and credentials. Pure: no database,
//! no gRPC. Every change is published as an event in commit order
//! (R-EVT-1), built in `crate::events`.

mod accounts;
mod authz;
mod credentials;
mod invitations;
mod passwords;
mod sessions;

pub use accounts::*;
pub use authz::*;
pub use credentials::*;
pub use invitations::*;
pub use passwords::*;
pub use sessions::*;
