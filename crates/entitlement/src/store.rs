//! Entitlement's SQL, kept together. Taking a seat is one conditional
//! write (`take_seat`); everything else follows from it.

use std::collections::HashMap;

use allot_platform::db::{flag, int_flag};
use allot_platform::ids::{AccountId, ContractId, ProductId, SubscriptionId, TeamId};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::domain::{
    ActivationType, Assignment, Billing, Contract, ContractPlan, Item, ItemKind, Pool, Product,
    Subscription,
};

type Result<T> = std::result::Result<T, sqlx::Error>;

fn join_items(items: &[String]) -> String {
    items.join(" ")
}

fn split_items(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_owned).collect()
}

// ---- catalog ---------------------------------------------------------------

async fn items_of(conn: &mut AnyConnection, product: &str) -> Result<Vec<Item>> {
    sqlx::query("SELECT item_id, display_name, kind FROM product_items WHERE product_id = $1 ORDER BY position")
        .bind(product)
        .fetch_all(conn)
        .await?
        .iter()
        .map(|r| {
            Ok(Item {
                id: r.try_get("item_id")?,
                display_name: r.try_get("display_name")?,
                kind: ItemKind::from_db(&r.try_get::<String, _>("kind")?),
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

// ---- contracts and subscriptions -------------------------------------------

const CONTRACT_COLUMNS: &str = "id, owner, owner_email, activation_type, serial_number, plan, billing, \
     collaboration_site, sso_enabled, team_id, software_coordinator, create_time, end_day";

fn contract(row: &AnyRow) -> Result<Contract> {
    Ok(Contract {
        id: ContractId::from_db(row.try_get("id")?),
        owner: AccountId::from_db(row.try_get("owner")?),
        owner_email: row.try_get("owner_email")?,
        activation: ActivationType::from_db(&row.try_get::<String, _>("activation_type")?),
        serial_number: row.try_get("serial_number")?,
        plan: ContractPlan::from_db(&row.try_get::<String, _>("plan")?),
        billing: Billing::from_db(&row.try_get::<String, _>("billing")?),
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

const SUBSCRIPTION_COLUMNS: &str = "id, contract_id, product_id, seats, team_id, create_time";

fn subscription(row: &AnyRow) -> Result<Subscription> {
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

// ---- pools -------------------------------------------------------------------

const POOL_COLUMNS: &str = "team_id, product_id, seats, assigned, activation_type, serial_number";

fn pool(row: &AnyRow) -> Result<Pool> {
    Ok(Pool {
        team: TeamId::from_db(row.try_get("team_id")?),
        product: ProductId::from_db(row.try_get("product_id")?),
        seats: row.try_get("seats")?,
        assigned: row.try_get("assigned")?,
        activation: ActivationType::from_db(&row.try_get::<String, _>("activation_type")?),
        serial_number: row.try_get("serial_number")?,
    })
}

pub async fn get_pool(
    conn: &mut AnyConnection,
    team: &TeamId,
    product: &ProductId,
) -> Result<Option<Pool>> {
    let sql = format!("SELECT {POOL_COLUMNS} FROM pools WHERE team_id = $1 AND product_id = $2");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(team.as_str())
        .bind(product.as_str())
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(pool)
        .transpose()
}

/// Locks a pool's row until the transaction ends and returns it.
pub async fn lock_pool(
    conn: &mut AnyConnection,
    team: &TeamId,
    product: &ProductId,
) -> Result<Option<Pool>> {
    let sql = format!(
        "UPDATE pools SET seats = seats WHERE team_id = $1 AND product_id = $2 RETURNING {POOL_COLUMNS}"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(team.as_str())
        .bind(product.as_str())
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(pool)
        .transpose()
}

/// The pools of a team that hold or held seats.
pub async fn list_pools(conn: &mut AnyConnection, team: &TeamId) -> Result<Vec<Pool>> {
    let sql = format!(
        "SELECT {POOL_COLUMNS} FROM pools WHERE team_id = $1 AND (seats > 0 OR assigned > 0) ORDER BY product_id"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(team.as_str())
        .fetch_all(conn)
        .await?
        .iter()
        .map(pool)
        .collect()
}

/// Every pool (for the check's projection).
pub async fn all_pools(conn: &mut AnyConnection) -> Result<Vec<Pool>> {
    let sql = format!("SELECT {POOL_COLUMNS} FROM pools");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(conn)
        .await?
        .iter()
        .map(pool)
        .collect()
}

/// Adds seats to a pool, creating it (R-SEAT-1: the pool is the sum).
pub async fn add_pool_seats(
    conn: &mut AnyConnection,
    team: &TeamId,
    product: &ProductId,
    seats: i32,
    activation: ActivationType,
    serial_number: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO pools (team_id, product_id, seats, assigned, activation_type, serial_number) \
         VALUES ($1, $2, $3, 0, $4, $5) \
         ON CONFLICT (team_id, product_id) DO UPDATE SET seats = pools.seats + excluded.seats, \
         activation_type = excluded.activation_type, serial_number = excluded.serial_number",
    )
    .bind(team.as_str())
    .bind(product.as_str())
    .bind(seats)
    .bind(activation.as_db())
    .bind(serial_number)
    .execute(conn)
    .await?;
    Ok(())
}

/// Takes seats away from a pool (a subscription moving out).
pub async fn remove_pool_seats(
    conn: &mut AnyConnection,
    team: &TeamId,
    product: &ProductId,
    seats: i32,
) -> Result<()> {
    sqlx::query("UPDATE pools SET seats = seats - $3 WHERE team_id = $1 AND product_id = $2")
        .bind(team.as_str())
        .bind(product.as_str())
        .bind(seats)
        .execute(conn)
        .await?;
    Ok(())
}

/// R-SEAT-1: takes one seat if one is free, in one conditional write; false
/// when the pool is full. Concurrent callers queue on the row: none can
/// read a stale count.
pub async fn take_seat(
    conn: &mut AnyConnection,
    team: &TeamId,
    product: &ProductId,
) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE pools SET assigned = assigned + 1 WHERE team_id = $1 AND product_id = $2 AND assigned < seats",
    )
    .bind(team.as_str())
    .bind(product.as_str())
    .execute(conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

pub async fn free_seat(conn: &mut AnyConnection, team: &TeamId, product: &ProductId) -> Result<()> {
    sqlx::query("UPDATE pools SET assigned = assigned - 1 WHERE team_id = $1 AND product_id = $2")
        .bind(team.as_str())
        .bind(product.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

/// Writes the pool's figures as today's (R-USE-2).
pub async fn record_pool_day(
    conn: &mut AnyConnection,
    team: &TeamId,
    product: &ProductId,
    day: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO pool_days (team_id, product_id, day, seats, assigned) \
         SELECT team_id, product_id, $3, seats, assigned FROM pools WHERE team_id = $1 AND product_id = $2 \
         ON CONFLICT (team_id, product_id, day) DO UPDATE SET seats = excluded.seats, assigned = excluded.assigned",
    )
    .bind(team.as_str())
    .bind(product.as_str())
    .bind(day)
    .execute(conn)
    .await?;
    Ok(())
}

// ---- assignments -------------------------------------------------------------

const ASSIGNMENT_COLUMNS: &str =
    "id, team_id, account_id, email, product_id, items, direct, create_time";

async fn assignment(conn: &mut AnyConnection, row: &AnyRow) -> Result<Assignment> {
    let id: String = row.try_get("id")?;
    let groups: Vec<String> = sqlx::query_scalar(
        "SELECT group_assignment_id FROM assignment_sources WHERE assignment_id = $1 ORDER BY group_assignment_id",
    )
    .bind(&id)
    .fetch_all(conn)
    .await?;
    Ok(Assignment {
        id,
        team: TeamId::from_db(row.try_get("team_id")?),
        account: AccountId::from_db(row.try_get("account_id")?),
        email: row.try_get("email")?,
        product: ProductId::from_db(row.try_get("product_id")?),
        items: split_items(&row.try_get::<String, _>("items")?),
        direct: flag(row.try_get("direct")?),
        groups,
        create_time: row.try_get("create_time")?,
    })
}

async fn assignments(conn: &mut AnyConnection, rows: Vec<AnyRow>) -> Result<Vec<Assignment>> {
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        out.push(assignment(conn, r).await?);
    }
    Ok(out)
}

pub async fn find_assignment(
    conn: &mut AnyConnection,
    team: &TeamId,
    account: &AccountId,
    product: &ProductId,
) -> Result<Option<Assignment>> {
    let sql = format!(
        "SELECT {ASSIGNMENT_COLUMNS} FROM assignments WHERE team_id = $1 AND account_id = $2 AND product_id = $3"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(team.as_str())
        .bind(account.as_str())
        .bind(product.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    match row {
        Some(r) => Ok(Some(assignment(conn, &r).await?)),
        None => Ok(None),
    }
}

pub async fn get_assignment(
    conn: &mut AnyConnection,
    team: &TeamId,
    id: &str,
) -> Result<Option<Assignment>> {
    let sql =
        format!("SELECT {ASSIGNMENT_COLUMNS} FROM assignments WHERE team_id = $1 AND id = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(team.as_str())
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    match row {
        Some(r) => Ok(Some(assignment(conn, &r).await?)),
        None => Ok(None),
    }
}

pub async fn insert_assignment(conn: &mut AnyConnection, a: &Assignment) -> Result<()> {
    sqlx::query(
        "INSERT INTO assignments (id, team_id, account_id, email, product_id, items, direct, create_time) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&a.id)
    .bind(a.team.as_str())
    .bind(a.account.as_str())
    .bind(&a.email)
    .bind(a.product.as_str())
    .bind(join_items(&a.items))
    .bind(int_flag(a.direct))
    .bind(a.create_time)
    .execute(&mut *conn)
    .await?;
    for g in &a.groups {
        add_source(conn, &a.id, g).await?;
    }
    Ok(())
}

/// Writes an assignment's items and direct flag.
pub async fn update_assignment(conn: &mut AnyConnection, a: &Assignment) -> Result<()> {
    sqlx::query("UPDATE assignments SET items = $2, direct = $3 WHERE id = $1")
        .bind(&a.id)
        .bind(join_items(&a.items))
        .bind(int_flag(a.direct))
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn delete_assignment(conn: &mut AnyConnection, id: &str) -> Result<()> {
    sqlx::query("DELETE FROM assignment_sources WHERE assignment_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM assignments WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn add_source(
    conn: &mut AnyConnection,
    assignment_id: &str,
    group_assignment: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO assignment_sources (assignment_id, group_assignment_id) VALUES ($1, $2) \
         ON CONFLICT (assignment_id, group_assignment_id) DO NOTHING",
    )
    .bind(assignment_id)
    .bind(group_assignment)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn remove_source(
    conn: &mut AnyConnection,
    assignment_id: &str,
    group_assignment: &str,
) -> Result<()> {
    sqlx::query(
        "DELETE FROM assignment_sources WHERE assignment_id = $1 AND group_assignment_id = $2",
    )
    .bind(assignment_id)
    .bind(group_assignment)
    .execute(conn)
    .await?;
    Ok(())
}

/// Which assignments a list shows.
#[derive(Debug, Clone, Default)]
pub struct AssignmentFilter<'a> {
    pub account: Option<&'a AccountId>,
    pub product: Option<&'a ProductId>,
    /// Only these products (a contract's, R-CLS-2).
    pub products: Option<&'a [String]>,
}

/// A team's assignments ordered by email and product.
pub async fn list_assignments(
    conn: &mut AnyConnection,
    team: &TeamId,
    filter: &AssignmentFilter<'_>,
    after_key: Option<&str>,
    limit: i64,
) -> Result<Vec<Assignment>> {
    let products_clause = match filter.products {
        Some([]) => " AND 1 = 0".to_owned(),
        Some(list) => format!(
            " AND product_id IN ({})",
            (0..list.len())
                .map(|i| format!("${}", i + 6))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => String::new(),
    };
    let sql = format!(
        "SELECT {ASSIGNMENT_COLUMNS} FROM assignments WHERE team_id = $1 AND ($2 = '' OR account_id = $2) \
         AND ($3 = '' OR product_id = $3) AND (LOWER(email) || ' ' || product_id || ' ' || id) > $4{products_clause} \
         ORDER BY LOWER(email), product_id, id LIMIT $5"
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(team.as_str())
        .bind(filter.account.map(AccountId::as_str).unwrap_or(""))
        .bind(filter.product.map(ProductId::as_str).unwrap_or(""))
        .bind(after_key.unwrap_or(""))
        .bind(limit + 1);
    for p in filter.products.unwrap_or(&[]) {
        q = q.bind(p.as_str());
    }
    let rows = q.fetch_all(&mut *conn).await?;
    assignments(conn, rows).await
}

/// The key assignments are listed by.
pub fn assignment_key(a: &Assignment) -> String {
    format!("{} {} {}", a.email.to_lowercase(), a.product, a.id)
}

/// Every (team, account) that holds a seat, for reconciling with the
/// team service's members.
pub async fn seat_holders(conn: &mut AnyConnection) -> Result<Vec<(TeamId, AccountId)>> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT DISTINCT team_id, account_id FROM assignments ORDER BY team_id, account_id",
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(t, a)| (TeamId::from_db(t), AccountId::from_db(a)))
        .collect())
}

/// Every assignment of an account in a team.
pub async fn assignments_of(
    conn: &mut AnyConnection,
    team: &TeamId,
    account: &AccountId,
) -> Result<Vec<Assignment>> {
    let sql = format!(
        "SELECT {ASSIGNMENT_COLUMNS} FROM assignments WHERE team_id = $1 AND account_id = $2 ORDER BY product_id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(team.as_str())
        .bind(account.as_str())
        .fetch_all(&mut *conn)
        .await?;
    assignments(conn, rows).await
}

/// How many people of a pool hold `item`.
pub async fn count_item_holders(
    conn: &mut AnyConnection,
    team: &TeamId,
    product: &ProductId,
    item: &str,
) -> Result<i64> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM assignments WHERE team_id = $1 AND product_id = $2 AND (' ' || items || ' ') LIKE $3",
    )
    .bind(team.as_str())
    .bind(product.as_str())
    .bind(format!("% {item} %"))
    .fetch_one(conn)
    .await
}

/// Every assignment, lightly: (account, product, team, items), for the
/// check's projection.
pub async fn all_grants(
    conn: &mut AnyConnection,
) -> Result<Vec<(String, String, String, Vec<String>)>> {
    sqlx::query("SELECT account_id, product_id, team_id, items FROM assignments")
        .fetch_all(conn)
        .await?
        .iter()
        .map(|r| {
            Ok((
                r.try_get("account_id")?,
                r.try_get("product_id")?,
                r.try_get("team_id")?,
                split_items(&r.try_get::<String, _>("items")?),
            ))
        })
        .collect()
}

// ---- group assignments -------------------------------------------------------

/// A group assignment as stored: (id, team, group, product, items, create_time).
#[derive(Debug, Clone)]
pub struct GroupAssignmentRow {
    pub id: String,
    pub team: TeamId,
    pub group: String,
    pub product: ProductId,
    pub items: Vec<String>,
    pub create_time: i64,
}

fn group_assignment(row: &AnyRow) -> Result<GroupAssignmentRow> {
    Ok(GroupAssignmentRow {
        id: row.try_get("id")?,
        team: TeamId::from_db(row.try_get("team_id")?),
        group: row.try_get("group_id")?,
        product: ProductId::from_db(row.try_get("product_id")?),
        items: split_items(&row.try_get::<String, _>("items")?),
        create_time: row.try_get("create_time")?,
    })
}

pub async fn insert_group_assignment(
    conn: &mut AnyConnection,
    g: &GroupAssignmentRow,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO group_assignments (id, team_id, group_id, product_id, items, create_time) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&g.id)
    .bind(g.team.as_str())
    .bind(&g.group)
    .bind(g.product.as_str())
    .bind(join_items(&g.items))
    .bind(g.create_time)
    .execute(conn)
    .await?;
    Ok(())
}

const GROUP_ASSIGNMENT_COLUMNS: &str = "id, team_id, group_id, product_id, items, create_time";

pub async fn get_group_assignment(
    conn: &mut AnyConnection,
    team: &TeamId,
    id: &str,
) -> Result<Option<GroupAssignmentRow>> {
    let sql = format!(
        "SELECT {GROUP_ASSIGNMENT_COLUMNS} FROM group_assignments WHERE team_id = $1 AND id = $2"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(team.as_str())
        .bind(id)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(group_assignment)
        .transpose()
}

/// Group assignments of a team, or of one group of it.
pub async fn list_group_assignments(
    conn: &mut AnyConnection,
    team: &TeamId,
    group: Option<&str>,
) -> Result<Vec<GroupAssignmentRow>> {
    let sql = format!(
        "SELECT {GROUP_ASSIGNMENT_COLUMNS} FROM group_assignments WHERE team_id = $1 AND ($2 = '' OR group_id = $2) ORDER BY id"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(team.as_str())
        .bind(group.unwrap_or(""))
        .fetch_all(conn)
        .await?
        .iter()
        .map(group_assignment)
        .collect()
}

pub async fn delete_group_assignment(conn: &mut AnyConnection, id: &str) -> Result<()> {
    sqlx::query("DELETE FROM group_assignments WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// The assignments that come (partly) from a group assignment.
pub async fn assignments_from(
    conn: &mut AnyConnection,
    group_assignment_id: &str,
) -> Result<Vec<Assignment>> {
    let columns = ASSIGNMENT_COLUMNS
        .split(", ")
        .map(|c| format!("a.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT {columns} FROM assignments a JOIN assignment_sources s ON s.assignment_id = a.id \
         WHERE s.group_assignment_id = $1 ORDER BY a.id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(group_assignment_id)
        .fetch_all(&mut *conn)
        .await?;
    assignments(conn, rows).await
}

// ---- usage -------------------------------------------------------------------

/// One launch.
#[derive(Debug, Clone)]
pub struct UsageRecord {
    pub team: String,
    pub account: String,
    pub product: String,
    pub time: i64,
    pub day: i64,
}

pub async fn insert_usage(conn: &mut AnyConnection, records: &[UsageRecord]) -> Result<()> {
    for r in records {
        sqlx::query(
            "INSERT INTO usage_records (id, team_id, account_id, product_id, time, day) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(allot_platform::ids::new_id())
        .bind(&r.team)
        .bind(&r.account)
        .bind(&r.product)
        .bind(r.time)
        .bind(r.day)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Distinct users per (product, day) of a team in `[first, last]`.
pub async fn distinct_users(
    conn: &mut AnyConnection,
    team: &TeamId,
    first: i64,
    last: i64,
) -> Result<Vec<(String, i64, i64)>> {
    sqlx::query(
        "SELECT product_id, day, COUNT(DISTINCT account_id) AS users FROM usage_records \
         WHERE team_id = $1 AND day >= $2 AND day <= $3 GROUP BY product_id, day",
    )
    .bind(team.as_str())
    .bind(first)
    .bind(last)
    .fetch_all(conn)
    .await?
    .iter()
    .map(|r| {
        Ok((
            r.try_get("product_id")?,
            r.try_get("day")?,
            r.try_get("users")?,
        ))
    })
    .collect()
}

/// Pool figures per day of a team up to `last`: (product, day, seats, assigned).
pub async fn pool_history(
    conn: &mut AnyConnection,
    team: &TeamId,
    last: i64,
) -> Result<Vec<(String, i64, i32, i32)>> {
    sqlx::query(
        "SELECT product_id, day, seats, assigned FROM pool_days WHERE team_id = $1 AND day <= $2 ORDER BY product_id, day",
    )
    .bind(team.as_str())
    .bind(last)
    .fetch_all(conn)
    .await?
    .iter()
    .map(|r| Ok((r.try_get("product_id")?, r.try_get("day")?, r.try_get("seats")?, r.try_get("assigned")?)))
    .collect()
}

/// When each of these assignments' holders last launched its product in
/// the team (R-USE-3), by `(account, product)`.
pub async fn last_uses(
    conn: &mut AnyConnection,
    team: &TeamId,
    accounts: &[&AccountId],
) -> Result<HashMap<(String, String), i64>> {
    let mut out = HashMap::new();
    for chunk in accounts.chunks(500) {
        let list = (0..chunk.len())
            .map(|i| format!("${}", i + 2))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT account_id, product_id, MAX(time) FROM usage_records \
             WHERE team_id = $1 AND account_id IN ({list}) GROUP BY account_id, product_id"
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(team.as_str());
        for a in chunk {
            q = q.bind(a.as_str());
        }
        for r in q.fetch_all(&mut *conn).await? {
            out.insert((r.try_get(0)?, r.try_get(1)?), r.try_get(2)?);
        }
    }
    Ok(out)
}
