//! Handlers of the catalog: products, their items and releases.

use super::*;

pub(super) async fn create_product(
    g: &EntitlementGrpc,
    req: Request<pb::CreateProductRequest>,
) -> R<pb::Product> {
    let ctx = ctx(&req)?;
    let r = req.into_inner();
    let product = required("product", r.product)?;
    let id = parse_product_id("product_id", &r.product_id).map_err(invalid)?;
    let name =
        parse_display_name("product.display_name", &product.display_name).map_err(invalid)?;
    let items = items_in("product.items", &product.items)?;
    if items.is_empty() {
        return Err(invalid(FieldViolation::new(
            "product.items",
            "a product has at least one item (its application)",
        )));
    }
    let p = g
        .app
        .catalog()
        .create_product(&ctx, id, name, items)
        .await?;
    Ok(Response::new(convert::product(&p)))
}

pub(super) async fn publish_release(
    g: &EntitlementGrpc,
    req: Request<pb::PublishReleaseRequest>,
) -> R<pb::Release> {
    let ctx = ctx(&req)?;
    let r = req.into_inner();
    let key = request_key!(ctx.caller, "PublishRelease", r).map_err(invalid)?;
    let product = product_ref("parent", &r.parent)?;
    let release = required("release", r.release)?;
    let version = crate::service::releases::parse_version("release.version", &release.version)
        .map_err(invalid)?;
    let notes =
        crate::service::releases::parse_notes("release.notes", &release.notes).map_err(invalid)?;
    let published = g
        .app
        .releases()
        .publish_release(&ctx, &product, version, notes, key.as_ref())
        .await?;
    Ok(Response::new(convert::release(&published)))
}

pub(super) async fn get_product(
    g: &EntitlementGrpc,
    req: Request<pb::GetProductRequest>,
) -> R<pb::Product> {
    let caller = caller(&req)?;
    let id = product_ref("name", &req.get_ref().name)?;
    Ok(Response::new(convert::product(
        &g.app.catalog().get_product(&caller, &id).await?,
    )))
}

pub(super) async fn list_products(
    g: &EntitlementGrpc,
    req: Request<pb::ListProductsRequest>,
) -> R<pb::ListProductsResponse> {
    let caller = caller(&req)?;
    let r = req.into_inner();
    let (rows, next) = g
        .app
        .catalog()
        .list_products(&caller, r.page_size, &r.page_token)
        .await?;
    Ok(Response::new(pb::ListProductsResponse {
        products: rows.iter().map(convert::product).collect(),
        next_page_token: next,
    }))
}

pub(super) async fn update_product(
    g: &EntitlementGrpc,
    req: Request<pb::UpdateProductRequest>,
) -> R<pb::Product> {
    let ctx = ctx(&req)?;
    let r = req.into_inner();
    let product = required("product", r.product)?;
    let id = product_ref("product.name", &product.name)?;
    let paths = update_paths(
        r.update_mask.as_ref(),
        &["display_name", "items"],
        |p| match p {
            "display_name" => !product.display_name.is_empty(),
            _ => !product.items.is_empty(),
        },
    )
    .map_err(invalid)?;
    let mut name = None;
    let mut items = None;
    for p in &paths {
        if p == "display_name" {
            name = Some(
                parse_display_name("product.display_name", &product.display_name)
                    .map_err(invalid)?,
            );
        } else {
            items = Some(items_in("product.items", &product.items)?);
        }
    }
    let p = g
        .app
        .catalog()
        .update_product(&ctx, &id, name, items)
        .await?;
    Ok(Response::new(convert::product(&p)))
}
