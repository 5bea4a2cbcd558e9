//! The one thing entitlement asks another service: who is in a team. The
//! service layer sees only [`TeamDirectory`]; [`GrpcTeamDirectory`] answers
//! it from the team service, and unit tests answer it from memory.

use allot_platform::grpc::{TeamClient, request};
use allot_platform::ids::{AccountId, GroupId, TeamId};
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

/// [`TeamDirectory`] over the team service's gRPC API, with Allot's own
/// token.
#[derive(Debug, Clone)]
pub struct GrpcTeamDirectory {
    client: TeamClient,
}

impl GrpcTeamDirectory {
    pub fn new(client: TeamClient) -> GrpcTeamDirectory {
        GrpcTeamDirectory { client }
    }
}

fn member_info(account: &str, email: String, role: i32) -> Option<MemberInfo> {
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

#[async_trait::async_trait]
impl TeamDirectory for GrpcTeamDirectory {
    async fn team_display_name(&self, team: &TeamId) -> Result<String> {
        Ok(self
            .client
            .clone()
            .get_team(request(tpb::GetTeamRequest { name: team.name() }))
            .await
            .map_err(EntitlementError::team)?
            .into_inner()
            .display_name)
    }

    async fn members(&self, team: &TeamId, accounts: &[String]) -> Result<Vec<MemberInfo>> {
        let members = self
            .client
            .clone()
            .batch_get_members(request(tpb::BatchGetMembersRequest {
                parent: team.name(),
                accounts: accounts.to_vec(),
            }))
            .await
            .map_err(EntitlementError::team)?
            .into_inner()
            .members;
        Ok(members
            .into_iter()
            .filter_map(|m| member_info(&m.account, m.email, m.role))
            .collect())
    }

    async fn group_members(
        &self,
        team: &TeamId,
        group: &GroupId,
        page_token: &str,
    ) -> Result<(Vec<MemberInfo>, String)> {
        let r = self
            .client
            .clone()
            .list_group_members(request(tpb::ListGroupMembersRequest {
                group: format!("{}/groups/{group}", team.name()),
                page_size: 1000,
                page_token: page_token.to_owned(),
            }))
            .await
            .map_err(EntitlementError::team)?
            .into_inner();
        let members = r
            .members
            .into_iter()
            // A group's members take seats; their role does not matter here.
            .filter_map(|m| member_info(&m.account, m.email, tpb::Role::User as i32))
            .collect();
        Ok((members, r.next_page_token))
    }

    async fn ensure_owner_team(&self, owner: &AccountId) -> Result<TeamId> {
        let team = self
            .client
            .clone()
            .ensure_owner_team(request(tpb::EnsureOwnerTeamRequest {
                owner: owner.name(),
                always_create: false,
            }))
            .await
            .map_err(EntitlementError::team)?
            .into_inner();
        TeamId::parse("team", &team.name).map_err(|e| EntitlementError::Internal(e.to_string()))
    }

    async fn add_members(
        &self,
        team: &TeamId,
        addresses: &str,
        on_behalf_of: Option<&AccountId>,
    ) -> Result<Vec<Added>> {
        let results = self
            .client
            .clone()
            .add_members(request(tpb::AddMembersRequest {
                parent: team.name(),
                addresses: addresses.to_owned(),
                role: tpb::Role::User as i32,
                guest: false,
                on_behalf_of: on_behalf_of.map(|a| a.name()).unwrap_or_default(),
                // A resumed batch finds these people members already.
                request_id: String::new(),
            }))
            .await
            .map_err(EntitlementError::team)?
            .into_inner()
            .results;
        let mut out = Vec::new();
        for r in results {
            if let Some(m) = r.member {
                let account = AccountId::parse("account", &m.account)
                    .map_err(|v| EntitlementError::Invalid(vec![v]))?;
                out.push(Added {
                    email: m.email,
                    account,
                    invited: r.outcome == tpb::AddMemberOutcome::Invited as i32,
                });
            }
        }
        Ok(out)
    }
}
