//! The gRPC face of team: parse, delegate, translate. No rule lives here.

use std::sync::Arc;

use allot_platform::auth::caller;
use allot_platform::error::FieldViolation;
use allot_platform::ids::{AccountId, GroupId, TeamId, parse_nested};
use allot_platform::mask::update_paths;
use allot_platform::outbox::WatchParams;
use allot_platform::request_key;
use allot_platform::server::request_id;
use allot_proto::team as pb;
use allot_proto::team::team_service_server::TeamService;
use tonic::codegen::BoxStream;
use tonic::{Request, Response, Status};

use crate::convert;
use crate::domain::{NewPerson, Role, parse_address_list, parse_team_name};
use crate::error::TeamError;
use crate::service::{AddOutcome, Ctx, Teams, Who};
use crate::store::GuestFilter;

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
    Ok(Ctx {
        caller: (*caller(req)?).clone(),
        request_id: request_id(req),
    })
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
    async fn create_team(&self, req: Request<pb::CreateTeamRequest>) -> R<pb::Team> {
        let ctx = ctx(&req)?;
        let r = req.into_inner();
        let key = request_key!(ctx.caller, "CreateTeam", r).map_err(invalid)?;
        let team = r
            .team
            .ok_or_else(|| invalid(FieldViolation::new("team", "is required")))?;
        let name = parse_team_name("team.display_name", &team.display_name).map_err(invalid)?;
        let admin = if team.primary_admin.is_empty() {
            None
        } else {
            Some(AccountId::parse("team.primary_admin", &team.primary_admin).map_err(invalid)?)
        };
        let t = self
            .app
            .create_team(&ctx, name, admin, None, key.as_ref())
            .await?;
        Ok(Response::new(convert::team(&t)))
    }

    async fn get_team(&self, req: Request<pb::GetTeamRequest>) -> R<pb::Team> {
        let caller = caller(&req)?;
        let id = TeamId::parse("name", &req.get_ref().name).map_err(invalid)?;
        let t = self.app.get_team(&caller, &id).await?;
        Ok(Response::new(convert::team(&t)))
    }

    async fn list_teams(&self, req: Request<pb::ListTeamsRequest>) -> R<pb::ListTeamsResponse> {
        let caller = caller(&req)?;
        let r = req.into_inner();
        let member = if r.member.is_empty() {
            None
        } else {
            Some(AccountId::parse("member", &r.member).map_err(invalid)?)
        };
        let (rows, next) = self
            .app
            .list_teams(&caller, member.as_ref(), r.page_size, &r.page_token)
            .await?;
        Ok(Response::new(pb::ListTeamsResponse {
            teams: rows.iter().map(convert::team).collect(),
            next_page_token: next,
        }))
    }

    async fn update_team(&self, req: Request<pb::UpdateTeamRequest>) -> R<pb::Team> {
        let ctx = ctx(&req)?;
        let r = req.into_inner();
        let team = r
            .team
            .ok_or_else(|| invalid(FieldViolation::new("team", "is required")))?;
        let id = TeamId::parse("team.name", &team.name).map_err(invalid)?;
        let paths = update_paths(
            r.update_mask.as_ref(),
            &["display_name", "plan"],
            |p| match p {
                "display_name" => !team.display_name.is_empty(),
                _ => team.plan != pb::Plan::Unspecified as i32,
            },
        )
        .map_err(invalid)?;
        let mut name = None;
        let mut plan = None;
        for p in &paths {
            if p == "display_name" {
                name = Some(
                    parse_team_name("team.display_name", &team.display_name).map_err(invalid)?,
                );
            } else {
                let parsed = pb::Plan::try_from(team.plan)
                    .ok()
                    .and_then(convert::plan_from);
                plan = Some(parsed.ok_or_else(|| {
                    invalid(FieldViolation::new(
                        "team.plan",
                        "must be STANDARD or PREMIUM",
                    ))
                })?);
            }
        }
        let t = self.app.update_team(&ctx, &id, name, plan).await?;
        Ok(Response::new(convert::team(&t)))
    }

    async fn ensure_owner_team(&self, req: Request<pb::EnsureOwnerTeamRequest>) -> R<pb::Team> {
        let ctx = ctx(&req)?;
        let owner = AccountId::parse("owner", &req.get_ref().owner).map_err(invalid)?;
        let t = self.app.ensure_owner_team(&ctx, &owner).await?;
        Ok(Response::new(convert::team(&t)))
    }

    async fn update_member(&self, req: Request<pb::UpdateMemberRequest>) -> R<pb::Member> {
        let ctx = ctx(&req)?;
        let r = req.into_inner();
        let member = r
            .member
            .ok_or_else(|| invalid(FieldViolation::new("member", "is required")))?;
        let (team, account) = member_name("member.name", &member.name)?;
        // Without a mask, a set role means "the role", an unset one "the
        // guest flag" (a false flag cannot be told apart from an unset one).
        let paths = update_paths(r.update_mask.as_ref(), &["role", "guest"], |p| match p {
            "role" => member.role != pb::Role::Unspecified as i32,
            _ => member.role == pb::Role::Unspecified as i32,
        })
        .map_err(invalid)?;
        let mut role = None;
        let mut guest = None;
        for p in &paths {
            if p == "role" {
                let r = pb::Role::try_from(member.role)
                    .ok()
                    .and_then(convert::role_from);
                role = Some(r.ok_or_else(|| {
                    invalid(FieldViolation::new("member.role", "must name a role"))
                })?);
            } else {
                guest = Some(member.guest);
            }
        }
        let m = self
            .app
            .update_member(&ctx, &team, &account, role, guest)
            .await?;
        Ok(Response::new(convert::member_at(&m, self.app.now())))
    }

    async fn transfer_primary_admin(
        &self,
        req: Request<pb::TransferPrimaryAdminRequest>,
    ) -> R<pb::Team> {
        let ctx = ctx(&req)?;
        let r = req.get_ref();
        let team = TeamId::parse("team", &r.team).map_err(invalid)?;
        let new = AccountId::parse("new_primary_admin", &r.new_primary_admin).map_err(invalid)?;
        let t = self.app.transfer_primary_admin(&ctx, &team, &new).await?;
        Ok(Response::new(convert::team(&t)))
    }

    async fn remove_member(&self, req: Request<pb::RemoveMemberRequest>) -> R<()> {
        let ctx = ctx(&req)?;
        let (team, account) = member_name("name", &req.get_ref().name)?;
        self.app.remove_member(&ctx, &team, &account).await?;
        Ok(Response::new(()))
    }

    async fn create_group(&self, req: Request<pb::CreateGroupRequest>) -> R<pb::Group> {
        let ctx = ctx(&req)?;
        let r = req.into_inner();
        let key = request_key!(ctx.caller, "CreateGroup", r).map_err(invalid)?;
        let team = TeamId::parse("parent", &r.parent).map_err(invalid)?;
        let group = r
            .group
            .ok_or_else(|| invalid(FieldViolation::new("group", "is required")))?;
        let name = parse_team_name("group.display_name", &group.display_name).map_err(invalid)?;
        let g = self
            .app
            .create_group(&ctx, &team, name, key.as_ref())
            .await?;
        Ok(Response::new(convert::group(&g)))
    }

    async fn get_group(&self, req: Request<pb::GetGroupRequest>) -> R<pb::Group> {
        let caller = caller(&req)?;
        let (team, id) = group_name("name", &req.get_ref().name)?;
        let g = self.app.get_group(&caller, &team, &id).await?;
        Ok(Response::new(convert::group(&g)))
    }

    async fn list_groups(&self, req: Request<pb::ListGroupsRequest>) -> R<pb::ListGroupsResponse> {
        let caller = caller(&req)?;
        let r = req.into_inner();
        let team = TeamId::parse("parent", &r.parent).map_err(invalid)?;
        let (rows, next) = self
            .app
            .list_groups(&caller, &team, r.page_size, &r.page_token)
            .await?;
        Ok(Response::new(pb::ListGroupsResponse {
            groups: rows.iter().map(convert::group).collect(),
            next_page_token: next,
        }))
    }

    async fn update_group(&self, req: Request<pb::UpdateGroupRequest>) -> R<pb::Group> {
        let ctx = ctx(&req)?;
        let r = req.into_inner();
        let group = r
            .group
            .ok_or_else(|| invalid(FieldViolation::new("group", "is required")))?;
        let (team, id) = group_name("group.name", &group.name)?;
        update_paths(r.update_mask.as_ref(), &["display_name"], |_| true).map_err(invalid)?;
        let name = parse_team_name("group.display_name", &group.display_name).map_err(invalid)?;
        let g = self.app.rename_group(&ctx, &team, &id, name).await?;
        Ok(Response::new(convert::group(&g)))
    }

    async fn delete_group(&self, req: Request<pb::DeleteGroupRequest>) -> R<()> {
        let ctx = ctx(&req)?;
        let (team, id) = group_name("name", &req.get_ref().name)?;
        self.app.delete_group(&ctx, &team, &id).await?;
        Ok(Response::new(()))
    }

    async fn add_group_members(&self, req: Request<pb::AddGroupMembersRequest>) -> R<pb::Group> {
        let ctx = ctx(&req)?;
        let r = req.get_ref();
        let (team, id) = group_name("group", &r.group)?;
        let accounts = accounts_field("accounts", &r.accounts)?;
        let g = self
            .app
            .add_group_members(&ctx, &team, &id, &accounts)
            .await?;
        Ok(Response::new(convert::group(&g)))
    }

    async fn remove_group_members(
        &self,
        req: Request<pb::RemoveGroupMembersRequest>,
    ) -> R<pb::Group> {
        let ctx = ctx(&req)?;
        let r = req.get_ref();
        let (team, id) = group_name("group", &r.group)?;
        let accounts = accounts_field("accounts", &r.accounts)?;
        let g = self
            .app
            .remove_group_members(&ctx, &team, &id, &accounts)
            .await?;
        Ok(Response::new(convert::group(&g)))
    }

    async fn list_group_members(
        &self,
        req: Request<pb::ListGroupMembersRequest>,
    ) -> R<pb::ListGroupMembersResponse> {
        let caller = caller(&req)?;
        let r = req.into_inner();
        let (team, id) = group_name("group", &r.group)?;
        let (rows, next) = self
            .app
            .list_group_members(&caller, &team, &id, r.page_size, &r.page_token)
            .await?;
        Ok(Response::new(pb::ListGroupMembersResponse {
            members: rows
                .iter()
                .map(|m| convert::member_at(m, self.app.now()))
                .collect(),
            next_page_token: next,
        }))
    }

    async fn add_member(&self, req: Request<pb::AddMemberRequest>) -> R<pb::Member> {
        let ctx = ctx(&req)?;
        let r = req.into_inner();
        let key = request_key!(ctx.caller, "AddMember", r).map_err(invalid)?;
        let team = TeamId::parse("parent", &r.parent).map_err(invalid)?;
        let who = match r.who {
            Some(pb::add_member_request::Who::Person(p)) => Who::Person(
                NewPerson::parse("person.", &p.given_name, &p.family_name, &p.email)
                    .map_err(|v| Status::from(TeamError::Invalid(v)))?,
            ),
            Some(pb::add_member_request::Who::Account(a)) => {
                Who::Account(AccountId::parse("account", &a).map_err(invalid)?)
            }
            None => {
                return Err(invalid(FieldViolation::new(
                    "person",
                    "a person or an account is required",
                )));
            }
        };
        let role = role_field("role", r.role)?;
        let (member, outcome) = self
            .app
            .add_member(&ctx, &team, who, role, r.guest, key.as_ref())
            .await?;
        if outcome == AddOutcome::AlreadyMember {
            return Err(Status::already_exists(format!(
                "{} is already a member of {}",
                member.email,
                team.name()
            )));
        }
        Ok(Response::new(convert::member_at(&member, self.app.now())))
    }

    async fn add_members(&self, req: Request<pb::AddMembersRequest>) -> R<pb::AddMembersResponse> {
        let mut ctx = ctx(&req)?;
        let r = req.into_inner();
        ctx.caller = ctx.caller.on_behalf_of("on_behalf_of", &r.on_behalf_of)?;
        let key = request_key!(ctx.caller, "AddMembers", r).map_err(invalid)?;
        let team = TeamId::parse("parent", &r.parent).map_err(invalid)?;
        let entries = parse_address_list(&r.addresses);
        if entries.is_empty() {
            return Err(invalid(FieldViolation::new(
                "addresses",
                "names no address",
            )));
        }
        let role = role_field("role", r.role)?;
        let outcomes = self
            .app
            .add_members(&ctx, &team, entries, role, r.guest, key.as_ref())
            .await?;
        let results = outcomes
            .into_iter()
            .map(|o| match o.result {
                Ok((m, out)) => pb::AddMemberResult {
                    input: o.input,
                    outcome: outcome(out) as i32,
                    member: Some(convert::member_at(&m, self.app.now())),
                    violations: vec![],
                },
                Err(v) => pb::AddMemberResult {
                    input: o.input,
                    outcome: pb::AddMemberOutcome::Invalid as i32,
                    member: None,
                    violations: v.into_iter().map(Into::into).collect(),
                },
            })
            .collect();
        Ok(Response::new(pb::AddMembersResponse { results }))
    }

    async fn get_member(&self, req: Request<pb::GetMemberRequest>) -> R<pb::Member> {
        let caller = caller(&req)?;
        let (team, account) = member_name("name", &req.get_ref().name)?;
        let m = self.app.get_member(&caller, &team, &account).await?;
        Ok(Response::new(convert::member_at(&m, self.app.now())))
    }

    async fn batch_get_members(
        &self,
        req: Request<pb::BatchGetMembersRequest>,
    ) -> R<pb::BatchGetMembersResponse> {
        let caller = caller(&req)?;
        let r = req.get_ref();
        let team = TeamId::parse("parent", &r.parent).map_err(invalid)?;
        let accounts = accounts_field("accounts", &r.accounts)?;
        let rows = self
            .app
            .batch_get_members(&caller, &team, &accounts)
            .await?;
        Ok(Response::new(pb::BatchGetMembersResponse {
            members: rows
                .iter()
                .map(|m| convert::member_at(m, self.app.now()))
                .collect(),
        }))
    }

    async fn list_members(
        &self,
        req: Request<pb::ListMembersRequest>,
    ) -> R<pb::ListMembersResponse> {
        let caller = caller(&req)?;
        let r = req.into_inner();
        let team = TeamId::parse("parent", &r.parent).map_err(invalid)?;
        let (rows, next) = self
            .app
            .list_members(
                &caller,
                &team,
                guest_filter(r.guests)?,
                r.page_size,
                &r.page_token,
            )
            .await?;
        Ok(Response::new(pb::ListMembersResponse {
            members: rows
                .iter()
                .map(|m| convert::member_at(m, self.app.now()))
                .collect(),
            next_page_token: next,
        }))
    }

    async fn resend_invitation(&self, req: Request<pb::ResendInvitationRequest>) -> R<pb::Member> {
        let ctx = ctx(&req)?;
        let (team, account) = member_name("name", &req.get_ref().name)?;
        let m = self.app.resend_invitation(&ctx, &team, &account).await?;
        Ok(Response::new(convert::member_at(&m, self.app.now())))
    }

    async fn revoke_invitation(&self, req: Request<pb::RevokeInvitationRequest>) -> R<()> {
        let ctx = ctx(&req)?;
        let (team, account) = member_name("name", &req.get_ref().name)?;
        self.app.revoke_invitation(&ctx, &team, &account).await?;
        Ok(Response::new(()))
    }

    async fn import_members(
        &self,
        req: Request<pb::ImportMembersRequest>,
    ) -> R<allot_proto::common::Operation> {
        let ctx = ctx(&req)?;
        let r = req.into_inner();
        let key = request_key!(ctx.caller, "ImportMembers", r).map_err(invalid)?;
        let team = TeamId::parse("parent", &r.parent).map_err(invalid)?;
        let max = self.app.import_max_rows;
        let op = self
            .app
            .start_import(&ctx, &team, &r.csv, r.validate_only, max, key.as_ref())
            .await?;
        Ok(Response::new(op))
    }

    async fn get_operation(
        &self,
        req: Request<pb::GetOperationRequest>,
    ) -> R<allot_proto::common::Operation> {
        let caller = caller(&req)?;
        let op = self
            .app
            .get_operation(&caller, &req.into_inner().name)
            .await?;
        Ok(Response::new(op))
    }

    async fn list_import_rows(
        &self,
        req: Request<pb::ListImportRowsRequest>,
    ) -> R<pb::ListImportRowsResponse> {
        let caller = caller(&req)?;
        let r = req.into_inner();
        let (rows, next_page_token) = self
            .app
            .list_import_rows(&caller, &r.name, r.page_size, &r.page_token)
            .await?;
        Ok(Response::new(pb::ListImportRowsResponse {
            rows: rows
                .into_iter()
                .map(|r| pb::ImportRowResult {
                    line: i32::try_from(r.line).unwrap_or(i32::MAX),
                    email: r.email,
                    outcome: r.outcome,
                    message: r.message,
                })
                .collect(),
            next_page_token,
        }))
    }

    async fn list_operations(
        &self,
        req: Request<pb::ListOperationsRequest>,
    ) -> R<pb::ListOperationsResponse> {
        let caller = caller(&req)?;
        let r = req.into_inner();
        let team = TeamId::parse("parent", &r.parent).map_err(invalid)?;
        let (operations, next_page_token) = self
            .app
            .list_operations(&caller, &team, r.page_size, &r.page_token)
            .await?;
        Ok(Response::new(pb::ListOperationsResponse {
            operations,
            next_page_token,
        }))
    }

    /// The operation now and after each change of its progress, until done.
    async fn watch_operation(
        &self,
        req: Request<pb::WatchOperationRequest>,
    ) -> R<BoxStream<allot_proto::common::Operation>> {
        let caller = (*caller(&req)?).clone();
        let name = req.into_inner().name;
        let holder = caller.name();
        let app = self.app.clone();
        let stream = allot_platform::jobs::watch(&self.operation_watchers, &holder, move || {
            let (app, caller, name) = (app.clone(), caller.clone(), name.clone());
            async move {
                app.get_operation(&caller, &name)
                    .await
                    .map_err(Status::from)
            }
        })
        .await?;
        Ok(Response::new(stream))
    }

    async fn export_members(
        &self,
        req: Request<pb::ExportMembersRequest>,
    ) -> R<BoxStream<pb::ExportMembersResponse>> {
        let caller = caller(&req)?;
        let r = req.into_inner();
        let team = TeamId::parse("parent", &r.parent).map_err(invalid)?;
        let guests = match pb::GuestFilter::try_from(r.guests).unwrap_or_default() {
            pb::GuestFilter::Exclude => GuestFilter::Exclude,
            pb::GuestFilter::Only => GuestFilter::Only,
            _ => GuestFilter::Include,
        };
        let csv = self
            .app
            .export_members(&caller, &team, guests, r.include_products)
            .await?;
        Ok(Response::new(allot_platform::grpc::chunked(csv, |chunk| {
            pb::ExportMembersResponse { chunk }
        })))
    }

    async fn watch(&self, req: Request<pb::WatchRequest>) -> R<BoxStream<pb::WatchResponse>> {
        let caller = caller(&req)?;
        let r = req.into_inner();
        let team = if r.team.is_empty() {
            None
        } else {
            Some(TeamId::parse("team", &r.team).map_err(invalid)?)
        };
        self.app.authorize_watch(&caller, team.as_ref()).await?;
        let params = WatchParams::from_request(
            r.after_cursor,
            r.start_at_now,
            r.event_types,
            team.map(|t| t.name()),
            caller.name(),
        );
        let stream = self
            .app
            .outbox()
            .watch_events(
                params,
                |e| pb::WatchResponse {
                    kind: Some(pb::watch_response::Kind::Event(e)),
                },
                |c| pb::WatchResponse {
                    kind: Some(pb::watch_response::Kind::Checkpoint(c)),
                },
            )
            .await?;
        Ok(Response::new(stream))
    }
}
