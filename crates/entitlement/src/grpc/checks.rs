//! Handlers of the launch check and a person's own products.

use super::*;

pub(super) async fn check_entitlement(
    g: &EntitlementGrpc,
    req: Request<pb::CheckEntitlementRequest>,
) -> R<pb::CheckEntitlementResponse> {
    let caller = caller(&req)?;
    let r = req.get_ref();
    let account = match (r.account.as_str(), caller.account()) {
        ("", Some(me)) => me.clone(),
        ("", None) => {
            return Err(invalid(FieldViolation::new(
                "account",
                "is required for service accounts",
            )));
        }
        (a, _) => AccountId::parse("account", a).map_err(invalid)?,
    };
    let product = product_ref("product", &r.product)?;
    let answer = g
        .app
        .checks()
        .check(&caller, &account, &product, r.record_usage)?;
    Ok(Response::new(match answer {
        Answer::Allowed { grant, pool } => pb::CheckEntitlementResponse {
            allowed: true,
            items: grant.items.to_vec(),
            activation_type: convert::activation(
                pool.as_ref()
                    .map(|p| p.activation)
                    .unwrap_or(ActivationType::SignIn),
            ) as i32,
            serial_number: pool.map(|p| p.serial_number).unwrap_or_default(),
            team: format!("teams/{}", grant.team),
            deny_reason: pb::DenyReason::Unspecified as i32,
            message: String::new(),
        },
        Answer::NotAssigned => pb::CheckEntitlementResponse {
            deny_reason: pb::DenyReason::NotAssigned as i32,
            message: "you have no seat of this product; ask an admin of your team to assign it"
                .into(),
            ..Default::default()
        },
        Answer::UnknownProduct => pb::CheckEntitlementResponse {
            deny_reason: pb::DenyReason::UnknownProduct as i32,
            message: format!("{} is not a product Allot knows", product.name()),
            ..Default::default()
        },
    }))
}

pub(super) async fn list_my_products(
    g: &EntitlementGrpc,
    req: Request<pb::ListMyProductsRequest>,
) -> R<pb::ListMyProductsResponse> {
    let caller = caller(&req)?;
    let account = match (req.get_ref().account.as_str(), caller.account()) {
        ("", Some(me)) => me.clone(),
        ("", None) => {
            return Err(invalid(FieldViolation::new(
                "account",
                "is required for service accounts",
            )));
        }
        (a, _) => AccountId::parse("account", a).map_err(invalid)?,
    };
    Ok(Response::new(pb::ListMyProductsResponse {
        products: g
            .app
            .checks()
            .my_products(&caller, &account)?
            .iter()
            .map(convert::my_product)
            .collect(),
    }))
}
