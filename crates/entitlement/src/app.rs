//! Entitlement's use cases: each checks the caller, applies the domain
//! rules, writes the change and its events in one transaction, and (when the
//! change affects checks) waits until the check's index shows it.

use std::collections::HashMap;
use std::sync::Arc;

use allot_platform::auth::Caller;
use allot_platform::clock::{SharedClock, to_micros};
use allot_platform::db::{Db, WriteTx};
use allot_platform::grpc::{TeamClient, request};
use allot_platform::ids::{AccountId, ContractId, ProductId, SubscriptionId, TeamId, new_id};
use allot_platform::jobs::Jobs;
use allot_platform::outbox::{ChangeMeta, NewEvent, Outbox};
use allot_platform::paging;
use allot_proto::entitlement as pb;
use allot_proto::entitlement::event::Payload;
use allot_proto::team as tpb;

use crate::convert;
use crate::domain::{
    Action, ActivationType, Assignment, Billing, Contract, ContractPlan, Item, Pool, Product,
    Source, Subscription, TeamStanding, Unassign, authorize, check_activation,
    check_classic_by_user, check_classic_item, check_move, check_move_target, day_of,
    is_classic_limit, takes_seat,
};
use crate::error::EntitlementError;
use crate::projection::{Answer, Projection};
use crate::store::{self, AssignmentFilter, GroupAssignmentRow, UsageRecord};
use crate::usage::UsageRecorder;
use allot_platform::idempotency::{self, Claim, RequestKey};

type Result<T> = std::result::Result<T, EntitlementError>;

/// Who is asking, and under which request id.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub caller: Caller,
    pub request_id: String,
}

/// A team member as the team service reports them.
#[derive(Debug, Clone)]
pub struct MemberInfo {
    pub account: AccountId,
    pub email: String,
    pub admin: bool,
}

/// What a purchase records.
#[derive(Debug, Clone)]
pub struct NewContract {
    pub owner: AccountId,
    pub activation: ActivationType,
    pub serial_number: String,
    pub plan: ContractPlan,
    pub billing: Billing,
    pub collaboration_site: String,
    pub sso_enabled: bool,
    /// TERM contracts: the term's last day, for renewal reminders.
    pub end_day: Option<i64>,
}

/// What happened to one requested seat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Outcome {
    Assigned,
    AlreadyAssigned,
    NoSeat,
    Refused,
}

/// One entry of a batch's answer.
#[derive(Debug, Clone)]
pub struct AssignResult {
    pub account: AccountId,
    pub product: ProductId,
    pub outcome: Outcome,
    pub assignment: Option<Assignment>,
    pub reason: String,
}

impl AssignResult {
    /// A request that got no seat (NO_SEAT) or broke a rule (REFUSED).
    fn refused(account: &AccountId, product: &ProductId, e: &EntitlementError) -> AssignResult {
        AssignResult {
            account: account.clone(),
            product: product.clone(),
            outcome: if matches!(e, EntitlementError::NoSeat { .. }) {
                Outcome::NoSeat
            } else {
                Outcome::Refused
            },
            assignment: None,
            reason: e.reason(),
        }
    }
}

/// One person's one product in a batch.
#[derive(Debug, Clone)]
pub struct SeatRequest {
    pub account: AccountId,
    pub product: ProductId,
    /// Empty: all items.
    pub items: Vec<String>,
}

/// One seat to give.
pub(crate) struct Seat<'a> {
    pub(crate) team: &'a TeamId,
    pub(crate) person: &'a MemberInfo,
    pub(crate) product: &'a Product,
    /// Empty: all items.
    pub(crate) items: &'a [String],
    pub(crate) source: Source,
}

/// Which assignments a list asks for.
#[derive(Debug, Clone, Default)]
pub struct AssignmentQuery {
    pub account: Option<AccountId>,
    pub product: Option<ProductId>,
    /// Under one contract (R-CLS-2).
    pub contract: Option<ContractId>,
}

/// A day of the usage report (R-USE-2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageRow {
    pub day: i64,
    pub product: String,
    pub seats: i32,
    pub assigned: i32,
    pub users: i64,
}

pub struct Entitlements {
    pub(crate) db: Db,
    outbox: Outbox,
    clock: SharedClock,
    team: TeamClient,
    projection: Arc<Projection>,
    usage: UsageRecorder,
    jobs: Jobs,
}

impl std::fmt::Debug for Entitlements {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entitlements").finish_non_exhaustive()
    }
}

fn assign_outcome(o: Outcome) -> pb::AssignOutcome {
    match o {
        Outcome::Assigned => pb::AssignOutcome::Assigned,
        Outcome::AlreadyAssigned => pb::AssignOutcome::AlreadyAssigned,
        Outcome::NoSeat => pb::AssignOutcome::NoSeat,
        Outcome::Refused => pb::AssignOutcome::Refused,
    }
}

impl AssignResult {
    pub fn to_pb(&self) -> pb::AssignResult {
        pb::AssignResult {
            account: self.account.name(),
            product: self.product.name(),
            outcome: assign_outcome(self.outcome) as i32,
            assignment: self.assignment.as_ref().map(convert::assignment),
            reason: self.reason.clone(),
        }
    }
}

impl Entitlements {
    pub fn new(
        db: Db,
        outbox: Outbox,
        clock: SharedClock,
        team: TeamClient,
        projection: Arc<Projection>,
        usage: UsageRecorder,
    ) -> Entitlements {
        Entitlements {
            jobs: Jobs::new(db.clone(), clock.clone()),
            db,
            outbox,
            clock,
            team,
            projection,
            usage,
        }
    }

