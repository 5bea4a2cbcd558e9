//! Rows of members: people in a team, their state and invitation.

use super::*;

pub(super) const MEMBER_COLUMNS: &str = "team_id, account_id, email, given_name, family_name, role, guest, state, invitation, invitation_expire_time, create_time";

pub(super) fn member(row: &AnyRow) -> Result<Member> {
    Ok(Member {
        team: TeamId::from_db(row.try_get("team_id")?),
        account: AccountId::from_db(row.try_get("account_id")?),
        email: Email::from_db(row.try_get("email")?),
        given_name: row.try_get("given_name")?,
        family_name: row.try_get("family_name")?,
        role: Role::from_db(&row.try_get::<String, _>("role")?)?,
        guest: flag(row.try_get("guest")?),
        state: MemberState::from_db(&row.try_get::<String, _>("state")?)?,
        invitation: row.try_get("invitation")?,
        invitation_expire_time: row.try_get("invitation_expire_time")?,
        create_time: row.try_get("create_time")?,
    })
}

/// Adds a member; false when the account already is one.
pub async fn insert_member(conn: &mut AnyConnection, m: &Member) -> Result<bool> {
    Ok(!insert_members(conn, std::slice::from_ref(m))
        .await?
        .is_empty())
}

/// Adds members, a few hundred per statement; returns the accounts that
/// were added (those already members are left as they are).
pub async fn insert_members(
    conn: &mut AnyConnection,
    members: &[Member],
) -> Result<std::collections::HashSet<String>> {
    let mut added = std::collections::HashSet::new();
    for chunk in members.chunks(allot_platform::db::ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO members (team_id, account_id, email, email_key, given_name, family_name, role, guest, state, invitation, create_time, invitation_expire_time) \
             VALUES {} ON CONFLICT (team_id, account_id) DO NOTHING RETURNING account_id",
            allot_platform::db::values_rows(chunk.len(), 12, 1)
        );
        let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql));
        for m in chunk {
            q = q
                .bind(m.team.as_str())
                .bind(m.account.as_str())
                .bind(m.email.as_str())
                .bind(m.email.key())
                .bind(&m.given_name)
                .bind(&m.family_name)
                .bind(m.role.as_db())
                .bind(int_flag(m.guest))
                .bind(m.state.as_db())
                .bind(m.invitation.as_deref())
                .bind(m.create_time)
                .bind(m.invitation_expire_time);
        }
        added.extend(q.fetch_all(&mut *conn).await?);
    }
    Ok(added)
}

pub async fn get_member(
    conn: &mut AnyConnection,
    team: &TeamId,
    account: &AccountId,
) -> Result<Option<Member>> {
    let sql =
        format!("SELECT {MEMBER_COLUMNS} FROM members WHERE team_id = $1 AND account_id = $2");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(team.as_str())
        .bind(account.as_str())
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(member)
        .transpose()
}

