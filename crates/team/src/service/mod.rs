//! Team's use cases, one file per concept: each checks the caller's role in
//! the team, applies the domain rules, and writes the change and its events
//! in one transaction.

pub mod answers;
pub mod exports;
pub mod groups;
pub mod imports;
pub mod invitations;
pub mod members;
pub mod operations;
pub mod roles;
pub mod teams;

use allot_platform::auth::Caller;
use allot_platform::clock::{SharedClock, to_micros};
use allot_platform::db::{Db, DbFailure, WriteTx, classify};
use allot_platform::error::FieldViolation;
use allot_platform::grpc::{EntitlementClient, IdentityClient};

use crate::directory::{ContractRoles, GrpcPeople, GrpcSeats, InvitationBatch, People, Seats};
use allot_platform::idempotency::{self, RequestKey};
use allot_platform::ids::{AccountId, GroupId, TeamId};
use allot_platform::outbox::{ChangeMeta, NewEvent, Outbox};
use allot_platform::paging;
use allot_platform::values::Email;

use crate::domain::{
    Group, Member, MemberFilter, MemberState, NewPerson, Plan, Role, Team, TeamAction, authorize,
    check_removal, check_role_change, check_transfer, default_team_name, may_create_team,
    owner_administers_no_team,
};
use crate::error::TeamError;
use crate::events::*;
use crate::store;

type Result<T> = std::result::Result<T, TeamError>;

pub use allot_platform::ctx::Ctx;

/// Whom to add.
#[derive(Debug, Clone)]
pub enum Who {
    Person(NewPerson),
    Account(AccountId),
}

/// What adding one person did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum AddOutcome {
    Invited,
    Added,
    AlreadyMember,
}

/// The outcome of one entry of a list.
#[derive(Debug, Clone)]
pub struct ListOutcome {
    pub input: String,
    pub result: std::result::Result<(Member, AddOutcome), Vec<FieldViolation>>,
}

/// Team's use cases, one view per concept over a shared [`Core`]:
/// `teams.members().add_members(…)`.
pub struct Teams {
    core: Core,
}

/// What every use case shares: the database, the outbox, the clock and the
/// ports to identity and entitlement.
pub struct Core {
    pub(crate) db: Db,
    pub(crate) outbox: Outbox,
    pub(crate) clock: SharedClock,
    /// Who people are, and their invitations (identity).
    identity: std::sync::Arc<dyn People>,
    /// For the products of members in exports (R-USE-3).
    pub(crate) entitlement: std::sync::Arc<dyn Seats>,
    /// CSV imports (R-INV-5).
    pub(crate) jobs: allot_platform::jobs::Jobs,
    /// Most rows one CSV import takes (R-INV-5).
    pub(crate) import_max_rows: usize,
}

allot_platform::views!(Teams.core: Core {
    /// Teams themselves: create, rename, list (R-TEAM-*).
    Settings => settings,
    /// Members and their state (R-INV-*, R-TEAM-5).
    Members => members,
    /// Admin roles and the primary admin (R-ROLE-*).
    Roles => roles,
    /// User groups (R-GRP-*).
    Groups => groups,
    /// Invitations and their acceptance (R-INV-*).
    Invitations => invitations,
    /// Member imports by CSV (R-INV-5).
    Imports => imports,
    /// The user export (R-USE-3).
    Exports => exports,
    /// Import jobs as long-running operations.
    Operations => operations,
});

impl std::ops::Deref for Teams {
    type Target = Core;
    fn deref(&self) -> &Core {
        &self.core
    }
}

impl std::fmt::Debug for Teams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Teams").finish_non_exhaustive()
    }
}

/// A person as identity knows them.
pub struct Person {
    pub account: AccountId,
    pub email: Email,
    pub given_name: String,
    pub family_name: String,
    pub state: MemberState,
    /// The invitation just sent to them, if any, and when it expires.
    pub invitation: Option<String>,
    pub invitation_expire_time: Option<i64>,
}

