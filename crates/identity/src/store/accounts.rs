//! Accounts as stored: people, their names and state.

use super::*;

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
    insert_account_rows(conn, std::slice::from_ref(a), bootstrap).await
}

/// Adds new accounts, a few hundred per statement.
pub async fn insert_accounts(conn: &mut AnyConnection, accounts: &[Account]) -> Result<()> {
    insert_account_rows(conn, accounts, false).await
}

async fn insert_account_rows(
    conn: &mut AnyConnection,
    accounts: &[Account],
    bootstrap: bool,
) -> Result<()> {
    for chunk in accounts.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO accounts (id, email, email_key, given_name, family_name, state, bootstrap, create_time, activate_time) VALUES {}",
            values_rows(chunk.len(), 9, 1)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for a in chunk {
            q = q
                .bind(a.id.as_str())
                .bind(a.email.as_str())
                .bind(a.email.key())
                .bind(&a.given_name)
                .bind(&a.family_name)
                .bind(a.state.as_db())
                .bind(i64::from(bootstrap))
                .bind(a.create_time)
                .bind(a.activate_time);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// The accounts of these addresses, by their [`Email::key`]; addresses
/// without one are left out.
pub async fn accounts_by_email(
    conn: &mut AnyConnection,
    emails: &[&Email],
) -> Result<std::collections::HashMap<String, Account>> {
    let mut found = std::collections::HashMap::new();
    for chunk in emails.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE email_key IN ({})",
            params(chunk.len(), 1)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for e in chunk {
            q = q.bind(e.key());
        }
        for row in q.fetch_all(&mut *conn).await? {
            let a = account(&row)?;
            found.insert(a.email.key().to_owned(), a);
        }
    }
    Ok(found)
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
