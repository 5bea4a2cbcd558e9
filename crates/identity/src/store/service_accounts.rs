//! Service accounts as stored.

use super::*;

/// A service account as stored.
#[derive(Debug, Clone)]
pub struct ServiceAccountRow {
    pub id: ServiceAccountId,
    pub display_name: String,
    pub scopes: Vec<String>,
    pub create_time: i64,
}

fn service_account(row: &AnyRow) -> Result<ServiceAccountRow> {
    Ok(ServiceAccountRow {
        id: ServiceAccountId::from_db(row.try_get("id")?),
        display_name: row.try_get("display_name")?,
        scopes: split_scopes(&row.try_get::<String, _>("scopes")?),
        create_time: row.try_get("create_time")?,
    })
}

pub(super) fn split_scopes(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_owned).collect()
}

pub async fn upsert_service_account(
    conn: &mut AnyConnection,
    sa: &ServiceAccountRow,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO service_accounts (id, display_name, scopes, create_time) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (id) DO UPDATE SET display_name = excluded.display_name, scopes = excluded.scopes",
    )
    .bind(sa.id.as_str())
    .bind(&sa.display_name)
    .bind(sa.scopes.join(" "))
    .bind(sa.create_time)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get_service_account(
    conn: &mut AnyConnection,
    id: &ServiceAccountId,
) -> Result<Option<ServiceAccountRow>> {
    sqlx::query("SELECT id, display_name, scopes, create_time FROM service_accounts WHERE id = $1")
        .bind(id.as_str())
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(service_account)
        .transpose()
}

pub async fn list_service_accounts(
    conn: &mut AnyConnection,
    after_id: Option<&str>,
    limit: i64,
) -> Result<Vec<ServiceAccountRow>> {
    sqlx::query(
        "SELECT id, display_name, scopes, create_time FROM service_accounts WHERE id > $1 ORDER BY id LIMIT $2",
    )
    .bind(after_id.unwrap_or(""))
    .bind(limit + 1)
    .fetch_all(conn)
    .await?
    .iter()
    .map(service_account)
    .collect()
}

pub async fn delete_service_account(
    conn: &mut AnyConnection,
    id: &ServiceAccountId,
) -> Result<bool> {
    sqlx::query("DELETE FROM credentials WHERE owner = $1")
        .bind(id.name())
        .execute(&mut *conn)
        .await?;
    let n = sqlx::query("DELETE FROM service_accounts WHERE id = $1")
        .bind(id.as_str())
        .execute(conn)
        .await?
        .rows_affected();
    Ok(n == 1)
}
