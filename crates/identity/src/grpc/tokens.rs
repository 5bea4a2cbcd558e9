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
