//! Handlers of group assignments (R-SEAT-5).

use super::*;

pub(super) async fn create_group_assignment(
    g: &EntitlementGrpc,
    req: Request<pb::CreateGroupAssignmentRequest>,
) -> R<pb::GroupAssignmentResponse> {
    let ctx = ctx(&req)?;
    let r = req.into_inner();
    let team = TeamId::parse("parent", &r.parent).map_err(invalid)?;
    let key = request_key!(ctx.caller, "CreateGroupAssignment", r).map_err(invalid)?;
    let ga = required("group_assignment", r.group_assignment)?;
    let (group_team, group) = in_team("group_assignment.group", &ga.group, "groups")?;
    let group = GroupId::from_db(group);
    if group_team != team {
        return Err(invalid(FieldViolation::new(
            "group_assignment.group",
            "must be a group of the parent team",
        )));
    }
    let product = product_ref("group_assignment.product", &ga.product)?;
    let (row, results) = g
        .app
        .groups()
        .create_group_assignment(&ctx, &team, &group, &product, ga.items, key.as_ref())
        .await?;
    Ok(Response::new(pb::GroupAssignmentResponse {
        group_assignment: Some(convert::group_assignment(&row)),
        results: results.iter().map(convert::assign_result).collect(),
    }))
}

pub(super) async fn list_group_assignments(
    g: &EntitlementGrpc,
    req: Request<pb::ListGroupAssignmentsRequest>,
) -> R<pb::ListGroupAssignmentsResponse> {
    let caller = caller(&req)?;
    let team = TeamId::parse("parent", &req.get_ref().parent).map_err(invalid)?;
    let rows = g
        .app
        .groups()
        .list_group_assignments(&caller, &team)
        .await?;
    Ok(Response::new(pb::ListGroupAssignmentsResponse {
        group_assignments: rows.iter().map(convert::group_assignment).collect(),
    }))
}

pub(super) async fn delete_group_assignment(
    g: &EntitlementGrpc,
    req: Request<pb::DeleteGroupAssignmentRequest>,
) -> R<()> {
    let ctx = ctx(&req)?;
    let (team, id) = in_team("name", &req.get_ref().name, "groupAssignments")?;
    let id = GroupAssignmentId::from_db(id);
    g.app
        .groups()
        .delete_group_assignment(&ctx, &team, &id)
        .await?;
    Ok(Response::new(()))
}
