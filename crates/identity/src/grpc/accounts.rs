//! Handlers of people's accounts.

use super::*;

pub(super) async fn get_account(
    g: &IdentityGrpc,
    req: Request<pb::GetAccountRequest>,
) -> R<pb::Account> {
    let caller = caller(&req)?;
    let id = AccountId::parse("name", &req.get_ref().name).map_err(invalid)?;
    let a = g.app.accounts().get_account(&caller, &id).await?;
    Ok(Response::new(convert::account(&a)))
}

pub(super) async fn lookup_account(
    g: &IdentityGrpc,
    req: Request<pb::LookupAccountRequest>,
) -> R<pb::Account> {
    let caller = caller(&req)?;
    let email = Email::parse("email", &req.get_ref().email).map_err(invalid)?;
    let a = g.app.accounts().lookup_account(&caller, &email).await?;
    Ok(Response::new(convert::account(&a)))
}

pub(super) async fn list_accounts(
    g: &IdentityGrpc,
    req: Request<pb::ListAccountsRequest>,
) -> R<pb::ListAccountsResponse> {
    let caller = caller(&req)?;
    let r = req.into_inner();
    let (rows, next) = g
        .app
        .accounts()
        .list_accounts(&caller, &r.email_prefix, r.page_size, &r.page_token)
        .await?;
    Ok(Response::new(pb::ListAccountsResponse {
        accounts: rows.iter().map(convert::account).collect(),
        next_page_token: next,
    }))
}

pub(super) async fn batch_get_accounts(
    g: &IdentityGrpc,
    req: Request<pb::BatchGetAccountsRequest>,
) -> R<pb::BatchGetAccountsResponse> {
    let caller = caller(&req)?;
    let ids = req
        .get_ref()
        .names
        .iter()
        .enumerate()
        .map(|(i, n)| AccountId::parse(&format!("names[{i}]"), n))
        .collect::<Result<Vec<_>, _>>()
        .map_err(invalid)?;
    let rows = g.app.accounts().batch_get_accounts(&caller, &ids).await?;
    Ok(Response::new(pb::BatchGetAccountsResponse {
        accounts: rows.iter().map(convert::account).collect(),
    }))
}

pub(super) async fn update_account(
    g: &IdentityGrpc,
    req: Request<pb::UpdateAccountRequest>,
) -> R<pb::Account> {
    let ctx = ctx(&req)?;
    let r = req.into_inner();
    let account = r
        .account
        .ok_or_else(|| invalid(FieldViolation::new("account", "is required")))?;
    let id = AccountId::parse("account.name", &account.name).map_err(invalid)?;
    let paths = update_paths(
        r.update_mask.as_ref(),
        &["given_name", "family_name"],
        |p| match p {
            "given_name" => !account.given_name.is_empty(),
            _ => !account.family_name.is_empty(),
        },
    )
    .map_err(invalid)?;
    let mut given = None;
    let mut family = None;
    for p in &paths {
        if p == "given_name" {
            given = Some(
                parse_person_name("account.given_name", &account.given_name).map_err(invalid)?,
            );
        } else {
            family = Some(
                parse_person_name("account.family_name", &account.family_name).map_err(invalid)?,
            );
        }
    }
    let a = g
        .app
        .accounts()
        .update_account(&ctx, &id, given, family)
        .await?;
    Ok(Response::new(convert::account(&a)))
}
