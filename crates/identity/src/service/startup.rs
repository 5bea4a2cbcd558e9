//! Start-up: the internal client Allot's services use and the bootstrap
//! administrator.

use super::*;
use crate::domain::{Password, RESET_VALIDITY_SECONDS, hash_password};

impl Startup<'_> {
    /// Makes sure the service account Allot's services call each other with
    /// exists and accepts `secret`.
    #[tracing::instrument(name = "identity.service.ensure_internal_client", skip_all)]
    pub async fn ensure_internal_client(&self, secret: &str) -> Result<()> {
        let now = self.now();
        let id = ServiceAccountId::from_db(INTERNAL_SERVICE_ACCOUNT.to_owned());
        let mut tx = self.begin().await?;
        store::upsert_service_account(
            tx.conn(),
            &ServiceAccountRow {
                id: id.clone(),
                display_name: "Allot services".into(),
                scopes: vec![scopes::INTERNAL.to_owned()],
                create_time: now,
            },
        )
        .await?;
        store::upsert_credential(
            tx.conn(),
            &CredentialRow {
                id: INTERNAL_SERVICE_ACCOUNT.to_owned(),
                client_id: INTERNAL_SERVICE_ACCOUNT.to_owned(),
                owner: id.name(),
                secret_hash: hash_secret(secret),
                scopes: Vec::new(),
                create_time: now,
                last_use_time: None,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Creates the bootstrap administrator on first start: an active person
    /// with an `admin` credential. Returns `None` when it already exists.
    #[tracing::instrument(name = "identity.service.bootstrap", skip_all)]
    pub async fn bootstrap(
        &self,
        email: &Email,
        client_id: &str,
        secret: Option<&str>,
    ) -> Result<Option<BootstrapCredential>> {
        let mut tx = self.begin().await?;
        if store::bootstrap_account(tx.conn()).await?.is_some() {
            // The configured secret is the administrator's: a changed one
            // replaces the old (rotation); none configured keeps it.
            if let Some(secret) = secret
                && let Some(mut credential) = store::find_credential(tx.conn(), client_id).await?
                && !hashes_equal(&credential.secret_hash, &hash_secret(secret))
            {
                credential.secret_hash = hash_secret(secret);
                store::upsert_credential(tx.conn(), &credential).await?;
                tx.commit().await?;
                tracing::info!(
                    client_id,
                    "the bootstrap administrator's secret is now the configured one"
                );
            }
            return Ok(None);
        }
        let now = self.now();
        let account = match store::find_account_by_email(tx.conn(), email).await? {
            Some(a) => {
                store::mark_bootstrap(tx.conn(), &a.id).await?;
                a
            }
            None => {
                let a = Account {
                    id: AccountId::generate(),
                    email: email.clone(),
                    given_name: "Allot".into(),
                    family_name: "Administrator".into(),
                    state: AccountState::Active,
                    create_time: now,
                    activate_time: Some(now),
                };
                store::insert_account(tx.conn(), &a, true).await?;
                a
            }
        };
        let generated = secret.is_none().then(random_secret);
        let secret_value = secret
            .map(str::to_owned)
            .or_else(|| generated.clone())
            .unwrap_or_default();
        store::upsert_credential(
            tx.conn(),
            &CredentialRow {
                id: new_id(),
                client_id: client_id.to_owned(),
                owner: account.id.name(),
                secret_hash: hash_secret(&secret_value),
                scopes: vec![scopes::ADMIN.to_owned()],
                create_time: now,
                last_use_time: None,
            },
        )
        .await?;
        let meta = ChangeMeta {
            actor: Caller::system().name(),
            request_id: String::new(),
            now_micros: now,
        };
        let event = account_created(&meta, &account, true);
        self.outbox.commit(tx, &[event]).await?;
        tracing::info!(account = %account.id, email = %account.email, "bootstrap administrator created");
        Ok(Some(BootstrapCredential {
            account,
            client_id: client_id.to_owned(),
            generated_secret: generated,
        }))
    }
}

impl Startup<'_> {
    /// Gives the bootstrap administrator `password` while they have none
    /// (R-AUTH-1's rules apply): a password they chose since is kept.
    /// Returns whether it was set.
    #[tracing::instrument(name = "identity.service.bootstrap_password", skip_all)]
    pub async fn ensure_admin_password(&self, password: &str) -> Result<bool> {
        let mut conn = self.db.conn().await?;
        let Some(admin) = store::bootstrap_account(&mut conn).await? else {
            return Ok(false);
        };
        if store::password_hash(&mut conn, &admin.id).await?.is_some() {
            return Ok(false);
        }
        drop(conn);
        let password = Password::parse("bootstrap.admin_password", password, &admin.email)
            .map_err(|v| IdentityError::Config(v.to_string()))?;
        let hash = tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .map_err(|e| IdentityError::Internal(format!("password hash: {e}")))?
            .map_err(IdentityError::Internal)?;
        let mut tx = self.begin().await?;
        store::set_password(
            tx.conn(),
            &admin.id,
            &hash,
            self.clock.now().unix_timestamp(),
        )
        .await?;
        tx.commit().await?;
        tracing::info!(account = %admin.id, "the bootstrap administrator's first password is set");
        Ok(true)
    }

    /// `allot dev`: while the bootstrap administrator has no password, the
    /// token of a fresh single-use link (an hour, as a reset link) with
    /// which they choose one in the console.
    #[tracing::instrument(name = "identity.service.bootstrap_password_link", skip_all)]
    pub async fn admin_password_token(&self) -> Result<Option<String>> {
        let mut tx = self.begin().await?;
        let Some(admin) = store::bootstrap_account(tx.conn()).await? else {
            return Ok(None);
        };
        if store::password_hash(tx.conn(), &admin.id).await?.is_some() {
            return Ok(None);
        }
        let now = self.clock.now().unix_timestamp();
        let id = new_id();
        let token = self.invitation_key.reset_token(&id);
        store::insert_reset(
            tx.conn(),
            &id,
            &admin.id,
            &hash_secret(&token),
            now,
            now + RESET_VALIDITY_SECONDS,
        )
        .await?;
        tx.commit().await?;
        Ok(Some(token))
    }
}
