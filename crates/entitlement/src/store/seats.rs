//! Rows of seat assignments and their sources.

use super::*;

pub(super) const ASSIGNMENT_COLUMNS: &str =
    "id, team_id, account_id, email, product_id, items, direct, create_time";

/// One assignment row with the group assignments it comes from.
fn assignment_with(row: &AnyRow, groups: Vec<GroupAssignmentId>) -> Result<Assignment> {
    Ok(Assignment {
        id: AssignmentId::from_db(row.try_get("id")?),
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

/// The most ids one `IN (…)` list binds.
const IN_LIST: usize = 500;

/// Assignment rows with their sources, read in one query per 500 rows
/// (not one per row).
pub(super) async fn assignments(
    conn: &mut AnyConnection,
    rows: Vec<AnyRow>,
) -> Result<Vec<Assignment>> {
    let ids: Vec<String> = rows
        .iter()
        .map(|r| r.try_get::<String, _>("id"))
        .collect::<Result<_>>()?;
    let mut sources: std::collections::HashMap<String, Vec<GroupAssignmentId>> =
        std::collections::HashMap::new();
    for chunk in ids.chunks(IN_LIST) {
        let list = (1..=chunk.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT assignment_id, group_assignment_id FROM assignment_sources \
             WHERE assignment_id IN ({list}) ORDER BY assignment_id, group_assignment_id"
        );
        let mut q = sqlx::query_as::<_, (String, String)>(sqlx::AssertSqlSafe(sql));
        for id in chunk {
            q = q.bind(id);
        }
        for (assignment, group) in q.fetch_all(&mut *conn).await? {
            sources
                .entry(assignment)
                .or_default()
                .push(GroupAssignmentId::from_db(group));
        }
    }
    rows.iter()
        .zip(ids)
        .map(|(r, id)| assignment_with(r, sources.remove(&id).unwrap_or_default()))
        .collect()
}

/// A person's assignment of a product in a team, read for a write: the row
/// stays locked until the transaction ends, so a concurrent change to its sources (a group's event
/// and a direct assignment at once) waits instead of being overwritten.
pub async fn lock_assignment(
    conn: &mut AnyConnection,
    team: &TeamId,
    account: &AccountId,
    product: &ProductId,
) -> Result<Option<Assignment>> {
    let by = "team_id = $1 AND account_id = $2 AND product_id = $3";
    one_assignment(
        conn,
        by,
        [team.as_str(), account.as_str(), product.as_str()],
        true,
    )
    .await
}

/// How an assignment is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    /// To look at it.
    Plain,
    /// To change it: locked as [`lock_assignment`] until the transaction ends.
    ForWrite,
}

/// Assignment `id` of `team`.
pub async fn get_assignment(
    conn: &mut AnyConnection,
    team: &TeamId,
    id: &AssignmentId,
    read: Read,
) -> Result<Option<Assignment>> {
    one_assignment(
        conn,
        "team_id = $1 AND id = $2",
        [team.as_str(), id.as_str()],
        read == Read::ForWrite,
    )
    .await
}

/// The assignment `by` selects; `lock` takes its row lock (a no-op update,
/// which both databases accept) for the rest of the transaction.
async fn one_assignment<const N: usize>(
    conn: &mut AnyConnection,
    by: &str,
    binds: [&str; N],
    lock: bool,
) -> Result<Option<Assignment>> {
    let sql = if lock {
        format!("UPDATE assignments SET direct = direct WHERE {by} RETURNING {ASSIGNMENT_COLUMNS}")
    } else {
        format!("SELECT {ASSIGNMENT_COLUMNS} FROM assignments WHERE {by}")
    };
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for b in binds {
        query = query.bind(b);
    }
    let row = query.fetch_optional(&mut *conn).await?;
    match row {
        Some(r) => Ok(assignments(conn, vec![r]).await?.pop()),
        None => Ok(None),
    }
}

/// The assignments of `product` in `team` held by `accounts`, each row
/// locked for the rest of the transaction (a no-op update, as
/// [`lock_assignment`]), by account.
pub async fn lock_assignments(
    conn: &mut AnyConnection,
    team: &TeamId,
    product: &ProductId,
    accounts: &[&AccountId],
) -> Result<HashMap<AccountId, Assignment>> {
    let mut out = HashMap::new();
    for chunk in accounts.chunks(allot_platform::db::ROWS_PER_STATEMENT) {
        let sql = format!(
            "UPDATE assignments SET direct = direct WHERE team_id = $1 AND product_id = $2 \
             AND account_id IN ({}) RETURNING {ASSIGNMENT_COLUMNS}",
            allot_platform::db::params(chunk.len(), 3)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(team.as_str())
            .bind(product.as_str());
        for a in chunk {
            q = q.bind(a.as_str());
        }
        let rows = q.fetch_all(&mut *conn).await?;
        for a in assignments(conn, rows).await? {
            out.insert(a.account.clone(), a);
        }
    }
    Ok(out)
}

/// Adds new assignments' rows, a few hundred per statement (their group
/// sources, if any, are the caller's to add).
pub async fn insert_direct_assignments(conn: &mut AnyConnection, all: &[Assignment]) -> Result<()> {
    for chunk in all.chunks(allot_platform::db::ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO assignments (id, team_id, account_id, email, product_id, items, direct, create_time) VALUES {}",
            allot_platform::db::values_rows(chunk.len(), 8, 1)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for a in chunk {
            q = q
                .bind(a.id.as_str())
                .bind(a.team.as_str())
                .bind(a.account.as_str())
                .bind(&a.email)
                .bind(a.product.as_str())
                .bind(join_items(&a.items))
                .bind(int_flag(a.direct))
                .bind(a.create_time);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

pub async fn insert_assignment(conn: &mut AnyConnection, a: &Assignment) -> Result<()> {
    insert_direct_assignments(conn, std::slice::from_ref(a)).await?;
    for g in &a.groups {
        add_source(conn, &a.id, g).await?;
    }
    Ok(())
}

/// Writes an assignment's items and direct flag.
pub async fn update_assignment(conn: &mut AnyConnection, a: &Assignment) -> Result<()> {
    sqlx::query("UPDATE assignments SET items = $2, direct = $3 WHERE id = $1")
        .bind(a.id.as_str())
        .bind(join_items(&a.items))
        .bind(int_flag(a.direct))
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn delete_assignment(conn: &mut AnyConnection, id: &AssignmentId) -> Result<()> {
    sqlx::query("DELETE FROM assignment_sources WHERE assignment_id = $1")
        .bind(id.as_str())
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM assignments WHERE id = $1")
        .bind(id.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn add_source(
    conn: &mut AnyConnection,
    assignment_id: &AssignmentId,
    group_assignment: &GroupAssignmentId,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO assignment_sources (assignment_id, group_assignment_id) VALUES ($1, $2) \
         ON CONFLICT (assignment_id, group_assignment_id) DO NOTHING",
    )
    .bind(assignment_id.as_str())
    .bind(group_assignment.as_str())
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn remove_source(
    conn: &mut AnyConnection,
    assignment_id: &AssignmentId,
    group_assignment: &GroupAssignmentId,
) -> Result<()> {
    sqlx::query(
        "DELETE FROM assignment_sources WHERE assignment_id = $1 AND group_assignment_id = $2",
    )
    .bind(assignment_id.as_str())
    .bind(group_assignment.as_str())
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
