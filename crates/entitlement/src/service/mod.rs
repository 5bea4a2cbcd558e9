//! Entitlement's use cases, one file per concept: each checks the caller, applies the domain
//! rules, writes the change and its events in one transaction, and (when the
//! change affects checks) waits until the check's index shows it.

use std::collections::HashMap;
use std::sync::Arc;

use allot_platform::auth::Caller;
use allot_platform::clock::{SharedClock, to_micros};
use allot_platform::db::{Db, WriteTx};
use allot_platform::ids::{
    AccountId, AssignmentId, ContractId, GroupAssignmentId, GroupId, ProductId, SubscriptionId,
    TeamId,
};
use allot_platform::jobs::Jobs;
use allot_platform::outbox::{ChangeMeta, NewEvent, Outbox};
use allot_platform::paging;

use crate::directory::TeamDirectory;
use crate::domain::{
    Action, ActivationType, Assignment, Billing, Contract, ContractPlan, Item, Pool, Product,
    SeatCount, Source, Subscription, TeamStanding, Unassign, authorize, check_activation,
    check_classic_by_user, check_classic_item, check_move, check_move_target, day_of,
    is_classic_limit, takes_seat,
};
use crate::error::EntitlementError;
use crate::events::*;
use crate::projection::{Answer, Projection};
use crate::store::{self, AssignmentFilter, GroupAssignmentRow, UsageRecord};
use crate::usage::UsageRecorder;
use allot_platform::idempotency::{self, Claim, RequestKey};

mod answers;
mod assignments;
mod catalog;
pub mod checks;
mod contracts;
mod directory;
mod groups;
pub mod imports;
pub mod operations;
mod pools;
mod reactions;
pub(crate) mod releases;
pub(crate) mod renewals;
mod seats;
mod usage;
mod waiting;

#[cfg(test)]
mod tests;

type Result<T> = std::result::Result<T, EntitlementError>;

pub use allot_platform::ctx::Ctx;

/// A team member as the team service reports them.
#[derive(Debug, Clone)]
pub struct MemberInfo {
    pub account: AccountId,
    pub email: String,
    pub admin: bool,
}

/// What a purchase records.
#[derive(Debug, Clone)]
pub struct NewContract {
    pub owner: AccountId,
    pub activation: ActivationType,
    pub serial_number: String,
    pub plan: ContractPlan,
    pub billing: Billing,
    pub collaboration_site: String,
    pub sso_enabled: bool,
    /// TERM contracts: the term's last day, for renewal reminders.
    pub end_day: Option<i64>,
}

/// What happened to one requested seat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Outcome {
    Assigned,
    AlreadyAssigned,
    NoSeat,
    Refused,
}

/// One entry of a batch's answer.
#[derive(Debug, Clone)]
pub struct AssignResult {
    pub account: AccountId,
    pub product: ProductId,
    pub outcome: Outcome,
    pub assignment: Option<Assignment>,
    pub reason: String,
}

impl AssignResult {
    /// A request that got no seat (NO_SEAT) or broke a rule (REFUSED).
    fn refused(account: &AccountId, product: &ProductId, e: &EntitlementError) -> AssignResult {
        AssignResult {
            account: account.clone(),
            product: product.clone(),
            outcome: if matches!(e, EntitlementError::NoSeat { .. }) {
                Outcome::NoSeat
            } else {
                Outcome::Refused
            },
            assignment: None,
            reason: e.reason(),
        }
    }
}

/// One person's one product in a batch.
#[derive(Debug, Clone)]
pub struct SeatRequest {
    pub account: AccountId,
    pub product: ProductId,
    /// Empty: all items.
    pub items: Vec<String>,
}

/// One seat to give.
pub(crate) struct Seat<'a> {
    pub(crate) team: &'a TeamId,
    pub(crate) person: &'a MemberInfo,
    pub(crate) product: &'a Product,
    /// Empty: all items.
    pub(crate) items: &'a [String],
    pub(crate) source: Source,
}

