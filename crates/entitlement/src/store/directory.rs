//! Entitlement's copy of the team directory as stored: teams, members
//! (email, admin or not), kept from team's events.

use allot_platform::db::{ROWS_PER_STATEMENT, params, values_rows};

use super::*;

/// A member as the copy holds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryMember {
    pub account: AccountId,
    pub email: String,
    pub admin: bool,
}

/// Whether the copy is whole.
pub async fn directory_complete(conn: &mut AnyConnection) -> Result<bool> {
    let n: Option<i64> = sqlx::query_scalar("SELECT complete FROM directory_state WHERE id = 1")
        .fetch_optional(conn)
        .await?;
    Ok(n == Some(1))
}

pub async fn set_directory_complete(conn: &mut AnyConnection, complete: bool) -> Result<()> {
    sqlx::query(
        "INSERT INTO directory_state (id, complete) VALUES (1, $1) \
         ON CONFLICT (id) DO UPDATE SET complete = excluded.complete",
    )
    .bind(int_flag(complete))
    .execute(conn)
    .await?;
    Ok(())
}

/// Empties the copy (before it is rebuilt).
pub async fn clear_directory(conn: &mut AnyConnection) -> Result<()> {
    for table in ["directory_members", "directory_teams"] {
        sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table}")))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

pub async fn upsert_directory_teams(
    conn: &mut AnyConnection,
    teams: &[(TeamId, String)],
) -> Result<()> {
    for chunk in teams.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO directory_teams (team_id, display_name) VALUES {} \
             ON CONFLICT (team_id) DO UPDATE SET display_name = excluded.display_name",
            values_rows(chunk.len(), 2, 1)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (t, name) in chunk {
            q = q.bind(t.as_str()).bind(name);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

pub async fn upsert_directory_members(
    conn: &mut AnyConnection,
    team_members: &[(TeamId, DirectoryMember)],
) -> Result<()> {
    for chunk in team_members.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO directory_members (team_id, account_id, email, admin) VALUES {} \
             ON CONFLICT (team_id, account_id) DO UPDATE SET email = excluded.email, admin = excluded.admin",
            values_rows(chunk.len(), 4, 1)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (t, m) in chunk {
            q = q
                .bind(t.as_str())
                .bind(m.account.as_str())
                .bind(&m.email)
                .bind(int_flag(m.admin));
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Takes a person out of a team.
pub async fn delete_directory_member(
    conn: &mut AnyConnection,
    team: &TeamId,
    account: &AccountId,
) -> Result<()> {
    sqlx::query("DELETE FROM directory_members WHERE team_id = $1 AND account_id = $2")
        .bind(team.as_str())
        .bind(account.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

/// The team's display name, when the copy knows the team.
pub async fn directory_team(conn: &mut AnyConnection, team: &TeamId) -> Result<Option<String>> {
    sqlx::query_scalar("SELECT display_name FROM directory_teams WHERE team_id = $1")
        .bind(team.as_str())
        .fetch_optional(conn)
        .await
}

/// The members of `team` among `accounts` (`accounts/…` names' ids).
pub async fn directory_members(
    conn: &mut AnyConnection,
    team: &TeamId,
    accounts: &[&str],
) -> Result<Vec<DirectoryMember>> {
    let mut out = Vec::with_capacity(accounts.len());
    for chunk in accounts.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "SELECT account_id, email, admin FROM directory_members WHERE team_id = $1 AND account_id IN ({})",
            params(chunk.len(), 2)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(team.as_str());
        for a in chunk {
            q = q.bind(*a);
        }
        for row in q.fetch_all(&mut *conn).await? {
            out.push(DirectoryMember {
                account: AccountId::from_db(row.try_get("account_id")?),
                email: row.try_get("email")?,
                admin: flag(row.try_get("admin")?),
            });
        }
    }
    Ok(out)
}
