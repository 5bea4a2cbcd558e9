//! Rows of contracts and their subscriptions.

use super::*;

pub(super) const CONTRACT_COLUMNS: &str = "id, owner, owner_email, activation_type, serial_number, plan, billing, \
     collaboration_site, sso_enabled, team_id, software_coordinator, create_time, end_day";

pub(super) fn contract(row: &AnyRow) -> Result<Contract> {
    Ok(Contract {
        id: ContractId::from_db(row.try_get("id")?),
        owner: AccountId::from_db(row.try_get("owner")?),
        owner_email: row.try_get("owner_email")?,
        activation: ActivationType::from_db(&row.try_get::<String, _>("activation_type")?)?,
        serial_number: row.try_get("serial_number")?,
        plan: ContractPlan::from_db(&row.try_get::<String, _>("plan")?)?,
        billing: Billing::from_db(&row.try_get::<String, _>("billing")?)?,
        collaboration_site: row.try_get("collaboration_site")?,
        sso_enabled: flag(row.try_get("sso_enabled")?),
        team: TeamId::from_db(row.try_get("team_id")?),
        coordinator: AccountId::from_db(row.try_get("software_coordinator")?),
        create_time: row.try_get("create_time")?,
        end_day: row.try_get("end_day")?,
    })
}

pub async fn insert_contract(conn: &mut AnyConnection, c: &Contract) -> Result<()> {
    sqlx::query(
        "INSERT INTO contracts (id, owner, owner_email, activation_type, serial_number, plan, billing, \
         collaboration_site, sso_enabled, team_id, software_coordinator, request_id, create_time, end_day) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(c.id.as_str())
    .bind(c.owner.as_str())
    .bind(&c.owner_email)
    .bind(c.activation.as_db())
    .bind(&c.serial_number)
    .bind(c.plan.as_db())
    .bind(c.billing.as_db())
    .bind(&c.collaboration_site)
    .bind(int_flag(c.sso_enabled))
    .bind(c.team.as_str())
    .bind(c.coordinator.as_str())
    // Request ids live in idempotency_keys; this older column stays empty.
    .bind(None::<String>)
    .bind(c.create_time)
    .bind(c.end_day)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get_contract(conn: &mut AnyConnection, id: &ContractId) -> Result<Option<Contract>> {
    let sql = format!("SELECT {CONTRACT_COLUMNS} FROM contracts WHERE id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id.as_str())
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(contract)
        .transpose()
}

/// Contracts, optionally those an account manages or coordinates and/or
/// those a team holds.
pub async fn list_contracts(
    conn: &mut AnyConnection,
    account: Option<&AccountId>,
    team: Option<&TeamId>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Contract>> {
    let sql = format!(
        "SELECT {CONTRACT_COLUMNS} FROM contracts WHERE ($1 = '' OR owner = $1 OR software_coordinator = $1) \
         AND ($2 = '' OR team_id = $2) AND id > $3 ORDER BY id LIMIT $4"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(account.map(AccountId::as_str).unwrap_or(""))
        .bind(team.map(TeamId::as_str).unwrap_or(""))
        .bind(after.unwrap_or(""))
        .bind(limit + 1)
        .fetch_all(conn)
        .await?
        .iter()
        .map(contract)
        .collect()
}

/// R-CLS-7: whether `account` manages or coordinates a classic contract
/// with a subscription of `product` in `team`.
pub async fn holds_classic_role(
    conn: &mut AnyConnection,
    team: &TeamId,
    product: &ProductId,
    account: &AccountId,
) -> Result<bool> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM subscriptions s JOIN contracts c ON c.id = s.contract_id \
         WHERE s.team_id = $1 AND s.product_id = $2 AND c.activation_type = 'SERIAL_NUMBER' \
         AND (c.owner = $3 OR c.software_coordinator = $3) LIMIT 1",
    )
    .bind(team.as_str())
    .bind(product.as_str())
    .bind(account.as_str())
    .fetch_optional(conn)
    .await?;
    Ok(found.is_some())
}

/// Gives a contract a new owner (its contract manager, R-CLS-1).
pub async fn set_owner(
    conn: &mut AnyConnection,
    id: &ContractId,
    owner: &AccountId,
    owner_email: &str,
) -> Result<()> {
    sqlx::query("UPDATE contracts SET owner = $2, owner_email = $3 WHERE id = $1")
        .bind(id.as_str())
        .bind(owner.as_str())
        .bind(owner_email)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_coordinator(
    conn: &mut AnyConnection,
    id: &ContractId,
    account: &AccountId,
) -> Result<()> {
    sqlx::query("UPDATE contracts SET software_coordinator = $2 WHERE id = $1")
        .bind(id.as_str())
        .bind(account.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

pub(super) const SUBSCRIPTION_COLUMNS: &str =
    "id, contract_id, product_id, seats, team_id, create_time";

pub(super) fn subscription(row: &AnyRow) -> Result<Subscription> {
    Ok(Subscription {
        id: SubscriptionId::from_db(row.try_get("id")?),
        contract: ContractId::from_db(row.try_get("contract_id")?),
        product: ProductId::from_db(row.try_get("product_id")?),
        seats: row.try_get("seats")?,
        team: TeamId::from_db(row.try_get("team_id")?),
        create_time: row.try_get("create_time")?,
    })
}

pub async fn insert_subscription(conn: &mut AnyConnection, s: &Subscription) -> Result<()> {
    sqlx::query(
        "INSERT INTO subscriptions (id, contract_id, product_id, seats, team_id, create_time) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(s.id.as_str())
    .bind(s.contract.as_str())
    .bind(s.product.as_str())
    .bind(s.seats)
    .bind(s.team.as_str())
    .bind(s.create_time)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get_subscription(
    conn: &mut AnyConnection,
    id: &SubscriptionId,
) -> Result<Option<Subscription>> {
    let sql = format!("SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id.as_str())
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(subscription)
        .transpose()
}

pub async fn list_subscriptions(
    conn: &mut AnyConnection,
    team: Option<&TeamId>,
    contract_id: Option<&ContractId>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Subscription>> {
    let sql = format!(
        "SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE ($1 = '' OR team_id = $1) \
         AND ($2 = '' OR contract_id = $2) AND id > $3 ORDER BY id LIMIT $4"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(team.map(TeamId::as_str).unwrap_or(""))
        .bind(contract_id.map(ContractId::as_str).unwrap_or(""))
        .bind(after.unwrap_or(""))
        .bind(limit + 1)
        .fetch_all(conn)
        .await?
        .iter()
        .map(subscription)
        .collect()
}

pub async fn set_subscription(conn: &mut AnyConnection, s: &Subscription) -> Result<()> {
    sqlx::query("UPDATE subscriptions SET seats = $2, team_id = $3 WHERE id = $1")
        .bind(s.id.as_str())
        .bind(s.seats)
        .bind(s.team.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

/// The products a contract covers in a team.
pub async fn contract_products(
    conn: &mut AnyConnection,
    contract_id: &ContractId,
    team: &TeamId,
) -> Result<Vec<String>> {
    sqlx::query_scalar(
        "SELECT DISTINCT product_id FROM subscriptions WHERE contract_id = $1 AND team_id = $2 ORDER BY product_id",
    )
    .bind(contract_id.as_str())
    .bind(team.as_str())
    .fetch_all(conn)
    .await
}
