//! Contracts and subscriptions: recording purchases, adding seats, moving
//! a subscription between teams, the contract manager and coordinator.

use super::*;

/// One page of contracts with their subscriptions, and the next page's token.
pub type ContractPage = (Vec<(Contract, Vec<Subscription>)>, String);

impl Contracts<'_> {
    /// R-TEAM-1, R-TEAM-3: the owner's newest administered team, created
    /// when they have none.
    #[tracing::instrument(name = "entitlement.service.owner_team", skip_all)]
    pub(crate) async fn owner_team(&self, owner: &AccountId) -> Result<TeamId> {
        self.team.ensure_owner_team(owner).await
    }

    /// Adds a subscription's seats to its team's pool and gives the owner
    /// a seat, sign-in or classic (R-SEAT-6).
    #[tracing::instrument(name = "entitlement.service.add_subscription", skip_all)]
    pub(crate) async fn add_subscription(
        &self,
        tx: &mut WriteTx,
        meta: &ChangeMeta,
        contract: &Contract,
        product: &Product,
        seats: SeatCount,
        owner: &MemberInfo,
    ) -> Result<(Subscription, Vec<NewEvent>)> {
        let sub = Subscription {
            id: SubscriptionId::generate(),
            contract: contract.id.clone(),
            product: product.id.clone(),
            seats: seats.get(),
            team: contract.team.clone(),
            create_time: meta.now_micros,
        };
        let pool = store::lock_pool(tx.conn(), &sub.team, &product.id).await?;
        check_activation(pool.as_ref(), contract.activation, &sub.id.name())?;
        store::insert_subscription(tx.conn(), &sub).await?;
        store::add_pool_seats(
            tx.conn(),
            &sub.team,
            &product.id,
            seats.get(),
            contract.activation,
            &contract.serial_number,
        )
        .await?;
        store::record_pool_day(tx.conn(), &sub.team, &product.id, day_of(meta.now_micros)).await?;
        let mut events = vec![subscription_created(meta, &sub, contract)];
        // R-SEAT-6: sign-in and classic alike (seeds 003, 004: "assigned by
        // default on all new licenses").
        {
            let items = product.owner_seat_items(contract.activation);
            let seat = Seat {
                team: &sub.team,
                person: owner,
                product,
                items: &items,
                source: Source::Direct,
            };
            match Seats::of(self).give_seat(tx, meta, seat).await {
                Ok((_, _, evs)) => events.extend(evs),
                // The owner's seat is a courtesy: a full pool (or a classic
                // item at its limit) does not stop the purchase.
                Err(EntitlementError::NoSeat { .. }) => {}
                Err(EntitlementError::Precondition { kind, .. }) if is_classic_limit(kind) => {}
                Err(e) => return Err(e),
            }
        }
        Ok((sub, events))
    }

    /// Records a purchase (R-TEAM-3, R-SEAT-6, R-MAIL-4).
    #[tracing::instrument(name = "entitlement.service.create_contract", skip_all)]
    pub async fn create_contract(
        &self,
        ctx: &Ctx,
        new: NewContract,
        subscriptions: Vec<(ProductId, SeatCount)>,
        key: Option<&RequestKey>,
    ) -> Result<(Contract, Vec<Subscription>)> {
        authorize(&ctx.caller, Action::RecordPurchase)?;
        {
            let mut conn = self.db.conn().await?;
            let now = self.meta(ctx).now_micros;
            if let Some(first) = idempotency::replayed(&mut conn, key, now).await? {
                return self
                    .get_contract(&ctx.caller, &ContractId::from_db(first))
                    .await;
            }
            for (p, _) in &subscriptions {
                store::get_product(&mut conn, p)
                    .await?
                    .ok_or_else(|| EntitlementError::not_found("product", p.name()))?;
            }
        }
        let team = self.owner_team(&new.owner).await?;
        let owner = self
            .members(&team, &[&new.owner])
            .await?
            .remove(&new.owner)
            .ok_or_else(|| {
                EntitlementError::Internal("the owner is not in their own team".into())
            })?;
        let meta = self.meta(ctx);
        let contract = Contract {
            id: ContractId::generate(),
            owner: new.owner.clone(),
            owner_email: owner.email.clone(),
            activation: new.activation,
            serial_number: new.serial_number,
            plan: new.plan,
            billing: new.billing,
            collaboration_site: new.collaboration_site,
            sso_enabled: new.sso_enabled,
            team,
            // R-CLS-1: the coordinator starts as the contract manager.
            coordinator: new.owner,
            create_time: meta.now_micros,
            end_day: new.end_day,
        };
        let mut tx = self.begin().await?;
        store::insert_contract(tx.conn(), &contract).await?;
        // A concurrent first try with the same id fails here and rolls back.
        idempotency::remember_if(tx.conn(), key, contract.id.as_str(), meta.now_micros).await?;
        let mut events = Vec::new();
        let mut subs = Vec::new();
        let mut names = HashMap::new();
        for (product_id, seats) in subscriptions {
            let product = Catalog::product_in(&mut tx, &product_id).await?;
            let (sub, evs) = self
                .add_subscription(&mut tx, &meta, &contract, &product, seats, &owner)
                .await?;
            names.insert(product.id.name(), product.display_name.clone());
            subs.push(sub);
            events.extend(evs);
        }
        events.insert(0, contract_created(&meta, &contract, &subs, names));
        self.commit(tx, &events).await?;
        tracing::info!(contract = %contract.id, team = %contract.team, owner = %contract.owner, "contract recorded");
        Ok((contract, subs))
    }

    #[tracing::instrument(name = "entitlement.service.contract_in", skip_all)]
    pub(crate) async fn contract_in(
        conn: &mut sqlx::AnyConnection,
        id: &ContractId,
    ) -> Result<Contract> {
        store::get_contract(conn, id)
            .await?
            .ok_or_else(|| EntitlementError::not_found("contract", id.name()))
    }

    #[tracing::instrument(name = "entitlement.service.get_contract", skip_all)]
    pub async fn get_contract(
        &self,
        caller: &Caller,
        id: &ContractId,
    ) -> Result<(Contract, Vec<Subscription>)> {
        let mut conn = self.db.conn().await?;
        let c = Self::contract_in(&mut conn, id).await?;
        drop(conn);
        let standing = self.standing(caller, &c.team).await?;
        authorize(
            caller,
            Action::ReadContract {
                contract: &c,
                standing,
            },
        )?;
        let mut conn = self.db.conn().await?;
        let subs = store::list_subscriptions(&mut conn, None, Some(&c.id), None, 10_000).await?;
        Ok((c, subs))
    }

    #[tracing::instrument(name = "entitlement.service.list_contracts", skip_all)]
    pub async fn list_contracts(
        &self,
        caller: &Caller,
        account: Option<&AccountId>,
        team: Option<&TeamId>,
        page_size: i32,
        page_token: &str,
    ) -> Result<ContractPage> {
        let team_admin = match (team, account) {
            (Some(t), None) => self.standing(caller, t).await? == TeamStanding::Admin,
            _ => false,
        };
        if !team_admin {
            authorize(caller, Action::ListContractsOf { account })?;
        }
        let limit = paging::page_size(page_size)?;
        let after = paging::decode_token(page_token)?;
        let mut conn = self.db.conn().await?;
        let rows = store::list_contracts(&mut conn, account, team, after.as_deref(), limit).await?;
        let (rows, next) = paging::finish(rows, limit, |c| c.id.as_str().to_owned());
        let mut out = Vec::with_capacity(rows.len());
        for c in rows {
            let subs =
                store::list_subscriptions(&mut conn, None, Some(&c.id), None, 10_000).await?;
            out.push((c, subs));
        }
        Ok((out, next))
    }

    /// R-CLS-1: the contract manager appoints the software coordinator, a
    /// member of the contract's team.
    #[tracing::instrument(name = "entitlement.service.set_software_coordinator", skip_all)]
    pub async fn set_software_coordinator(
        &self,
        ctx: &Ctx,
        id: &ContractId,
        coordinator: &AccountId,
    ) -> Result<Contract> {
        let mut conn = self.db.conn().await?;
        let c = Self::contract_in(&mut conn, id).await?;
        drop(conn);
        authorize(
            &ctx.caller,
            Action::ActAsContractManager { owner: &c.owner },
        )?;
        if c.activation != ActivationType::SerialNumber {
            return Err(EntitlementError::Precondition {
                kind: "NOT_CLASSIC",
                subject: id.name(),
                message: "only classic (serial number) contracts have a software coordinator"
                    .into(),
            });
        }
        if !self
            .members(&c.team, &[coordinator])
            .await?
            .contains_key(coordinator)
        {
            return Err(EntitlementError::not_found(
                "member",
                format!("{}/members/{coordinator}", c.team.name()),
            ));
        }
        let mut tx = self.begin().await?;
        store::set_coordinator(tx.conn(), id, coordinator).await?;
        let c = Contract {
            coordinator: coordinator.clone(),
            ..c
        };
        let event = contract_updated(&self.meta(ctx), &c);
        self.commit(tx, &[event]).await?;
        Ok(c)
    }

    /// R-CLS-1: passes the contract manager role (and the contract's
    /// ownership) to another member of its team; team makes them a
    /// secondary admin when it reads the change. The coordinator stays.
    #[tracing::instrument(name = "entitlement.service.set_contract_manager", skip_all)]
    pub async fn set_contract_manager(
        &self,
        ctx: &Ctx,
        id: &ContractId,
        manager: &AccountId,
    ) -> Result<Contract> {
        let mut conn = self.db.conn().await?;
        let c = Self::contract_in(&mut conn, id).await?;
        drop(conn);
        authorize(&ctx.caller, Action::PassContractManager { owner: &c.owner })?;
        let member = self
            .members(&c.team, &[manager])
            .await?
            .remove(manager)
            .ok_or_else(|| {
                EntitlementError::not_found(
                    "member",
                    format!("{}/members/{manager}", c.team.name()),
                )
            })?;
        let mut tx = self.begin().await?;
        store::set_owner(tx.conn(), id, manager, member.email.as_str()).await?;
        let c = Contract {
            owner: manager.clone(),
            owner_email: member.email.clone(),
            ..c
        };
        let event = contract_updated(&self.meta(ctx), &c);
        self.commit(tx, &[event]).await?;
        tracing::info!(contract = %id, manager = %manager, "contract manager passed on");
        Ok(c)
    }

    /// R-TEAM-3: a subscription added to a contract goes to its team.
    #[tracing::instrument(name = "entitlement.service.create_subscription", skip_all)]
    pub async fn create_subscription(
        &self,
        ctx: &Ctx,
        contract_id: &ContractId,
        product_id: &ProductId,
        seats: SeatCount,
        key: Option<&RequestKey>,
    ) -> Result<(Subscription, Contract)> {
        authorize(&ctx.caller, Action::RecordPurchase)?;
        let mut conn = self.db.conn().await?;
        let contract = Self::contract_in(&mut conn, contract_id).await?;
        drop(conn);
        let owner = self
            .members(&contract.team, &[&contract.owner])
            .await?
            .remove(&contract.owner);
        let owner = owner.unwrap_or(MemberInfo {
            account: contract.owner.clone(),
            email: contract.owner_email.clone(),
            admin: false,
        });
        let meta = self.meta(ctx);
        let mut tx = self.begin().await?;
        if let Some(first) = idempotency::replayed(tx.conn(), key, meta.now_micros).await? {
            tx.commit().await?;
            return self
                .subscription_and_contract(&SubscriptionId::from_db(first))
                .await;
        }
        let product = Catalog::product_in(&mut tx, product_id).await?;
        let (sub, events) = self
            .add_subscription(&mut tx, &meta, &contract, &product, seats, &owner)
            .await?;
        idempotency::remember_if(tx.conn(), key, sub.id.as_str(), meta.now_micros).await?;
        self.commit(tx, &events).await?;
        Ok((sub, contract))
    }

    #[tracing::instrument(name = "entitlement.service.subscription_and_contract", skip_all)]
    pub(crate) async fn subscription_and_contract(
        &self,
        id: &SubscriptionId,
    ) -> Result<(Subscription, Contract)> {
        let mut conn = self.db.conn().await?;
        let sub = store::get_subscription(&mut conn, id)
            .await?
            .ok_or_else(|| EntitlementError::not_found("subscription", id.name()))?;
        let contract = Self::contract_in(&mut conn, &sub.contract).await?;
        Ok((sub, contract))
    }

    #[tracing::instrument(name = "entitlement.service.get_subscription", skip_all)]
    pub async fn get_subscription(
        &self,
        caller: &Caller,
        id: &SubscriptionId,
    ) -> Result<(Subscription, Contract)> {
        let (sub, contract) = self.subscription_and_contract(id).await?;
        let standing = self.standing(caller, &sub.team).await?;
        authorize(
            caller,
            Action::ReadContract {
                contract: &contract,
                standing,
            },
        )?;
        Ok((sub, contract))
    }

    #[tracing::instrument(name = "entitlement.service.list_subscriptions", skip_all)]
    pub async fn list_subscriptions(
        &self,
        caller: &Caller,
        team: Option<&TeamId>,
        contract_id: Option<&ContractId>,
        page_size: i32,
        page_token: &str,
    ) -> Result<(Vec<(Subscription, Contract)>, String)> {
        let allowed = match (team, contract_id) {
            (_, Some(c)) => {
                let mut conn = self.db.conn().await?;
                let contract = Self::contract_in(&mut conn, c).await?;
                drop(conn);
                let standing = self.standing(caller, &contract.team).await?;
                authorize(
                    caller,
                    Action::ReadContract {
                        contract: &contract,
                        standing,
                    },
                )
                .is_ok()
            }
            (Some(t), None) => {
                caller.has_scope(allot_platform::auth::scopes::CONTRACTS)
                    || self.standing(caller, t).await? == TeamStanding::Admin
            }
            (None, None) => caller.has_scope(allot_platform::auth::scopes::CONTRACTS),
        };
        if !allowed && !caller.is_internal() {
            return Err(EntitlementError::PermissionDenied(
                "this needs an admin role in the team, the contract's manager or coordinator, or the `contracts` scope".into(),
            ));
        }
        let limit = paging::page_size(page_size)?;
        let after = paging::decode_token(page_token)?;
        let mut conn = self.db.conn().await?;
        let rows = store::list_subscriptions(&mut conn, team, contract_id, after.as_deref(), limit)
            .await?;
        let (rows, next) = paging::finish(rows, limit, |s| s.id.as_str().to_owned());
        let mut out = Vec::with_capacity(rows.len());
        for s in rows {
            let c = Self::contract_in(&mut conn, &s.contract).await?;
            out.push((s, c));
        }
        Ok((out, next))
    }

    /// R-TEAM-3: added seats stay in the subscription's team.
    #[tracing::instrument(name = "entitlement.service.add_seats", skip_all)]
    pub async fn add_seats(
        &self,
        ctx: &Ctx,
        id: &SubscriptionId,
        seats: SeatCount,
        key: Option<&RequestKey>,
    ) -> Result<(Subscription, Contract)> {
        authorize(&ctx.caller, Action::RecordPurchase)?;
        let meta = self.meta(ctx);
        let mut tx = self.begin().await?;
        let mut sub = store::get_subscription(tx.conn(), id)
            .await?
            .ok_or_else(|| EntitlementError::not_found("subscription", id.name()))?;
        let contract = Self::contract_in(tx.conn(), &sub.contract).await?;
        if let Some(key) = key {
            let claim =
                idempotency::claim(tx.conn(), key, meta.now_micros, idempotency::retention())
                    .await?;
            if let Claim::Replay(first) = claim {
                // The first answer's seat count; nothing changes.
                sub.seats = first.parse().unwrap_or(sub.seats);
                return Ok((sub, contract));
            }
        }
        let previous = sub.seats;
        sub.seats = seats.added_to(sub.seats)?;
        store::lock_pool(tx.conn(), &sub.team, &sub.product).await?;
        store::set_subscription(tx.conn(), &sub).await?;
        store::add_pool_seats(
            tx.conn(),
            &sub.team,
            &sub.product,
            seats.get(),
            contract.activation,
            &contract.serial_number,
        )
        .await?;
        if let Some(key) = key {
            idempotency::remember(tx.conn(), key, &sub.seats.to_string(), meta.now_micros).await?;
        }
        store::record_pool_day(tx.conn(), &sub.team, &sub.product, day_of(meta.now_micros)).await?;
        let event = subscription_resized(&meta, &sub, &contract, previous);
        self.commit(tx, &[event]).await?;
        Ok((sub, contract))
    }

    /// R-TEAM-4: the contract manager moves a subscription to another team;
    /// its assignments stay behind.
    #[tracing::instrument(name = "entitlement.service.move_subscription", skip_all)]
    pub async fn move_subscription(
        &self,
        ctx: &Ctx,
        id: &SubscriptionId,
        target: &TeamId,
    ) -> Result<(Subscription, Contract)> {
        let (sub, contract) = self.subscription_and_contract(id).await?;
        authorize(
            &ctx.caller,
            Action::ActAsContractManager {
                owner: &contract.owner,
            },
        )?;
        if sub.team == *target {
            return Err(EntitlementError::invalid(
                "target_team",
                "the subscription already sits in this team",
            ));
        }
        let owner_in_target = self.members(target, &[&contract.owner]).await?;
        check_move_target(
            owner_in_target
                .get(&contract.owner)
                .is_some_and(|m| m.admin),
        )?;
        let mut tx = self.begin().await?;
        let mut sub = store::get_subscription(tx.conn(), id)
            .await?
            .ok_or_else(|| EntitlementError::not_found("subscription", id.name()))?;
        let source = store::lock_pool(tx.conn(), &sub.team, &sub.product)
            .await?
            .ok_or_else(|| EntitlementError::Internal(format!("subscription {id} has no pool")))?;
        check_move(
            &contract,
            &id.name(),
            source.seats - sub.seats,
            source.assigned,
        )?;
        let dest = store::lock_pool(tx.conn(), target, &sub.product).await?;
        check_activation(dest.as_ref(), contract.activation, &id.name())?;
        let previous = sub.team.clone();
        store::remove_pool_seats(tx.conn(), &previous, &sub.product, sub.seats).await?;
        store::add_pool_seats(
            tx.conn(),
            target,
            &sub.product,
            sub.seats,
            contract.activation,
            &contract.serial_number,
        )
        .await?;
        sub.team = target.clone();
        store::set_subscription(tx.conn(), &sub).await?;
        let meta = self.meta(ctx);
        let day = day_of(meta.now_micros);
        store::record_pool_day(tx.conn(), &previous, &sub.product, day).await?;
        store::record_pool_day(tx.conn(), target, &sub.product, day).await?;
        let event = subscription_moved(&meta, &sub, &contract, &previous);
        self.commit(tx, &[event]).await?;
        tracing::info!(subscription = %id, from = %previous, to = %target, "subscription moved");
        Ok((sub, contract))
    }
}
