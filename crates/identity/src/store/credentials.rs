//! Client credentials (keys) as stored: only their secrets' hashes.

use super::*;

/// A client credential as stored.
#[derive(Debug, Clone)]
pub struct CredentialRow {
    pub id: String,
    pub client_id: String,
    /// `accounts/{id}` or `serviceAccounts/{id}`.
    pub owner: String,
    pub secret_hash: String,
    pub scopes: Vec<String>,
    pub create_time: i64,
    pub last_use_time: Option<i64>,
}

fn credential(row: &AnyRow) -> Result<CredentialRow> {
    Ok(CredentialRow {
        id: row.try_get("id")?,
        client_id: row.try_get("client_id")?,
        owner: row.try_get("owner")?,
        secret_hash: row.try_get("secret_hash")?,
        scopes: split_scopes(&row.try_get::<String, _>("scopes")?),
        create_time: row.try_get("create_time")?,
        last_use_time: row.try_get("last_use_time")?,
    })
}

const CREDENTIAL_COLUMNS: &str =
    "id, client_id, owner, secret_hash, scopes, create_time, last_use_time";

/// Creates a credential, or replaces the secret of the one with this id.
pub async fn upsert_credential(conn: &mut AnyConnection, c: &CredentialRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO credentials (id, client_id, owner, secret_hash, scopes, create_time) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (id) DO UPDATE SET secret_hash = excluded.secret_hash, scopes = excluded.scopes",
    )
    .bind(&c.id)
    .bind(&c.client_id)
    .bind(&c.owner)
    .bind(&c.secret_hash)
    .bind(c.scopes.join(" "))
    .bind(c.create_time)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn find_credential(
    conn: &mut AnyConnection,
    client_id: &str,
) -> Result<Option<CredentialRow>> {
    let sql = format!("SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE client_id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(client_id)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(credential)
        .transpose()
}

pub async fn list_credentials(conn: &mut AnyConnection, owner: &str) -> Result<Vec<CredentialRow>> {
    let sql = format!("SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE owner = $1 ORDER BY id");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(owner)
        .fetch_all(conn)
        .await?
        .iter()
        .map(credential)
        .collect()
}

pub async fn delete_credential(conn: &mut AnyConnection, owner: &str, id: &str) -> Result<bool> {
    let n = sqlx::query("DELETE FROM credentials WHERE owner = $1 AND id = $2")
        .bind(owner)
        .bind(id)
        .execute(conn)
        .await?
        .rows_affected();
    Ok(n == 1)
}

pub async fn touch_credential(conn: &mut AnyConnection, id: &str, now: i64) -> Result<()> {
    sqlx::query("UPDATE credentials SET last_use_time = $2 WHERE id = $1")
        .bind(id)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}
