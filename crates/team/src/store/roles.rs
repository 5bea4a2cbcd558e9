//! Admin roles and the classic contract roles team keeps (R-ROLE-*, R-CLS-1).

use super::*;

/// The caller's role in a team, if a member.
pub async fn role_of(
    conn: &mut AnyConnection,
    team: &TeamId,
    account: &AccountId,
) -> Result<Option<Role>> {
    let role: Option<String> =
        sqlx::query_scalar("SELECT role FROM members WHERE team_id = $1 AND account_id = $2")
            .bind(team.as_str())
            .bind(account.as_str())
            .fetch_optional(conn)
            .await?;
    Ok(role.as_deref().map(Role::from_db).transpose()?)
}

/// The members of a team who hold `role`.
pub async fn members_with_role(
    conn: &mut AnyConnection,
    team: &TeamId,
    role: Role,
) -> Result<Vec<Member>> {
    let sql = format!(
        "SELECT {MEMBER_COLUMNS} FROM members WHERE team_id = $1 AND role = $2 ORDER BY account_id"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(team.as_str())
        .bind(role.as_db())
        .fetch_all(conn)
        .await?
        .iter()
        .map(member)
        .collect()
}

/// Writes a member's role and guest flag.
pub async fn set_role(conn: &mut AnyConnection, m: &Member) -> Result<()> {
    sqlx::query("UPDATE members SET role = $3, guest = $4 WHERE team_id = $1 AND account_id = $2")
        .bind(m.team.as_str())
        .bind(m.account.as_str())
        .bind(m.role.as_db())
        .bind(int_flag(m.guest))
        .execute(conn)
        .await?;
    Ok(())
}

/// The current primary admin of a team.
pub async fn primary_admin(conn: &mut AnyConnection, team: &TeamId) -> Result<Option<Member>> {
    let sql = format!(
        "SELECT {MEMBER_COLUMNS} FROM members WHERE team_id = $1 AND role = 'PRIMARY_ADMIN'"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(team.as_str())
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(member)
        .transpose()
}

/// Records who manages and coordinates a classic contract (R-CLS-6).
pub async fn save_contract_roles(
    conn: &mut AnyConnection,
    contract: &str,
    team: &str,
    manager: &str,
    coordinator: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO contract_roles (contract, team, manager, coordinator) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (contract) DO UPDATE SET team = excluded.team, manager = excluded.manager, \
         coordinator = excluded.coordinator",
    )
    .bind(contract)
    .bind(team)
    .bind(manager)
    .bind(coordinator)
    .execute(conn)
    .await?;
    Ok(())
}

/// A classic contract of `team` that `account` manages or coordinates, as
/// `(contract, is_manager)`.
pub async fn contract_role_of(
    conn: &mut AnyConnection,
    team: &str,
    account: &str,
) -> Result<Option<(String, bool)>> {
    let row = sqlx::query(
        "SELECT contract, manager FROM contract_roles \
         WHERE team = $1 AND (manager = $2 OR coordinator = $2) ORDER BY contract LIMIT 1",
    )
    .bind(team)
    .bind(account)
    .fetch_optional(conn)
    .await?;
    row.map(|r| -> Result<(String, bool)> {
        let manager: String = r.try_get(1)?;
        Ok((r.try_get(0)?, manager == account))
    })
    .transpose()
}
