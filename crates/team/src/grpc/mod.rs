//! The gRPC face of team: parse, delegate, translate. No rule lives here.

mod exports;
mod groups;
mod imports;
mod invitations;
mod members;
mod roles;
mod teams;
mod watch;

use std::sync::Arc;

use allot_platform::auth::caller;
use allot_platform::error::FieldViolation;
use allot_platform::ids::{AccountId, GroupId, TeamId, parse_nested};
use allot_platform::mask::update_paths;
use allot_platform::outbox::WatchParams;
use allot_platform::request_key;
use allot_proto::team as pb;
use allot_proto::team::team_service_server::TeamService;
use tonic::codegen::BoxStream;
use tonic::{Request, Response, Status};

use crate::convert;
use crate::domain::GuestFilter;
use crate::domain::{MemberFilter, NewPerson, Role, parse_address_list, parse_team_name};
use crate::error::TeamError;
use crate::service::{AddOutcome, Ctx, Teams, Who};

#[derive(Debug, Clone)]
pub struct TeamGrpc {
    app: Arc<Teams>,
    /// Open WatchOperation streams per caller.
    operation_watchers: allot_platform::streams::StreamSlots,
}

impl TeamGrpc {
    pub fn new(app: Arc<Teams>) -> TeamGrpc {
        TeamGrpc {
            app,
            operation_watchers: allot_platform::jobs::operation_watchers(),
        }
    }
}

fn ctx<T>(req: &Request<T>) -> Result<Ctx, Status> {
    Ctx::from_request(req)
}

fn invalid(v: FieldViolation) -> Status {
    TeamError::from(v).into()
}

/// `teams/{team}/members/{account}`.
fn member_name(field: &str, name: &str) -> Result<(TeamId, AccountId), Status> {
    let (t, a) = parse_nested(field, name, "teams", "members").map_err(invalid)?;
    Ok((TeamId::from_db(t), AccountId::from_db(a)))
}

/// `teams/{team}/groups/{group}`.
fn group_name(field: &str, name: &str) -> Result<(TeamId, GroupId), Status> {
    let (t, g) = parse_nested(field, name, "teams", "groups").map_err(invalid)?;
    Ok((TeamId::from_db(t), GroupId::from_db(g)))
}

/// A list of `accounts/{id}`, at most 1000.
fn accounts_field(field: &str, names: &[String]) -> Result<Vec<AccountId>, Status> {
    if names.is_empty() {
        return Err(invalid(FieldViolation::new(field, "names no account")));
    }
    if names.len() > 1000 {
        return Err(invalid(FieldViolation::new(
            field,
            "at most 1000 accounts per call",
        )));
    }
    names
        .iter()
        .enumerate()
        .map(|(i, n)| AccountId::parse(&format!("{field}[{i}]"), n).map_err(invalid))
        .collect()
}

fn role_field(field: &str, value: i32) -> Result<Role, Status> {
    match pb::Role::try_from(value) {
        Ok(pb::Role::Unspecified) => Ok(Role::User),
        Ok(r) => {
            convert::role_from(r).ok_or_else(|| invalid(FieldViolation::new(field, "unknown role")))
        }
        Err(_) => Err(invalid(FieldViolation::new(
            field,
            format!("unknown role {value}"),
        ))),
    }
}

fn guest_filter(value: i32) -> Result<GuestFilter, Status> {
    match pb::GuestFilter::try_from(value) {
        Ok(pb::GuestFilter::Unspecified | pb::GuestFilter::Include) => Ok(GuestFilter::Include),
        Ok(pb::GuestFilter::Exclude) => Ok(GuestFilter::Exclude),
        Ok(pb::GuestFilter::Only) => Ok(GuestFilter::Only),
        Err(_) => Err(invalid(FieldViolation::new(
            "guests",
            format!("unknown filter {value}"),
        ))),
    }
}

fn outcome(o: AddOutcome) -> pb::AddMemberOutcome {
    match o {
        AddOutcome::Invited => pb::AddMemberOutcome::Invited,
        AddOutcome::Added => pb::AddMemberOutcome::Added,
        AddOutcome::AlreadyMember => pb::AddMemberOutcome::AlreadyMember,
    }
}

