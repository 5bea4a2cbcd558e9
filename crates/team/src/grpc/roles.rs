//! Handlers of admin roles (R-ROLE-*).

use super::*;

pub(super) async fn transfer_primary_admin(
    g: &TeamGrpc,
    req: Request<pb::TransferPrimaryAdminRequest>,
) -> R<pb::Team> {
    let ctx = ctx(&req)?;
    let r = req.get_ref();
    let team = TeamId::parse("team", &r.team).map_err(invalid)?;
    let new = AccountId::parse("new_primary_admin", &r.new_primary_admin).map_err(invalid)?;
    let t = g
        .app
        .roles()
        .transfer_primary_admin(&ctx, &team, &new)
        .await?;
    Ok(Response::new(convert::team(&t)))
}
