//! Rows of group assignments.

use super::*;

/// A group assignment as stored: (id, team, group, product, items, create_time).
#[derive(Debug, Clone)]
pub struct GroupAssignmentRow {
    pub id: GroupAssignmentId,
    pub team: TeamId,
    pub group: GroupId,
    pub product: ProductId,
    pub items: Vec<String>,
    pub create_time: i64,
}

pub(super) fn group_assignment(row: &AnyRow) -> Result<GroupAssignmentRow> {
    Ok(GroupAssignmentRow {
        id: GroupAssignmentId::from_db(row.try_get("id")?),
        team: TeamId::from_db(row.try_get("team_id")?),
        group: GroupId::from_db(row.try_get("group_id")?),
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
    .bind(g.id.as_str())
    .bind(g.team.as_str())
    .bind(g.group.as_str())
    .bind(g.product.as_str())
    .bind(join_items(&g.items))
    .bind(g.create_time)
    .execute(conn)
    .await?;
    Ok(())
}

pub(super) const GROUP_ASSIGNMENT_COLUMNS: &str =
    "id, team_id, group_id, product_id, items, create_time";

pub async fn get_group_assignment(
    conn: &mut AnyConnection,
    team: &TeamId,
    id: &GroupAssignmentId,
) -> Result<Option<GroupAssignmentRow>> {
    let sql = format!(
        "SELECT {GROUP_ASSIGNMENT_COLUMNS} FROM group_assignments WHERE team_id = $1 AND id = $2"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(team.as_str())
        .bind(id.as_str())
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
    group: Option<&GroupId>,
) -> Result<Vec<GroupAssignmentRow>> {
    let sql = format!(
        "SELECT {GROUP_ASSIGNMENT_COLUMNS} FROM group_assignments WHERE team_id = $1 AND ($2 = '' OR group_id = $2) ORDER BY id"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(team.as_str())
        .bind(group.map_or("", GroupId::as_str))
        .fetch_all(conn)
        .await?
        .iter()
        .map(group_assignment)
        .collect()
}

pub async fn delete_group_assignment(
    conn: &mut AnyConnection,
    id: &GroupAssignmentId,
) -> Result<()> {
    sqlx::query("DELETE FROM group_assignments WHERE id = $1")
        .bind(id.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

/// The assignments that come (partly) from a group assignment.
pub async fn assignments_from(
    conn: &mut AnyConnection,
    group_assignment_id: &GroupAssignmentId,
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
        .bind(group_assignment_id.as_str())
        .fetch_all(&mut *conn)
        .await?;
    assignments(conn, rows).await
}
