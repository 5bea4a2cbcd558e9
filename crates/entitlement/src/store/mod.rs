//! Entitlement's SQL, one file per concept. Taking a seat is one
//! conditional write (`pools::take_seat`); everything else follows from it.

mod catalog;
mod contracts;
mod directory;
mod groups;
mod pools;
mod seats;
mod usage;

pub use catalog::*;
pub use contracts::*;
pub use directory::*;
pub use groups::*;
pub use pools::*;
pub use seats::*;
pub use usage::*;

use std::collections::HashMap;

use allot_platform::db::{flag, int_flag};
use allot_platform::ids::{
    AccountId, AssignmentId, ContractId, GroupAssignmentId, GroupId, ProductId, SubscriptionId,
    TeamId,
};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::domain::{
    ActivationType, Assignment, Billing, Contract, ContractPlan, Item, ItemKind, Pool, Product,
    Subscription,
};

pub(super) type Result<T> = std::result::Result<T, sqlx::Error>;

pub(super) fn join_items(items: &[String]) -> String {
    items.join(" ")
}

pub(super) fn split_items(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_owned).collect()
}
