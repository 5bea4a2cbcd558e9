//! Accounts: reading, looking up by email within the caller's teams,
//! and updating names.

use super::*;

impl Accounts<'_> {
    #[tracing::instrument(name = "identity.service.get_account", skip_all)]
    pub async fn get_account(&self, caller: &Caller, id: &AccountId) -> Result<Account> {
        authorize(caller, Action::ReadAccount(id))?;
        let mut conn = self.db.conn().await?;
        store::get_account(&mut conn, id)
            .await?
            .ok_or_else(|| IdentityError::not_found("account", id.name()))
    }

    #[tracing::instrument(name = "identity.service.lookup_account", skip_all)]
    pub async fn lookup_account(&self, caller: &Caller, email: &Email) -> Result<Account> {
        let mut conn = self.db.conn().await?;
        let found = store::find_account_by_email(&mut conn, email).await?;
        // Whoever may not list accounts learns nothing from the answer:
        // an unknown address and someone else's are refused alike
        // (R-INV-1). Only their own address is answered.
        match (authorize(caller, Action::ListAccounts), found) {
            (Ok(()), found) => {
                found.ok_or_else(|| IdentityError::not_found("account with email", email.as_str()))
            }
            (Err(_), Some(a)) if authorize(caller, Action::ReadAccount(&a.id)).is_ok() => Ok(a),
            (Err(denied), _) => Err(denied),
        }
    }

    #[tracing::instrument(name = "identity.service.list_accounts", skip_all)]
    pub async fn list_accounts(
        &self,
        caller: &Caller,
        prefix: &str,
        page_size: i32,
        page_token: &str,
    ) -> Result<(Vec<Account>, String)> {
        authorize(caller, Action::ListAccounts)?;
        let limit = paging::page_size(page_size)?;
        let after = paging::decode_token(page_token)?;
        let mut conn = self.db.conn().await?;
        let rows = store::list_accounts(&mut conn, prefix, after.as_deref(), limit).await?;
        Ok(paging::finish(rows, limit, |a| a.email.key().to_owned()))
    }

    #[tracing::instrument(name = "identity.service.batch_get_accounts", skip_all)]
    pub async fn batch_get_accounts(
        &self,
        caller: &Caller,
        ids: &[AccountId],
    ) -> Result<Vec<Account>> {
        if ids.len() > 1000 {
            return Err(IdentityError::invalid(
                "names",
                "at most 1000 names per call",
            ));
        }
        let mut conn = self.db.conn().await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            authorize(caller, Action::ReadAccount(id))?;
            let a = store::get_account(&mut conn, id)
                .await?
                .ok_or_else(|| IdentityError::not_found("account", id.name()))?;
            out.push(a);
        }
        Ok(out)
    }

    #[tracing::instrument(name = "identity.service.update_account", skip_all)]
    pub async fn update_account(
        &self,
        ctx: &Ctx,
        id: &AccountId,
        given_name: Option<String>,
        family_name: Option<String>,
    ) -> Result<Account> {
        authorize(&ctx.caller, Action::UpdateAccount(id))?;
        let mut tx = self.begin().await?;
        let mut a = store::get_account(tx.conn(), id)
            .await?
            .ok_or_else(|| IdentityError::not_found("account", id.name()))?;
        if let Some(g) = given_name {
            a.given_name = g;
        }
        if let Some(f) = family_name {
            a.family_name = f;
        }
        store::update_account_names(tx.conn(), id, &a.given_name, &a.family_name).await?;
        let event = account_updated(&self.meta(ctx), &a);
        self.outbox.commit(tx, &[event]).await?;
        Ok(a)
    }
}
