//! Handlers of member exports.

use super::*;

pub(super) async fn export_members(
    g: &TeamGrpc,
    req: Request<pb::ExportMembersRequest>,
) -> R<BoxStream<pb::ExportMembersResponse>> {
    let caller = caller(&req)?;
    let r = req.into_inner();
    let team = TeamId::parse("parent", &r.parent).map_err(invalid)?;
    let guests = guest_filter(r.guests)?;
    let csv = g
        .app
        .exports()
        .export_members(&caller, &team, guests, r.include_products)
        .await?;
    Ok(Response::new(allot_platform::grpc::chunked(csv, |chunk| {
        pb::ExportMembersResponse { chunk }
    })))
}

pub(super) async fn list_all_members(
    g: &TeamGrpc,
    req: Request<pb::ListAllMembersRequest>,
) -> R<pb::ListAllMembersResponse> {
    let caller = caller(&req)?;
    let r = req.into_inner();
    let ((rows, next), teams, head) = g
        .app
        .exports()
        .all_members(&caller, r.page_size, &r.page_token)
        .await?;
    Ok(Response::new(pb::ListAllMembersResponse {
        members: rows
            .iter()
            .map(|m| convert::member_at(m, g.app.now()))
            .collect(),
        next_page_token: next,
        teams: teams.iter().map(convert::team).collect(),
        cursor: allot_platform::outbox::cursor(head),
    }))
}
