//! Invitations and their accept tokens as stored (R-INV-*).

use super::*;

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

/// Adds new invitations with their tokens' hashes, a few hundred per
/// statement.
pub async fn insert_invitations(
    conn: &mut AnyConnection,
    invitations: &[(Invitation, String)],
) -> Result<()> {
    for chunk in invitations.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO invitations (id, account_id, team, team_display_name, inviter, inviter_display_name, \
             state, generation, create_time, expire_time, accept_time) VALUES {}",
            values_rows(chunk.len(), 11, 1)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (i, _) in chunk {
            q = q
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
                .bind(i.accept_time);
        }
        q.execute(&mut *conn).await?;
        let sql = format!(
            "INSERT INTO invitation_tokens (token_hash, invitation_id, generation) VALUES {}",
            values_rows(chunk.len(), 3, 1)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (i, hash) in chunk {
            q = q.bind(hash).bind(i.id.as_str()).bind(i.generation);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Invitations by id (those that exist), by id.
pub async fn get_invitations(
    conn: &mut AnyConnection,
    ids: &[&InvitationId],
) -> Result<std::collections::HashMap<String, Invitation>> {
    let mut found = std::collections::HashMap::new();
    for chunk in ids.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "{INVITATION_SELECT} WHERE i.id IN ({})",
            params(chunk.len(), 1)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in chunk {
            q = q.bind(id.as_str());
        }
        for row in q.fetch_all(&mut *conn).await? {
            let inv = invitation(&row)?;
            found.insert(inv.id.as_str().to_owned(), inv);
        }
    }
    Ok(found)
}

/// The pending invitations into `team` of these accounts, by account id.
pub async fn pending_invitations(
    conn: &mut AnyConnection,
    accounts: &[&AccountId],
    team: &TeamId,
) -> Result<std::collections::HashMap<String, Invitation>> {
    let mut found = std::collections::HashMap::new();
    for chunk in accounts.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "{INVITATION_SELECT} WHERE i.team = $1 AND i.state = 'PENDING' AND i.account_id IN ({})",
            params(chunk.len(), 2)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(team.as_str());
        for a in chunk {
            q = q.bind(a.as_str());
        }
        for row in q.fetch_all(&mut *conn).await? {
            let inv = invitation(&row)?;
            found.insert(inv.account_id.as_str().to_owned(), inv);
        }
    }
    Ok(found)
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

/// Counts `count` invitation emails of `team` against its hourly share.
pub async fn record_invitation_sends(
    conn: &mut AnyConnection,
    team: &TeamId,
    now_micros: i64,
    count: usize,
) -> Result<()> {
    let mut left = count;
    while left > 0 {
        let rows = left.min(ROWS_PER_STATEMENT);
        let sql = format!(
            "INSERT INTO invitation_sends (team, send_time) VALUES {}",
            values_rows(rows, 2, 1)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for _ in 0..rows {
            q = q.bind(team.as_str()).bind(now_micros);
        }
        q.execute(&mut *conn).await?;
        left -= rows;
    }
    Ok(())
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
