//! Team's SQL, kept together.

use allot_platform::db::{flag, int_flag};
use allot_platform::ids::{AccountId, TeamId};
use allot_platform::values::Email;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::domain::{Member, MemberState, Plan, Role, Team};

type Result<T> = std::result::Result<T, sqlx::Error>;

const TEAM_SELECT: &str = "SELECT t.id, t.display_name, t.owner, t.plan, t.create_time, \
     (SELECT m.account_id FROM members m WHERE m.team_id = t.id AND m.role = 'PRIMARY_ADMIN') AS primary_admin, \
     (SELECT COUNT(*) FROM members m WHERE m.team_id = t.id) AS member_count \
     FROM teams t";

fn team(row: &AnyRow) -> Result<Team> {
    Ok(Team {
        id: TeamId::from_db(row.try_get("id")?),
        display_name: row.try_get("display_name")?,
        owner: row
            .try_get::<Option<String>, _>("owner")?
            .map(AccountId::from_db),
        plan: Plan::from_db(&row.try_get::<String, _>("plan")?),
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

/// The teams an account belongs to, newest first.
pub async fn teams_of(
    conn: &mut AnyConnection,
    account: &AccountId,
    before_id: Option<&str>,
    limit: i64,
) -> Result<Vec<Team>> {
    let sql = format!(
        "{TEAM_SELECT} WHERE t.id IN (SELECT team_id FROM members WHERE account_id = $1) \
         AND ($2 = '' OR t.id < $2) ORDER BY t.id DESC LIMIT $3"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(account.as_str())
        .bind(before_id.unwrap_or(""))
        .bind(limit + 1)
        .fetch_all(conn)
        .await?
        .iter()
        .map(team)
        .collect()
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

const MEMBER_COLUMNS: &str = "team_id, account_id, email, given_name, family_name, role, guest, state, invitation, create_time";

fn member(row: &AnyRow) -> Result<Member> {
    Ok(Member {
        team: TeamId::from_db(row.try_get("team_id")?),
        account: AccountId::from_db(row.try_get("account_id")?),
        email: Email::from_db(row.try_get("email")?),
        given_name: row.try_get("given_name")?,
        family_name: row.try_get("family_name")?,
        role: Role::from_db(&row.try_get::<String, _>("role")?),
        guest: flag(row.try_get("guest")?),
        state: MemberState::from_db(&row.try_get::<String, _>("state")?),
        invitation: row.try_get("invitation")?,
        create_time: row.try_get("create_time")?,
    })
}

/// Adds a member; false when the account already is one.
pub async fn insert_member(conn: &mut AnyConnection, m: &Member) -> Result<bool> {
    let n = sqlx::query(
        "INSERT INTO members (team_id, account_id, email, email_key, given_name, family_name, role, guest, state, invitation, create_time) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (team_id, account_id) DO NOTHING",
    )
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
    .execute(conn)
    .await?
    .rows_affected();
    Ok(n == 1)
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
    Ok(role.as_deref().map(Role::from_db))
}

/// Which members a list includes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuestFilter {
    Include,
    Exclude,
    Only,
}

/// Members ordered by email, after `after_key`.
pub async fn list_members(
    conn: &mut AnyConnection,
    team: &TeamId,
    guests: GuestFilter,
    after_key: Option<&str>,
    limit: i64,
) -> Result<Vec<Member>> {
    let guest_clause = match guests {
        GuestFilter::Include => "",
        GuestFilter::Exclude => " AND guest = 0",
        GuestFilter::Only => " AND guest = 1",
    };
    let sql = format!(
        "SELECT {MEMBER_COLUMNS} FROM members WHERE team_id = $1 AND (email_key || ' ' || account_id) > $2{guest_clause} \
         ORDER BY email_key, account_id LIMIT $3"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(team.as_str())
        .bind(after_key.unwrap_or(""))
        .bind(limit + 1)
        .fetch_all(conn)
        .await?
        .iter()
        .map(member)
        .collect()
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
) -> Result<()> {
    sqlx::query("UPDATE members SET invitation = $3 WHERE team_id = $1 AND account_id = $2")
        .bind(team.as_str())
        .bind(account.as_str())
        .bind(invitation)
        .execute(conn)
        .await?;
    Ok(())
}