impl Person {
    fn from_member(m: Member) -> Person {
        Person {
            account: m.account,
            email: m.email,
            given_name: m.given_name,
            family_name: m.family_name,
            state: m.state,
            invitation: m.invitation,
            invitation_expire_time: m.invitation_expire_time,
        }
    }
}

impl Teams {
    pub fn new(
        db: Db,
        outbox: Outbox,
        clock: SharedClock,
        identity: IdentityClient,
        entitlement: EntitlementClient,
    ) -> Teams {
        Teams {
            core: Core {
                jobs: allot_platform::jobs::Jobs::new(db.clone(), clock.clone()),
                db,
                outbox,
                clock,
                identity: std::sync::Arc::new(GrpcPeople::new(identity)),
                entitlement: std::sync::Arc::new(GrpcSeats::new(entitlement)),
                import_max_rows: 5000,
            },
        }
    }

    /// Sets the largest CSV import (`import.max_rows`).
    pub fn with_import_max_rows(mut self, max_rows: usize) -> Teams {
        self.core.import_max_rows = max_rows;
        self
    }
}

impl Core {
    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    pub(crate) fn now(&self) -> i64 {
        to_micros(self.clock.now())
    }

    pub(crate) fn meta(&self, ctx: &Ctx) -> ChangeMeta {
        ChangeMeta {
            actor: ctx.caller.name(),
            request_id: ctx.request_id.clone(),
            now_micros: self.now(),
        }
    }

    #[tracing::instrument(name = "team.service.begin", skip_all)]
    pub(crate) async fn begin(&self) -> Result<WriteTx> {
        Ok(self.db.begin_write().await?)
    }

    /// The caller's role in `team`; NOT_FOUND when the team does not exist.
    #[tracing::instrument(name = "team.service.caller_role", skip_all)]
    pub(crate) async fn caller_role(
        &self,
        caller: &Caller,
        team: &TeamId,
    ) -> Result<(Team, Option<Role>)> {
        let mut conn = self.db.conn().await?;
        let t = store::get_team(&mut conn, team)
            .await?
            .ok_or_else(|| TeamError::not_found("team", team.name()))?;
        let role = match caller.account() {
            Some(a) => store::role_of(&mut conn, team, a).await?,
            None => None,
        };
        Ok((t, role))
    }

    /// Checks the caller may do `action` in `team` and returns the team.
    #[tracing::instrument(name = "team.service.check", skip_all)]
    pub(crate) async fn check(
        &self,
        caller: &Caller,
        team: &TeamId,
        action: TeamAction,
    ) -> Result<Team> {
        let (t, role) = self.caller_role(caller, team).await?;
        authorize(caller, role, action)?;
        Ok(t)
    }

    /// Locks the team and checks the caller inside the transaction, so a
    /// role that changed a moment ago counts (R-ROLE-2).
    #[tracing::instrument(name = "team.service.authorize_in", skip_all)]
    pub(crate) async fn authorize_in(
        &self,
        tx: &mut WriteTx,
        caller: &Caller,
        team: &TeamId,
        action: TeamAction,
    ) -> Result<Team> {
        if !store::lock_team(tx.conn(), team).await? {
            return Err(TeamError::not_found("team", team.name()));
        }
        let t = store::get_team(tx.conn(), team)
            .await?
            .ok_or_else(|| TeamError::not_found("team", team.name()))?;
        let role = match caller.account() {
            Some(a) => store::role_of(tx.conn(), team, a).await?,
            None => None,
        };
        authorize(caller, role, action)?;
        Ok(t)
    }

    #[tracing::instrument(name = "team.service.authorize_watch", skip_all)]
    pub async fn authorize_watch(&self, caller: &Caller, team: Option<&TeamId>) -> Result<()> {
        use allot_platform::auth::scopes;
        if caller.is_internal()
            || caller.has_scope(scopes::EVENTS_READ)
            || caller.has_scope(scopes::ADMIN)
        {
            return Ok(());
        }
        match team {
            Some(t) => self.check(caller, t, TeamAction::ReadMembers).await.map(|_| ()),
            None => Err(TeamError::PermissionDenied(
                "watching all teams needs the `events.read` scope; team admins can watch their team with `team` set".into(),
            )),
        }
    }
}
