//! `allotctl product list|create|mine`: the catalog, and your own products.

use allot_proto::entitlement::{self as epb};
use anyhow::bail;
use clap::{Args, Subcommand};

use crate::Global;
use crate::client::{connect, status_error};
use crate::output::{lines, print};

#[derive(Debug, Subcommand)]
pub enum ProductCmd {
    /// List the product catalog.
    List,
    Create(CreateArgs),
    /// Your own products and services.
    Mine,
}

/// Add a product to the catalog (`catalog` or `admin` scope).
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The product id, such as `cad-suite`.
    id: String,
    #[arg(long)]
    name: String,
    /// Items as `id:kind`, kind one of application, cloud-service,
    /// support (`desktop:application`).
    #[arg(long = "item", required = true)]
    items: Vec<String>,
}

pub async fn run(g: &Global, cmd: ProductCmd) -> anyhow::Result<()> {
    match cmd {
        ProductCmd::List => list(g).await,
        ProductCmd::Create(a) => create(g, a).await,
        ProductCmd::Mine => mine(g).await,
    }
}

async fn list(g: &Global) -> anyhow::Result<()> {
    let mut c = connect(g, true).await?;
    let r = c
        .entitlement
        .list_products(epb::ListProductsRequest {
            page_size: 1000,
            ..Default::default()
        })
        .await
        .map_err(status_error)?
        .into_inner();
    let v: Vec<_> = r
        .products
        .iter()
        .map(|p| serde_json::json!({ "name": p.name, "display_name": p.display_name, "items": p.items.iter().map(|i| i.id.clone()).collect::<Vec<_>>() }))
        .collect();
    print(g.json, &v, |_| {
        lines(r.products.iter().map(|p| {
            format!(
                "{:<32} {} [{}]",
                p.name,
                p.display_name,
                p.items
                    .iter()
                    .map(|i| i.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }))
    })
}

/// `id:kind` (kind `application` when left out) as a catalog item.
fn parse_item(i: &str) -> anyhow::Result<epb::Item> {
    let (id, kind) = i.split_once(':').unwrap_or((i, "application"));
    let kind = match kind {
        "application" => epb::ItemKind::Application,
        "cloud-service" => epb::ItemKind::CloudService,
        "support" => epb::ItemKind::Support,
        other => {
            bail!("unknown item kind {other:?}: use application, cloud-service or support")
        }
    };
    Ok(epb::Item {
        id: id.into(),
        display_name: id.into(),
        kind: kind as i32,
    })
}

async fn create(g: &Global, a: CreateArgs) -> anyhow::Result<()> {
    let mut c = connect(g, true).await?;
    let items = a
        .items
        .iter()
        .map(|i| parse_item(i))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let p = c
        .entitlement
        .create_product(epb::CreateProductRequest {
            product_id: a.id,
            product: Some(epb::Product {
                display_name: a.name,
                items,
                ..Default::default()
            }),
        })
        .await
        .map_err(status_error)?
        .into_inner();
    print(g.json, &serde_json::json!({ "name": p.name }), |_| {
        format!("Added {} ({}).", p.name, p.display_name)
    })
}

async fn mine(g: &Global) -> anyhow::Result<()> {
    let mut c = connect(g, true).await?;
    let products = c
        .entitlement
        .list_my_products(epb::ListMyProductsRequest::default())
        .await
        .map_err(status_error)?
        .into_inner()
        .products;
    let v: Vec<_> = products
        .iter()
        .map(|p| serde_json::json!({ "product": p.product, "display_name": p.display_name, "items": p.items.iter().map(|i| i.display_name.clone()).collect::<Vec<_>>(), "serial_number": p.serial_number }))
        .collect();
    print(g.json, &v, |_| {
        if products.is_empty() {
            return "You hold no products yet.".into();
        }
        lines(products.iter().map(|p| {
            let how = if p.serial_number.is_empty() {
                "sign in".to_owned()
            } else {
                format!("serial number {}", p.serial_number)
            };
            format!(
                "{} ({how}): {}",
                p.display_name,
                p.items
                    .iter()
                    .map(|i| i.display_name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_name_their_kind_or_are_applications() {
        let i = parse_item("render:cloud-service").expect("item");
        assert_eq!(i.id, "render");
        assert_eq!(i.kind, epb::ItemKind::CloudService as i32);
        let i = parse_item("desktop").expect("item");
        assert_eq!(i.kind, epb::ItemKind::Application as i32);
        let e = parse_item("x:gadget").expect_err("unknown kind");
        assert!(e.to_string().contains("\"gadget\""), "{e}");
    }
}
