//! The rules of the catalog, contracts, seats and checks, one file per
//! concept. Pure: no database, no gRPC.

mod authz;
mod catalog;
mod classic;
mod contract;
mod pool;
mod seat;
mod usage;

pub use authz::*;
pub use catalog::*;
pub use classic::*;
pub use contract::*;
pub use pool::*;
pub use seat::*;
pub use usage::*;

#[cfg(test)]
mod tests;
