//! Contracts and subscriptions: activation, plan and billing, and when a
//! subscription may move between teams (R-TEAM-3, R-TEAM-4).

use allot_platform::ids::{AccountId, ContractId, ProductId, SubscriptionId, TeamId};

use super::*;
use crate::error::EntitlementError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivationType {
    SignIn,
    SerialNumber,
}

allot_platform::db_enum!(ActivationType {
    SignIn = "SIGN_IN",
    SerialNumber = "SERIAL_NUMBER",
});

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContractPlan {
    Standard,
    Premium,
}

allot_platform::db_enum!(ContractPlan {
    Standard = "STANDARD",
    Premium = "PREMIUM",
});

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Billing {
    Term,
    PayPerUse,
}

allot_platform::db_enum!(Billing {
    Term = "TERM",
    PayPerUse = "PAY_PER_USE",
});

#[derive(Debug, Clone)]
pub struct Contract {
    pub id: ContractId,
    /// The contract manager (R-ROLE-8, R-CLS-1).
    pub owner: AccountId,
    pub owner_email: String,
    pub activation: ActivationType,
    pub serial_number: String,
    pub plan: ContractPlan,
    pub billing: Billing,
    pub collaboration_site: String,
    pub sso_enabled: bool,
    pub team: TeamId,
    pub coordinator: AccountId,
    pub create_time: i64,
    /// TERM contracts: the last day of the term (days since 1970-01-01).
    pub end_day: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct Subscription {
    pub id: SubscriptionId,
    pub contract: ContractId,
    pub product: ProductId,
    pub seats: i32,
    pub team: TeamId,
    pub create_time: i64,
}

fn contact_support(subject: &str, why: &str) -> EntitlementError {
    EntitlementError::Precondition {
        kind: "CONTACT_SUPPORT",
        subject: subject.to_owned(),
        message: format!(
            "{why}: such subscriptions cannot be moved between teams here; contact support"
        ),
    }
}

/// R-TEAM-4: a subscription moves only into a team its contract's owner
/// administers, never into a stranger's.
pub fn check_move_target(owner_administers_target: bool) -> Result<(), EntitlementError> {
    if owner_administers_target {
        return Ok(());
    }
    Err(EntitlementError::PermissionDenied(
        "target_team: the contract's owner is not an admin of that team; a subscription moves only into a team its owner administers".into(),
    ))
}

/// R-TEAM-4: whether a subscription of `contract` may leave a pool with
/// `pool_after_seats` seats and `assigned` taken.
pub fn check_move(
    contract: &Contract,
    subject: &str,
    pool_after_seats: i32,
    assigned: i32,
) -> Result<(), EntitlementError> {
    if contract.billing == Billing::PayPerUse {
        return Err(contact_support(
            subject,
            "the subscription is billed pay-per-use",
        ));
    }
    if contract.plan == ContractPlan::Premium && contract.sso_enabled {
        return Err(contact_support(
            subject,
            "the subscription is on a premium plan with single sign-on",
        ));
    }
    if !contract.collaboration_site.is_empty() {
        return Err(contact_support(
            subject,
            "the subscription is linked to a collaboration site",
        ));
    }
    if assigned > pool_after_seats {
        let excess = assigned - pool_after_seats;
        return Err(EntitlementError::Precondition {
            kind: "UNASSIGN_FIRST",
            subject: subject.to_owned(),
            message: format!(
                "moving it would leave the team with {assigned} assignments for {pool_after_seats} seats; unassign {excess} seat{} of this product first",
                if excess == 1 { "" } else { "s" }
            ),
        });
    }
    Ok(())
}

/// A pool holds one kind of activation: sign-in and serial-number
/// subscriptions of one product do not share seats.
pub fn check_activation(
    pool: Option<&Pool>,
    activation: ActivationType,
    subject: &str,
) -> Result<(), EntitlementError> {
    match pool {
        Some(p) if p.activation != activation && p.seats > 0 => {
            Err(EntitlementError::Precondition {
                kind: "MIXED_ACTIVATION",
                subject: subject.to_owned(),
                message: format!(
                    "the team already holds {} seats of {} with {} activation; a {} subscription of the same product cannot join them",
                    p.seats,
                    p.product,
                    p.activation.as_db().to_lowercase().replace('_', " "),
                    activation.as_db().to_lowercase().replace('_', " ")
                ),
            })
        }
        _ => Ok(()),
    }
}
