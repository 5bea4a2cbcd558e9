//! Rows of seat pools and their daily history.

use super::*;

pub(super) const POOL_COLUMNS: &str =
    "team_id, product_id, seats, assigned, activation_type, serial_number";

pub(super) fn pool(row: &AnyRow) -> Result<Pool> {
    Ok(Pool {
        team: TeamId::from_db(row.try_get("team_id")?),
        product: ProductId::from_db(row.try_get("product_id")?),
        seats: row.try_get("seats")?,
        assigned: row.try_get("assigned")?,
        activation: ActivationType::from_db(&row.try_get::<String, _>("activation_type")?)?,
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

/// R-SEAT-1: counts `n` more seats of a pool as taken if that many are
/// free, in one conditional write; false (nothing taken) when they are
/// not. The caller holds the pool's lock and checked they are free
/// ([`crate::domain::Pool::grant`]), so false means the lock did not hold.
pub async fn take_seats(
    conn: &mut AnyConnection,
    team: &TeamId,
    product: &ProductId,
    n: i64,
) -> Result<bool> {
    let taken = sqlx::query(
        "UPDATE pools SET assigned = assigned + $3 WHERE team_id = $1 AND product_id = $2 AND assigned + $3 <= seats",
    )
    .bind(team.as_str())
    .bind(product.as_str())
    .bind(n)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(taken == 1)
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
