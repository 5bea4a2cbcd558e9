//! The product catalog: products and their items, as Allot's catalog scope
//! publishes them (R-SEAT-4 items, R-CLS-3 classic products).

use super::*;

impl Catalog<'_> {
    #[tracing::instrument(name = "entitlement.service.create_product", skip_all)]
    pub async fn create_product(
        &self,
        ctx: &Ctx,
        id: ProductId,
        display_name: String,
        items: Vec<Item>,
    ) -> Result<Product> {
        authorize(&ctx.caller, Action::ManageCatalog)?;
        let meta = self.meta(ctx);
        let product = Product {
            id,
            display_name,
            items,
            create_time: meta.now_micros,
        };
        let mut tx = self.begin().await?;
        if store::get_product(tx.conn(), &product.id).await?.is_some() {
            return Err(EntitlementError::AlreadyExists(format!(
                "product {} exists",
                product.id.name()
            )));
        }
        store::insert_product(tx.conn(), &product).await?;
        let event = product_changed(&meta, &product);
        self.commit(tx, &[event]).await?;
        Ok(product)
    }

    #[tracing::instrument(name = "entitlement.service.get_product", skip_all)]
    pub async fn get_product(&self, caller: &Caller, id: &ProductId) -> Result<Product> {
        authorize(caller, Action::ReadCatalog)?;
        let mut conn = self.db.conn().await?;
        store::get_product(&mut conn, id)
            .await?
            .ok_or_else(|| EntitlementError::not_found("product", id.name()))
    }

    #[tracing::instrument(name = "entitlement.service.list_products", skip_all)]
    pub async fn list_products(
        &self,
        caller: &Caller,
        page_size: i32,
        page_token: &str,
    ) -> Result<(Vec<Product>, String)> {
        authorize(caller, Action::ReadCatalog)?;
        let limit = paging::page_size(page_size)?;
        let after = paging::decode_token(page_token)?;
        let mut conn = self.db.conn().await?;
        let rows = store::list_products(&mut conn, after.as_deref(), limit).await?;
        Ok(paging::finish(rows, limit, |p| p.id.as_str().to_owned()))
    }

    /// Renames a product and/or its items, and adds items; items are never
    /// removed (people may hold them).
    #[tracing::instrument(name = "entitlement.service.update_product", skip_all)]
    pub async fn update_product(
        &self,
        ctx: &Ctx,
        id: &ProductId,
        display_name: Option<String>,
        items: Option<Vec<Item>>,
    ) -> Result<Product> {
        authorize(&ctx.caller, Action::ManageCatalog)?;
        let mut tx = self.begin().await?;
        let mut product = store::get_product(tx.conn(), id)
            .await?
            .ok_or_else(|| EntitlementError::not_found("product", id.name()))?;
        if let Some(name) = display_name {
            store::rename_product(tx.conn(), id, &name).await?;
            product.display_name = name;
        }
        if let Some(items) = items {
            let missing: Vec<&str> = product
                .items
                .iter()
                .filter(|old| !items.iter().any(|i| i.id == old.id))
                .map(|i| i.id.as_str())
                .collect();
            if !missing.is_empty() {
                return Err(EntitlementError::invalid(
                    "product.items",
                    format!(
                        "items cannot be removed (people may hold them); missing: {}",
                        missing.join(", ")
                    ),
                ));
            }
            let mut added = Vec::new();
            for item in items {
                match product.items.iter_mut().find(|i| i.id == item.id) {
                    Some(existing) if existing.kind != item.kind => {
                        return Err(EntitlementError::invalid(
                            "product.items",
                            format!("the kind of item {} cannot change", item.id),
                        ));
                    }
                    Some(existing) => {
                        if existing.display_name != item.display_name {
                            existing.display_name = item.display_name.clone();
                            store::update_item_name(tx.conn(), id, &item).await?;
                        }
                    }
                    None => added.push(item),
                }
            }
            store::add_items(tx.conn(), id, product.items.len(), &added).await?;
            product.items.extend(added);
        }
        let event = product_changed(&self.meta(ctx), &product);
        self.commit(tx, &[event]).await?;
        Ok(product)
    }

    /// A product, from the check's index when it has it (the catalog only
    /// grows, and writers wait for the index), else from the database.
    #[tracing::instrument(name = "entitlement.service.product_of", skip_all)]
    pub(crate) async fn product_of(&self, tx: &mut WriteTx, id: &ProductId) -> Result<Product> {
        match self.projection.product(id.as_str()) {
            Some(p) => Ok(p),
            None => Self::product_in(tx, id).await,
        }
    }

    /// How a pool is activated, from the index when it has it; NOT_FOUND
    /// when the team holds no seats of the product.
    #[tracing::instrument(name = "entitlement.service.activation_of", skip_all)]
    pub(crate) async fn activation_of(
        &self,
        tx: &mut WriteTx,
        team: &TeamId,
        product: &ProductId,
    ) -> Result<ActivationType> {
        if let Some(a) = self.projection.activation(team.as_str(), product.as_str()) {
            return Ok(a);
        }
        Ok(store::get_pool(tx.conn(), team, product)
            .await?
            .ok_or_else(|| Self::no_pool(team, product))?
            .activation)
    }

    /// R-CLS-7 and R-ROLE-2: who may change seats of `product` in `team`:
    /// on a classic pool its contract's manager or coordinator, whatever
    /// their team role; on the others the team's admins.
    #[tracing::instrument(name = "entitlement.service.authorize_seats", skip_all)]
    pub(crate) async fn authorize_seats(
        &self,
        caller: &Caller,
        team: &TeamId,
        product: &ProductId,
        standing: TeamStanding,
    ) -> Result<()> {
        if self.activation_in(team, product).await? != Some(ActivationType::SerialNumber) {
            return authorize(caller, Action::ManageSeats { standing });
        }
        let holds_role = match caller.account() {
            Some(me) => {
                let mut conn = self.db.conn().await?;
                store::holds_classic_role(&mut conn, team, product, me).await?
            }
            None => false,
        };
        authorize(caller, Action::ManageClassicSeats { holds_role })
    }

    /// How `team` holds `product`, when it holds it at all.
    #[tracing::instrument(name = "entitlement.service.activation_in", skip_all)]
    pub(crate) async fn activation_in(
        &self,
        team: &TeamId,
        product: &ProductId,
    ) -> Result<Option<ActivationType>> {
        if let Some(a) = self.projection.activation(team.as_str(), product.as_str()) {
            return Ok(Some(a));
        }
        let mut conn = self.db.conn().await?;
        Ok(store::get_pool(&mut conn, team, product)
            .await?
            .map(|p| p.activation))
    }

    pub(crate) fn no_pool(team: &TeamId, product: &ProductId) -> EntitlementError {
        EntitlementError::not_found("pool", format!("{}/pools/{product}", team.name()))
    }

    /// Locks a pool (NOT_FOUND when the team holds no seats of it).
    #[tracing::instrument(name = "entitlement.service.locked_pool", skip_all)]
    pub(crate) async fn locked_pool(
        tx: &mut WriteTx,
        team: &TeamId,
        product: &ProductId,
    ) -> Result<Pool> {
        store::lock_pool(tx.conn(), team, product)
            .await?
            .ok_or_else(|| Self::no_pool(team, product))
    }

    #[tracing::instrument(name = "entitlement.service.product_in", skip_all)]
    pub(crate) async fn product_in(tx: &mut WriteTx, id: &ProductId) -> Result<Product> {
        store::get_product(tx.conn(), id)
            .await?
            .ok_or_else(|| EntitlementError::not_found("product", id.name()))
    }
}
