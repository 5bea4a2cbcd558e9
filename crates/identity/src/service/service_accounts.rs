//! Service accounts for platforms that call Allot (R-AUTH).

use super::*;

impl ServiceAccounts<'_> {
    #[tracing::instrument(name = "identity.service.create_service_account", skip_all)]
    pub async fn create_service_account(
        &self,
        ctx: &Ctx,
        display_name: String,
        scopes: Vec<String>,
    ) -> Result<ServiceAccountRow> {
        authorize(&ctx.caller, Action::ManageServiceAccounts)?;
        let sa = ServiceAccountRow {
            id: ServiceAccountId::generate(),
            display_name,
            scopes,
            create_time: self.now(),
        };
        let mut tx = self.begin().await?;
        store::upsert_service_account(tx.conn(), &sa).await?;
        let event = service_account_event(&self.meta(ctx), &sa, false);
        self.outbox.commit(tx, &[event]).await?;
        Ok(sa)
    }

    #[tracing::instrument(name = "identity.service.get_service_account", skip_all)]
    pub async fn get_service_account(
        &self,
        caller: &Caller,
        id: &ServiceAccountId,
    ) -> Result<ServiceAccountRow> {
        authorize(caller, Action::ManageServiceAccounts)?;
        let mut conn = self.db.conn().await?;
        store::get_service_account(&mut conn, id)
            .await?
            .ok_or_else(|| IdentityError::not_found("service account", id.name()))
    }

    #[tracing::instrument(name = "identity.service.list_service_accounts", skip_all)]
    pub async fn list_service_accounts(
        &self,
        caller: &Caller,
        page_size: i32,
        page_token: &str,
    ) -> Result<(Vec<ServiceAccountRow>, String)> {
        authorize(caller, Action::ManageServiceAccounts)?;
        let limit = paging::page_size(page_size)?;
        let after = paging::decode_token(page_token)?;
        let mut conn = self.db.conn().await?;
        let rows = store::list_service_accounts(&mut conn, after.as_deref(), limit).await?;
        Ok(paging::finish(rows, limit, |s| s.id.as_str().to_owned()))
    }

    #[tracing::instrument(name = "identity.service.update_service_account", skip_all)]
    pub async fn update_service_account(
        &self,
        ctx: &Ctx,
        id: &ServiceAccountId,
        display_name: Option<String>,
        scopes: Option<Vec<String>>,
    ) -> Result<ServiceAccountRow> {
        authorize(&ctx.caller, Action::ManageServiceAccounts)?;
        protect_internal(id)?;
        let mut tx = self.begin().await?;
        let mut sa = store::get_service_account(tx.conn(), id)
            .await?
            .ok_or_else(|| IdentityError::not_found("service account", id.name()))?;
        if let Some(d) = display_name {
            sa.display_name = d;
        }
        if let Some(s) = scopes {
            sa.scopes = s;
        }
        store::upsert_service_account(tx.conn(), &sa).await?;
        let event = service_account_event(&self.meta(ctx), &sa, false);
        self.outbox.commit(tx, &[event]).await?;
        Ok(sa)
    }

    #[tracing::instrument(name = "identity.service.delete_service_account", skip_all)]
    pub async fn delete_service_account(&self, ctx: &Ctx, id: &ServiceAccountId) -> Result<()> {
        authorize(&ctx.caller, Action::ManageServiceAccounts)?;
        protect_internal(id)?;
        let mut tx = self.begin().await?;
        let sa = store::get_service_account(tx.conn(), id)
            .await?
            .ok_or_else(|| IdentityError::not_found("service account", id.name()))?;
        store::delete_service_account(tx.conn(), id).await?;
        let event = service_account_event(&self.meta(ctx), &sa, true);
        self.outbox.commit(tx, &[event]).await?;
        Ok(())
    }
}