    /// Assignment imports (R-SEAT-3 by CSV).
    pub fn jobs(&self) -> &Jobs {
        &self.jobs
    }

    /// The team service, with Allot's own token.
    pub(crate) fn team_client(&self) -> TeamClient {
        self.team.clone()
    }

    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    pub(crate) fn now_micros(&self) -> i64 {
        self.now()
    }

    fn now(&self) -> i64 {
        to_micros(self.clock.now())
    }

    pub(crate) fn meta(&self, ctx: &Ctx) -> ChangeMeta {
        ChangeMeta {
            actor: ctx.caller.name(),
            request_id: ctx.request_id.clone(),
            now_micros: self.now(),
        }
    }

    pub(crate) async fn begin(&self) -> Result<WriteTx> {
        Ok(self.db.begin_write().await?)
    }

    /// Commits and waits until checks see the change.
    pub(crate) async fn commit(&self, tx: WriteTx, events: &[NewEvent]) -> Result<()> {
        if let Some(position) = self.outbox.commit_positioned(tx, events).await? {
            self.projection.wait_applied(position).await;
        }
        Ok(())
    }

    // ---- the team service ------------------------------------------------

    /// Memberships of `accounts` in `team` (NOT_FOUND for an unknown team).
    pub(crate) async fn members(
        &self,
        team: &TeamId,
        accounts: &[&AccountId],
    ) -> Result<HashMap<AccountId, MemberInfo>> {
        if accounts.is_empty() {
            return Ok(HashMap::new());
        }
        let mut names: Vec<String> = accounts.iter().map(|a| a.name()).collect();
        names.sort();
        names.dedup();
        let mut out = HashMap::new();
        for chunk in names.chunks(1000) {
            let members = self
                .team
                .clone()
                .batch_get_members(request(tpb::BatchGetMembersRequest {
                    parent: team.name(),
                    accounts: chunk.to_vec(),
                }))
                .await
                .map_err(EntitlementError::team)?
                .into_inner()
                .members;
            for m in members {
                let Ok(account) = AccountId::parse("account", &m.account) else {
                    continue;
                };
                let admin = matches!(
                    tpb::Role::try_from(m.role),
                    Ok(tpb::Role::PrimaryAdmin | tpb::Role::SecondaryAdmin | tpb::Role::SsoAdmin)
                );
                out.insert(
                    account.clone(),
                    MemberInfo {
                        account,
                        email: m.email,
                        admin,
                    },
                );
            }
        }
        Ok(out)
    }

    /// The caller's standing in `team`.
    pub(crate) async fn standing(&self, caller: &Caller, team: &TeamId) -> Result<TeamStanding> {
        Ok(self.standing_and_members(caller, team, &[]).await?.0)
    }

    /// The caller's standing and the memberships of `targets`, in one call.
    async fn standing_and_members(
        &self,
        caller: &Caller,
        team: &TeamId,
        targets: &[&AccountId],
    ) -> Result<(TeamStanding, HashMap<AccountId, MemberInfo>)> {
        let mut ask: Vec<&AccountId> = targets.to_vec();
        if let Some(me) = caller.account() {
            ask.push(me);
        }
        if ask.is_empty() {
            // Still tell an unknown team apart.
            self.team
                .clone()
                .get_team(request(tpb::GetTeamRequest { name: team.name() }))
                .await
                .map_err(EntitlementError::team)?;
        }
        let members = self.members(team, &ask).await?;
        let standing = match caller.account().and_then(|me| members.get(me)) {
            Some(m) if m.admin => TeamStanding::Admin,
            Some(_) => TeamStanding::Member,
            None => TeamStanding::Outsider,
        };
        Ok((standing, members))
    }

    // ---- catalog ------------------------------------------------------------

