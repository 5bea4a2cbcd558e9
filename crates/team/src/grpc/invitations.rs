//! Handlers of invitations into a team (R-INV-*).

use super::*;

pub(super) async fn resend_invitation(
    g: &TeamGrpc,
    req: Request<pb::ResendInvitationRequest>,
) -> R<pb::Member> {
    let ctx = ctx(&req)?;
    let (team, account) = member_name("name", &req.get_ref().name)?;
    let m = g
        .app
        .invitations()
        .resend_invitation(&ctx, &team, &account)
        .await?;
    Ok(Response::new(convert::member_at(&m, g.app.now())))
}

pub(super) async fn revoke_invitation(
    g: &TeamGrpc,
    req: Request<pb::RevokeInvitationRequest>,
) -> R<()> {
    let ctx = ctx(&req)?;
    let (team, account) = member_name("name", &req.get_ref().name)?;
    g.app
        .invitations()
        .revoke_invitation(&ctx, &team, &account)
        .await?;
    Ok(Response::new(()))
}