/// Which assignments a list asks for.
#[derive(Debug, Clone, Default)]
pub struct AssignmentQuery {
    pub account: Option<AccountId>,
    pub product: Option<ProductId>,
    /// Under one contract (R-CLS-2).
    pub contract: Option<ContractId>,
}

/// A day of the usage report (R-USE-2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageRow {
    pub day: i64,
    pub product: String,
    pub seats: i32,
    pub assigned: i32,
    pub users: i64,
}

/// Entitlement's use cases, one view per concept over a shared [`Core`]:
/// `entitlements.seats().assign_products(…)`.
pub struct Entitlements {
    core: Core,
}

/// What every use case shares: the database, the outbox, the clock, the team
/// directory and the check's index.
pub struct Core {
    pub(crate) db: Db,
    outbox: Outbox,
    clock: SharedClock,
    /// Who is in which team (R-ROLE-2, R-SEAT-5): the team service.
    team: Arc<dyn TeamDirectory>,
    projection: Arc<Projection>,
    usage: UsageRecorder,
    jobs: Jobs,
}

allot_platform::views!(Entitlements.core: Core {
    /// Products and their items (R-PROD-*).
    Catalog => catalog,
    /// The launch check and a person's products (R-CHK-*).
    Checks => checks,
    /// Contracts, subscriptions and their moves (R-CLS-*, R-SUB-*).
    Contracts => contracts,
    /// Group assignments (R-SEAT-5).
    Groups => groups,
    /// Assignment imports by CSV.
    Imports => imports,
    /// Import jobs as long-running operations.
    Operations => operations,
    /// Seat pools.
    Pools => pools,
    /// What the team service's events set off.
    Reactions => reactions,
    /// Release notes to the people who use a product.
    Releases => releases,
    /// Renewal reminders (R-MAIL-4).
    Renewals => renewals,
    /// Seat assignments (R-SEAT-*).
    Seats => seats,
    /// The seat usage report (R-USE-*).
    Usage => usage,
});

impl std::fmt::Debug for Entitlements {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entitlements").finish_non_exhaustive()
    }
}

impl Entitlements {
    pub fn new(
        db: Db,
        outbox: Outbox,
        clock: SharedClock,
        team: Arc<dyn TeamDirectory>,
        projection: Arc<Projection>,
        usage: UsageRecorder,
    ) -> Entitlements {
        Entitlements {
            core: Core {
                jobs: Jobs::new(db.clone(), clock.clone()),
                db,
                outbox,
                clock,
                team,
                projection,
                usage,
            },
        }
    }
}

impl std::ops::Deref for Entitlements {
    type Target = Core;
    fn deref(&self) -> &Core {
        &self.core
    }
}

impl Core {
    /// Assignment imports (R-SEAT-3 by CSV).
    pub fn jobs(&self) -> &Jobs {
        &self.jobs
    }

    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// Teams and their members.
    pub(crate) fn directory(&self) -> &dyn TeamDirectory {
        self.team.as_ref()
    }

    pub(crate) fn now_micros(&self) -> i64 {
        self.now()
    }

    fn now(&self) -> i64 {
        to_micros(self.clock.now())
    }

    pub(crate) fn meta(&self, ctx: &Ctx) -> ChangeMeta {
        ChangeMeta {
            actor: ctx.caller.name(),
            request_id: ctx.request_id.clone(),
            now_micros: self.now(),
        }
    }

    #[tracing::instrument(name = "entitlement.service.begin", skip_all)]
    pub(crate) async fn begin(&self) -> Result<WriteTx> {
        Ok(self.db.begin_write().await?)
    }

    /// Commits and waits until checks see the change.
    #[tracing::instrument(name = "entitlement.service.commit", skip_all)]
    pub(crate) async fn commit(&self, tx: WriteTx, events: &[NewEvent]) -> Result<()> {
        if let Some(position) = self.outbox.commit_positioned(tx, events).await? {
            self.projection.wait_applied(position).await;
        }
        Ok(())
    }
}
