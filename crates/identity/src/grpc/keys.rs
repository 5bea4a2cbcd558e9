//! Handlers of access keys.

use super::*;

pub(super) async fn create_key(
    g: &IdentityGrpc,
    req: Request<pb::CreateKeyRequest>,
) -> R<pb::CreateKeyResponse> {
    let caller = caller(&req)?;
    let (cred, secret) = g
        .app
        .keys()
        .create_key(&caller, &req.get_ref().parent)
        .await?;
    Ok(Response::new(pb::CreateKeyResponse {
        key: Some(convert::key(&cred)),
        client_secret: secret,
    }))
}

pub(super) async fn list_keys(
    g: &IdentityGrpc,
    req: Request<pb::ListKeysRequest>,
) -> R<pb::ListKeysResponse> {
    let caller = caller(&req)?;
    let rows = g
        .app
        .keys()
        .list_keys(&caller, &req.get_ref().parent)
        .await?;
    Ok(Response::new(pb::ListKeysResponse {
        keys: rows.iter().map(convert::key).collect(),
    }))
}

pub(super) async fn delete_key(g: &IdentityGrpc, req: Request<pb::DeleteKeyRequest>) -> R<()> {
    let caller = caller(&req)?;
    g.app
        .keys()
        .delete_key(&caller, &req.get_ref().name)
        .await?;
    Ok(Response::new(()))
}
