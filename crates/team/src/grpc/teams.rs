//! Handlers of teams (R-TEAM-1, R-TEAM-2).

use super::*;

pub(super) async fn create_team(g: &TeamGrpc, req: Request<pb::CreateTeamRequest>) -> R<pb::Team> {
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
    let t = g
        .app
        .settings()
        .create_team(&ctx, name, admin, None, key.as_ref())
        .await?;
    Ok(Response::new(convert::team(&t)))
}

pub(super) async fn get_team(g: &TeamGrpc, req: Request<pb::GetTeamRequest>) -> R<pb::Team> {
    let caller = caller(&req)?;
    let id = TeamId::parse("name", &req.get_ref().name).map_err(invalid)?;
    let t = g.app.settings().get_team(&caller, &id).await?;
    Ok(Response::new(convert::team(&t)))
}

pub(super) async fn list_teams(
    g: &TeamGrpc,
    req: Request<pb::ListTeamsRequest>,
) -> R<pb::ListTeamsResponse> {
    let caller = caller(&req)?;
    let r = req.into_inner();
    let member = if r.member.is_empty() {
        None
    } else {
        Some(AccountId::parse("member", &r.member).map_err(invalid)?)
    };
    let (rows, next) = g
        .app
        .settings()
        .list_teams(&caller, member.as_ref(), r.page_size, &r.page_token)
        .await?;
    Ok(Response::new(pb::ListTeamsResponse {
        teams: rows
            .iter()
            .map(|(t, role)| pb::Team {
                member_role: convert::role(*role) as i32,
                ..convert::team(t)
            })
            .collect(),
        next_page_token: next,
    }))
}

pub(super) async fn update_team(g: &TeamGrpc, req: Request<pb::UpdateTeamRequest>) -> R<pb::Team> {
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
            name = Some(parse_team_name("team.display_name", &team.display_name).map_err(invalid)?);
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
    let t = g.app.settings().update_team(&ctx, &id, name, plan).await?;
    Ok(Response::new(convert::team(&t)))
}

pub(super) async fn ensure_owner_team(
    g: &TeamGrpc,
    req: Request<pb::EnsureOwnerTeamRequest>,
) -> R<pb::Team> {
    let ctx = ctx(&req)?;
    let owner = AccountId::parse("owner", &req.get_ref().owner).map_err(invalid)?;
    let t = g.app.settings().ensure_owner_team(&ctx, &owner).await?;
    Ok(Response::new(convert::team(&t)))
}
