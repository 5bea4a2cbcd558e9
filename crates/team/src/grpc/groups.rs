//! Handlers of a team's groups and their members.

use super::*;

pub(super) async fn create_group(
    g: &TeamGrpc,
    req: Request<pb::CreateGroupRequest>,
) -> R<pb::Group> {
    let ctx = ctx(&req)?;
    let r = req.into_inner();
    let key = request_key!(ctx.caller, "CreateGroup", r).map_err(invalid)?;
    let team = TeamId::parse("parent", &r.parent).map_err(invalid)?;
    let group = r
        .group
        .ok_or_else(|| invalid(FieldViolation::new("group", "is required")))?;
    let name = parse_team_name("group.display_name", &group.display_name).map_err(invalid)?;
    let g = g
        .app
        .groups()
        .create_group(&ctx, &team, name, key.as_ref())
        .await?;
    Ok(Response::new(convert::group(&g)))
}

pub(super) async fn get_group(g: &TeamGrpc, req: Request<pb::GetGroupRequest>) -> R<pb::Group> {
    let caller = caller(&req)?;
    let (team, id) = group_name("name", &req.get_ref().name)?;
    let g = g.app.groups().get_group(&caller, &team, &id).await?;
    Ok(Response::new(convert::group(&g)))
}

pub(super) async fn list_groups(
    g: &TeamGrpc,
    req: Request<pb::ListGroupsRequest>,
) -> R<pb::ListGroupsResponse> {
    let caller = caller(&req)?;
    let r = req.into_inner();
    let team = TeamId::parse("parent", &r.parent).map_err(invalid)?;
    let (rows, next) = g
        .app
        .groups()
        .list_groups(&caller, &team, r.page_size, &r.page_token)
        .await?;
    Ok(Response::new(pb::ListGroupsResponse {
        groups: rows.iter().map(convert::group).collect(),
        next_page_token: next,
    }))
}

pub(super) async fn update_group(
    g: &TeamGrpc,
    req: Request<pb::UpdateGroupRequest>,
) -> R<pb::Group> {
    let ctx = ctx(&req)?;
    let r = req.into_inner();
    let group = r
        .group
        .ok_or_else(|| invalid(FieldViolation::new("group", "is required")))?;
    let (team, id) = group_name("group.name", &group.name)?;
    update_paths(r.update_mask.as_ref(), &["display_name"], |_| true).map_err(invalid)?;
    let name = parse_team_name("group.display_name", &group.display_name).map_err(invalid)?;
    let g = g.app.groups().rename_group(&ctx, &team, &id, name).await?;
    Ok(Response::new(convert::group(&g)))
}

pub(super) async fn delete_group(g: &TeamGrpc, req: Request<pb::DeleteGroupRequest>) -> R<()> {
    let ctx = ctx(&req)?;
    let (team, id) = group_name("name", &req.get_ref().name)?;
    g.app.groups().delete_group(&ctx, &team, &id).await?;
    Ok(Response::new(()))
}

pub(super) async fn add_group_members(
    g: &TeamGrpc,
    req: Request<pb::AddGroupMembersRequest>,
) -> R<pb::Group> {
    let ctx = ctx(&req)?;
    let r = req.get_ref();
    let (team, id) = group_name("group", &r.group)?;
    let accounts = accounts_field("accounts", &r.accounts)?;
    let g = g
        .app
        .groups()
        .add_group_members(&ctx, &team, &id, &accounts)
        .await?;
    Ok(Response::new(convert::group(&g)))
}

pub(super) async fn remove_group_members(
    g: &TeamGrpc,
    req: Request<pb::RemoveGroupMembersRequest>,
) -> R<pb::Group> {
    let ctx = ctx(&req)?;
    let r = req.get_ref();
    let (team, id) = group_name("group", &r.group)?;
    let accounts = accounts_field("accounts", &r.accounts)?;
    let g = g
        .app
        .groups()
        .remove_group_members(&ctx, &team, &id, &accounts)
        .await?;
    Ok(Response::new(convert::group(&g)))
}

pub(super) async fn list_group_members(
    g: &TeamGrpc,
    req: Request<pb::ListGroupMembersRequest>,
) -> R<pb::ListGroupMembersResponse> {
    let caller = caller(&req)?;
    let r = req.into_inner();
    let (team, id) = group_name("group", &r.group)?;
    let (rows, next) = g
        .app
        .groups()
        .list_group_members(&caller, &team, &id, r.page_size, &r.page_token)
        .await?;
    Ok(Response::new(pb::ListGroupMembersResponse {
        members: rows
            .iter()
            .map(|m| convert::member_at(m, g.app.now()))
            .collect(),
        next_page_token: next,
    }))
}