/// Every member, of any team, still waiting to accept an invitation, at
/// most `limit` after `(team, account)`, in that order.
pub async fn invited_members(
    conn: &mut AnyConnection,
    after: Option<(&str, &str)>,
    limit: i64,
) -> Result<Vec<Member>> {
    let (team, account) = after.unwrap_or(("", ""));
    let sql = format!(
        "SELECT {MEMBER_COLUMNS} FROM members WHERE state = 'INVITED' \
         AND (team_id > $1 OR (team_id = $1 AND account_id > $2)) \
         ORDER BY team_id, account_id LIMIT $3"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(team)
        .bind(account)
        .bind(limit)
        .fetch_all(conn)
        .await?
        .iter()
        .map(member)
        .collect()
}

/// The conditions of `filter` after the team's (`$1`), its search text
/// bound as `$2`.
fn filter_clause(filter: &MemberFilter) -> String {
    let guests = match filter.guests {
        GuestFilter::Include => "",
        GuestFilter::Exclude => " AND guest = 0",
        GuestFilter::Only => " AND guest = 1",
    };
    let text = if filter.text.is_some() {
        " AND lower(email_key || ' ' || given_name || ' ' || family_name) LIKE $2 ESCAPE '\\'"
    } else {
        " AND $2 = ''"
    };
    format!("{guests}{text}")
}

/// The LIKE pattern that finds `text` anywhere, its wildcards escaped.
fn contains_pattern(filter: &MemberFilter) -> String {
    match &filter.text {
        None => String::new(),
        Some(t) => {
            let escaped = t
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            format!("%{escaped}%")
        }
    }
}

/// Members ordered by email, after `after_key`.
pub async fn list_members(
    conn: &mut AnyConnection,
    team: &TeamId,
    filter: &MemberFilter,
    after_key: Option<&str>,
    limit: i64,
) -> Result<Vec<Member>> {
    let sql = format!(
        "SELECT {MEMBER_COLUMNS} FROM members WHERE team_id = $1{} AND (email_key || ' ' || account_id) > $3 \
         ORDER BY email_key, account_id LIMIT $4",
        filter_clause(filter)
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(team.as_str())
        .bind(contains_pattern(filter))
        .bind(after_key.unwrap_or(""))
        .bind(limit + 1)
        .fetch_all(conn)
        .await?
        .iter()
        .map(member)
        .collect()
}

/// How many members `filter` shows in all.
pub async fn count_members(
    conn: &mut AnyConnection,
    team: &TeamId,
    filter: &MemberFilter,
) -> Result<i64> {
    let sql = format!(
        "SELECT COUNT(*) AS n FROM members WHERE team_id = $1{}",
        filter_clause(filter)
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(team.as_str())
        .bind(contains_pattern(filter))
        .fetch_one(conn)
        .await?
        .try_get::<i64, _>("n")
}

/// The key members are listed by.
pub fn member_key(m: &Member) -> String {
    format!("{} {}", m.email.key(), m.account)
}

/// All memberships of an account.
pub async fn memberships_of(conn: &mut AnyConnection, account: &AccountId) -> Result<Vec<Member>> {
    let sql =
        format!("SELECT {MEMBER_COLUMNS} FROM members WHERE account_id = $1 ORDER BY team_id");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(account.as_str())
        .fetch_all(conn)
        .await?
        .iter()
        .map(member)
        .collect()
}

/// Copies a person's state and names into one membership.
pub async fn update_person(conn: &mut AnyConnection, m: &Member) -> Result<()> {
    sqlx::query(
        "UPDATE members SET state = $3, given_name = $4, family_name = $5 WHERE team_id = $1 AND account_id = $2",
    )
    .bind(m.team.as_str())
    .bind(m.account.as_str())
    .bind(m.state.as_db())
    .bind(&m.given_name)
    .bind(&m.family_name)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_member_invitation(
    conn: &mut AnyConnection,
    team: &TeamId,
    account: &AccountId,
    invitation: &str,
    expire_time: Option<i64>,
) -> Result<()> {
    sqlx::query(
        "UPDATE members SET invitation = $3, invitation_expire_time = $4 WHERE team_id = $1 AND account_id = $2",
    )
        .bind(team.as_str())
        .bind(account.as_str())
        .bind(invitation)
        .bind(expire_time)
        .execute(conn)
        .await?;
    Ok(())
}

/// Removes a membership and the person's place in the team's groups;
/// returns the groups they left.
pub async fn delete_member(
    conn: &mut AnyConnection,
    team: &TeamId,
    account: &AccountId,
) -> Result<Vec<String>> {
    let groups: Vec<String> = sqlx::query_scalar(
        "SELECT gm.group_id FROM group_members gm JOIN groups g ON g.id = gm.group_id \
         WHERE g.team_id = $1 AND gm.account_id = $2 ORDER BY gm.group_id",
    )
    .bind(team.as_str())
    .bind(account.as_str())
    .fetch_all(&mut *conn)
    .await?;
    sqlx::query(
        "DELETE FROM group_members WHERE account_id = $2 AND group_id IN (SELECT id FROM groups WHERE team_id = $1)",
    )
    .bind(team.as_str())
    .bind(account.as_str())
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM members WHERE team_id = $1 AND account_id = $2")
        .bind(team.as_str())
        .bind(account.as_str())
        .execute(conn)
        .await?;
    Ok(groups)
}

/// The memberships of some accounts in one team.
pub async fn get_members(
    conn: &mut AnyConnection,
    team: &TeamId,
    accounts: &[AccountId],
) -> Result<Vec<Member>> {
    let mut out = Vec::with_capacity(accounts.len());
    for chunk in accounts.chunks(500) {
        let placeholders = (0..chunk.len())
            .map(|i| format!("${}", i + 2))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {MEMBER_COLUMNS} FROM members WHERE team_id = $1 AND account_id IN ({placeholders})"
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(team.as_str());
        for a in chunk {
            q = q.bind(a.as_str());
        }
        for row in q.fetch_all(&mut *conn).await? {
            out.push(member(&row)?);
        }
    }
    Ok(out)
}

/// The members of `team` with these addresses, by [`Email::key`].
pub async fn members_by_email(
    conn: &mut AnyConnection,
    team: &TeamId,
    emails: &[&Email],
) -> Result<std::collections::HashMap<String, Member>> {
    let mut found = std::collections::HashMap::new();
    for chunk in emails.chunks(allot_platform::db::ROWS_PER_STATEMENT) {
        let sql = format!(
            "SELECT {MEMBER_COLUMNS} FROM members WHERE team_id = $1 AND email_key IN ({})",
            allot_platform::db::params(chunk.len(), 2)
        );
        // Planned for its values each time (not a cached generic plan): a
        // plan made while an import's first batches left the table small
        // can scan the whole team once it holds 100,000 members.
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
            .persistent(false)
            .bind(team.as_str());
        for e in chunk {
            q = q.bind(e.key());
        }
        for row in q.fetch_all(&mut *conn).await? {
            let m = member(&row)?;
            found.insert(m.email.key().to_owned(), m);
        }
    }
    Ok(found)
}

/// Every membership of every team, by team then account, after
/// `after_key` (`"{team} {account}"`), at most `limit + 1`.
pub async fn all_members(
    conn: &mut AnyConnection,
    after_key: Option<&str>,
    limit: i64,
) -> Result<Vec<Member>> {
    let (team, account) = after_key
        .and_then(|k| k.split_once(' '))
        .unwrap_or(("", ""));
    let sql = format!(
        "SELECT {MEMBER_COLUMNS} FROM members \
         WHERE team_id > $1 OR (team_id = $1 AND account_id > $2) \
         ORDER BY team_id, account_id LIMIT $3"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(team)
        .bind(account)
        .bind(limit + 1)
        .fetch_all(conn)
        .await?
        .iter()
        .map(member)
        .collect()
}
