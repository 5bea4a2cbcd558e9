//! The one thing entitlement asks another service: who is in a team. The
//! service layer sees only [`TeamDirectory`]. [`CopiedTeamDirectory`]
//! answers it from entitlement's own copy of the directory, kept from
//! team's events (no call per request); [`GrpcTeamDirectory`] asks the
//! team service (writes, and reads until the copy is whole); unit tests
//! answer it from memory.

mod copy;
mod grpc;

pub use copy::{CopiedTeamDirectory, DirectoryCopy};
pub use grpc::GrpcTeamDirectory;

use allot_platform::ids::{AccountId, GroupId, TeamId, parse_nested};
use allot_proto::team as tpb;

use crate::error::EntitlementError;
use crate::service::MemberInfo;

type Result<T> = std::result::Result<T, EntitlementError>;

/// Most accounts asked about in one [`TeamDirectory::members`] call.
pub const MEMBERS_PER_CALL: usize = 1000;

/// A person just added to a team by [`TeamDirectory::add_members`].
#[derive(Debug, Clone)]
pub struct Added {
    pub email: String,
    pub account: AccountId,
    /// True when they were invited now; false when they were a member
    /// already or were added directly.
    pub invited: bool,
}

/// Teams, memberships and groups as entitlement needs them.
#[async_trait::async_trait]
pub trait TeamDirectory: Send + Sync + 'static {
    /// The team's display name; NOT_FOUND for an unknown team.
    async fn team_display_name(&self, team: &TeamId) -> Result<String>;

    /// The memberships of up to [`MEMBERS_PER_CALL`] accounts (`accounts/…`
    /// names) in `team`; those who are not members are left out.
    async fn members(&self, team: &TeamId, accounts: &[String]) -> Result<Vec<MemberInfo>>;

    /// One page of a group's members and the next page's token (empty at
    /// the end).
    async fn group_members(
        &self,
        team: &TeamId,
        group: &GroupId,
        page_token: &str,
    ) -> Result<(Vec<MemberInfo>, String)>;

    /// R-TEAM-1, R-TEAM-3: the owner's newest administered team, created
    /// when they have none.
    async fn ensure_owner_team(&self, owner: &AccountId) -> Result<TeamId>;

    /// Adds (or invites) `addresses` (`Name <email>` separated by `; `) to
    /// `team` as users, naming `on_behalf_of` as the inviter (R-MAIL-1).
    async fn add_members(
        &self,
        team: &TeamId,
        addresses: &str,
        on_behalf_of: Option<&AccountId>,
    ) -> Result<Vec<Added>>;
}

pub(crate) fn member_info(account: &str, email: String, role: i32) -> Option<MemberInfo> {
    let account = AccountId::parse("account", account).ok()?;
    let admin = matches!(
        tpb::Role::try_from(role),
        Ok(tpb::Role::PrimaryAdmin | tpb::Role::SecondaryAdmin | tpb::Role::SsoAdmin)
    );
    Some(MemberInfo {
        account,
        email,
        admin,
    })
}

/// The team and the copy's row of a member as team describes them (in an
/// event or a page of the directory); `None` for a malformed one.
pub(crate) fn member_row(m: &tpb::Member) -> Option<(TeamId, crate::store::DirectoryMember)> {
    let (team, _) = parse_nested("member", &m.name, "teams", "members").ok()?;
    let info = member_info(&m.account, m.email.clone(), m.role)?;
    Some((
        TeamId::from_db(team),
        crate::store::DirectoryMember {
            account: info.account,
            email: info.email,
            admin: info.admin,
        },
    ))
}
