//! The one place entitlement decides who may do what (R-ROLE-2, R-CLS-7).

use allot_platform::auth::{Caller, scopes};
use allot_platform::ids::AccountId;

use super::*;
use crate::error::EntitlementError;

/// A caller's standing in the team a request touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TeamStanding {
    /// Primary, secondary or SSO admin.
    Admin,
    /// A member without an admin role.
    Member,
    /// Not a member.
    Outsider,
}

/// What a caller asks to do in the entitlement service.
#[derive(Debug, Clone, Copy)]
pub enum Action<'a> {
    ReadCatalog,
    ManageCatalog,
    /// Contracts, subscriptions, seats bought: the commerce back end.
    RecordPurchase,
    /// Appoint the software coordinator, move a subscription: the contract
    /// manager only (R-CLS-1, R-TEAM-4).
    ActAsContractManager {
        owner: &'a AccountId,
    },
    /// R-CLS-1: passing the contract manager role on.
    PassContractManager {
        owner: &'a AccountId,
    },
    ReadContract {
        contract: &'a Contract,
        standing: TeamStanding,
    },
    ListContractsOf {
        account: Option<&'a AccountId>,
    },
    /// Assign, unassign, change items, group assignments (R-ROLE-2).
    ManageSeats {
        standing: TeamStanding,
    },
    /// R-CLS-7: seats of a classic product, whose contract's manager or
    /// software coordinator the caller is (`holds_role`) or not.
    ManageClassicSeats {
        holds_role: bool,
    },
    /// Pools and every assignment of a team (R-SEAT-7), reports (R-USE-2).
    ReadSeats {
        standing: TeamStanding,
    },
    /// The assignments of one person: their own, or an admin's view.
    ReadSeatsOf {
        account: &'a AccountId,
        standing: TeamStanding,
    },
    /// Assignments under one contract: its coordinator too (R-CLS-2).
    ReadContractSeats {
        contract: &'a Contract,
        standing: TeamStanding,
    },
    /// The entitlement check and a person's products (R-USE-1, R-SEAT-8).
    Check {
        account: &'a AccountId,
    },
    Watch,
}

fn denied(needed: &str) -> EntitlementError {
    EntitlementError::PermissionDenied(format!("this needs {needed}"))
}

/// The one place entitlement decides who may do what.
pub fn authorize(caller: &Caller, action: Action<'_>) -> Result<(), EntitlementError> {
    if caller.is_internal() {
        return Ok(());
    }
    let me = caller.account();
    match action {
        Action::ReadCatalog => Ok(()),
        // Operators (`admin`) may seed the catalog and record purchases too.
        Action::ManageCatalog
            if caller.has_scope(scopes::CATALOG) || caller.has_scope(scopes::ADMIN) =>
        {
            Ok(())
        }
        Action::ManageCatalog => Err(denied("the `catalog` scope")),
        Action::RecordPurchase
            if caller.has_scope(scopes::CONTRACTS) || caller.has_scope(scopes::ADMIN) =>
        {
            Ok(())
        }
        Action::RecordPurchase => Err(denied(
            "the `contracts` scope (the commerce back end records purchases)",
        )),
        Action::ActAsContractManager { owner } if me == Some(owner) && caller.actor.is_none() => {
            Ok(())
        }
        Action::ActAsContractManager { .. } => {
            Err(denied("the contract manager (the contract's owner)"))
        }
        Action::PassContractManager { owner }
            if (me == Some(owner) && caller.actor.is_none())
                || caller.has_scope(scopes::CONTRACTS) =>
        {
            Ok(())
        }
        Action::PassContractManager { .. } => Err(denied(
            "the contract manager (the contract's owner), or the `contracts` scope acting for a reseller",
        )),
        Action::ReadContract { contract, standing } => {
            let allowed = caller.has_scope(scopes::CONTRACTS)
                || standing == TeamStanding::Admin
                || me == Some(&contract.owner)
                || me == Some(&contract.coordinator);
            if allowed {
                Ok(())
            } else {
                Err(denied(
                    "an admin role in the contract's team, or to be its manager or coordinator",
                ))
            }
        }
        Action::ListContractsOf { account } => {
            if caller.has_scope(scopes::CONTRACTS) || (account.is_some() && me == account) {
                Ok(())
            } else {
                Err(denied(
                    "the `contracts` scope, or `account` set to yourself",
                ))
            }
        }
        Action::ManageSeats {
            standing: TeamStanding::Admin,
        } => Ok(()),
        Action::ManageClassicSeats { holds_role } if holds_role || caller.is_internal() => Ok(()),
        Action::ManageClassicSeats { .. } => Err(denied(
            "the contract manager or the software coordinator of the classic contract of this product (R-CLS-7); other admins may view it",
        )),
        Action::ManageSeats { standing } => Err(denied(match standing {
            TeamStanding::Member => {
                "an admin role in this team (primary, secondary or SSO admin); you are a user"
            }
            _ => {
                "an admin role in this team (primary, secondary or SSO admin); you are not a member"
            }
        })),
        Action::ReadSeats {
            standing: TeamStanding::Admin,
        } => Ok(()),
        Action::ReadSeats { .. } => Err(denied("an admin role in this team")),
        Action::ReadSeatsOf { account, standing } => {
            if standing == TeamStanding::Admin || me == Some(account) {
                Ok(())
            } else {
                Err(denied(
                    "an admin role in this team, or `account` set to yourself",
                ))
            }
        }
        Action::ReadContractSeats { contract, standing } => {
            if standing == TeamStanding::Admin
                || me == Some(&contract.coordinator)
                || me == Some(&contract.owner)
            {
                Ok(())
            } else {
                Err(denied(
                    "an admin role in this team, or to coordinate the contract",
                ))
            }
        }
        Action::Check { account } => {
            if me == Some(account)
                || caller.has_scope(scopes::ENTITLEMENTS_CHECK)
                || caller.has_scope(scopes::ADMIN)
            {
                Ok(())
            } else {
                Err(denied(
                    "to ask about yourself, or the `entitlements.check` or `admin` scope",
                ))
            }
        }
        Action::Watch
            if caller.has_scope(scopes::EVENTS_READ) || caller.has_scope(scopes::ADMIN) =>
        {
            Ok(())
        }
        Action::Watch => Err(denied("the `events.read` or `admin` scope")),
    }
}
