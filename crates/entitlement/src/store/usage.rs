//! Rows of recorded use and the usage report's queries.

use super::*;

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
