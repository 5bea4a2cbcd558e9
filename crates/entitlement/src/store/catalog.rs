//! Rows of products and their items.

use super::*;

pub(super) async fn items_of(conn: &mut AnyConnection, product: &str) -> Result<Vec<Item>> {
    sqlx::query("SELECT item_id, display_name, kind FROM product_items WHERE product_id = $1 ORDER BY position")
        .bind(product)
        .fetch_all(conn)
        .await?
        .iter()
        .map(|r| {
            Ok(Item {
                id: r.try_get("item_id")?,
                display_name: r.try_get("display_name")?,
                kind: ItemKind::from_db(&r.try_get::<String, _>("kind")?)?,
            })
        })
        .collect()
}

pub async fn insert_product(conn: &mut AnyConnection, p: &Product) -> Result<()> {
    sqlx::query("INSERT INTO products (id, display_name, create_time) VALUES ($1, $2, $3)")
        .bind(p.id.as_str())
        .bind(&p.display_name)
        .bind(p.create_time)
        .execute(&mut *conn)
        .await?;
    add_items(conn, &p.id, 0, &p.items).await
}

/// Appends items to a product, numbering them from `first`.
pub async fn add_items(
    conn: &mut AnyConnection,
    product: &ProductId,
    first: usize,
    items: &[Item],
) -> Result<()> {
    for (i, item) in items.iter().enumerate() {
        sqlx::query(
            "INSERT INTO product_items (product_id, item_id, display_name, kind, position) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(product.as_str())
        .bind(&item.id)
        .bind(&item.display_name)
        .bind(item.kind.as_db())
        .bind(i64::try_from(first + i).unwrap_or(i64::MAX))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub async fn update_item_name(
    conn: &mut AnyConnection,
    product: &ProductId,
    item: &Item,
) -> Result<()> {
    sqlx::query(
        "UPDATE product_items SET display_name = $3 WHERE product_id = $1 AND item_id = $2",
    )
    .bind(product.as_str())
    .bind(&item.id)
    .bind(&item.display_name)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn rename_product(
    conn: &mut AnyConnection,
    product: &ProductId,
    name: &str,
) -> Result<()> {
    sqlx::query("UPDATE products SET display_name = $2 WHERE id = $1")
        .bind(product.as_str())
        .bind(name)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn get_product(conn: &mut AnyConnection, id: &ProductId) -> Result<Option<Product>> {
    let Some(row) = sqlx::query("SELECT id, display_name, create_time FROM products WHERE id = $1")
        .bind(id.as_str())
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(Product {
        id: ProductId::from_db(row.try_get("id")?),
        display_name: row.try_get("display_name")?,
        create_time: row.try_get("create_time")?,
        items: items_of(conn, id.as_str()).await?,
    }))
}

pub async fn list_products(
    conn: &mut AnyConnection,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Product>> {
    let ids: Vec<String> =
        sqlx::query_scalar("SELECT id FROM products WHERE id > $1 ORDER BY id LIMIT $2")
            .bind(after.unwrap_or(""))
            .bind(limit + 1)
            .fetch_all(&mut *conn)
            .await?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(p) = get_product(conn, &ProductId::from_db(id)).await? {
            out.push(p);
        }
    }
    Ok(out)
}
