//! Handlers of member exports.

use super::*;

pub(super) async fn export_members(
    g: &TeamGrpc,
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
    let csv = g
        .app
        .exports()
        .export_members(&caller, &team, guests, r.include_products)
        .await?;
    Ok(Response::new(allot_platform::grpc::chunked(csv, |chunk| {
        pb::ExportMembersResponse { chunk }
    })))
}
