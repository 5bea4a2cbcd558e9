//! Handlers of invitations: sending, reading, resending, revoking and accepting them (R-INV-*).

use super::*;

pub(super) async fn create_invitations(
    g: &IdentityGrpc,
    req: Request<pb::CreateInvitationsRequest>,
) -> R<pb::CreateInvitationsResponse> {
    let ctx = ctx(&req)?;
    let r = req.into_inner();
    let team = TeamId::parse("team", &r.team).map_err(invalid)?;
    let into = InviteInto {
        team,
        team_display_name: non_empty_or(&r.team_display_name, &r.team),
        inviter: r.inviter.clone(),
        inviter_display_name: non_empty_or(&r.inviter_display_name, "A team administrator"),
    };
    let invitees = r
        .invitees
        .iter()
        .enumerate()
        .map(|(i, p)| {
            Invitee::parse(&p.given_name, &p.family_name, &p.email).map_err(|v| {
                v.into_iter()
                    .map(|f| f.within(&format!("invitees[{i}]")))
                    .collect()
            })
        })
        .collect();
    let outcomes = g
        .app
        .invitations()
        .create_invitations(&ctx, &into, invitees)
        .await?;
    let now = g.now();
    let results = outcomes
        .into_iter()
        .map(|o| match o {
            InviteOutcome::Invited(a, i) => pb::InvitationResult {
                outcome: pb::InvitationOutcome::Invited as i32,
                account: Some(convert::account(&a)),
                invitation: Some(convert::invitation(&i, now)),
                violations: vec![],
            },
            InviteOutcome::AlreadyInvited(a, i) => pb::InvitationResult {
                outcome: pb::InvitationOutcome::AlreadyInvited as i32,
                account: Some(convert::account(&a)),
                invitation: Some(convert::invitation(&i, now)),
                violations: vec![],
            },
            InviteOutcome::Invalid(v) => pb::InvitationResult {
                outcome: pb::InvitationOutcome::Invalid as i32,
                account: None,
                invitation: None,
                violations: v.into_iter().map(Into::into).collect(),
            },
        })
        .collect();
    Ok(Response::new(pb::CreateInvitationsResponse { results }))
}

pub(super) async fn get_invitation(
    g: &IdentityGrpc,
    req: Request<pb::GetInvitationRequest>,
) -> R<pb::Invitation> {
    let caller = caller(&req)?;
    let id = InvitationId::parse("name", &req.get_ref().name).map_err(invalid)?;
    let i = g.app.invitations().get_invitation(&caller, &id).await?;
    Ok(Response::new(convert::invitation(&i, g.now())))
}

pub(super) async fn list_invitations(
    g: &IdentityGrpc,
    req: Request<pb::ListInvitationsRequest>,
) -> R<pb::ListInvitationsResponse> {
    let caller = caller(&req)?;
    let r = req.into_inner();
    let team = optional_id("team", &r.team, TeamId::parse)?;
    let account = optional_id("account", &r.account, AccountId::parse)?;
    let (rows, next) = g
        .app
        .invitations()
        .list_invitations(
            &caller,
            team.as_ref(),
            account.as_ref(),
            r.page_size,
            &r.page_token,
        )
        .await?;
    let now = g.now();
    Ok(Response::new(pb::ListInvitationsResponse {
        invitations: rows.iter().map(|i| convert::invitation(i, now)).collect(),
        next_page_token: next,
    }))
}

pub(super) async fn resend_invitation(
    g: &IdentityGrpc,
    req: Request<pb::ResendInvitationRequest>,
) -> R<pb::Invitation> {
    let ctx = ctx(&req)?;
    let id = InvitationId::parse("name", &req.get_ref().name).map_err(invalid)?;
    let i = g.app.invitations().resend_invitation(&ctx, &id).await?;
    Ok(Response::new(convert::invitation(&i, g.now())))
}

pub(super) async fn revoke_invitation(
    g: &IdentityGrpc,
    req: Request<pb::RevokeInvitationRequest>,
) -> R<pb::Invitation> {
    let ctx = ctx(&req)?;
    let id = InvitationId::parse("name", &req.get_ref().name).map_err(invalid)?;
    let i = g.app.invitations().revoke_invitation(&ctx, &id).await?;
    Ok(Response::new(convert::invitation(&i, g.now())))
}

pub(super) async fn accept_invitation(
    g: &IdentityGrpc,
    req: Request<pb::AcceptInvitationRequest>,
) -> R<pb::AcceptInvitationResponse> {
    let rid = request_id(&req);
    let r = req.get_ref();
    let acceptance = crate::service::invitations::Acceptance {
        token: &r.token,
        password: &r.password,
        given_name: &r.given_name,
        family_name: &r.family_name,
    };
    let (a, i) = g
        .app
        .invitations()
        .accept_invitation(&rid, &acceptance)
        .await?;
    Ok(Response::new(pb::AcceptInvitationResponse {
        account: Some(convert::account(&a)),
        invitation: Some(convert::invitation(&i, g.now())),
    }))
}

pub(super) async fn lookup_invitation(
    g: &IdentityGrpc,
    req: Request<pb::LookupInvitationRequest>,
) -> R<pb::LookupInvitationResponse> {
    let preview = g
        .app
        .invitations()
        .lookup_invitation(&req.get_ref().token)
        .await?;
    Ok(Response::new(pb::LookupInvitationResponse {
        invitation: Some(convert::invitation(&preview.invitation, g.now())),
        given_name: preview.account.given_name,
        family_name: preview.account.family_name,
        has_password: preview.has_password,
    }))
}

pub(super) async fn batch_get_invitation_tokens(
    g: &IdentityGrpc,
    req: Request<pb::BatchGetInvitationTokensRequest>,
) -> R<pb::BatchGetInvitationTokensResponse> {
    let caller = caller(&req)?;
    let r = req.into_inner();
    let asks = r
        .requests
        .iter()
        .enumerate()
        .map(|(i, a)| {
            InvitationId::parse(&format!("requests[{i}].name"), &a.name)
                .map(|id| (id, a.generation))
        })
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(invalid)?;
    let results = g
        .app
        .invitations()
        .invitation_tokens(&caller, &asks)
        .await?
        .into_iter()
        .map(|r| match r {
            Ok((token, expire)) => pb::InvitationTokenResult {
                token,
                expire_time: Some(timestamp(expire)),
                refusal: String::new(),
            },
            Err(refusal) => pb::InvitationTokenResult {
                refusal,
                ..Default::default()
            },
        })
        .collect();
    Ok(Response::new(pb::BatchGetInvitationTokensResponse {
        results,
    }))
}

pub(super) async fn get_invitation_token(
    g: &IdentityGrpc,
    req: Request<pb::GetInvitationTokenRequest>,
) -> R<pb::GetInvitationTokenResponse> {
    let caller = caller(&req)?;
    let r = req.get_ref();
    let id = InvitationId::parse("name", &r.name).map_err(invalid)?;
    let (token, expire) = g
        .app
        .invitations()
        .invitation_token(&caller, &id, r.generation)
        .await?;
    Ok(Response::new(pb::GetInvitationTokenResponse {
        token,
        expire_time: Some(timestamp(expire)),
    }))
}