    fn product_event(&self, meta: &ChangeMeta, p: &Product) -> NewEvent {
        meta.event("product_changed", None, |context| pb::Event {
            context: Some(context),
            payload: Some(Payload::ProductChanged(pb::ProductChanged {
                product: Some(convert::product(p)),
            })),
        })
    }

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
        let event = self.product_event(&meta, &product);
        self.commit(tx, &[event]).await?;
        Ok(product)
    }

    pub async fn get_product(&self, caller: &Caller, id: &ProductId) -> Result<Product> {
        authorize(caller, Action::ReadCatalog)?;
        let mut conn = self.db.conn().await?;
        store::get_product(&mut conn, id)
            .await?
            .ok_or_else(|| EntitlementError::not_found("product", id.name()))
    }

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
        let event = self.product_event(&self.meta(ctx), &product);
        self.commit(tx, &[event]).await?;
        Ok(product)
    }

    /// A product, from the check's index when it has it (the catalog only
    /// grows, and writers wait for the index), else from the database.
    pub(crate) async fn product_of(&self, tx: &mut WriteTx, id: &ProductId) -> Result<Product> {
        match self.projection.product(id.as_str()) {
            Some(p) => Ok(p),
            None => Self::product_in(tx, id).await,
        }
    }

    /// How a pool is activated, from the index when it has it; NOT_FOUND
    /// when the team holds no seats of the product.
    async fn activation_of(
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
    async fn authorize_seats(
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

    fn no_pool(team: &TeamId, product: &ProductId) -> EntitlementError {
        EntitlementError::not_found("pool", format!("{}/pools/{product}", team.name()))
    }

    /// Locks a pool (NOT_FOUND when the team holds no seats of it).
    async fn locked_pool(tx: &mut WriteTx, team: &TeamId, product: &ProductId) -> Result<Pool> {
        store::lock_pool(tx.conn(), team, product)
            .await?
            .ok_or_else(|| Self::no_pool(team, product))
    }

    async fn product_in(tx: &mut WriteTx, id: &ProductId) -> Result<Product> {
        store::get_product(tx.conn(), id)
            .await?
            .ok_or_else(|| EntitlementError::not_found("product", id.name()))
    }

    // ---- contracts and subscriptions -------------------------------------

    /// R-TEAM-1, R-TEAM-3: the owner's newest administered team, created
    /// when they have none.
    async fn owner_team(&self, owner: &AccountId) -> Result<TeamId> {
        let team = self
            .team
            .clone()
            .ensure_owner_team(request(tpb::EnsureOwnerTeamRequest {
                owner: owner.name(),
                always_create: false,
            }))
            .await
            .map_err(EntitlementError::team)?
            .into_inner();
        TeamId::parse("team", &team.name).map_err(|e| EntitlementError::Internal(e.to_string()))
    }

    fn subscription_event(&self, meta: &ChangeMeta, s: &Subscription, c: &Contract) -> NewEvent {
        meta.event("subscription_created", Some(s.team.name()), |context| {
            pb::Event {
                context: Some(context),
                payload: Some(Payload::SubscriptionCreated(pb::SubscriptionCreated {
                    subscription: Some(convert::subscription(s, c)),
                })),
            }
        })
    }

    /// Adds a subscription's seats to its team's pool and gives the owner
    /// a seat, sign-in or classic (R-SEAT-6).
    async fn add_subscription(
        &self,
        tx: &mut WriteTx,
        meta: &ChangeMeta,
        contract: &Contract,
        product: &Product,
        seats: i32,
        owner: &MemberInfo,
    ) -> Result<(Subscription, Vec<NewEvent>)> {
        let sub = Subscription {
            id: SubscriptionId::generate(),
            contract: contract.id.clone(),
            product: product.id.clone(),
            seats,
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
            seats,
            contract.activation,
            &contract.serial_number,
        )
        .await?;
        store::record_pool_day(tx.conn(), &sub.team, &product.id, day_of(meta.now_micros)).await?;
        let mut events = vec![self.subscription_event(meta, &sub, contract)];
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
            match self.give_seat(tx, meta, seat).await {
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
    pub async fn create_contract(
        &self,
        ctx: &Ctx,
        new: NewContract,
        subscriptions: Vec<(ProductId, i32)>,
        request_id: Option<String>,
    ) -> Result<(Contract, Vec<Subscription>)> {
        authorize(&ctx.caller, Action::RecordPurchase)?;
        if let Some(rid) = &request_id {
            let mut conn = self.db.conn().await?;
            if let Some(c) = store::contract_by_request(&mut conn, rid).await? {
                let subs =
                    store::list_subscriptions(&mut conn, None, Some(&c.id), None, 10_000).await?;
                return Ok((c, subs));
            }
        }
        {
            let mut conn = self.db.conn().await?;
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
        store::insert_contract(tx.conn(), &contract, request_id.as_deref()).await?;
        let mut events = Vec::new();
        let mut subs = Vec::new();
        let mut names = HashMap::new();
        for (product_id, seats) in subscriptions {
            let product = Self::product_in(&mut tx, &product_id).await?;
            let (sub, evs) = self
                .add_subscription(&mut tx, &meta, &contract, &product, seats, &owner)
                .await?;
            names.insert(product.id.name(), product.display_name.clone());
            subs.push(sub);
            events.extend(evs);
        }
        let created = meta.event("contract_created", Some(contract.team.name()), |context| {
            pb::Event {
                context: Some(context),
                payload: Some(Payload::ContractCreated(pb::ContractCreated {
                    contract: Some(convert::contract(&contract, &subs)),
                    owner_email: contract.owner_email.clone(),
                    product_display_names: names,
                })),
            }
        });
        events.insert(0, created);
        self.commit(tx, &events).await?;
        tracing::info!(contract = %contract.id, team = %contract.team, owner = %contract.owner, "contract recorded");
        Ok((contract, subs))
    }

    async fn contract_in(conn: &mut sqlx::AnyConnection, id: &ContractId) -> Result<Contract> {
        store::get_contract(conn, id)
            .await?
            .ok_or_else(|| EntitlementError::not_found("contract", id.name()))
    }

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

    pub async fn list_contracts(
        &self,
        caller: &Caller,
        account: Option<&AccountId>,
        team: Option<&TeamId>,
        page_size: i32,
        page_token: &str,
    ) -> Result<(Vec<(Contract, Vec<Subscription>)>, String)> {
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
        let event = Self::contract_updated(&self.meta(ctx), &c);
        self.commit(tx, &[event]).await?;
        Ok(c)
    }

    /// `contract_updated`: team follows the contract's manager and
    /// coordinator from it (R-CLS-1, R-CLS-6).
    fn contract_updated(meta: &ChangeMeta, c: &Contract) -> NewEvent {
        meta.event("contract_updated", Some(c.team.name()), |context| {
            pb::Event {
                context: Some(context),
                payload: Some(Payload::ContractUpdated(pb::ContractUpdated {
                    contract: Some(convert::contract(c, &[])),
                })),
            }
        })
    }

    /// R-CLS-1: passes the contract manager role (and the contract's
    /// ownership) to another member of its team; team makes them a
    /// secondary admin when it reads the change. The coordinator stays.
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
        let event = Self::contract_updated(&self.meta(ctx), &c);
        self.commit(tx, &[event]).await?;
        tracing::info!(contract = %id, manager = %manager, "contract manager passed on");
        Ok(c)
    }

    /// R-TEAM-3: a subscription added to a contract goes to its team.
    pub async fn create_subscription(
        &self,
        ctx: &Ctx,
        contract_id: &ContractId,
        product_id: &ProductId,
        seats: i32,
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
        let product = Self::product_in(&mut tx, product_id).await?;
        let (sub, events) = self
            .add_subscription(&mut tx, &meta, &contract, &product, seats, &owner)
            .await?;
        idempotency::remember_if(tx.conn(), key, sub.id.as_str(), meta.now_micros).await?;
        self.commit(tx, &events).await?;
        Ok((sub, contract))
    }

    async fn subscription_and_contract(
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
    pub async fn add_seats(
        &self,
        ctx: &Ctx,
        id: &SubscriptionId,
        seats: i32,
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
            let claim = idempotency::claim(
                tx.conn(),
                key,
                meta.now_micros,
                idempotency::DEFAULT_RETENTION,
            )
            .await?;
            if let Claim::Replay(first) = claim {
                // The first answer's seat count; nothing changes.
                sub.seats = first.parse().unwrap_or(sub.seats);
                return Ok((sub, contract));
            }
        }
        let previous = sub.seats;
        sub.seats = sub
            .seats
            .checked_add(seats)
            .filter(|s| *s <= crate::domain::MAX_SEATS)
            .ok_or_else(|| {
                EntitlementError::invalid(
                    "seats",
                    format!("a subscription holds at most {}", crate::domain::MAX_SEATS),
                )
            })?;
        store::lock_pool(tx.conn(), &sub.team, &sub.product).await?;
        store::set_subscription(tx.conn(), &sub).await?;
        store::add_pool_seats(
            tx.conn(),
            &sub.team,
            &sub.product,
            seats,
            contract.activation,
            &contract.serial_number,
        )
        .await?;
        if let Some(key) = key {
            idempotency::remember(tx.conn(), key, &sub.seats.to_string(), meta.now_micros).await?;
        }
        store::record_pool_day(tx.conn(), &sub.team, &sub.product, day_of(meta.now_micros)).await?;
        let event = meta.event("subscription_resized", Some(sub.team.name()), |context| {
            pb::Event {
                context: Some(context),
                payload: Some(Payload::SubscriptionResized(pb::SubscriptionResized {
                    subscription: Some(convert::subscription(&sub, &contract)),
                    previous_seats: previous,
                })),
            }
        });
        self.commit(tx, &[event]).await?;
        Ok((sub, contract))
    }

    /// R-TEAM-4: the contract manager moves a subscription to another team;
    /// its assignments stay behind.
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
        let event = meta.event("subscription_moved", Some(target.name()), |context| {
            pb::Event {
                context: Some(context),
                payload: Some(Payload::SubscriptionMoved(pb::SubscriptionMoved {
                    subscription: Some(convert::subscription(&sub, &contract)),
                    previous_team: previous.name(),
                })),
            }
        });
        self.commit(tx, &[event]).await?;
        tracing::info!(subscription = %id, from = %previous, to = %target, "subscription moved");
        Ok((sub, contract))
    }

    // ---- pools ------------------------------------------------------------

    pub async fn get_pool(
        &self,
        caller: &Caller,
        team: &TeamId,
        product: &ProductId,
    ) -> Result<(Pool, String, i64)> {
        let standing = self.standing(caller, team).await?;
        authorize(caller, Action::ReadSeats { standing })?;
        let mut conn = self.db.conn().await?;
        let pool = store::get_pool(&mut conn, team, product)
            .await?
            .ok_or_else(|| {
                EntitlementError::not_found("pool", format!("{}/pools/{product}", team.name()))
            })?;
        let name = store::get_product(&mut conn, product)
            .await?
            .map(|p| p.display_name)
            .unwrap_or_default();
        let waiting = crate::waiting::waiting(&mut conn, team, product).await?;
        Ok((pool, name, waiting))
    }

    /// R-SEAT-7: per product, seats, assigned and available.
    pub async fn list_pools(
        &self,
        caller: &Caller,
        team: &TeamId,
    ) -> Result<Vec<(Pool, String, i64)>> {
        let standing = self.standing(caller, team).await?;
        authorize(caller, Action::ReadSeats { standing })?;
        let mut conn = self.db.conn().await?;
        let pools = store::list_pools(&mut conn, team).await?;
        let mut out = Vec::with_capacity(pools.len());
        for p in pools {
            let name = store::get_product(&mut conn, &p.product)
                .await?
                .map(|x| x.display_name)
                .unwrap_or_default();
            let waiting = crate::waiting::waiting(&mut conn, team, &p.product).await?;
            out.push((p, name, waiting));
        }
        Ok(out)
    }

    // ---- seats ------------------------------------------------------------

    fn seat_assigned(meta: &ChangeMeta, a: &Assignment, product: &Product) -> NewEvent {
        let items = product
            .items
            .iter()
            .filter(|i| a.items.contains(&i.id))
            .map(convert::item)
            .collect();
        meta.event("seat_assigned", Some(a.team.name()), |context| pb::Event {
            context: Some(context),
            payload: Some(Payload::SeatAssigned(pb::SeatAssigned {
                assignment: Some(convert::assignment(a)),
                product_display_name: product.display_name.clone(),
                items,
            })),
        })
    }

    /// R-EVT-1: a kept seat's sources changed.
    fn sources_changed(meta: &ChangeMeta, a: &Assignment, before: &Assignment) -> NewEvent {
        meta.event("sources_changed", Some(a.team.name()), |context| {
            pb::Event {
                context: Some(context),
                payload: Some(Payload::SourcesChanged(pb::SourcesChanged {
                    assignment: Some(convert::assignment(a)),
                    previous_direct: before.direct,
                    previous_groups: before
                        .groups
                        .iter()
                        .map(|g| format!("{}/groupAssignments/{g}", a.team.name()))
                        .collect(),
                })),
            }
        })
    }

    fn items_changed(meta: &ChangeMeta, a: &Assignment, previous: &[String]) -> NewEvent {
        meta.event("items_changed", Some(a.team.name()), |context| pb::Event {
            context: Some(context),
            payload: Some(Payload::ItemsChanged(pb::ItemsChanged {
                assignment: Some(convert::assignment(a)),
                previous_items: previous.to_vec(),
            })),
        })
    }

    /// R-CLS-4, R-CLS-5: a classic pool's limited items, for the items the
    /// person does not hold yet. The caller holds the pool's lock.
    async fn check_classic_items(
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
        let activation = self.activation_of(tx, team, &product.id).await?;
        let items = product.select_items("items", wanted_items)?;
        if let Some(mut a) =
            store::find_assignment(tx.conn(), team, &person.account, &product.id).await?
        {
            let previous = a.items.clone();
            let before = a.clone();
            let mut events = Vec::new();
            match &source {
                Source::Direct => {
                    a.direct = true;
                    if !wanted_items.is_empty() && a.items != items {
                        if activation == ActivationType::SerialNumber {
                            let pool = Self::locked_pool(tx, team, &product.id).await?;
                            Self::check_classic_items(tx, &pool, product, &items, &previous)
                                .await?;
                            Self::reseat(tx, &pool, product, &previous, &items).await?;
                        }
                        a.items = items;
                        events.push(Self::items_changed(meta, &a, &previous));
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
                events.push(Self::sources_changed(meta, &a, &before));
            }
            return Ok((Outcome::AlreadyAssigned, a, events));
        }
        let takes = if activation == ActivationType::SerialNumber {
            let pool = Self::locked_pool(tx, team, &product.id).await?;
            Self::check_classic_items(tx, &pool, product, &items, &[]).await?;
            takes_seat(activation, product, &items)
        } else {
            true
        };
        if takes && !store::take_seat(tx.conn(), team, &product.id).await? {
            let pool = store::get_pool(tx.conn(), team, &product.id)
                .await?
                .ok_or_else(|| Self::no_pool(team, &product.id))?;
            return Err(pool.exhausted());
        }
        let a = Assignment {
            id: new_id(),
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
        let event = Self::seat_assigned(meta, &a, product);
        Ok((Outcome::Assigned, a, vec![event]))
    }

    /// Takes or frees a seat when an assignment's items change whether it
    /// needs one (classic benefits). The caller holds the pool's lock.
    async fn reseat(
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
    async fn free_seat(
        &self,
        tx: &mut WriteTx,
        meta: &ChangeMeta,
        a: &Assignment,
    ) -> Result<Vec<NewEvent>> {
        store::delete_assignment(tx.conn(), &a.id).await?;
        let holds = match self.activation_of(tx, &a.team, &a.product).await {
            Ok(ActivationType::SignIn) => true,
            Ok(activation) => {
                let product = self.product_of(tx, &a.product).await?;
                takes_seat(activation, &product, &a.items)
            }
            Err(EntitlementError::NotFound { .. }) => false,
            Err(e) => return Err(e),
        };
        if holds {
            store::free_seat(tx.conn(), &a.team, &a.product).await?;
        }
        store::record_pool_day(tx.conn(), &a.team, &a.product, day_of(meta.now_micros)).await?;
        let mut events = vec![
            meta.event("seat_unassigned", Some(a.team.name()), |context| {
                pb::Event {
                    context: Some(context),
                    payload: Some(Payload::SeatUnassigned(pb::SeatUnassigned {
                        assignment: Some(convert::assignment(a)),
                    })),
                }
            }),
        ];
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
    async fn assign_batch(
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
        let answer = crate::answers::record(None, &results);
        idempotency::remember_if(tx.conn(), key, &answer, self.meta(ctx).now_micros).await?;
        self.commit(tx, &events).await?;
        Ok(results)
    }

    /// Takes the seats of a batch in a transaction it returns open, with
    /// each request's result and the events, so the caller can write more
    /// before committing. With `each`, a request that finds no seat or
    /// breaks a rule gets its outcome instead of failing the batch.
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
            self.authorize_seats(&ctx.caller, team, product, standing)
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
                let p = self.product_of(&mut tx, &r.product).await?;
                if how != "by user"
                    && self.activation_of(&mut tx, team, &r.product).await?
                        == ActivationType::SerialNumber
                {
                    let pool = Self::locked_pool(&mut tx, team, &r.product).await?;
                    check_classic_by_user(&pool, how)?;
                }
                products.insert(r.product.clone(), p);
            }
        }
        let mut results: Vec<Option<AssignResult>> = vec![None; requests.len()];
        let mut events = Vec::new();
        for i in order {
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

    /// A catalog product by id.
    pub(crate) async fn product_by_id(&self, id: &ProductId) -> Result<Option<Product>> {
        if let Some(p) = self.projection.product(id.as_str()) {
            return Ok(Some(p));
        }
        let mut conn = self.db.conn().await?;
        Ok(store::get_product(&mut conn, id).await?)
    }

    /// A catalog product by its display name, ignoring case.
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

    /// The members of a team's group, from the team service.
    async fn group_members(&self, team: &TeamId, group: &str) -> Result<Vec<MemberInfo>> {
        let mut out = Vec::new();
        let mut page_token = String::new();
        loop {
            let r = self
                .team
                .clone()
                .list_group_members(request(tpb::ListGroupMembersRequest {
                    group: format!("{}/groups/{group}", team.name()),
                    page_size: 1000,
                    page_token: page_token.clone(),
                }))
                .await
                .map_err(EntitlementError::team)?
                .into_inner();
            for m in r.members {
                if let Ok(account) = AccountId::parse("account", &m.account) {
                    out.push(MemberInfo {
                        account,
                        email: m.email,
                        admin: false,
                    });
                }
            }
            if r.next_page_token.is_empty() {
                return Ok(out);
            }
            page_token = r.next_page_token;
        }
    }

    /// Gives each person a seat from a group assignment; those without one
    /// are reported, the others keep theirs (R-SEAT-5).
    async fn seat_group(
        &self,
        tx: &mut WriteTx,
        meta: &ChangeMeta,
        ga: &GroupAssignmentRow,
        product: &Product,
        people: &[MemberInfo],
    ) -> Result<(Vec<AssignResult>, Vec<NewEvent>)> {
        let mut results = Vec::new();
        let mut events = Vec::new();
        for person in people {
            let seat = Seat {
                team: &ga.team,
                person,
                product,
                items: &ga.items,
                source: Source::Group(ga.id.clone()),
            };
            let r = match self.give_seat(tx, meta, seat).await {
                Ok((outcome, a, evs)) => {
                    events.extend(evs);
                    AssignResult {
                        account: person.account.clone(),
                        product: product.id.clone(),
                        outcome,
                        assignment: Some(a),
                        reason: String::new(),
                    }
                }
                Err(
                    e @ (EntitlementError::NoSeat { .. } | EntitlementError::Precondition { .. }),
                ) => {
                    if matches!(e, EntitlementError::NoSeat { .. }) {
                        crate::waiting::wait_for_seat(
                            tx.conn(),
                            &ga.id,
                            &ga.team,
                            &product.id,
                            person,
                            meta.now_micros,
                        )
                        .await?;
                    }
                    AssignResult::refused(&person.account, &product.id, &e)
                }
                Err(e) => return Err(e),
            };
            results.push(r);
        }
        Ok((results, events))
    }

    /// R-SEAT-5: gives a product to every member of a group, now and later.
    pub async fn create_group_assignment(
        &self,
        ctx: &Ctx,
        team: &TeamId,
        group: &str,
        product_id: &ProductId,
        items: Vec<String>,
        key: Option<&RequestKey>,
    ) -> Result<(GroupAssignmentRow, Vec<AssignResult>)> {
        let standing = self.standing(&ctx.caller, team).await?;
        authorize(&ctx.caller, Action::ManageSeats { standing })?;
        if let Some((Some(ga), first)) = self.replayed_batch(ctx, team, key).await? {
            let mut conn = self.db.conn().await?;
            let row = store::get_group_assignment(&mut conn, team, &ga)
                .await?
                .ok_or_else(|| {
                    EntitlementError::not_found(
                        "group assignment",
                        format!("{}/groupAssignments/{ga}", team.name()),
                    )
                })?;
            return Ok((row, first));
        }
        let people = self.group_members(team, group).await?;
        let meta = self.meta(ctx);
        let mut tx = self.begin().await?;
        let product = self.product_of(&mut tx, product_id).await?;
        let pool = store::get_pool(tx.conn(), team, product_id)
            .await?
            .ok_or_else(|| {
                EntitlementError::not_found("pool", format!("{}/pools/{product_id}", team.name()))
            })?;
        check_classic_by_user(&pool, "by group")?;
        let items = product.select_items("group_assignment.items", &items)?;
        if store::list_group_assignments(tx.conn(), team, Some(group))
            .await?
            .iter()
            .any(|g| g.product == *product_id)
        {
            return Err(EntitlementError::AlreadyExists(format!(
                "group {group} already has {product_id}; change the items of its members' assignments instead"
            )));
        }
        let ga = GroupAssignmentRow {
            id: new_id(),
            team: team.clone(),
            group: group.to_owned(),
            product: product_id.clone(),
            items,
            create_time: meta.now_micros,
        };
        store::insert_group_assignment(tx.conn(), &ga).await?;
        let mut events =
            vec![
                meta.event("group_assignment_changed", Some(team.name()), |context| {
                    pb::Event {
                        context: Some(context),
                        payload: Some(Payload::GroupAssignmentChanged(
                            pb::GroupAssignmentChanged {
                                group_assignment: Some(convert::group_assignment(&ga)),
                                deleted: false,
                            },
                        )),
                    }
                }),
            ];
        let (results, evs) = self
            .seat_group(&mut tx, &meta, &ga, &product, &people)
            .await?;
        events.extend(evs);
        let answer = crate::answers::record(Some(&ga.id), &results);
        idempotency::remember_if(tx.conn(), key, &answer, meta.now_micros).await?;
        self.commit(tx, &events).await?;
        Ok((ga, results))
    }

    pub async fn list_group_assignments(
        &self,
        caller: &Caller,
        team: &TeamId,
    ) -> Result<Vec<GroupAssignmentRow>> {
        let standing = self.standing(caller, team).await?;
        authorize(caller, Action::ReadSeats { standing })?;
        let mut conn = self.db.conn().await?;
        Ok(store::list_group_assignments(&mut conn, team, None).await?)
    }

    /// Removes one group source from an assignment; frees the seat when no
    /// source is left.
    async fn drop_source(
        &self,
        tx: &mut WriteTx,
        meta: &ChangeMeta,
        mut a: Assignment,
        ga: &str,
    ) -> Result<Vec<NewEvent>> {
        let before = a.clone();
        store::remove_source(tx.conn(), &a.id, ga).await?;
        a.groups.retain(|g| g != ga);
        if !a.direct && a.groups.is_empty() {
            return self.free_seat(tx, meta, &a).await;
        }
        Ok((a.groups != before.groups)
            .then(|| Self::sources_changed(meta, &a, &before))
            .into_iter()
            .collect())
    }

    async fn remove_group_assignment(
        &self,
        tx: &mut WriteTx,
        meta: &ChangeMeta,
        ga: &GroupAssignmentRow,
    ) -> Result<Vec<NewEvent>> {
        let mut events = Vec::new();
        crate::waiting::close_line(tx.conn(), &ga.id).await?;
        for a in store::assignments_from(tx.conn(), &ga.id).await? {
            events.extend(self.drop_source(tx, meta, a, &ga.id).await?);
        }
        store::delete_group_assignment(tx.conn(), &ga.id).await?;
        events.push(meta.event(
            "group_assignment_changed",
            Some(ga.team.name()),
            |context| pb::Event {
                context: Some(context),
                payload: Some(Payload::GroupAssignmentChanged(
                    pb::GroupAssignmentChanged {
                        group_assignment: Some(convert::group_assignment(ga)),
                        deleted: true,
                    },
                )),
            },
        ));
        Ok(events)
    }

    pub async fn delete_group_assignment(&self, ctx: &Ctx, team: &TeamId, id: &str) -> Result<()> {
        let standing = self.standing(&ctx.caller, team).await?;
        authorize(&ctx.caller, Action::ManageSeats { standing })?;
        let meta = self.meta(ctx);
        let mut tx = self.begin().await?;
        let ga = store::get_group_assignment(tx.conn(), team, id)
            .await?
            .ok_or_else(|| {
                EntitlementError::not_found(
                    "group assignment",
                    format!("{}/groupAssignments/{id}", team.name()),
                )
            })?;
        let events = self.remove_group_assignment(&mut tx, &meta, &ga).await?;
        self.commit(tx, &events).await
    }

    async fn assignment_in(
        conn: &mut sqlx::AnyConnection,
        team: &TeamId,
        id: &str,
    ) -> Result<Assignment> {
        store::get_assignment(conn, team, id).await?.ok_or_else(|| {
            EntitlementError::not_found("assignment", format!("{}/assignments/{id}", team.name()))
        })
    }

    pub async fn get_assignment(
        &self,
        caller: &Caller,
        team: &TeamId,
        id: &str,
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
                let contract = Self::contract_in(&mut conn, c).await?;
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
    pub async fn update_assignment_items(
        &self,
        ctx: &Ctx,
        team: &TeamId,
        id: &str,
        items: Vec<String>,
    ) -> Result<Option<Assignment>> {
        let standing = self.standing(&ctx.caller, team).await?;
        let product = {
            let mut conn = self.db.conn().await?;
            Self::assignment_in(&mut conn, team, id).await?.product
        };
        self.authorize_seats(&ctx.caller, team, &product, standing)
            .await?;
        let meta = self.meta(ctx);
        let mut tx = self.begin().await?;
        let a = Self::assignment_in(tx.conn(), team, id).await?;
        if items.is_empty() {
            // No items left is unassigning, with its rules (FROM_GROUP).
            let (kept, events) = self.unassign(&mut tx, &meta, a).await?;
            self.commit(tx, &events).await?;
            return Ok(kept);
        }
        let mut a = a;
        let product = self.product_of(&mut tx, &a.product).await?;
        let items = product.select_items("assignment.items", &items)?;
        if items == a.items {
            return Ok(Some(a));
        }
        if self.activation_of(&mut tx, team, &a.product).await? == ActivationType::SerialNumber {
            let pool = Self::locked_pool(&mut tx, team, &a.product).await?;
            Self::check_classic_items(&mut tx, &pool, &product, &items, &a.items).await?;
            Self::reseat(&mut tx, &pool, &product, &a.items, &items).await?;
        }
        let previous = std::mem::replace(&mut a.items, items);
        store::update_assignment(tx.conn(), &a).await?;
        let event = Self::items_changed(&meta, &a, &previous);
        self.commit(tx, &[event]).await?;
        Ok(Some(a))
    }

    /// R-SEAT-4: unassigns. A seat that also comes from a group stays until
    /// the person leaves the group or the group assignment goes.
    pub async fn delete_assignment(&self, ctx: &Ctx, team: &TeamId, id: &str) -> Result<()> {
        let standing = self.standing(&ctx.caller, team).await?;
        let product = {
            let mut conn = self.db.conn().await?;
            Self::assignment_in(&mut conn, team, id).await?.product
        };
        self.authorize_seats(&ctx.caller, team, &product, standing)
            .await?;
        let meta = self.meta(ctx);
        let mut tx = self.begin().await?;
        let a = Self::assignment_in(tx.conn(), team, id).await?;
        let (_, events) = self.unassign(&mut tx, &meta, a).await?;
        self.commit(tx, &events).await
    }

    /// Unassigns inside `tx` by `Assignment::unassign`: frees the seat, or
    /// keeps it for its groups (returned) with a `sources_changed` event.
    async fn unassign(
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
                let event = Self::sources_changed(meta, &a, &before);
                Ok((Some(a), vec![event]))
            }
        }
    }

    // ---- the check --------------------------------------------------------

    /// R-USE-1: may `account` use `product` now; optionally records the
    /// launch.
    pub fn check(
        &self,
        caller: &Caller,
        account: &AccountId,
        product: &ProductId,
        record: bool,
    ) -> Result<Answer> {
        authorize(caller, Action::Check { account })?;
        let answer = self.projection.check(account.as_str(), product.as_str());
        if record && let Answer::Allowed { grant, .. } = &answer {
            let now = self.now();
            self.usage.record(UsageRecord {
                team: grant.team.clone(),
                account: account.as_str().to_owned(),
                product: product.as_str().to_owned(),
                time: now,
                day: day_of(now),
            });
        }
        Ok(answer)
    }

    /// R-SEAT-8: a person's products with their items and activation.
    pub fn my_products(&self, caller: &Caller, account: &AccountId) -> Result<Vec<pb::MyProduct>> {
        authorize(caller, Action::Check { account })?;
        Ok(self
            .projection
            .products_of(account.as_str())
            .into_iter()
            .map(|(product, info, grant, pool)| {
                let pool = pool.unwrap_or(crate::projection::PoolInfo {
                    activation: ActivationType::SignIn,
                    serial_number: String::new(),
                });
                pb::MyProduct {
                    product: format!("products/{product}"),
                    display_name: info.display_name.clone(),
                    items: info
                        .items
                        .iter()
                        .filter(|i| grant.items.contains(&i.id))
                        .map(convert::item)
                        .collect(),
                    activation_type: convert::activation(pool.activation) as i32,
                    serial_number: pool.serial_number,
                    team: format!("teams/{}", grant.team),
                }
            })
            .collect())
    }

    // ---- reports ----------------------------------------------------------

    /// R-USE-2: per product and day, seats, assigned and distinct users.
    pub async fn usage_report(
        &self,
        caller: &Caller,
        team: &TeamId,
        first: i64,
        last: i64,
    ) -> Result<Vec<UsageRow>> {
        let standing = self.standing(caller, team).await?;
        authorize(caller, Action::ReadSeats { standing })?;
        if last < first {
            return Err(EntitlementError::invalid(
                "end_date",
                "must not be before start_date",
            ));
        }
        if last - first > 3660 {
            return Err(EntitlementError::invalid(
                "end_date",
                "a report covers at most ten years",
            ));
        }
        self.usage.flush().await;
        let mut conn = self.db.conn().await?;
        let history = store::pool_history(&mut conn, team, last).await?;
        let users: HashMap<(String, i64), i64> =
            store::distinct_users(&mut conn, team, first, last)
                .await?
                .into_iter()
                .map(|(p, d, n)| ((p, d), n))
                .collect();
        Ok(crate::report::usage_rows(&history, &users, first, last))
    }

    // ---- reactions to team events ----------------------------------------

    /// R-TEAM-5: a removed member's seats in the team are freed.
    pub async fn member_removed(
        &self,
        tx: &mut WriteTx,
        meta: &ChangeMeta,
        team: &TeamId,
        account: &AccountId,
    ) -> Result<Vec<NewEvent>> {
        crate::waiting::stop_waiting(tx.conn(), team, account, None).await?;
        let mut events = Vec::new();
        for a in store::assignments_of(tx.conn(), team, account).await? {
            events.extend(self.free_seat(tx, meta, &a).await?);
        }
        Ok(events)
    }

    /// R-SEAT-5: people who join a group get its products.
    pub async fn group_members_added(
        &self,
        tx: &mut WriteTx,
        meta: &ChangeMeta,
        team: &TeamId,
        group: &str,
        accounts: &[AccountId],
    ) -> Result<Vec<NewEvent>> {
        let gas = store::list_group_assignments(tx.conn(), team, Some(group)).await?;
        if gas.is_empty() {
            return Ok(Vec::new());
        }
        let refs: Vec<&AccountId> = accounts.iter().collect();
        let members = self.members(team, &refs).await?;
        let people: Vec<MemberInfo> = accounts
            .iter()
            .filter_map(|a| members.get(a).cloned())
            .collect();
        let mut events = Vec::new();
        for ga in gas {
            let product = self.product_of(tx, &ga.product).await?;
            let (results, evs) = self.seat_group(tx, meta, &ga, &product, &people).await?;
            for r in results
                .iter()
                .filter(|r| r.outcome == Outcome::NoSeat || r.outcome == Outcome::Refused)
            {
                tracing::warn!(team = %team, group, account = %r.account, product = %r.product, reason = %r.reason, "a new group member got no seat");
            }
            events.extend(evs);
        }
        Ok(events)
    }

    /// R-SEAT-5: people who leave a group lose what they held only through it.
    pub async fn group_members_removed(
        &self,
        tx: &mut WriteTx,
        meta: &ChangeMeta,
        team: &TeamId,
        group: &str,
        accounts: &[AccountId],
    ) -> Result<Vec<NewEvent>> {
        let mut events = Vec::new();
        for ga in store::list_group_assignments(tx.conn(), team, Some(group)).await? {
            for account in accounts {
                crate::waiting::stop_waiting(tx.conn(), team, account, Some(&ga.id)).await?;
            }
            for a in store::assignments_from(tx.conn(), &ga.id).await? {
                if accounts.contains(&a.account) {
                    events.extend(self.drop_source(tx, meta, a, &ga.id).await?);
                }
            }
        }
        Ok(events)
    }

    /// A deleted group's products go from its members (R-SEAT-5).
    pub async fn group_deleted(
        &self,
        tx: &mut WriteTx,
        meta: &ChangeMeta,
        team: &TeamId,
        group: &str,
    ) -> Result<Vec<NewEvent>> {
        let mut events = Vec::new();
        for ga in store::list_group_assignments(tx.conn(), team, Some(group)).await? {
            events.extend(self.remove_group_assignment(tx, meta, &ga).await?);
        }
        Ok(events)
    }

    pub fn authorize_watch(&self, caller: &Caller) -> Result<()> {
        authorize(caller, Action::Watch)
    }

    /// The check's index, waiting for its position (for consumers' commits).
    pub async fn wait_applied(&self, position: i64) {
        self.projection.wait_applied(position).await;
    }
}
