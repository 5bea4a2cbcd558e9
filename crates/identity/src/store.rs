//! Identity's SQL, kept together. Every function takes a connection so it
//! runs inside whatever transaction the caller holds.

use allot_platform::ids::{AccountId, InvitationId, ServiceAccountId, TeamId};
use allot_platform::values::Email;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::domain::{Account, AccountState, Invitation, InvitationState};

mod passwords;
pub use passwords::*;

type Result<T> = std::result::Result<T, sqlx::Error>;

const ACCOUNT_COLUMNS: &str =
    "id, email, given_name, family_name, state, create_time, activate_time";

fn account(row: &AnyRow) -> Result<Account> {
    Ok(Account {
        id: AccountId::from_db(row.try_get("id")?),
        email: Email::from_db(row.try_get("email")?),
        given_name: row.try_get("given_name")?,
        family_name: row.try_get("family_name")?,
        state: AccountState::from_db(&row.try_get::<String, _>("state")?)?,
        create_time: row.try_get("create_time")?,
        activate_time: row.try_get("activate_time")?,
    })
}

pub async fn insert_account(conn: &mut AnyConnection, a: &Account, bootstrap: bool) -> Result<()> {
    sqlx::query(
        "INSERT INTO accounts (id, email, email_key, given_name, family_name, state, bootstrap, create_time, activate_time) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(a.id.as_str())
    .bind(a.email.as_str())
    .bind(a.email.key())
    .bind(&a.given_name)
    .bind(&a.family_name)
    .bind(a.state.as_db())
    .bind(i64::from(bootstrap))
    .bind(a.create_time)
    .bind(a.activate_time)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get_account(conn: &mut AnyConnection, id: &AccountId) -> Result<Option<Account>> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id.as_str())
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(account)
        .transpose()
}

pub async fn find_account_by_email(
    conn: &mut AnyConnection,
    email: &Email,
) -> Result<Option<Account>> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE email_key = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(email.key())
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(account)
        .transpose()
}

/// The bootstrap administrator, if created.
pub async fn bootstrap_account(conn: &mut AnyConnection) -> Result<Option<Account>> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE bootstrap = 1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(account)
        .transpose()
}

