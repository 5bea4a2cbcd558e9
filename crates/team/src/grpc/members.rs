//! Handlers of a team's members: adding, reading, changing and removing them.

use super::*;

pub(super) async fn update_member(
    g: &TeamGrpc,
    req: Request<pb::UpdateMemberRequest>,
) -> R<pb::Member> {
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
            role =
                Some(r.ok_or_else(|| {
                    invalid(FieldViolation::new("member.role", "must name a role"))
                })?);
        } else {
            guest = Some(member.guest);
        }
    }
    let m = g
        .app
        .members()
        .update_member(&ctx, &team, &account, role, guest)
        .await?;
    Ok(Response::new(convert::member_at(&m, g.app.now())))
}

pub(super) async fn remove_member(g: &TeamGrpc, req: Request<pb::RemoveMemberRequest>) -> R<()> {
    let ctx = ctx(&req)?;
    let (team, account) = member_name("name", &req.get_ref().name)?;
    g.app.members().remove_member(&ctx, &team, &account).await?;
    Ok(Response::new(()))
}

pub(super) async fn add_member(g: &TeamGrpc, req: Request<pb::AddMemberRequest>) -> R<pb::Member> {
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
    let (member, outcome) = g
        .app
        .members()
        .add_member(&ctx, &team, who, role, r.guest, key.as_ref())
        .await?;
    if outcome == AddOutcome::AlreadyMember {
        return Err(Status::already_exists(format!(
            "{} is already a member of {}",
            member.email,
            team.name()
        )));
    }
    Ok(Response::new(convert::member_at(&member, g.app.now())))
}

pub(super) async fn add_members(
    g: &TeamGrpc,
    req: Request<pb::AddMembersRequest>,
) -> R<pb::AddMembersResponse> {
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
    let outcomes = g
        .app
        .members()
        .add_members(&ctx, &team, entries, role, r.guest, key.as_ref())
        .await?;
    let results = outcomes
        .into_iter()
        .map(|o| match o.result {
            Ok((m, out)) => pb::AddMemberResult {
                input: o.input,
                outcome: outcome(out) as i32,
                member: Some(convert::member_at(&m, g.app.now())),
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

pub(super) async fn get_member(g: &TeamGrpc, req: Request<pb::GetMemberRequest>) -> R<pb::Member> {
    let caller = caller(&req)?;
    let (team, account) = member_name("name", &req.get_ref().name)?;
    let m = g.app.members().get_member(&caller, &team, &account).await?;
    Ok(Response::new(convert::member_at(&m, g.app.now())))
}

pub(super) async fn batch_get_members(
    g: &TeamGrpc,
    req: Request<pb::BatchGetMembersRequest>,
) -> R<pb::BatchGetMembersResponse> {
    let caller = caller(&req)?;
    let r = req.get_ref();
    let team = TeamId::parse("parent", &r.parent).map_err(invalid)?;
    let accounts = accounts_field("accounts", &r.accounts)?;
    let rows = g
        .app
        .members()
        .batch_get_members(&caller, &team, &accounts)
        .await?;
    Ok(Response::new(pb::BatchGetMembersResponse {
        members: rows
            .iter()
            .map(|m| convert::member_at(m, g.app.now()))
            .collect(),
    }))
}

pub(super) async fn list_members(
    g: &TeamGrpc,
    req: Request<pb::ListMembersRequest>,
) -> R<pb::ListMembersResponse> {
    let caller = caller(&req)?;
    let r = req.into_inner();
    let team = TeamId::parse("parent", &r.parent).map_err(invalid)?;
    let filter =
        MemberFilter::parse("query", guest_filter(r.guests)?, &r.query).map_err(invalid)?;
    let (rows, next, total) = g
        .app
        .members()
        .list_members(&caller, &team, &filter, r.page_size, &r.page_token)
        .await?;
    Ok(Response::new(pb::ListMembersResponse {
        members: rows
            .iter()
            .map(|m| convert::member_at(m, g.app.now()))
            .collect(),
        next_page_token: next,
        total_size: i32::try_from(total).unwrap_or(i32::MAX),
    }))
}
