//! [`TeamDirectory`] over the team service's gRPC API.

use allot_platform::grpc::{TeamClient, request};
use allot_platform::ids::{AccountId, GroupId, TeamId};
use allot_proto::team as tpb;

use super::{Added, TeamDirectory, member_info, member_row};
use crate::error::EntitlementError;
use crate::service::MemberInfo;

type Result<T> = std::result::Result<T, EntitlementError>;

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

/// A page of every team's memberships.
pub struct MembersPage {
    /// The teams named on the page, with their display names.
    pub teams: Vec<(TeamId, String)>,
    pub members: Vec<(TeamId, crate::store::DirectoryMember)>,
    /// Empty on the last page.
    pub next_page_token: String,
    /// Team's stream position once the page was read.
    pub position: i64,
}

impl GrpcTeamDirectory {
    /// One page of every team's members (internal scope), to rebuild the
    /// copy.
    pub async fn all_members(&self, page_token: &str) -> Result<MembersPage> {
        let r = self
            .client
            .clone()
            .list_all_members(request(tpb::ListAllMembersRequest {
                page_size: 1000,
                page_token: page_token.to_owned(),
            }))
            .await
            .map_err(EntitlementError::team)?
            .into_inner();
        let position = r.cursor.parse::<i64>().map_err(|_| {
            EntitlementError::Internal(format!(
                "team answered a page of its members with cursor {:?}",
                r.cursor
            ))
        })?;
        Ok(MembersPage {
            teams: r
                .teams
                .into_iter()
                .filter_map(|t| {
                    TeamId::parse("team", &t.name)
                        .ok()
                        .map(|id| (id, t.display_name))
                })
                .collect(),
            members: r.members.iter().filter_map(member_row).collect(),
            next_page_token: r.next_page_token,
            position,
        })
    }
}
