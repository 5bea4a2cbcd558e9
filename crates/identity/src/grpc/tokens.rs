//! Handlers of bearer tokens and the keys that verify them.

use super::*;

pub(super) async fn create_token(
    g: &IdentityGrpc,
    req: Request<pb::CreateTokenRequest>,
) -> R<pb::CreateTokenResponse> {
    let r = req.into_inner();
    if r.client_id.is_empty() || r.client_secret.is_empty() {
        return Err(IdentityError::BadCredentials.into());
    }
    let act_as = optional_id("act_as", &r.act_as, AccountId::parse)?;
    let (token, exp) = g
        .app
        .tokens()
        .create_token(&r.client_id, &r.client_secret, act_as.as_ref(), &r.scopes)
        .await?;
    Ok(Response::new(pb::CreateTokenResponse {
        access_token: token,
        expire_time: Some(prost_types::Timestamp {
            seconds: exp,
            nanos: 0,
        }),
    }))
}

/// The address a sign-in comes from: `x-real-ip` as the front door sets
/// it (only the front door and the services can reach a service that asks
/// for client certificates), else the connection's own.
fn client_address<T>(req: &Request<T>) -> Option<String> {
    req.metadata()
        .get("x-real-ip")
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.parse::<std::net::IpAddr>().is_ok())
        .map(str::to_owned)
        .or_else(|| req.remote_addr().map(|a| a.ip().to_string()))
}

pub(super) async fn sign_in(
    g: &IdentityGrpc,
    req: Request<pb::SignInRequest>,
) -> R<pb::SignInResponse> {
    let address = client_address(&req);
    let r = req.into_inner();
    let (token, exp, account) = g
        .app
        .passwords()
        .sign_in(crate::service::passwords::SignIn {
            email: &r.email,
            password: &r.password,
            address: address.as_deref(),
        })
        .await?;
    Ok(Response::new(pb::SignInResponse {
        access_token: token,
        expire_time: Some(prost_types::Timestamp {
            seconds: exp,
            nanos: 0,
        }),
        account: Some(convert::account(&account)),
    }))
}

pub(super) async fn refresh_session(
    g: &IdentityGrpc,
    req: Request<pb::RefreshSessionRequest>,
) -> R<pb::SignInResponse> {
    let ctx = Ctx::from_request(&req)?;
    let (token, exp, account) = g.app.passwords().refresh_session(&ctx).await?;
    Ok(Response::new(pb::SignInResponse {
        access_token: token,
        expire_time: Some(prost_types::Timestamp {
            seconds: exp,
            nanos: 0,
        }),
        account: Some(convert::account(&account)),
    }))
}

pub(super) async fn sign_out(g: &IdentityGrpc, req: Request<pb::SignOutRequest>) -> R<()> {
    let ctx = Ctx::from_request(&req)?;
    g.app.passwords().sign_out(&ctx).await?;
    Ok(Response::new(()))
}

pub(super) async fn change_password(
    g: &IdentityGrpc,
    req: Request<pb::ChangePasswordRequest>,
) -> R<()> {
    let ctx = Ctx::from_request(&req)?;
    let r = req.get_ref();
    g.app
        .passwords()
        .change_password(&ctx, &r.current_password, &r.new_password)
        .await?;
    Ok(Response::new(()))
}

pub(super) async fn list_ended_sessions(
    g: &IdentityGrpc,
    req: Request<pb::ListEndedSessionsRequest>,
) -> R<pb::ListEndedSessionsResponse> {
    let caller = caller(&req)?;
    let sessions = g
        .app
        .passwords()
        .ended_sessions(&caller, req.get_ref().after_time)
        .await?
        .into_iter()
        .map(|(session_id, expire_time, end_time)| pb::EndedSession {
            session_id,
            expire_time,
            end_time,
        })
        .collect();
    Ok(Response::new(pb::ListEndedSessionsResponse { sessions }))
}

pub(super) async fn request_password_reset(
    g: &IdentityGrpc,
    req: Request<pb::RequestPasswordResetRequest>,
) -> R<()> {
    let rid = request_id(&req);
    let address = client_address(&req);
    g.app
        .passwords()
        .request_reset(&rid, &req.get_ref().email, address.as_deref())
        .await?;
    Ok(Response::new(()))
}

pub(super) async fn reset_password(
    g: &IdentityGrpc,
    req: Request<pb::ResetPasswordRequest>,
) -> R<()> {
    let r = req.get_ref();
    g.app
        .passwords()
        .reset_password(&r.token, &r.new_password)
        .await?;
    Ok(Response::new(()))
}

pub(super) async fn get_password_reset_token(
    g: &IdentityGrpc,
    req: Request<pb::GetPasswordResetTokenRequest>,
) -> R<pb::GetPasswordResetTokenResponse> {
    let caller = caller(&req)?;
    let (token, exp) = g
        .app
        .passwords()
        .reset_token(&caller, &req.get_ref().name)
        .await?;
    Ok(Response::new(pb::GetPasswordResetTokenResponse {
        token,
        expire_time: Some(prost_types::Timestamp {
            seconds: exp,
            nanos: 0,
        }),
    }))
}

pub(super) async fn get_signing_keys(
    g: &IdentityGrpc,
    _req: Request<pb::GetSigningKeysRequest>,
) -> R<pb::GetSigningKeysResponse> {
    Ok(Response::new(pb::GetSigningKeysResponse {
        keys: g
            .app
            .tokens()
            .signing_keys()
            .into_iter()
            .map(|k| pb::SigningKey {
                key_id: k.key_id,
                algorithm: "EdDSA".into(),
                public_key: k.public_key.to_vec(),
            })
            .collect(),
    }))
}
