//! Signing in with email and password (R-AUTH-2), and slowing repeated
//! failures down per account and per address.

use super::*;
use crate::domain::{
    FAILURE_MEMORY_SECONDS, FREE_FAILURES, FREE_FAILURES_PER_ADDRESS, MAX_PASSWORD_CHARS,
    verify_password, wait_before_next,
};

/// The most characters a sign-in's password field may carry (a longer one
/// can be no one's password, and hashing it costs).
const MAX_INPUT_CHARS: usize = MAX_PASSWORD_CHARS;

/// Someone signing in: the email and password they typed, and the address
/// they came from, if known.
#[derive(Debug)]
pub struct SignIn<'a> {
    pub email: &'a str,
    pub password: &'a str,
    pub address: Option<&'a str>,
}

impl Passwords<'_> {
    /// R-AUTH-2: a bearer token for the person whose email and password
    /// these are. An unknown email and a wrong password get the same
    /// answer; each failure counts against the account and the address,
    /// and past a few, the next attempt must wait, doubling each time.
    #[tracing::instrument(name = "identity.service.sign_in", skip_all)]
    pub async fn sign_in(&self, attempt: SignIn<'_>) -> Result<(String, i64, Account)> {
        let email = Email::parse("email", attempt.email)?;
        if attempt.password.is_empty() {
            return Err(IdentityError::invalid("password", "is required"));
        }
        if attempt.password.chars().count() > MAX_INPUT_CHARS {
            return Err(IdentityError::invalid(
                "password",
                format!("may have at most {MAX_INPUT_CHARS} characters"),
            ));
        }
        let now = self.clock.now().unix_timestamp();
        let account_subject = format!("email:{}", email.key());
        let address_subject = attempt.address.map(|a| format!("address:{a}"));
        let mut conn = self.db.conn().await?;
        for (subject, free, whose) in [
            (
                Some(account_subject.as_str()),
                FREE_FAILURES,
                "for this account",
            ),
            (
                address_subject.as_deref(),
                FREE_FAILURES_PER_ADDRESS,
                "from this address",
            ),
        ] {
            let Some(subject) = subject else { continue };
            let (failures, last) = store::sign_in_failures(&mut conn, subject).await?;
            let recent = last >= now - FAILURE_MEMORY_SECONDS;
            if let Some(wait_seconds) = recent
                .then(|| wait_before_next(failures, last, free, now))
                .flatten()
            {
                return Err(IdentityError::SignInThrottled {
                    whose,
                    failures,
                    wait_seconds,
                });
            }
        }
        let account = store::find_account_by_email(&mut conn, &email).await?;
        let stored = match &account {
            Some(a) => store::password_hash(&mut conn, &a.id).await?,
            None => None,
        };
        drop(conn);
        // The slow part, off the database: argon2id by design.
        let password = attempt.password.to_owned();
        let matches =
            tokio::task::spawn_blocking(move || verify_password(stored.as_deref(), &password))
                .await
                .map_err(|e| IdentityError::Internal(format!("password check: {e}")))?;
        let mut tx = self.begin().await?;
        let Some(account) = account.filter(|_| matches) else {
            let forget_before = now - FAILURE_MEMORY_SECONDS;
            store::record_sign_in_failure(tx.conn(), &account_subject, now, forget_before).await?;
            if let Some(a) = &address_subject {
                store::record_sign_in_failure(tx.conn(), a, now, forget_before).await?;
            }
            tx.commit().await?;
            tracing::info!("sign-in refused: wrong email or password");
            return Err(IdentityError::BadPassword);
        };
        store::clear_sign_in_failures(tx.conn(), &account_subject).await?;
        let session = new_id();
        let exp = now + i64::try_from(self.issuer.ttl().as_secs()).unwrap_or(3600);
        store::insert_session(tx.conn(), &session, &account.id, now, exp).await?;
        tx.commit().await?;
        let (token, exp) = self
            .issuer
            .issue_session(&account.id, &session, now, exp)
            .map_err(|e| IdentityError::Internal(e.to_string()))?;
        tracing::info!(account = %account.id, "signed in");
        Ok((token, exp, account))
    }

    /// R-AUTH-2: signing out ends the caller's session; its tokens stop
    /// working at every service.
    #[tracing::instrument(name = "identity.service.sign_out", skip_all)]
    pub async fn sign_out(&self, ctx: &Ctx) -> Result<()> {
        let (Some(account), Some(session)) = (ctx.caller.account(), ctx.caller.session.as_ref())
        else {
            return Err(IdentityError::Precondition {
                kind: "NO_SESSION",
                subject: ctx.caller.principal.name(),
                message: "this token is not from signing in (it came from a key); there is no session to end".into(),
            });
        };
        let mut tx = self.begin().await?;
        store::end_session(tx.conn(), session, account, self.now()).await?;
        tx.commit().await?;
        tracing::info!(account = %account, "signed out");
        Ok(())
    }

    /// R-AUTH-2: a new token for the caller's open session, until the
    /// session's maximum age; the session's expiry follows, so ending it
    /// later still refuses the newest token.
    #[tracing::instrument(name = "identity.service.refresh_session", skip_all)]
    pub async fn refresh_session(&self, ctx: &Ctx) -> Result<(String, i64, Account)> {
        let (Some(account), Some(session)) = (ctx.caller.account(), ctx.caller.session.as_ref())
        else {
            return Err(IdentityError::Precondition {
                kind: "NO_SESSION",
                subject: ctx.caller.principal.name(),
                message: "this token is not from signing in (it came from a key); there is no session to renew".into(),
            });
        };
        let now = self.clock.now().unix_timestamp();
        let mut tx = self.begin().await?;
        let stored = store::get_session(tx.conn(), session)
            .await?
            .filter(|s| &s.account_id == account)
            .ok_or(IdentityError::SessionEnded)?;
        if stored.end_time.is_some() {
            return Err(IdentityError::SessionEnded);
        }
        let ttl = i64::try_from(self.issuer.ttl().as_secs()).unwrap_or(3600);
        let max_age = i64::try_from(self.session_max_age.as_secs()).unwrap_or(i64::MAX);
        let Some(exp) = crate::domain::renewed_expiry(stored.create_time, now, ttl, max_age) else {
            return Err(IdentityError::Precondition {
                kind: "SESSION_TOO_OLD",
                subject: format!("sessions/{session}"),
                message: format!(
                    "this session began more than {} ago; sign in again",
                    humantime::format_duration(self.session_max_age)
                ),
            });
        };
        if !store::extend_session(tx.conn(), session, exp).await? {
            return Err(IdentityError::SessionEnded);
        }
        let person = store::get_account(tx.conn(), account)
            .await?
            .ok_or_else(|| IdentityError::not_found("account", account.name()))?;
        tx.commit().await?;
        let (token, exp) = self
            .issuer
            .issue_session(account, session, now, exp)
            .map_err(|e| IdentityError::Internal(e.to_string()))?;
        Ok((token, exp, person))
    }

    /// R-AUTH-2: a person changes their password, giving the current one;
    /// every session of theirs ends, this one too: they sign in again.
    #[tracing::instrument(name = "identity.service.change_password", skip_all)]
    pub async fn change_password(&self, ctx: &Ctx, current: &str, new: &str) -> Result<()> {
        let Some(account_id) = ctx
            .caller
            .account()
            .cloned()
            .filter(|_| ctx.caller.actor.is_none())
        else {
            return Err(IdentityError::PermissionDenied(
                "only the person themselves changes their password".into(),
            ));
        };
        let now = self.clock.now().unix_timestamp();
        let mut conn = self.db.conn().await?;
        let account = store::get_account(&mut conn, &account_id)
            .await?
            .ok_or_else(|| IdentityError::not_found("account", account_id.name()))?;
        let subject = format!("email:{}", account.email.key());
        let (failures, last) = store::sign_in_failures(&mut conn, &subject).await?;
        if let Some(wait_seconds) = (last >= now - FAILURE_MEMORY_SECONDS)
            .then(|| wait_before_next(failures, last, FREE_FAILURES, now))
            .flatten()
        {
            return Err(IdentityError::SignInThrottled {
                whose: "for this account",
                failures,
                wait_seconds,
            });
        }
        let Some(stored) = store::password_hash(&mut conn, &account_id).await? else {
            return Err(IdentityError::Precondition {
                kind: "NO_PASSWORD",
                subject: account_id.name(),
                message:
                    "this account has no password yet; it is chosen when accepting an invitation"
                        .into(),
            });
        };
        drop(conn);
        let fresh = crate::domain::Password::parse("new_password", new, &account.email)?;
        let current = current.to_owned();
        let checked = tokio::task::spawn_blocking(move || {
            verify_password(Some(&stored), &current).then(|| crate::domain::hash_password(&fresh))
        })
        .await
        .map_err(|e| IdentityError::Internal(format!("password check: {e}")))?;
        let mut tx = self.begin().await?;
        let Some(hash) = checked else {
            store::record_sign_in_failure(tx.conn(), &subject, now, now - FAILURE_MEMORY_SECONDS)
                .await?;
            tx.commit().await?;
            return Err(IdentityError::invalid(
                "current_password",
                "is not your password",
            ));
        };
        let hash = hash.map_err(IdentityError::Internal)?;
        store::set_password(tx.conn(), &account_id, &hash, now).await?;
        let ended = store::end_sessions_of(tx.conn(), &account_id, self.now()).await?;
        tx.commit().await?;
        tracing::info!(account = %account_id, sessions_ended = ended, "password changed");
        Ok(())
    }

    /// The sessions that ended since `after_micros` (their tokens not all
    /// expired yet), for every service to refuse: `(session, until,
    /// ended_at_micros)`. Allot's own services ask.
    pub async fn ended_sessions(
        &self,
        caller: &Caller,
        after_micros: i64,
    ) -> Result<Vec<(String, i64, i64)>> {
        authorize(caller, Action::ReadEndedSessions)?;
        let mut conn = self.db.conn().await?;
        let now = self.clock.now().unix_timestamp();
        Ok(store::ended_sessions(&mut conn, after_micros, now, ENDED_SESSIONS_PAGE).await?)
    }
}

/// The most ended sessions one answer carries.
pub const ENDED_SESSIONS_PAGE: i64 = 1000;
