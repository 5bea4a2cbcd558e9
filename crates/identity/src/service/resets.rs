//! Resetting a forgotten password through a single-use emailed link that
//! works for an hour (R-AUTH-2).

use super::*;
use crate::domain::{Password, RESET_VALIDITY_SECONDS, RESETS_PER_HOUR, hash_password};

/// The shape of a reset link's token (as accept tokens: 43 URL-safe
/// characters).
fn parse_reset_token(token: &str) -> Result<&str> {
    let t = token.trim();
    let well_formed = t.len() == 43
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !well_formed {
        return Err(IdentityError::invalid(
            "token",
            "is not a password reset token (copy the whole token from the link in the email)",
        ));
    }
    Ok(t)
}

fn reset_refused(kind: &'static str, id: &str, message: &str) -> IdentityError {
    IdentityError::Precondition {
        kind,
        subject: format!("passwordResets/{id}"),
        message: message.into(),
    }
}

/// Whether a reset link can still be used at `now` (Unix seconds).
fn check_usable(reset: &store::ResetRow, now: i64) -> Result<()> {
    if reset.used {
        return Err(reset_refused(
            "RESET_USED",
            &reset.id,
            "this reset link was used already; ask for a new one",
        ));
    }
    if reset.expire_time <= now {
        return Err(reset_refused(
            "RESET_EXPIRED",
            &reset.id,
            "this reset link has expired (links work for an hour); ask for a new one",
        ));
    }
    Ok(())
}

impl Passwords<'_> {
    /// R-AUTH-2: a reset link for an active account's address, mailed by
    /// notification. Nothing tells the caller whether the address has an
    /// account; past [`RESETS_PER_HOUR`] links an hour, no more are made.
    #[tracing::instrument(name = "identity.service.request_password_reset", skip_all)]
    pub async fn request_reset(
        &self,
        request_id: &str,
        email: &str,
        address: Option<&str>,
    ) -> Result<()> {
        let email = Email::parse("email", email)?;
        let now = self.clock.now().unix_timestamp();
        let mut tx = self.begin().await?;
        if let Some(address) = address {
            // Counted whatever the address names, before anything is
            // looked up: the answer says nothing about accounts.
            let subject = format!("reset-address:{address}");
            let (requests, last) = store::sign_in_failures(tx.conn(), &subject).await?;
            if let Some(wait_seconds) = crate::domain::reset_request_wait(requests, last, now) {
                return Err(IdentityError::ResetRequestsThrottled {
                    requests,
                    wait_seconds,
                });
            }
            store::record_sign_in_failure(
                tx.conn(),
                &subject,
                now,
                now - crate::domain::RESET_REQUEST_MEMORY_SECONDS,
            )
            .await?;
        }
        let account = store::find_account_by_email(tx.conn(), &email)
            .await?
            .filter(|a| a.state == AccountState::Active);
        let Some(account) = account else {
            tx.commit().await?;
            return Ok(());
        };
        if store::resets_since(tx.conn(), &account.id, now - 3600).await? >= RESETS_PER_HOUR {
            tracing::info!(account = %account.id, "password reset not sent: this hour's links were sent already");
            tx.commit().await?;
            return Ok(());
        }
        let id = new_id();
        let token = self.invitation_key.reset_token(&id);
        let expire_time = now + RESET_VALIDITY_SECONDS;
        store::insert_reset(
            tx.conn(),
            &id,
            &account.id,
            &hash_secret(&token),
            now,
            expire_time,
        )
        .await?;
        let meta = ChangeMeta {
            actor: account.id.name(),
            request_id: request_id.to_owned(),
            now_micros: self.now(),
        };
        let event = password_reset_requested(&meta, &id, &account, expire_time);
        self.outbox.commit(tx, &[event]).await?;
        tracing::info!(account = %account.id, "password reset link made");
        Ok(())
    }

    /// The token of a reset link, for its email; refused once it was used
    /// or has expired.
    pub async fn reset_token(&self, caller: &Caller, name: &str) -> Result<(String, i64)> {
        authorize(caller, Action::IssueResetToken)?;
        let id = name.strip_prefix("passwordResets/").unwrap_or(name);
        let mut conn = self.db.conn().await?;
        let reset = store::get_reset(&mut conn, id)
            .await?
            .ok_or_else(|| IdentityError::not_found("password reset", name.to_owned()))?;
        check_usable(&reset, self.clock.now().unix_timestamp())?;
        Ok((
            self.invitation_key.reset_token(&reset.id),
            reset.expire_time,
        ))
    }

    /// R-AUTH-2: a new password with a reset link's token. The link stops
    /// working, every session of the person ends, and past failed
    /// sign-ins are forgotten.
    #[tracing::instrument(name = "identity.service.reset_password", skip_all)]
    pub async fn reset_password(&self, token: &str, new_password: &str) -> Result<()> {
        let token = parse_reset_token(token)?;
        let now = self.clock.now().unix_timestamp();
        let mut conn = self.db.conn().await?;
        let reset = store::find_reset_by_hash(&mut conn, &hash_secret(token))
            .await?
            .ok_or_else(|| {
                IdentityError::invalid(
                    "token",
                    "belongs to no reset link; copy the whole link from the newest email, or ask for a new one",
                )
            })?;
        check_usable(&reset, now)?;
        let account = store::get_account(&mut conn, &reset.account_id)
            .await?
            .ok_or_else(|| IdentityError::not_found("account", reset.account_id.name()))?;
        drop(conn);
        let password = Password::parse("new_password", new_password, &account.email)?;
        let hash = tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .map_err(|e| IdentityError::Internal(format!("password hash: {e}")))?
            .map_err(IdentityError::Internal)?;
        let mut tx = self.begin().await?;
        if !store::use_reset(tx.conn(), &reset.id, now).await? {
            return Err(reset_refused(
                "RESET_USED",
                &reset.id,
                "this reset link was used already; ask for a new one",
            ));
        }
        store::set_password(tx.conn(), &account.id, &hash, now).await?;
        let ended = store::end_sessions_of(tx.conn(), &account.id, self.now()).await?;
        let subject = format!("email:{}", account.email.key());
        store::clear_sign_in_failures(tx.conn(), &subject).await?;
        tx.commit().await?;
        tracing::info!(account = %account.id, sessions_ended = ended, "password reset");
        Ok(())
    }
}
