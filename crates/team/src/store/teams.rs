//! Rows of teams and their plans.

use super::*;

/// The columns of a team, `t` being the team's row.
macro_rules! team_columns {
    () => {
        "t.id, t.display_name, t.owner, t.plan, t.create_time, \
     (SELECT m.account_id FROM members m WHERE m.team_id = t.id AND m.role = 'PRIMARY_ADMIN') AS primary_admin, \
     (SELECT COUNT(*) FROM members m WHERE m.team_id = t.id) AS member_count \
    "
    };
}

pub(super) const TEAM_SELECT: &str = concat!("SELECT ", team_columns!(), " FROM teams t");

pub(super) fn team(row: &AnyRow) -> Result<Team> {
    Ok(Team {
        id: TeamId::from_db(row.try_get("id")?),
        display_name: row.try_get("display_name")?,
        owner: row
            .try_get::<Option<String>, _>("owner")?
            .map(AccountId::from_db),
        plan: Plan::from_db(&row.try_get::<String, _>("plan")?)?,
        create_time: row.try_get("create_time")?,
        primary_admin: row
            .try_get::<Option<String>, _>("primary_admin")?
            .map(AccountId::from_db),
        member_count: row.try_get("member_count")?,
    })
}

pub async fn insert_team(conn: &mut AnyConnection, t: &Team) -> Result<()> {
    sqlx::query(
        "INSERT INTO teams (id, display_name, owner, plan, create_time) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(t.id.as_str())
    .bind(&t.display_name)
    .bind(t.owner.as_ref().map(AccountId::as_str))
    .bind(t.plan.as_db())
    .bind(t.create_time)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get_team(conn: &mut AnyConnection, id: &TeamId) -> Result<Option<Team>> {
    let sql = format!("{TEAM_SELECT} WHERE t.id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id.as_str())
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(team)
        .transpose()
}

/// The teams of `ids` that exist, in no particular order (at most 1,000).
pub async fn get_teams(conn: &mut AnyConnection, ids: &[&TeamId]) -> Result<Vec<Team>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders = (1..=ids.len())
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!("{TEAM_SELECT} WHERE t.id IN ({placeholders})");
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for id in ids {
        q = q.bind(id.as_str());
    }
    q.fetch_all(conn).await?.iter().map(team).collect()
}

/// The teams an account belongs to, newest first, with its role in each.
pub async fn teams_of(
    conn: &mut AnyConnection,
    account: &AccountId,
    before_id: Option<&str>,
    limit: i64,
) -> Result<Vec<(Team, Role)>> {
    const SQL: &str = concat!(
        "SELECT ",
        team_columns!(),
        ", m.role AS member_role FROM teams t JOIN members m ON m.team_id = t.id AND m.account_id = $1 \
         WHERE ($2 = '' OR t.id < $2) ORDER BY t.id DESC LIMIT $3"
    );
    sqlx::query(SQL)
        .bind(account.as_str())
        .bind(before_id.unwrap_or(""))
        .bind(limit + 1)
        .fetch_all(conn)
        .await?
        .iter()
        .map(|row| {
            Ok((
                team(row)?,
                Role::from_db(&row.try_get::<String, _>("member_role")?)?,
            ))
        })
        .collect()
}

pub async fn team_exists(conn: &mut AnyConnection, id: &TeamId) -> Result<bool> {
    let found: Option<String> = sqlx::query_scalar("SELECT id FROM teams WHERE id = $1")
        .bind(id.as_str())
        .fetch_optional(conn)
        .await?;
    Ok(found.is_some())
}

pub async fn any_team_exists(conn: &mut AnyConnection) -> Result<bool> {
    let n: Option<String> = sqlx::query_scalar("SELECT id FROM teams LIMIT 1")
        .fetch_optional(conn)
        .await?;
    Ok(n.is_some())
}

pub async fn rename_team(conn: &mut AnyConnection, id: &TeamId, name: &str) -> Result<bool> {
    let n = sqlx::query("UPDATE teams SET display_name = $2 WHERE id = $1")
        .bind(id.as_str())
        .bind(name)
        .execute(conn)
        .await?
        .rows_affected();
    Ok(n == 1)
}

/// Locks a team's row until the transaction ends; false when it does not
/// exist. Role changes of one team queue here, so R-ROLE-1 holds under any
/// concurrency.
pub async fn lock_team(conn: &mut AnyConnection, team: &TeamId) -> Result<bool> {
    let n = sqlx::query("UPDATE teams SET id = id WHERE id = $1")
        .bind(team.as_str())
        .execute(conn)
        .await?
        .rows_affected();
    Ok(n == 1)
}

pub async fn set_plan(conn: &mut AnyConnection, team: &TeamId, plan: Plan) -> Result<()> {
    sqlx::query("UPDATE teams SET plan = $2 WHERE id = $1")
        .bind(team.as_str())
        .bind(plan.as_db())
        .execute(conn)
        .await?;
    Ok(())
}

/// The newest team the account administers (R-TEAM-3: where a new
/// contract's subscriptions go).
pub async fn newest_administered_team(
    conn: &mut AnyConnection,
    account: &AccountId,
) -> Result<Option<Team>> {
    let sql = format!(
        "{TEAM_SELECT} WHERE t.id IN (SELECT team_id FROM members WHERE account_id = $1 \
         AND role IN ('PRIMARY_ADMIN', 'SECONDARY_ADMIN', 'SSO_ADMIN')) ORDER BY t.create_time DESC, t.id DESC LIMIT 1"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(account.as_str())
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(team)
        .transpose()
}

/// Records where a premium subscription sits (or that it is gone, with
/// `team` `None`); returns the teams whose premium status may have changed.
pub async fn place_premium_subscription(
    conn: &mut AnyConnection,
    subscription: &str,
    team: Option<&TeamId>,
) -> Result<Vec<TeamId>> {
    let previous: Option<String> =
        sqlx::query_scalar("SELECT team_id FROM premium_subscriptions WHERE subscription_id = $1")
            .bind(subscription)
            .fetch_optional(&mut *conn)
            .await?;
    match team {
        Some(t) => {
            sqlx::query(
                "INSERT INTO premium_subscriptions (subscription_id, team_id) VALUES ($1, $2) \
                 ON CONFLICT (subscription_id) DO UPDATE SET team_id = excluded.team_id",
            )
            .bind(subscription)
            .bind(t.as_str())
            .execute(&mut *conn)
            .await?;
        }
        None => {
            sqlx::query("DELETE FROM premium_subscriptions WHERE subscription_id = $1")
                .bind(subscription)
                .execute(&mut *conn)
                .await?;
        }
    }
    let mut teams: Vec<TeamId> = previous.into_iter().map(TeamId::from_db).collect();
    if let Some(t) = team
        && !teams.contains(t)
    {
        teams.push(t.clone());
    }
    Ok(teams)
}

/// Whether a team holds a premium subscription.
pub async fn holds_premium(conn: &mut AnyConnection, team: &TeamId) -> Result<bool> {
    let any: Option<String> = sqlx::query_scalar(
        "SELECT subscription_id FROM premium_subscriptions WHERE team_id = $1 LIMIT 1",
    )
    .bind(team.as_str())
    .fetch_optional(conn)
    .await?;
    Ok(any.is_some())
}
