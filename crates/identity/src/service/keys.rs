//! Keys: long-lived secrets a person or service account exchanges for
//! tokens.

use super::*;

impl Keys<'_> {
    /// The owner of keys named by `parent`: a service account or a person.
    #[tracing::instrument(name = "identity.service.key_owner", skip_all)]
    pub(crate) async fn key_owner(&self, caller: &Caller, parent: &str) -> Result<Principal> {
        let mut conn = self.db.conn().await?;
        if let Ok(sa) = ServiceAccountId::parse("parent", parent) {
            authorize(
                caller,
                Action::ManageKeys {
                    owner_account: None,
                },
            )?;
            store::get_service_account(&mut conn, &sa)
                .await?
                .ok_or_else(|| IdentityError::not_found("service account", parent))?;
            return Ok(Principal::ServiceAccount(sa));
        }
        let account = AccountId::parse("parent", parent).map_err(|_| {
            IdentityError::invalid("parent", "must be serviceAccounts/{id} or accounts/{id}")
        })?;
        authorize(
            caller,
            Action::ManageKeys {
                owner_account: Some(&account),
            },
        )?;
        store::get_account(&mut conn, &account)
            .await?
            .ok_or_else(|| IdentityError::not_found("account", parent))?;
        Ok(Principal::Account(account))
    }

    /// A new client credential; the secret is returned once.
    #[tracing::instrument(name = "identity.service.create_key", skip_all)]
    pub async fn create_key(
        &self,
        caller: &Caller,
        parent: &str,
    ) -> Result<(CredentialRow, String)> {
        let owner = self.key_owner(caller, parent).await?;
        protect_internal_principal(&owner)?;
        let secret = random_secret();
        let id = new_id();
        let cred = CredentialRow {
            client_id: id.clone(),
            id,
            owner: owner.name(),
            secret_hash: hash_secret(&secret),
            scopes: Vec::new(),
            create_time: self.now(),
            last_use_time: None,
        };
        let mut tx = self.begin().await?;
        store::upsert_credential(tx.conn(), &cred).await?;
        tx.commit().await?;
        Ok((cred, secret))
    }

    #[tracing::instrument(name = "identity.service.list_keys", skip_all)]
    pub async fn list_keys(&self, caller: &Caller, parent: &str) -> Result<Vec<CredentialRow>> {
        let owner = self.key_owner(caller, parent).await?;
        let mut conn = self.db.conn().await?;
        Ok(store::list_credentials(&mut conn, &owner.name()).await?)
    }

    #[tracing::instrument(name = "identity.service.delete_key", skip_all)]
    pub async fn delete_key(&self, caller: &Caller, name: &str) -> Result<()> {
        let (parent, id) = name
            .rsplit_once("/keys/")
            .ok_or_else(|| IdentityError::invalid("name", "must be {parent}/keys/{key}"))?;
        let owner = self.key_owner(caller, parent).await?;
        protect_internal_principal(&owner)?;
        let mut tx = self.begin().await?;
        if !store::delete_credential(tx.conn(), &owner.name(), id).await? {
            return Err(IdentityError::not_found("key", name));
        }
        tx.commit().await?;
        Ok(())
    }
}
