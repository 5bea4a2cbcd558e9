//! Rows of groups and their members.

use super::*;

// ---- groups ----------------------------------------------------------------
pub(super) const GROUP_SELECT: &str = "SELECT g.id, g.team_id, g.display_name, g.create_time, \
     (SELECT COUNT(*) FROM group_members gm WHERE gm.group_id = g.id) AS member_count FROM groups g";

pub(super) fn group(row: &AnyRow) -> Result<Group> {
    Ok(Group {
        id: GroupId::from_db(row.try_get("id")?),
        team: TeamId::from_db(row.try_get("team_id")?),
        display_name: row.try_get("display_name")?,
        create_time: row.try_get("create_time")?,
        member_count: row.try_get("member_count")?,
    })
}

pub async fn insert_group(conn: &mut AnyConnection, g: &Group) -> Result<()> {
    sqlx::query(
        "INSERT INTO groups (id, team_id, display_name, create_time) VALUES ($1, $2, $3, $4)",
    )
    .bind(g.id.as_str())
    .bind(g.team.as_str())
    .bind(&g.display_name)
    .bind(g.create_time)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get_group(
    conn: &mut AnyConnection,
    team: &TeamId,
    id: &GroupId,
) -> Result<Option<Group>> {
    let sql = format!("{GROUP_SELECT} WHERE g.team_id = $1 AND g.id = $2");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(team.as_str())
        .bind(id.as_str())
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(group)
        .transpose()
}

pub async fn list_groups(
    conn: &mut AnyConnection,
    team: &TeamId,
    after_id: Option<&str>,
    limit: i64,
) -> Result<Vec<Group>> {
    let sql = format!("{GROUP_SELECT} WHERE g.team_id = $1 AND g.id > $2 ORDER BY g.id LIMIT $3");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(team.as_str())
        .bind(after_id.unwrap_or(""))
        .bind(limit + 1)
        .fetch_all(conn)
        .await?
        .iter()
        .map(group)
        .collect()
}

pub async fn rename_group(conn: &mut AnyConnection, id: &GroupId, name: &str) -> Result<()> {
    sqlx::query("UPDATE groups SET display_name = $2 WHERE id = $1")
        .bind(id.as_str())
        .bind(name)
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes a group; returns the accounts it had.
pub async fn delete_group(conn: &mut AnyConnection, id: &GroupId) -> Result<Vec<String>> {
    let accounts: Vec<String> = sqlx::query_scalar(
        "SELECT account_id FROM group_members WHERE group_id = $1 ORDER BY account_id",
    )
    .bind(id.as_str())
    .fetch_all(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM group_members WHERE group_id = $1")
        .bind(id.as_str())
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM groups WHERE id = $1")
        .bind(id.as_str())
        .execute(conn)
        .await?;
    Ok(accounts)
}

/// Adds an account to a group; false when it already was in it.
pub async fn add_group_member(
    conn: &mut AnyConnection,
    id: &GroupId,
    account: &AccountId,
) -> Result<bool> {
    let n = sqlx::query(
        "INSERT INTO group_members (group_id, account_id) VALUES ($1, $2) ON CONFLICT (group_id, account_id) DO NOTHING",
    )
    .bind(id.as_str())
    .bind(account.as_str())
    .execute(conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Removes an account from a group; false when it was not in it.
pub async fn remove_group_member(
    conn: &mut AnyConnection,
    id: &GroupId,
    account: &AccountId,
) -> Result<bool> {
    let n = sqlx::query("DELETE FROM group_members WHERE group_id = $1 AND account_id = $2")
        .bind(id.as_str())
        .bind(account.as_str())
        .execute(conn)
        .await?
        .rows_affected();
    Ok(n == 1)
}

/// The members of a group, ordered like member lists.
pub async fn list_group_members(
    conn: &mut AnyConnection,
    id: &GroupId,
    after_key: Option<&str>,
    limit: i64,
) -> Result<Vec<Member>> {
    let columns = MEMBER_COLUMNS
        .split(", ")
        .map(|c| format!("m.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT {columns} FROM members m JOIN group_members gm ON gm.account_id = m.account_id \
         JOIN groups g ON g.id = gm.group_id AND g.team_id = m.team_id \
         WHERE gm.group_id = $1 AND (m.email_key || ' ' || m.account_id) > $2 \
         ORDER BY m.email_key, m.account_id LIMIT $3"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id.as_str())
        .bind(after_key.unwrap_or(""))
        .bind(limit + 1)
        .fetch_all(conn)
        .await?
        .iter()
        .map(member)
        .collect()
}

/// A team's group by its display name, ignoring case.
pub async fn group_by_display_name(
    conn: &mut AnyConnection,
    team: &TeamId,
    display_name: &str,
) -> Result<Option<Group>> {
    let sql = format!(
        "{GROUP_SELECT} WHERE g.team_id = $1 AND LOWER(g.display_name) = LOWER($2) ORDER BY g.id LIMIT 1"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(team.as_str())
        .bind(display_name)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(group)
        .transpose()
}
