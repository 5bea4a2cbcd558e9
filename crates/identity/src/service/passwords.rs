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
        tx.commit().await?;
        let (token, exp) = self
            .issuer
            .issue(&Principal::Account(account.id.clone()), None, &[], now)
            .map_err(|e| IdentityError::Internal(e.to_string()))?;
        tracing::info!(account = %account.id, "signed in");
        Ok((token, exp, account))
    }
}
