//! Handlers of service accounts.

use super::*;

pub(super) async fn create_service_account(
    g: &IdentityGrpc,
    req: Request<pb::CreateServiceAccountRequest>,
) -> R<pb::ServiceAccount> {
    let ctx = ctx(&req)?;
    let sa = req
        .into_inner()
        .service_account
        .ok_or_else(|| invalid(FieldViolation::new("service_account", "is required")))?;
    let display =
        parse_display_name("service_account.display_name", &sa.display_name).map_err(invalid)?;
    let scopes = parse_scopes("service_account.scopes", &sa.scopes).map_err(invalid)?;
    let row = g
        .app
        .service_accounts()
        .create_service_account(&ctx, display, scopes)
        .await?;
    Ok(Response::new(convert::service_account(&row)))
}

pub(super) async fn get_service_account(
    g: &IdentityGrpc,
    req: Request<pb::GetServiceAccountRequest>,
) -> R<pb::ServiceAccount> {
    let caller = caller(&req)?;
    let id = ServiceAccountId::parse("name", &req.get_ref().name).map_err(invalid)?;
    let row = g
        .app
        .service_accounts()
        .get_service_account(&caller, &id)
        .await?;
    Ok(Response::new(convert::service_account(&row)))
}

pub(super) async fn list_service_accounts(
    g: &IdentityGrpc,
    req: Request<pb::ListServiceAccountsRequest>,
) -> R<pb::ListServiceAccountsResponse> {
    let caller = caller(&req)?;
    let r = req.into_inner();
    let (rows, next) = g
        .app
        .service_accounts()
        .list_service_accounts(&caller, r.page_size, &r.page_token)
        .await?;
    Ok(Response::new(pb::ListServiceAccountsResponse {
        service_accounts: rows.iter().map(convert::service_account).collect(),
        next_page_token: next,
    }))
}

pub(super) async fn update_service_account(
    g: &IdentityGrpc,
    req: Request<pb::UpdateServiceAccountRequest>,
) -> R<pb::ServiceAccount> {
    let ctx = ctx(&req)?;
    let r = req.into_inner();
    let sa = r
        .service_account
        .ok_or_else(|| invalid(FieldViolation::new("service_account", "is required")))?;
    let id = ServiceAccountId::parse("service_account.name", &sa.name).map_err(invalid)?;
    let paths = update_paths(
        r.update_mask.as_ref(),
        &["display_name", "scopes"],
        |p| match p {
            "display_name" => !sa.display_name.is_empty(),
            _ => !sa.scopes.is_empty(),
        },
    )
    .map_err(invalid)?;
    let mut display = None;
    let mut scopes = None;
    for p in &paths {
        if p == "display_name" {
            display = Some(
                parse_display_name("service_account.display_name", &sa.display_name)
                    .map_err(invalid)?,
            );
        } else {
            scopes = Some(parse_scopes("service_account.scopes", &sa.scopes).map_err(invalid)?);
        }
    }
    let row = g
        .app
        .service_accounts()
        .update_service_account(&ctx, &id, display, scopes)
        .await?;
    Ok(Response::new(convert::service_account(&row)))
}

pub(super) async fn delete_service_account(
    g: &IdentityGrpc,
    req: Request<pb::DeleteServiceAccountRequest>,
) -> R<()> {
    let ctx = ctx(&req)?;
    let id = ServiceAccountId::parse("name", &req.get_ref().name).map_err(invalid)?;
    g.app
        .service_accounts()
        .delete_service_account(&ctx, &id)
        .await?;
    Ok(Response::new(()))
}
