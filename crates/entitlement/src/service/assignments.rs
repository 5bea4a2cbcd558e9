//! One assignment: reading it, listing a team's, changing its items and
//! unassigning (R-SEAT-4, R-SEAT-7, R-USE-3).

use super::*;

impl Seats<'_> {
    #[tracing::instrument(name = "entitlement.service.assignment_in", skip_all)]
    pub(crate) async fn assignment_in(
        conn: &mut sqlx::AnyConnection,
        team: &TeamId,
        id: &AssignmentId,
    ) -> Result<Assignment> {
        store::get_assignment(conn, team, id, store::Read::Plain)
            .await?
            .ok_or_else(|| no_assignment(team, id))
    }

    /// [`Seats::assignment_in`] for a write: locked until `tx` ends.
    pub(crate) async fn locked_assignment_in(
        tx: &mut WriteTx,
        team: &TeamId,
        id: &AssignmentId,
    ) -> Result<Assignment> {
        store::get_assignment(tx.conn(), team, id, store::Read::ForWrite)
            .await?
            .ok_or_else(|| no_assignment(team, id))
    }

    #[tracing::instrument(name = "entitlement.service.get_assignment", skip_all)]
    pub async fn get_assignment(
        &self,
        caller: &Caller,
        team: &TeamId,
        id: &AssignmentId,
    ) -> Result<Assignment> {
        let mut conn = self.db.conn().await?;
        let a = Self::assignment_in(&mut conn, team, id).await?;
        drop(conn);
        let standing = self.standing(caller, team).await?;
        authorize(
            caller,
            Action::ReadSeatsOf {
                account: &a.account,
                standing,
            },
        )?;
        Ok(a)
    }

    /// Assignments of a team, of one person (their own, R-SEAT-7), of one
    /// product, or under one contract (its coordinator, R-CLS-2).
    /// When each assignment's holder last launched its product (R-USE-3),
    /// flushing recorded launches first.
    #[tracing::instrument(name = "entitlement.service.last_uses", skip_all)]
    pub async fn last_uses(
        &self,
        team: &TeamId,
        rows: &[Assignment],
    ) -> Result<HashMap<(String, String), i64>> {
        if rows.is_empty() {
            return Ok(HashMap::new());
        }
        self.usage.flush().await;
        let accounts: Vec<&AccountId> = rows.iter().map(|a| &a.account).collect();
        let mut conn = self.db.conn().await?;
        Ok(store::last_uses(&mut conn, team, &accounts).await?)
    }

    #[tracing::instrument(name = "entitlement.service.list_assignments", skip_all)]
    pub async fn list_assignments(
        &self,
        caller: &Caller,
        team: &TeamId,
        query: &AssignmentQuery,
        page_size: i32,
        page_token: &str,
    ) -> Result<(Vec<Assignment>, String)> {
        let standing = self.standing(caller, team).await?;
        let (account, product) = (query.account.as_ref(), query.product.as_ref());
        let mut conn = self.db.conn().await?;
        let contract_products = match &query.contract {
            Some(c) => {
                let contract = Contracts::contract_in(&mut conn, c).await?;
                if contract.team != *team {
                    return Err(EntitlementError::not_found(
                        "contract",
                        format!("{} in {}", c.name(), team.name()),
                    ));
                }
                authorize(
                    caller,
                    Action::ReadContractSeats {
                        contract: &contract,
                        standing,
                    },
                )?;
                Some(store::contract_products(&mut conn, c, team).await?)
            }
            None => {
                match account {
                    Some(a) => authorize(
                        caller,
                        Action::ReadSeatsOf {
                            account: a,
                            standing,
                        },
                    )?,
                    None => authorize(caller, Action::ReadSeats { standing })?,
                }
                None
            }
        };
        let limit = paging::page_size(page_size)?;
        let after = paging::decode_token(page_token)?;
        let filter = AssignmentFilter {
            account,
            product,
            products: contract_products.as_deref(),
        };
        let rows =
            store::list_assignments(&mut conn, team, &filter, after.as_deref(), limit).await?;
        Ok(paging::finish(rows, limit, store::assignment_key))
    }

    /// R-SEAT-4: changes the items; none left frees the seat.
    #[tracing::instrument(name = "entitlement.service.update_assignment_items", skip_all)]
    pub async fn update_assignment_items(
        &self,
        ctx: &Ctx,
        team: &TeamId,
        id: &AssignmentId,
        items: Vec<String>,
    ) -> Result<Option<Assignment>> {
        self.authorize_assignment(&ctx.caller, team, id).await?;
        let meta = self.meta(ctx);
        let mut tx = self.begin().await?;
        let a = Self::locked_assignment_in(&mut tx, team, id).await?;
        if items.is_empty() {
            // No items left is unassigning, with its rules (FROM_GROUP).
            let (kept, events) = self.unassign(&mut tx, &meta, a).await?;
            self.commit(tx, &events).await?;
            return Ok(kept);
        }
        let mut a = a;
        let product = Catalog::of(self).product_of(&mut tx, &a.product).await?;
        let items = product.select_items("assignment.items", &items)?;
        if items == a.items {
            return Ok(Some(a));
        }
        if Catalog::of(self)
            .activation_of(&mut tx, team, &a.product)
            .await?
            == ActivationType::SerialNumber
        {
            let pool = Catalog::locked_pool(&mut tx, team, &a.product).await?;
            Self::check_classic_items(&mut tx, &pool, &product, &items, &a.items).await?;
            Self::reseat(&mut tx, &pool, &product, &a.items, &items).await?;
        }
        let previous = std::mem::replace(&mut a.items, items);
        store::update_assignment(tx.conn(), &a).await?;
        let event = items_changed(&meta, &a, &previous);
        self.commit(tx, &[event]).await?;
        Ok(Some(a))
    }

    /// Refuses `caller` unless they may change the seats of the product
    /// that assignment `id` of `team` is for (R-ROLE-2, R-CLS-7).
    async fn authorize_assignment(
        &self,
        caller: &Caller,
        team: &TeamId,
        id: &AssignmentId,
    ) -> Result<()> {
        let standing = self.standing(caller, team).await?;
        let product = {
            let mut conn = self.db.conn().await?;
            Self::assignment_in(&mut conn, team, id).await?.product
        };
        Catalog::of(self)
            .authorize_seats(caller, team, &product, standing)
            .await
    }

    /// R-SEAT-4: unassigns. A seat that also comes from a group stays until
    /// the person leaves the group or the group assignment goes.
    #[tracing::instrument(name = "entitlement.service.delete_assignment", skip_all)]
    pub async fn delete_assignment(
        &self,
        ctx: &Ctx,
        team: &TeamId,
        id: &AssignmentId,
    ) -> Result<()> {
        self.authorize_assignment(&ctx.caller, team, id).await?;
        let meta = self.meta(ctx);
        let mut tx = self.begin().await?;
        let a = Self::locked_assignment_in(&mut tx, team, id).await?;
        let (_, events) = self.unassign(&mut tx, &meta, a).await?;
        self.commit(tx, &events).await
    }

    /// Unassigns inside `tx` by `Assignment::unassign`: frees the seat, or
    /// keeps it for its groups (returned) with a `sources_changed` event.
    #[tracing::instrument(name = "entitlement.service.unassign", skip_all)]
    pub(crate) async fn unassign(
        &self,
        tx: &mut WriteTx,
        meta: &ChangeMeta,
        mut a: Assignment,
    ) -> Result<(Option<Assignment>, Vec<NewEvent>)> {
        match a.unassign()? {
            Unassign::Free => Ok((None, self.free_seat(tx, meta, &a).await?)),
            Unassign::KeepForGroups => {
                let before = a.clone();
                a.direct = false;
                store::update_assignment(tx.conn(), &a).await?;
                let event = sources_changed(meta, &a, &before);
                Ok((Some(a), vec![event]))
            }
        }
    }
}

/// NOT_FOUND for assignment `id` of `team`.
fn no_assignment(team: &TeamId, id: &AssignmentId) -> EntitlementError {
    EntitlementError::not_found("assignment", format!("{}/assignments/{id}", team.name()))
}
