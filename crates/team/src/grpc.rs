//! The gRPC face of team: parse, delegate, translate. No rule lives here.

use std::sync::Arc;

use allot_platform::auth::caller;
use allot_platform::error::FieldViolation;
use allot_platform::ids::{AccountId, TeamId, parse_nested};
use allot_platform::mask::update_paths;
use allot_platform::outbox::WatchParams;
use allot_platform::server::request_id;
use allot_proto::team as pb;
use allot_proto::team::team_service_server::TeamService;
use tonic::codegen::BoxStream;
use tonic::{Request, Response, Status};

use crate::app::{AddOutcome, Ctx, Teams, Who};
use crate::convert;
use crate::domain::{NewPerson, Role, parse_address_list, parse_team_name};
use crate::error::TeamError;
use crate::store::GuestFilter;

#[derive(Debug, Clone)]
pub struct TeamGrpc {
    app: Arc<Teams>,
}

impl TeamGrpc {
    pub fn new(app: Arc<Teams>) -> TeamGrpc {
        TeamGrpc { app }
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
        let team = req
            .into_inner()
            .team
            .ok_or_else(|| invalid(FieldViolation::new("team", "is required")))?;
        let name = parse_team_name("team.display_name", &team.display_name).map_err(invalid)?;
        let admin = if team.primary_admin.is_empty() {
            None
        } else {
            Some(AccountId::parse("team.primary_admin", &team.primary_admin).map_err(invalid)?)
        };
        let t = self.app.create_team(&ctx, name, admin, None).await?;
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
        update_paths(r.update_mask.as_ref(), &["display_name"], |_| true).map_err(invalid)?;
        let name = parse_team_name("team.display_name", &team.display_name).map_err(invalid)?;
        let t = self.app.rename_team(&ctx, &id, name).await?;
        Ok(Response::new(convert::team(&t)))
    }

    async fn add_member(&self, req: Request<pb::AddMemberRequest>) -> R<pb::Member> {
        let ctx = ctx(&req)?;
        let r = req.into_inner();
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
        let (member, outcome) = self.app.add_member(&ctx, &team, who, role, r.guest).await?;
        if outcome == AddOutcome::AlreadyMember {
            return Err(Status::already_exists(format!(
                "{} is already a member of {}",
                member.email,
                team.name()
            )));
        }
        Ok(Response::new(convert::member(&member)))
    }

    async fn add_members(&self, req: Request<pb::AddMembersRequest>) -> R<pb::AddMembersResponse> {
        let ctx = ctx(&req)?;
        let r = req.into_inner();
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
            .add_members(&ctx, &team, entries, role, r.guest)
            .await?;
        let results = outcomes
            .into_iter()
            .map(|o| match o.result {
                Ok((m, out)) => pb::AddMemberResult {
                    input: o.input,
                    outcome: outcome(out) as i32,
                    member: Some(convert::member(&m)),
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
        Ok(Response::new(convert::member(&m)))
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
            members: rows.iter().map(convert::member).collect(),
            next_page_token: next,
        }))
    }

    async fn resend_invitation(&self, req: Request<pb::ResendInvitationRequest>) -> R<pb::Member> {
        let ctx = ctx(&req)?;
        let (team, account) = member_name("name", &req.get_ref().name)?;
        let m = self.app.resend_invitation(&ctx, &team, &account).await?;
        Ok(Response::new(convert::member(&m)))
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