type R<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl TeamService for TeamGrpc {
    /// The operation now and after each change of its progress, until done.
    async fn create_team(&self, req: Request<pb::CreateTeamRequest>) -> R<pb::Team> {
        teams::create_team(self, req).await
    }

    async fn get_team(&self, req: Request<pb::GetTeamRequest>) -> R<pb::Team> {
        teams::get_team(self, req).await
    }

    async fn list_teams(&self, req: Request<pb::ListTeamsRequest>) -> R<pb::ListTeamsResponse> {
        teams::list_teams(self, req).await
    }

    async fn update_team(&self, req: Request<pb::UpdateTeamRequest>) -> R<pb::Team> {
        teams::update_team(self, req).await
    }

    async fn ensure_owner_team(&self, req: Request<pb::EnsureOwnerTeamRequest>) -> R<pb::Team> {
        teams::ensure_owner_team(self, req).await
    }

    async fn update_member(&self, req: Request<pb::UpdateMemberRequest>) -> R<pb::Member> {
        members::update_member(self, req).await
    }

    async fn transfer_primary_admin(
        &self,
        req: Request<pb::TransferPrimaryAdminRequest>,
    ) -> R<pb::Team> {
        roles::transfer_primary_admin(self, req).await
    }

    async fn remove_member(&self, req: Request<pb::RemoveMemberRequest>) -> R<()> {
        members::remove_member(self, req).await
    }

    async fn create_group(&self, req: Request<pb::CreateGroupRequest>) -> R<pb::Group> {
        groups::create_group(self, req).await
    }

    async fn get_group(&self, req: Request<pb::GetGroupRequest>) -> R<pb::Group> {
        groups::get_group(self, req).await
    }

    async fn list_groups(&self, req: Request<pb::ListGroupsRequest>) -> R<pb::ListGroupsResponse> {
        groups::list_groups(self, req).await
    }

    async fn update_group(&self, req: Request<pb::UpdateGroupRequest>) -> R<pb::Group> {
        groups::update_group(self, req).await
    }

    async fn delete_group(&self, req: Request<pb::DeleteGroupRequest>) -> R<()> {
        groups::delete_group(self, req).await
    }

    async fn add_group_members(&self, req: Request<pb::AddGroupMembersRequest>) -> R<pb::Group> {
        groups::add_group_members(self, req).await
    }

    async fn remove_group_members(
        &self,
        req: Request<pb::RemoveGroupMembersRequest>,
    ) -> R<pb::Group> {
        groups::remove_group_members(self, req).await
    }

    async fn list_group_members(
        &self,
        req: Request<pb::ListGroupMembersRequest>,
    ) -> R<pb::ListGroupMembersResponse> {
        groups::list_group_members(self, req).await
    }

    async fn list_all_members(
        &self,
        req: Request<pb::ListAllMembersRequest>,
    ) -> R<pb::ListAllMembersResponse> {
        exports::list_all_members(self, req).await
    }

    async fn add_member(&self, req: Request<pb::AddMemberRequest>) -> R<pb::Member> {
        members::add_member(self, req).await
    }

    async fn add_members(&self, req: Request<pb::AddMembersRequest>) -> R<pb::AddMembersResponse> {
        members::add_members(self, req).await
    }

    async fn get_member(&self, req: Request<pb::GetMemberRequest>) -> R<pb::Member> {
        members::get_member(self, req).await
    }

    async fn batch_get_members(
        &self,
        req: Request<pb::BatchGetMembersRequest>,
    ) -> R<pb::BatchGetMembersResponse> {
        members::batch_get_members(self, req).await
    }

    async fn list_members(
        &self,
        req: Request<pb::ListMembersRequest>,
    ) -> R<pb::ListMembersResponse> {
        members::list_members(self, req).await
    }

    async fn resend_invitation(&self, req: Request<pb::ResendInvitationRequest>) -> R<pb::Member> {
        invitations::resend_invitation(self, req).await
    }

    async fn revoke_invitation(&self, req: Request<pb::RevokeInvitationRequest>) -> R<()> {
        invitations::revoke_invitation(self, req).await
    }

    async fn import_members(
        &self,
        req: Request<pb::ImportMembersRequest>,
    ) -> R<allot_proto::common::Operation> {
        imports::import_members(self, req).await
    }

    async fn get_operation(
        &self,
        req: Request<pb::GetOperationRequest>,
    ) -> R<allot_proto::common::Operation> {
        imports::get_operation(self, req).await
    }

    async fn list_import_rows(
        &self,
        req: Request<pb::ListImportRowsRequest>,
    ) -> R<pb::ListImportRowsResponse> {
        imports::list_import_rows(self, req).await
    }

    async fn list_operations(
        &self,
        req: Request<pb::ListOperationsRequest>,
    ) -> R<pb::ListOperationsResponse> {
        imports::list_operations(self, req).await
    }

    async fn watch_operation(
        &self,
        req: Request<pb::WatchOperationRequest>,
    ) -> R<BoxStream<allot_proto::common::Operation>> {
        imports::watch_operation(self, req).await
    }

    async fn export_members(
        &self,
        req: Request<pb::ExportMembersRequest>,
    ) -> R<BoxStream<pb::ExportMembersResponse>> {
        exports::export_members(self, req).await
    }

    async fn watch(&self, req: Request<pb::WatchRequest>) -> R<BoxStream<pb::WatchResponse>> {
        watch::watch(self, req).await
    }
}
