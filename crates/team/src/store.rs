//! Team's SQL, kept together.

use allot_platform::db::{flag, int_flag};
use allot_platform::ids::{AccountId, GroupId, TeamId};
use allot_platform::values::Email;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::domain::{Group, Member, MemberState, Plan, Role, Team};

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

const MEMBER_COLUMNS: &str = "team_id, account_id, email, given_name, family_name, role, guest, state, invitation, invitation_expire_time, create_time";

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
        invitation_expire_time: row.try_get("invitation_expire_time")?,
        create_time: row.try_get("create_time")?,
    })
}

/// Adds a member; false when the account already is one.
pub async fn insert_member(conn: &mut AnyConnection, m: &Member) -> Result<bool> {
    let n = sqlx::query(
        "INSERT INTO members (team_id, account_id, email, email_key, given_name, family_name, role, guest, state, invitation, create_time, invitation_expire_time) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (team_id, account_id) DO NOTHING",
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
    .bind(m.invitation_expire_time)
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

// ---- groups ----------------------------------------------------------------

const GROUP_SELECT: &str = "SELECT g.id, g.team_id, g.display_name, g.create_time, \
     (SELECT COUNT(*) FROM group_members gm WHERE gm.group_id = g.id) AS member_count FROM groups g";

fn group(row: &AnyRow) -> Result<Group> {
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

/// The member of `team` with this address, if any.
pub async fn member_by_email(
    conn: &mut AnyConnection,
    team: &TeamId,
    email: &Email,
) -> Result<Option<String>> {
    sqlx::query_scalar("SELECT account_id FROM members WHERE team_id = $1 AND email_key = $2")
        .bind(team.as_str())
        .bind(email.key())
        .fetch_optional(conn)
        .await
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
