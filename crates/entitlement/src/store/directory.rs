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

/// Whether the copy is whole, and the position of team's stream from which
/// it is exact (see [`set_directory_complete`]).
pub async fn directory_complete(conn: &mut AnyConnection) -> Result<Option<i64>> {
    let row: Option<(i64, i64)> =
        sqlx::query_as("SELECT complete, fresh_from FROM directory_state WHERE id = 1")
            .fetch_optional(conn)
            .await?;
    Ok(row
        .filter(|(complete, _)| *complete == 1)
        .map(|(_, from)| from))
}

/// Marks the copy whole and exact once team's stream is applied up to
/// `fresh_from` (`None`: not whole).
pub async fn set_directory_complete(
    conn: &mut AnyConnection,
    fresh_from: Option<i64>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO directory_state (id, complete, fresh_from) VALUES (1, $1, $2) \
         ON CONFLICT (id) DO UPDATE SET complete = excluded.complete, fresh_from = excluded.fresh_from",
    )
    .bind(int_flag(fresh_from.is_some()))
    .bind(fresh_from.unwrap_or(0))
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

/// Writes teams' names as of `position` in team's stream (0: a rebuild);
/// a row written by a later event is left alone.
pub async fn upsert_directory_teams(
    conn: &mut AnyConnection,
    teams: &[(TeamId, String)],
    position: i64,
) -> Result<()> {
    for chunk in teams.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO directory_teams (team_id, display_name, event_position) VALUES {} \
             ON CONFLICT (team_id) DO UPDATE SET display_name = excluded.display_name, \
             event_position = excluded.event_position \
             WHERE directory_teams.event_position <= excluded.event_position",
            values_rows(chunk.len(), 3, 1)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (t, name) in chunk {
            q = q.bind(t.as_str()).bind(name).bind(position);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Writes memberships as of `position` in team's stream (0: a rebuild); a
/// row written by a later event (a later removal too) is left alone.
pub async fn upsert_directory_members(
    conn: &mut AnyConnection,
    team_members: &[(TeamId, DirectoryMember)],
    position: i64,
) -> Result<()> {
    for chunk in team_members.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO directory_members (team_id, account_id, email, admin, event_position) VALUES {} \
             ON CONFLICT (team_id, account_id) DO UPDATE SET email = excluded.email, \
             admin = excluded.admin, present = 1, event_position = excluded.event_position \
             WHERE directory_members.event_position <= excluded.event_position",
            values_rows(chunk.len(), 5, 1)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (t, m) in chunk {
            q = q
                .bind(t.as_str())
                .bind(m.account.as_str())
                .bind(&m.email)
                .bind(int_flag(m.admin))
                .bind(position);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Takes a person out of a team as of `position` in team's stream: the row
/// stays, marked removed, so an older event applied later cannot bring
/// them back; a row written by a later event is left alone.
pub async fn remove_directory_member(
    conn: &mut AnyConnection,
    team: &TeamId,
    account: &AccountId,
    position: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO directory_members (team_id, account_id, email, admin, present, event_position) \
         VALUES ($1, $2, '', 0, 0, $3) \
         ON CONFLICT (team_id, account_id) DO UPDATE SET present = 0, admin = 0, \
         event_position = excluded.event_position \
         WHERE directory_members.event_position <= excluded.event_position",
    )
    .bind(team.as_str())
    .bind(account.as_str())
    .bind(position)
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
            "SELECT account_id, email, admin FROM directory_members \
             WHERE team_id = $1 AND present = 1 AND account_id IN ({})",
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

#[cfg(test)]
mod tests {
    use super::*;
    use allot_platform::db::Db;
    use allot_platform::testing::{Backend, drop_database, fresh_database};

    fn ada(admin: bool) -> (TeamId, DirectoryMember) {
        (
            TeamId::from_db("t1".into()),
            DirectoryMember {
                account: AccountId::from_db("ada".into()),
                email: "ada@example.com".into(),
                admin,
            },
        )
    }

    async fn in_copy(db: &Db) -> Vec<DirectoryMember> {
        let mut conn = db.conn().await.expect("conn");
        directory_members(&mut conn, &TeamId::from_db("t1".into()), &["ada"])
            .await
            .expect("read")
    }

    async fn older_events_change_nothing(backend: Backend) {
        let dir = tempfile::tempdir().expect("dir");
        let url = fresh_database(backend, dir.path(), "entitlement").await;
        let db = Db::connect(&url, 2).await.expect("connect");
        db.migrate(crate::MIGRATIONS).await.expect("migrate");
        let mut conn = db.conn().await.expect("conn");
        let (team, member) = ada(false);
        // Added at 10, made an admin at 12, removed at 15.
        upsert_directory_members(&mut conn, &[ada(false)], 10)
            .await
            .expect("add");
        upsert_directory_members(&mut conn, &[ada(true)], 12)
            .await
            .expect("promote");
        assert_eq!(in_copy(&db).await, vec![ada(true).1]);
        remove_directory_member(&mut conn, &team, &member.account, 15)
            .await
            .expect("remove");
        assert_eq!(in_copy(&db).await, Vec::new());
        // The promotion arrives again (a parked event retried, another
        // replica behind): she stays out.
        upsert_directory_members(&mut conn, &[ada(true)], 12)
            .await
            .expect("late");
        assert_eq!(in_copy(&db).await, Vec::new(), "{backend:?}");
        // Added back (as an admin) at 21: a late demotion of 13 changes nothing.
        upsert_directory_members(&mut conn, &[ada(true)], 21)
            .await
            .expect("back");
        upsert_directory_members(&mut conn, &[ada(false)], 13)
            .await
            .expect("late");
        assert_eq!(in_copy(&db).await, vec![ada(true).1], "{backend:?}");
        drop(conn);
        db.close().await;
        if backend == Backend::Postgres {
            drop_database(&url).await;
        }
    }

    /// R-ROLE-2: entitlement authorizes from its copy of the directory, so
    /// an event applied late or twice (a parked event retried, a replica
    /// behind) must never bring back a removed member or a revoked role.
    #[tokio::test]
    async fn r_role_2_an_older_team_event_never_undoes_a_newer_one_in_the_copy() {
        older_events_change_nothing(Backend::Sqlite).await;
        older_events_change_nothing(Backend::Postgres).await;
    }
}
