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
