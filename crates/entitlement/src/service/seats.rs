//! Seat assignments: by user, by product, items, unassigning (R-SEAT-2..4).

use super::*;

/// A person asking for a new seat in a batch: their place in it, who,
/// and which items.
pub(crate) struct NewSeat<'a> {
    pub index: usize,
    pub person: &'a MemberInfo,
    pub items: &'a [String],
}

/// What [`Seats::give_new_seats`] did: each result by its place, the
/// places left for one-by-one handling, the events.
pub(crate) type NewSeats = (Vec<(usize, AssignResult)>, Vec<usize>, Vec<NewEvent>);

impl Seats<'_> {
    /// R-CLS-4, R-CLS-5: a classic pool's limited items, for the items the
    /// person does not hold yet. The caller holds the pool's lock.
    #[tracing::instrument(name = "entitlement.service.check_classic_items", skip_all)]
    pub(crate) async fn check_classic_items(
        tx: &mut WriteTx,
        pool: &Pool,
        product: &Product,
        items: &[String],
        held: &[String],
    ) -> Result<()> {
        if pool.activation != ActivationType::SerialNumber {
            return Ok(());
        }
        for id in items.iter().filter(|i| !held.contains(i)) {
            if let Some(item) = product.item(id) {
                let holders =
                    store::count_item_holders(tx.conn(), &pool.team, &pool.product, id).await?;
                check_classic_item(pool, item, holders)?;
            }
        }
        Ok(())
    }

    /// R-SEAT-1: gives one person a seat of `product` in `team`, or adds a
    /// source to the seat they hold. A sign-in seat is one conditional
    /// write; a classic pool is locked first for its item limits. A full
    /// pool is `NoSeat` with the figures.
    #[tracing::instrument(name = "entitlement.service.give_seat", skip_all)]
    pub(crate) async fn give_seat(
        &self,
        tx: &mut WriteTx,
        meta: &ChangeMeta,
        seat: Seat<'_>,
    ) -> Result<(Outcome, Assignment, Vec<NewEvent>)> {
        let Seat {
            team,
            person,
            product,
            items: wanted_items,
            source,
        } = seat;
        let activation = Catalog::of(self)
            .activation_of(tx, team, &product.id)
            .await?;
        let items = product.select_items("items", wanted_items)?;
        if let Some(mut a) =
            store::lock_assignment(tx.conn(), team, &person.account, &product.id).await?
        {
            let previous = a.items.clone();
            let before = a.clone();
            let mut events = Vec::new();
            match &source {
                Source::Direct => {
                    a.direct = true;
                    if !wanted_items.is_empty() && a.items != items {
                        if activation == ActivationType::SerialNumber {
                            let pool = Catalog::locked_pool(tx, team, &product.id).await?;
                            Self::check_classic_items(tx, &pool, product, &items, &previous)
                                .await?;
                            Self::reseat(tx, &pool, product, &previous, &items).await?;
                        }
                        a.items = items;
                        events.push(items_changed(meta, &a, &previous));
                    }
                }
                Source::Group(g) => {
                    store::add_source(tx.conn(), &a.id, g).await?;
                    if !a.groups.contains(g) {
                        a.groups.push(g.clone());
                    }
                }
            }
            store::update_assignment(tx.conn(), &a).await?;
            if a.direct != before.direct || a.groups != before.groups {
                events.push(sources_changed(meta, &a, &before));
            }
            return Ok((Outcome::AlreadyAssigned, a, events));
        }
        let takes = if activation == ActivationType::SerialNumber {
            let pool = Catalog::locked_pool(tx, team, &product.id).await?;
            Self::check_classic_items(tx, &pool, product, &items, &[]).await?;
            takes_seat(activation, product, &items)
        } else {
            true
        };
        if takes && !store::take_seat(tx.conn(), team, &product.id).await? {
            let pool = store::get_pool(tx.conn(), team, &product.id)
                .await?
                .ok_or_else(|| Catalog::no_pool(team, &product.id))?;
            return Err(pool.exhausted());
        }
        let a = Assignment {
            id: AssignmentId::generate(),
            team: team.clone(),
            account: person.account.clone(),
            email: person.email.clone(),
            product: product.id.clone(),
            items,
            direct: source == Source::Direct,
            groups: match source {
                Source::Group(g) => vec![g],
                Source::Direct => Vec::new(),
            },
            create_time: meta.now_micros,
        };
        store::insert_assignment(tx.conn(), &a).await?;
        store::record_pool_day(tx.conn(), team, &product.id, day_of(meta.now_micros)).await?;
        let event = seat_assigned(meta, &a, product);
        Ok((Outcome::Assigned, a, vec![event]))
    }

    /// Takes or frees a seat when an assignment's items change whether it
    /// needs one (classic benefits). The caller holds the pool's lock.
    #[tracing::instrument(name = "entitlement.service.reseat", skip_all)]
    pub(crate) async fn reseat(
        tx: &mut WriteTx,
        pool: &Pool,
        product: &Product,
        before: &[String],
        after: &[String],
    ) -> Result<()> {
        let had = takes_seat(pool.activation, product, before);
        let needs = takes_seat(pool.activation, product, after);
        if needs && !had && !store::take_seat(tx.conn(), &pool.team, &pool.product).await? {
            let now = store::get_pool(tx.conn(), &pool.team, &pool.product)
                .await?
                .unwrap_or_else(|| pool.clone());
            return Err(now.exhausted());
        }
        if had && !needs {
            store::free_seat(tx.conn(), &pool.team, &pool.product).await?;
        }
        Ok(())
    }

    /// Frees a seat (R-SEAT-4): deletes the assignment, and gives its seat
    /// back if it held one.
    #[tracing::instrument(name = "entitlement.service.free_seat", skip_all)]
    pub(crate) async fn free_seat(
        &self,
        tx: &mut WriteTx,
        meta: &ChangeMeta,
        a: &Assignment,
    ) -> Result<Vec<NewEvent>> {
        store::delete_assignment(tx.conn(), &a.id).await?;
        let holds = match Catalog::of(self)
            .activation_of(tx, &a.team, &a.product)
            .await
        {
            Ok(ActivationType::SignIn) => true,
            Ok(activation) => {
                let product = Catalog::of(self).product_of(tx, &a.product).await?;
                takes_seat(activation, &product, &a.items)
            }
            Err(EntitlementError::NotFound { .. }) => false,
            Err(e) => return Err(e),
        };
        if holds {
            store::free_seat(tx.conn(), &a.team, &a.product).await?;
        }
        store::record_pool_day(tx.conn(), &a.team, &a.product, day_of(meta.now_micros)).await?;
        let mut events = vec![seat_unassigned(meta, a)];
        // R-SEAT-5: the freed seat goes to whoever waits for it.
        if holds {
            events.extend(
                self.seat_next_waiting(tx, meta, &a.team, &a.product)
                    .await?,
            );
        }
        Ok(events)
    }

    /// Gives seats to a batch of people in one transaction, each with its
    /// own outcome. A single request that cannot be met fails as a whole
    /// (RESOURCE_EXHAUSTED for a full pool) and writes nothing.
    #[tracing::instrument(name = "entitlement.service.assign_batch", skip_all)]
    pub(crate) async fn assign_batch(
        &self,
        ctx: &Ctx,
        team: &TeamId,
        requests: Vec<SeatRequest>,
        how: &str,
        key: Option<&RequestKey>,
    ) -> Result<Vec<AssignResult>> {
        if let Some((_, first)) = self.replayed_batch(ctx, team, key).await? {
            return Ok(first);
        }
        // One request answers with its error; a batch reports per person.
        let each = requests.len() != 1;
        let (mut tx, results, events) = self.assign_open(ctx, team, requests, how, each).await?;
        // Two first tries racing with one id: the second rolls back here.
        let answer = crate::service::answers::record(None, &results);
        idempotency::remember_if(tx.conn(), key, &answer, self.meta(ctx).now_micros).await?;
        self.commit(tx, &events).await?;
        Ok(results)
    }

    /// Takes the seats of a batch in a transaction it returns open, with
    /// each request's result and the events, so the caller can write more
    /// before committing. With `each`, a request that finds no seat or
    /// breaks a rule gets its outcome instead of failing the batch.
    #[tracing::instrument(name = "entitlement.service.assign_open", skip_all)]
    pub(crate) async fn assign_open(
        &self,
        ctx: &Ctx,
        team: &TeamId,
        requests: Vec<SeatRequest>,
        how: &str,
        each: bool,
    ) -> Result<(WriteTx, Vec<AssignResult>, Vec<NewEvent>)> {
        let targets: Vec<&AccountId> = requests.iter().map(|r| &r.account).collect();
        let (standing, members) = self
            .standing_and_members(&ctx.caller, team, &targets)
            .await?;
        let mut products: Vec<&ProductId> = requests.iter().map(|r| &r.product).collect();
        products.sort();
        products.dedup();
        for product in products {
            Catalog::of(self)
                .authorize_seats(&ctx.caller, team, product, standing)
                .await?;
        }
        for r in &requests {
            if !members.contains_key(&r.account) {
                return Err(EntitlementError::not_found(
                    "member",
                    format!("{}/members/{}", team.name(), r.account),
                ));
            }
        }
        let meta = self.meta(ctx);
        let mut tx = self.begin().await?;
        // Products in a stable order, so two batches lock pools alike.
        let mut products: HashMap<ProductId, Product> = HashMap::new();
        let mut order: Vec<usize> = (0..requests.len()).collect();
        order.sort_by(|a, b| requests[*a].product.cmp(&requests[*b].product));
        for r in &requests {
            if !products.contains_key(&r.product) {
                let p = Catalog::of(self).product_of(&mut tx, &r.product).await?;
                if how != "by user"
                    && Catalog::of(self)
                        .activation_of(&mut tx, team, &r.product)
                        .await?
                        == ActivationType::SerialNumber
                {
                    let pool = Catalog::locked_pool(&mut tx, team, &r.product).await?;
                    check_classic_by_user(&pool, how)?;
                }
                products.insert(r.product.clone(), p);
            }
        }
        let mut results: Vec<Option<AssignResult>> = vec![None; requests.len()];
        let mut events = Vec::new();
        // New seats of a sign-in product are taken together: one lock of
        // the pool, one count, multi-row writes. What remains (seats held
        // already, classic pools with their item limits, the same person
        // twice) goes one by one.
        let mut one_by_one = Vec::new();
        let mut start = 0;
        while start < order.len() {
            let product_id = &requests[order[start]].product;
            let end = order[start..]
                .iter()
                .position(|i| requests[*i].product != *product_id)
                .map_or(order.len(), |n| start + n);
            let group = &order[start..end];
            start = end;
            let product = &products[product_id];
            if Catalog::of(self)
                .activation_of(&mut tx, team, product_id)
                .await?
                != ActivationType::SignIn
            {
                one_by_one.extend_from_slice(group);
                continue;
            }
            let wanted: Vec<NewSeat<'_>> = group
                .iter()
                .map(|i| NewSeat {
                    index: *i,
                    person: &members[&requests[*i].account],
                    items: &requests[*i].items,
                })
                .collect();
            let (done, rest, evs) = self
                .give_new_seats(&mut tx, &meta, team, product, wanted, each)
                .await?;
            for (i, r) in done {
                results[i] = Some(r);
            }
            one_by_one.extend(rest);
            events.extend(evs);
        }
        for i in one_by_one {
            let r = &requests[i];
            let person = &members[&r.account];
            let product = &products[&r.product];
            let seat = Seat {
                team,
                person,
                product,
                items: &r.items,
                source: Source::Direct,
            };
            let result = match self.give_seat(&mut tx, &meta, seat).await {
                Ok((outcome, a, evs)) => {
                    events.extend(evs);
                    AssignResult {
                        account: r.account.clone(),
                        product: r.product.clone(),
                        outcome,
                        assignment: Some(a),
                        reason: String::new(),
                    }
                }
                Err(
                    e @ (EntitlementError::NoSeat { .. } | EntitlementError::Precondition { .. }),
                ) if each => AssignResult::refused(&r.account, &r.product, &e),
                Err(e) => return Err(e),
            };
            results[i] = Some(result);
        }
        Ok((tx, results.into_iter().flatten().collect(), events))
    }

    /// R-SEAT-1, R-SEAT-2: direct seats of a sign-in product for people
    /// who hold none, taken together under the pool's lock: as many as are
    /// free, in the order asked; the rest find the pool full (a failure of
    /// the whole call unless `each`). Returns the results, the requests
    /// left for one-by-one handling (a seat held already, the same person
    /// again), and the events.
    #[tracing::instrument(name = "entitlement.service.give_new_seats", skip_all)]
    pub(crate) async fn give_new_seats(
        &self,
        tx: &mut WriteTx,
        meta: &ChangeMeta,
        team: &TeamId,
        product: &Product,
        wanted: Vec<NewSeat<'_>>,
        each: bool,
    ) -> Result<NewSeats> {
        let accounts: Vec<&AccountId> = wanted.iter().map(|w| &w.person.account).collect();
        let held = store::lock_assignments(tx.conn(), team, &product.id, &accounts).await?;
        let mut seen = std::collections::HashSet::new();
        let (fresh, rest): (Vec<NewSeat<'_>>, Vec<NewSeat<'_>>) = wanted
            .into_iter()
            .partition(|w| !held.contains_key(&w.person.account) && seen.insert(&w.person.account));
        let rest: Vec<usize> = rest.iter().map(|w| w.index).collect();
        if fresh.is_empty() {
            return Ok((Vec::new(), rest, Vec::new()));
        }
        let mut chosen = Vec::with_capacity(fresh.len());
        for w in &fresh {
            chosen.push(product.select_items("items", w.items)?);
        }
        let pool = Catalog::locked_pool(tx, team, &product.id).await?;
        let (given, after) = pool.grant(fresh.len());
        if given < fresh.len() && !each {
            return Err(pool.exhausted());
        }
        let count = i64::try_from(given).unwrap_or(i64::MAX);
        if given > 0 && !store::take_seats(tx.conn(), team, &product.id, count).await? {
            // Nothing is written: the caller's transaction is rolled back.
            return Err(pool.exhausted());
        }
        let mut done = Vec::with_capacity(fresh.len());
        let mut new = Vec::with_capacity(given);
        let mut events = Vec::with_capacity(given);
        for (n, (w, items)) in fresh.into_iter().zip(chosen).enumerate() {
            if n >= given {
                let e = after.exhausted();
                done.push((
                    w.index,
                    AssignResult::refused(&w.person.account, &product.id, &e),
                ));
                continue;
            }
            let a = Assignment {
                id: AssignmentId::generate(),
                team: team.clone(),
                account: w.person.account.clone(),
                email: w.person.email.clone(),
                product: product.id.clone(),
                items,
                direct: true,
                groups: Vec::new(),
                create_time: meta.now_micros,
            };
            events.push(seat_assigned(meta, &a, product));
            done.push((
                w.index,
                AssignResult {
                    account: a.account.clone(),
                    product: a.product.clone(),
                    outcome: Outcome::Assigned,
                    assignment: Some(a.clone()),
                    reason: String::new(),
                },
            ));
            new.push(a);
        }
        store::insert_direct_assignments(tx.conn(), &new).await?;
        if given > 0 {
            store::record_pool_day(tx.conn(), team, &product.id, day_of(meta.now_micros)).await?;
        }
        Ok((done, rest, events))
    }

    /// A catalog product by id.
    #[tracing::instrument(name = "entitlement.service.product_by_id", skip_all)]
    pub(crate) async fn product_by_id(&self, id: &ProductId) -> Result<Option<Product>> {
        if let Some(p) = self.projection.product(id.as_str()) {
            return Ok(Some(p));
        }
        let mut conn = self.db.conn().await?;
        Ok(store::get_product(&mut conn, id).await?)
    }

    /// A catalog product by its display name, ignoring case.
    #[tracing::instrument(name = "entitlement.service.product_by_display_name", skip_all)]
    pub(crate) async fn product_by_display_name(&self, name: &str) -> Result<Option<Product>> {
        let mut conn = self.db.conn().await?;
        let mut after: Option<String> = None;
        loop {
            let page = store::list_products(&mut conn, after.as_deref(), 500).await?;
            if let Some(p) = page
                .iter()
                .take(500)
                .find(|p| p.display_name.eq_ignore_ascii_case(name))
            {
                return Ok(Some(p.clone()));
            }
            if page.len() <= 500 {
                return Ok(None);
            }
            after = page.get(499).map(|p| p.id.as_str().to_owned());
        }
    }

    /// R-SEAT-3 by user: several products for one person.
    #[tracing::instrument(name = "entitlement.service.assign_products", skip_all)]
    pub async fn assign_products(
        &self,
        ctx: &Ctx,
        team: &TeamId,
        account: &AccountId,
        selections: Vec<(ProductId, Vec<String>)>,
        key: Option<&RequestKey>,
    ) -> Result<Vec<AssignResult>> {
        let requests = selections
            .into_iter()
            .map(|(product, items)| SeatRequest {
                account: account.clone(),
                product,
                items,
            })
            .collect();
        self.assign_batch(ctx, team, requests, "by user", key).await
    }

    /// R-SEAT-3 by product: several people for one product.
    #[tracing::instrument(name = "entitlement.service.assign_users", skip_all)]
    pub async fn assign_users(
        &self,
        ctx: &Ctx,
        team: &TeamId,
        product: &ProductId,
        items: Vec<String>,
        accounts: Vec<AccountId>,
        key: Option<&RequestKey>,
    ) -> Result<Vec<AssignResult>> {
        let requests = accounts
            .into_iter()
            .map(|account| SeatRequest {
                account,
                product: product.clone(),
                items: items.clone(),
            })
            .collect();
        self.assign_batch(ctx, team, requests, "by product", key)
            .await
    }
}