pub async fn mark_bootstrap(conn: &mut AnyConnection, id: &AccountId) -> Result<()> {
    sqlx::query("UPDATE accounts SET bootstrap = 1 WHERE id = $1")
        .bind(id.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

/// Accounts ordered by email, after `after_key`, at most `limit + 1`.
pub async fn list_accounts(
    conn: &mut AnyConnection,
    prefix: &str,
    after_key: Option<&str>,
    limit: i64,
) -> Result<Vec<Account>> {
    let sql = format!(
        "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE email_key > $1 AND email_key LIKE $2 \
         ORDER BY email_key LIMIT $3"
    );
    let pattern = format!("{}%", escape_like(&prefix.to_lowercase()));
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(after_key.unwrap_or(""))
        .bind(pattern)
        .bind(limit + 1)
        .fetch_all(conn)
        .await?
        .iter()
        .map(account)
        .collect()
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

pub async fn update_account_names(
    conn: &mut AnyConnection,
    id: &AccountId,
    given_name: &str,
    family_name: &str,
) -> Result<bool> {
    let n = sqlx::query("UPDATE accounts SET given_name = $2, family_name = $3 WHERE id = $1")
        .bind(id.as_str())
        .bind(given_name)
        .bind(family_name)
        .execute(conn)
        .await?
        .rows_affected();
    Ok(n == 1)
}

/// Makes an invited account active; false when it already was.
pub async fn activate_account(conn: &mut AnyConnection, id: &AccountId, now: i64) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE accounts SET state = 'ACTIVE', activate_time = $2 WHERE id = $1 AND state = 'INVITED'",
    )
    .bind(id.as_str())
    .bind(now)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

const INVITATION_SELECT: &str = "SELECT i.id, i.account_id, a.email, i.team, i.team_display_name, \
     i.inviter, i.inviter_display_name, i.state, i.generation, i.create_time, i.expire_time, i.accept_time \
     FROM invitations i JOIN accounts a ON a.id = i.account_id";

fn invitation(row: &AnyRow) -> Result<Invitation> {
    Ok(Invitation {
        id: InvitationId::from_db(row.try_get("id")?),
        account_id: AccountId::from_db(row.try_get("account_id")?),
        email: Email::from_db(row.try_get("email")?),
        team: TeamId::from_db(row.try_get("team")?),
        team_display_name: row.try_get("team_display_name")?,
        inviter: row.try_get("inviter")?,
        inviter_display_name: row.try_get("inviter_display_name")?,
        state: InvitationState::from_db(&row.try_get::<String, _>("state")?)?,
        generation: row.try_get("generation")?,
        create_time: row.try_get("create_time")?,
        expire_time: row.try_get("expire_time")?,
        accept_time: row.try_get("accept_time")?,
    })
}

pub async fn insert_invitation(
    conn: &mut AnyConnection,
    i: &Invitation,
    token_hash: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO invitations (id, account_id, team, team_display_name, inviter, inviter_display_name, \
         state, generation, create_time, expire_time, accept_time) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(i.id.as_str())
    .bind(i.account_id.as_str())
    .bind(i.team.as_str())
    .bind(&i.team_display_name)
    .bind(&i.inviter)
    .bind(&i.inviter_display_name)
    .bind(i.state.as_db())
    .bind(i.generation)
    .bind(i.create_time)
    .bind(i.expire_time)
    .bind(i.accept_time)
    .execute(&mut *conn)
    .await?;
    insert_token_hash(conn, token_hash, &i.id, i.generation).await
}

async fn insert_token_hash(
    conn: &mut AnyConnection,
    token_hash: &str,
    id: &InvitationId,
    generation: i32,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO invitation_tokens (token_hash, invitation_id, generation) VALUES ($1, $2, $3)",
    )
    .bind(token_hash)
    .bind(id.as_str())
    .bind(generation)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get_invitation(
    conn: &mut AnyConnection,
    id: &InvitationId,
) -> Result<Option<Invitation>> {
    let sql = format!("{INVITATION_SELECT} WHERE i.id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id.as_str())
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(invitation)
        .transpose()
}

/// The pending invitation of an account, if any.
pub async fn pending_invitation(
    conn: &mut AnyConnection,
    account: &AccountId,
    team: &TeamId,
) -> Result<Option<Invitation>> {
    let sql = format!(
        "{INVITATION_SELECT} WHERE i.account_id = $1 AND i.team = $2 AND i.state = 'PENDING'"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(account.as_str())
        .bind(team.as_str())
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(invitation)
        .transpose()
}

/// The invitation a token hash belongs to, and the generation of that token.
pub async fn find_by_token_hash(
    conn: &mut AnyConnection,
    hash: &str,
) -> Result<Option<(Invitation, i32)>> {
    let Some(row) = sqlx::query(
        "SELECT invitation_id, generation FROM invitation_tokens WHERE token_hash = $1",
    )
    .bind(hash)
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let id = InvitationId::from_db(row.try_get("invitation_id")?);
    let generation: i32 = row.try_get("generation")?;
    Ok(get_invitation(conn, &id).await?.map(|i| (i, generation)))
}

/// Marks a pending invitation of `generation` accepted; false when it no
/// longer is pending at that generation (someone else won a race).
pub async fn accept_invitation(
    conn: &mut AnyConnection,
    id: &InvitationId,
    generation: i32,
    now: i64,
) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE invitations SET state = 'ACCEPTED', accept_time = $3 \
         WHERE id = $1 AND generation = $2 AND state = 'PENDING'",
    )
    .bind(id.as_str())
    .bind(generation)
    .bind(now)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Moves a pending invitation to its next generation with a new expiry and,
/// when the resend comes from another team, that team's details.
pub async fn renew_invitation(
    conn: &mut AnyConnection,
    i: &Invitation,
    token_hash: &str,
) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE invitations SET generation = $2, expire_time = $3, team = $4, team_display_name = $5, \
         inviter = $6, inviter_display_name = $7 \
         WHERE id = $1 AND generation = $2 - 1 AND state = 'PENDING'",
    )
    .bind(i.id.as_str())
    .bind(i.generation)
    .bind(i.expire_time)
    .bind(i.team.as_str())
    .bind(&i.team_display_name)
    .bind(&i.inviter)
    .bind(&i.inviter_display_name)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if n == 1 {
        insert_token_hash(conn, token_hash, &i.id, i.generation).await?;
    }
    Ok(n == 1)
}

/// How many invitation emails `team` sent (new or resent) since
/// `since_micros`; older sends are forgotten first.
pub async fn invitations_since(
    conn: &mut AnyConnection,
    team: &TeamId,
    since_micros: i64,
) -> Result<i64> {
    sqlx::query("DELETE FROM invitation_sends WHERE team = $1 AND send_time <= $2")
        .bind(team.as_str())
        .bind(since_micros)
        .execute(&mut *conn)
        .await?;
    sqlx::query_scalar("SELECT COUNT(*) FROM invitation_sends WHERE team = $1 AND send_time > $2")
        .bind(team.as_str())
        .bind(since_micros)
        .fetch_one(conn)
        .await
}

/// Counts one invitation email of `team` against its hourly share.
pub async fn record_invitation_send(
    conn: &mut AnyConnection,
    team: &TeamId,
    now_micros: i64,
) -> Result<()> {
    sqlx::query("INSERT INTO invitation_sends (team, send_time) VALUES ($1, $2)")
        .bind(team.as_str())
        .bind(now_micros)
        .execute(conn)
        .await?;
    Ok(())
}

/// Marks a pending (or expired) invitation revoked; false when it was not
/// pending any more.
pub async fn revoke_invitation(conn: &mut AnyConnection, id: &InvitationId) -> Result<bool> {
    let n =
        sqlx::query("UPDATE invitations SET state = 'REVOKED' WHERE id = $1 AND state = 'PENDING'")
            .bind(id.as_str())
            .execute(conn)
            .await?
            .rows_affected();
    Ok(n == 1)
}

/// Invitations, newest first, optionally of one team and/or account.
pub async fn list_invitations(
    conn: &mut AnyConnection,
    team: Option<&TeamId>,
    account: Option<&AccountId>,
    before_id: Option<&str>,
    limit: i64,
) -> Result<Vec<Invitation>> {
    let sql = format!(
        "{INVITATION_SELECT} WHERE ($1 = '' OR i.team = $1) AND ($2 = '' OR i.account_id = $2) \
         AND ($3 = '' OR i.id < $3) ORDER BY i.id DESC LIMIT $4"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(team.map(TeamId::as_str).unwrap_or(""))
        .bind(account.map(AccountId::as_str).unwrap_or(""))
        .bind(before_id.unwrap_or(""))
        .bind(limit + 1)
        .fetch_all(conn)
        .await?
        .iter()
        .map(invitation)
        .collect()
}

/// A service account as stored.
#[derive(Debug, Clone)]
pub struct ServiceAccountRow {
    pub id: ServiceAccountId,
    pub display_name: String,
    pub scopes: Vec<String>,
    pub create_time: i64,
}

fn service_account(row: &AnyRow) -> Result<ServiceAccountRow> {
    Ok(ServiceAccountRow {
        id: ServiceAccountId::from_db(row.try_get("id")?),
        display_name: row.try_get("display_name")?,
        scopes: split_scopes(&row.try_get::<String, _>("scopes")?),
        create_time: row.try_get("create_time")?,
    })
}

fn split_scopes(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_owned).collect()
}

pub async fn upsert_service_account(
    conn: &mut AnyConnection,
    sa: &ServiceAccountRow,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO service_accounts (id, display_name, scopes, create_time) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (id) DO UPDATE SET display_name = excluded.display_name, scopes = excluded.scopes",
    )
    .bind(sa.id.as_str())
    .bind(&sa.display_name)
    .bind(sa.scopes.join(" "))
    .bind(sa.create_time)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get_service_account(
    conn: &mut AnyConnection,
    id: &ServiceAccountId,
) -> Result<Option<ServiceAccountRow>> {
    sqlx::query("SELECT id, display_name, scopes, create_time FROM service_accounts WHERE id = $1")
        .bind(id.as_str())
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(service_account)
        .transpose()
}

pub async fn list_service_accounts(
    conn: &mut AnyConnection,
    after_id: Option<&str>,
    limit: i64,
) -> Result<Vec<ServiceAccountRow>> {
    sqlx::query(
        "SELECT id, display_name, scopes, create_time FROM service_accounts WHERE id > $1 ORDER BY id LIMIT $2",
    )
    .bind(after_id.unwrap_or(""))
    .bind(limit + 1)
    .fetch_all(conn)
    .await?
    .iter()
    .map(service_account)
    .collect()
}

pub async fn delete_service_account(
    conn: &mut AnyConnection,
    id: &ServiceAccountId,
) -> Result<bool> {
    sqlx::query("DELETE FROM credentials WHERE owner = $1")
        .bind(id.name())
        .execute(&mut *conn)
        .await?;
    let n = sqlx::query("DELETE FROM service_accounts WHERE id = $1")
        .bind(id.as_str())
        .execute(conn)
        .await?
        .rows_affected();
    Ok(n == 1)
}

/// A client credential as stored.
#[derive(Debug, Clone)]
pub struct CredentialRow {
    pub id: String,
    pub client_id: String,
    /// `accounts/{id}` or `serviceAccounts/{id}`.
    pub owner: String,
    pub secret_hash: String,
    pub scopes: Vec<String>,
    pub create_time: i64,
    pub last_use_time: Option<i64>,
}

fn credential(row: &AnyRow) -> Result<CredentialRow> {
    Ok(CredentialRow {
        id: row.try_get("id")?,
        client_id: row.try_get("client_id")?,
        owner: row.try_get("owner")?,
        secret_hash: row.try_get("secret_hash")?,
        scopes: split_scopes(&row.try_get::<String, _>("scopes")?),
        create_time: row.try_get("create_time")?,
        last_use_time: row.try_get("last_use_time")?,
    })
}

const CREDENTIAL_COLUMNS: &str =
    "id, client_id, owner, secret_hash, scopes, create_time, last_use_time";

/// Creates a credential, or replaces the secret of the one with this id.
pub async fn upsert_credential(conn: &mut AnyConnection, c: &CredentialRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO credentials (id, client_id, owner, secret_hash, scopes, create_time) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (id) DO UPDATE SET secret_hash = excluded.secret_hash, scopes = excluded.scopes",
    )
    .bind(&c.id)
    .bind(&c.client_id)
    .bind(&c.owner)
    .bind(&c.secret_hash)
    .bind(c.scopes.join(" "))
    .bind(c.create_time)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn find_credential(
    conn: &mut AnyConnection,
    client_id: &str,
) -> Result<Option<CredentialRow>> {
    let sql = format!("SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE client_id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(client_id)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(credential)
        .transpose()
}

pub async fn list_credentials(conn: &mut AnyConnection, owner: &str) -> Result<Vec<CredentialRow>> {
    let sql = format!("SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE owner = $1 ORDER BY id");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(owner)
        .fetch_all(conn)
        .await?
        .iter()
        .map(credential)
        .collect()
}

pub async fn delete_credential(conn: &mut AnyConnection, owner: &str, id: &str) -> Result<bool> {
    let n = sqlx::query("DELETE FROM credentials WHERE owner = $1 AND id = $2")
        .bind(owner)
        .bind(id)
        .execute(conn)
        .await?
        .rows_affected();
    Ok(n == 1)
}

pub async fn touch_credential(conn: &mut AnyConnection, id: &str, now: i64) -> Result<()> {
    sqlx::query("UPDATE credentials SET last_use_time = $2 WHERE id = $1")
        .bind(id)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}
