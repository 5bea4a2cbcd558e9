//! The rules of the catalog, contracts, seats and checks, one file per
//! concept. Pure: no database, no gRPC.
//!
//! Every change these rules allow is published as an event in commit order
//! (R-EVT-1); `crate::events` builds them from the values defined here.

mod authz;
mod catalog;
mod classic;
mod contract;
mod imports;
mod pool;
mod seat;
mod usage;

pub use authz::*;
pub use catalog::*;
pub use classic::*;
pub use contract::*;
pub use imports::*;
pub use pool::*;
pub use seat::*;
pub use usage::*;

#[cfg(test)]
mod tests;
