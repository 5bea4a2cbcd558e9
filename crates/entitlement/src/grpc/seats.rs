//! Handlers of seat assignments (R-SEAT-*).

use super::*;

pub(super) async fn assign_products(
    g: &EntitlementGrpc,
    req: Request<pb::AssignProductsRequest>,
) -> R<pb::AssignResponse> {
    let ctx = ctx(&req)?;
    let r = req.into_inner();
    let team = TeamId::parse("parent", &r.parent).map_err(invalid)?;
    let account = AccountId::parse("account", &r.account).map_err(invalid)?;
    if r.products.is_empty() {
        return Err(invalid(FieldViolation::new("products", "names no product")));
    }
    if r.products.len() > crate::domain::MAX_SELECTIONS {
        return Err(too_many(
            "products",
            r.products.len(),
            crate::domain::MAX_SELECTIONS,
        ));
    }
    let mut selections: Vec<(ProductId, Vec<String>)> = Vec::with_capacity(r.products.len());
    let mut seen = std::collections::HashSet::with_capacity(r.products.len());
    for (i, s) in r.products.iter().enumerate() {
        let p = product_ref(&format!("products[{i}].product"), &s.product)?;
        if s.items.len() > crate::domain::MAX_ITEMS {
            return Err(too_many(
                &format!("products[{i}].items"),
                s.items.len(),
                crate::domain::MAX_ITEMS,
            ));
        }
        if !seen.insert(p.clone()) {
            return Err(invalid(FieldViolation::new(
                format!("products[{i}].product"),
                "is named twice",
            )));
        }
        selections.push((p, s.items.clone()));
    }
    let key = request_key!(ctx.caller, "AssignProducts", r).map_err(invalid)?;
    let results = g
        .app
        .seats()
        .assign_products(&ctx, &team, &account, selections, key.as_ref())
        .await?;
    Ok(Response::new(pb::AssignResponse {
        results: results.iter().map(convert::assign_result).collect(),
    }))
}

pub(super) async fn assign_users(
    g: &EntitlementGrpc,
    req: Request<pb::AssignUsersRequest>,
) -> R<pb::AssignResponse> {
    let ctx = ctx(&req)?;
    let r = req.into_inner();
    let team = TeamId::parse("parent", &r.parent).map_err(invalid)?;
    let product = product_ref("product", &r.product)?;
    if r.accounts.is_empty() || r.accounts.len() > 1000 {
        return Err(invalid(FieldViolation::new(
            "accounts",
            "names 1 to 1000 accounts",
        )));
    }
    if r.items.len() > crate::domain::MAX_ITEMS {
        return Err(too_many("items", r.items.len(), crate::domain::MAX_ITEMS));
    }
    let mut accounts: Vec<AccountId> = Vec::with_capacity(r.accounts.len());
    let mut seen = std::collections::HashSet::with_capacity(r.accounts.len());
    for (i, a) in r.accounts.iter().enumerate() {
        let a = AccountId::parse(&format!("accounts[{i}]"), a).map_err(invalid)?;
        if seen.insert(a.clone()) {
            accounts.push(a);
        }
    }
    let key = request_key!(ctx.caller, "AssignUsers", r).map_err(invalid)?;
    let results = g
        .app
        .seats()
        .assign_users(&ctx, &team, &product, r.items, accounts, key.as_ref())
        .await?;
    Ok(Response::new(pb::AssignResponse {
        results: results.iter().map(convert::assign_result).collect(),
    }))
}

pub(super) async fn get_assignment(
    g: &EntitlementGrpc,
    req: Request<pb::GetAssignmentRequest>,
) -> R<pb::Assignment> {
    let caller = caller(&req)?;
    let (team, id) = in_team("name", &req.get_ref().name, "assignments")?;
    let id = AssignmentId::from_db(id);
    Ok(Response::new(convert::assignment(
        &g.app.seats().get_assignment(&caller, &team, &id).await?,
    )))
}

pub(super) async fn list_assignments(
    g: &EntitlementGrpc,
    req: Request<pb::ListAssignmentsRequest>,
) -> R<pb::ListAssignmentsResponse> {
    let caller = caller(&req)?;
    let r = req.into_inner();
    let team = TeamId::parse("parent", &r.parent).map_err(invalid)?;
    let account = optional("account", &r.account, AccountId::parse)?;
    let product = optional("product", &r.product, ProductId::parse)?;
    let contract = optional("contract", &r.contract, ContractId::parse)?;
    let query = AssignmentQuery {
        account,
        product,
        contract,
    };
    let (rows, next) = g
        .app
        .seats()
        .list_assignments(&caller, &team, &query, r.page_size, &r.page_token)
        .await?;
    let last = g.app.seats().last_uses(&team, &rows).await?;
    Ok(Response::new(pb::ListAssignmentsResponse {
        assignments: rows
            .iter()
            .map(|a| pb::Assignment {
                last_use_time: last
                    .get(&(a.account.as_str().to_owned(), a.product.as_str().to_owned()))
                    .map(|t| allot_platform::clock::timestamp(*t)),
                ..convert::assignment(a)
            })
            .collect(),
        next_page_token: next,
    }))
}

pub(super) async fn update_assignment(
    g: &EntitlementGrpc,
    req: Request<pb::UpdateAssignmentRequest>,
) -> R<pb::Assignment> {
    let ctx = ctx(&req)?;
    let r = req.into_inner();
    let a = required("assignment", r.assignment)?;
    let (team, id) = in_team("assignment.name", &a.name, "assignments")?;
    let id = AssignmentId::from_db(id);
    update_paths(r.update_mask.as_ref(), &["items"], |_| true).map_err(invalid)?;
    let before = a.name.clone();
    match g
        .app
        .seats()
        .update_assignment_items(&ctx, &team, &id, a.items)
        .await?
    {
        Some(updated) => Ok(Response::new(convert::assignment(&updated))),
        // R-SEAT-4: no item left, the seat is free; the assignment is gone.
        None => Ok(Response::new(pb::Assignment {
            name: before,
            ..Default::default()
        })),
    }
}

pub(super) async fn delete_assignment(
    g: &EntitlementGrpc,
    req: Request<pb::DeleteAssignmentRequest>,
) -> R<()> {
    let ctx = ctx(&req)?;
    let (team, id) = in_team("name", &req.get_ref().name, "assignments")?;
    let id = AssignmentId::from_db(id);
    g.app.seats().delete_assignment(&ctx, &team, &id).await?;
    Ok(Response::new(()))
}
