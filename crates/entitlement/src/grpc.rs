//! The gRPC face of entitlement: parse, delegate, translate. No rule lives
//! here.

use std::sync::Arc;

use allot_platform::auth::caller;
use allot_platform::error::FieldViolation;
use allot_platform::ids::{AccountId, ContractId, ProductId, SubscriptionId, TeamId, parse_nested};
use allot_platform::mask::update_paths;
use allot_platform::outbox::WatchParams;
use allot_platform::request_key;
use allot_platform::server::request_id;
use allot_proto::common as cpb;
use allot_proto::entitlement as pb;
use allot_proto::entitlement::entitlement_service_server::EntitlementService as Service;
use tonic::codegen::BoxStream;
use tonic::{Request, Response, Status};

use crate::convert;
use crate::domain::{
    ActivationType, Billing, ContractPlan, Item, ItemKind, parse_display_name, parse_item_id,
    parse_product_id, parse_seats,
};
use crate::error::EntitlementError;
use crate::projection::Answer;
use crate::service::{AssignmentQuery, Ctx, Entitlements, NewContract};

#[derive(Debug, Clone)]
pub struct EntitlementGrpc {
    app: Arc<Entitlements>,
    /// Most rows one CSV import takes.
    max_rows: usize,
    /// Open WatchOperation streams per caller.
    operation_watchers: allot_platform::streams::StreamSlots,
}

impl EntitlementGrpc {
    pub fn new(app: Arc<Entitlements>, max_rows: usize) -> EntitlementGrpc {
        EntitlementGrpc {
            app,
            max_rows,
            operation_watchers: allot_platform::jobs::operation_watchers(),
        }
    }

    /// The usage report a request asks for (R-USE-2).
    async fn usage_rows<T>(
        &self,
        req: &Request<T>,
        parent: &str,
        start: Option<&cpb::Date>,
        end: Option<&cpb::Date>,
    ) -> Result<(TeamId, Vec<crate::service::UsageRow>), Status> {
        let caller = caller(req)?;
        let team = TeamId::parse("parent", parent).map_err(invalid)?;
        let first = date_to_day("start_date", start)?;
        let last = date_to_day("end_date", end)?;
        let rows = self.app.usage_report(&caller, &team, first, last).await?;
        Ok((team, rows))
    }
}

fn ctx<T>(req: &Request<T>) -> Result<Ctx, Status> {
    Ok(Ctx {
        caller: (*caller(req)?).clone(),
        request_id: request_id(req),
    })
}

fn invalid(v: FieldViolation) -> Status {
    EntitlementError::from(v).into()
}

fn required<T>(field: &str, v: Option<T>) -> Result<T, Status> {
    v.ok_or_else(|| invalid(FieldViolation::new(field, "is required")))
}

fn optional<T>(
    field: &str,
    value: &str,
    parse: impl Fn(&str, &str) -> Result<T, FieldViolation>,
) -> Result<Option<T>, Status> {
    if value.is_empty() {
        Ok(None)
    } else {
        parse(field, value).map(Some).map_err(invalid)
    }
}

/// `teams/{team}/{collection}/{id}`.
fn in_team(field: &str, name: &str, collection: &str) -> Result<(TeamId, String), Status> {
    let (t, id) = parse_nested(field, name, "teams", collection).map_err(invalid)?;
    Ok((TeamId::from_db(t), id))
}

fn items_in(field: &str, items: &[pb::Item]) -> Result<Vec<Item>, Status> {
    // Counted before anything is parsed, duplicates found in linear time.
    if items.len() > crate::domain::MAX_ITEMS {
        return Err(too_many(field, items.len(), crate::domain::MAX_ITEMS));
    }
    let mut out: Vec<Item> = Vec::with_capacity(items.len());
    let mut seen = std::collections::HashSet::with_capacity(items.len());
    for (i, it) in items.iter().enumerate() {
        let f = format!("{field}[{i}]");
        let id = parse_item_id(&format!("{f}.id"), &it.id).map_err(invalid)?;
        if !seen.insert(id.clone()) {
            return Err(invalid(FieldViolation::new(
                format!("{f}.id"),
                format!("item {id} is named twice"),
            )));
        }
        let kind = match pb::ItemKind::try_from(it.kind) {
            Ok(pb::ItemKind::Application) => ItemKind::Application,
            Ok(pb::ItemKind::CloudService) => ItemKind::CloudService,
            Ok(pb::ItemKind::Support) => ItemKind::Support,
            _ => {
                return Err(invalid(FieldViolation::new(
                    format!("{f}.kind"),
                    "must be APPLICATION, CLOUD_SERVICE or SUPPORT",
                )));
            }
        };
        out.push(Item {
            id,
            display_name: parse_display_name(&format!("{f}.display_name"), &it.display_name)
                .map_err(invalid)?,
            kind,
        });
    }
    Ok(out)
}

/// INVALID_ARGUMENT for a repeated field over its limit.
fn too_many(field: &str, got: usize, limit: usize) -> Status {
    invalid(FieldViolation::new(
        field,
        format!("names {got} entries; at most {limit} per call"),
    ))
}

fn product_ref(field: &str, name: &str) -> Result<ProductId, Status> {
    ProductId::parse(field, name).map_err(invalid)
}

fn date_to_day(field: &str, d: Option<&cpb::Date>) -> Result<i64, Status> {
    let d = required(field, d)?;
    let month = u8::try_from(d.month)
        .ok()
        .and_then(|m| time::Month::try_from(m).ok());
    let date = month
        .and_then(|m| time::Date::from_calendar_date(d.year, m, u8::try_from(d.day).ok()?).ok());
    let date = date.ok_or_else(|| invalid(FieldViolation::new(field, "is not a calendar date")))?;
    Ok(i64::from(
        date.to_julian_day()
            - time::Date::from_calendar_date(1970, time::Month::January, 1)
                .map(|e| e.to_julian_day())
                .unwrap_or(2_440_588),
    ))
}

pub fn day_to_date(day: i64) -> cpb::Date {
    let epoch = time::Date::from_calendar_date(1970, time::Month::January, 1)
        .map(|e| e.to_julian_day())
        .unwrap_or(2_440_588);
    let julian = i32::try_from(i64::from(epoch) + day).unwrap_or(epoch);
    let d = time::Date::from_julian_day(julian).unwrap_or(time::Date::MIN);
    cpb::Date {
        year: d.year(),
        month: i32::from(u8::from(d.month())),
        day: i32::from(d.day()),
    }
}

type R<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl Service for EntitlementGrpc {
    async fn create_product(&self, req: Request<pb::CreateProductRequest>) -> R<pb::Product> {
        let ctx = ctx(&req)?;
        let r = req.into_inner();
        let product = required("product", r.product)?;
        let id = parse_product_id("product_id", &r.product_id).map_err(invalid)?;
        let name =
            parse_display_name("product.display_name", &product.display_name).map_err(invalid)?;
        let items = items_in("product.items", &product.items)?;
        if items.is_empty() {
            return Err(invalid(FieldViolation::new(
                "product.items",
                "a product has at least one item (its application)",
            )));
        }
        let p = self.app.create_product(&ctx, id, name, items).await?;
        Ok(Response::new(convert::product(&p)))
    }

    async fn publish_release(&self, req: Request<pb::PublishReleaseRequest>) -> R<pb::Release> {
        let ctx = ctx(&req)?;
        let r = req.into_inner();
        let key = request_key!(ctx.caller, "PublishRelease", r).map_err(invalid)?;
        let product = product_ref("parent", &r.parent)?;
        let release = required("release", r.release)?;
        let version = crate::service::releases::parse_version("release.version", &release.version)
            .map_err(invalid)?;
        let notes = crate::service::releases::parse_notes("release.notes", &release.notes)
            .map_err(invalid)?;
        let published = self
            .app
            .publish_release(&ctx, &product, version, notes, key.as_ref())
            .await?;
        Ok(Response::new(convert::release(&published)))
    }

    async fn get_product(&self, req: Request<pb::GetProductRequest>) -> R<pb::Product> {
        let caller = caller(&req)?;
        let id = product_ref("name", &req.get_ref().name)?;
        Ok(Response::new(convert::product(
            &self.app.get_product(&caller, &id).await?,
        )))
    }

    async fn list_products(
        &self,
        req: Request<pb::ListProductsRequest>,
    ) -> R<pb::ListProductsResponse> {
        let caller = caller(&req)?;
        let r = req.into_inner();
        let (rows, next) = self
            .app
            .list_products(&caller, r.page_size, &r.page_token)
            .await?;
        Ok(Response::new(pb::ListProductsResponse {
            products: rows.iter().map(convert::product).collect(),
            next_page_token: next,
        }))
    }

    async fn update_product(&self, req: Request<pb::UpdateProductRequest>) -> R<pb::Product> {
        let ctx = ctx(&req)?;
        let r = req.into_inner();
        let product = required("product", r.product)?;
        let id = product_ref("product.name", &product.name)?;
        let paths = update_paths(
            r.update_mask.as_ref(),
            &["display_name", "items"],
            |p| match p {
                "display_name" => !product.display_name.is_empty(),
                _ => !product.items.is_empty(),
            },
        )
        .map_err(invalid)?;
        let mut name = None;
        let mut items = None;
        for p in &paths {
            if p == "display_name" {
                name = Some(
                    parse_display_name("product.display_name", &product.display_name)
                        .map_err(invalid)?,
                );
            } else {
                items = Some(items_in("product.items", &product.items)?);
            }
        }
        let p = self.app.update_product(&ctx, &id, name, items).await?;
        Ok(Response::new(convert::product(&p)))
    }

    async fn create_contract(&self, req: Request<pb::CreateContractRequest>) -> R<pb::Contract> {
        let ctx = ctx(&req)?;
        let r = req.into_inner();
        let key = request_key!(ctx.caller, "CreateContract", r).map_err(invalid)?;
        let c = required("contract", r.contract)?;
        let mut violations = Vec::new();
        let owner = AccountId::parse("contract.owner", &c.owner)
            .map_err(|v| violations.push(v))
            .ok();
        let activation = match pb::ActivationType::try_from(c.activation_type) {
            Ok(pb::ActivationType::SignIn) => Some(ActivationType::SignIn),
            Ok(pb::ActivationType::SerialNumber) => Some(ActivationType::SerialNumber),
            _ => {
                violations.push(FieldViolation::new(
                    "contract.activation_type",
                    "must be SIGN_IN or SERIAL_NUMBER",
                ));
                None
            }
        };
        let serial = c.serial_number.trim().to_owned();
        match activation {
            Some(ActivationType::SerialNumber) if serial.is_empty() => {
                violations.push(FieldViolation::new(
                    "contract.serial_number",
                    "is required for SERIAL_NUMBER contracts",
                ))
            }
            Some(ActivationType::SignIn) if !serial.is_empty() => {
                violations.push(FieldViolation::new(
                    "contract.serial_number",
                    "must be empty for SIGN_IN contracts",
                ))
            }
            _ => {}
        }
        if serial.len() > 64 {
            violations.push(FieldViolation::new(
                "contract.serial_number",
                "is longer than 64 characters",
            ));
        }
        let plan = match pb::ContractPlan::try_from(c.plan) {
            Ok(pb::ContractPlan::Premium) => ContractPlan::Premium,
            Ok(pb::ContractPlan::Standard | pb::ContractPlan::Unspecified) => {
                ContractPlan::Standard
            }
            Err(_) => {
                violations.push(FieldViolation::new(
                    "contract.plan",
                    "must be STANDARD or PREMIUM",
                ));
                ContractPlan::Standard
            }
        };
        let billing = match pb::Billing::try_from(c.billing) {
            Ok(pb::Billing::PayPerUse) => Billing::PayPerUse,
            Ok(pb::Billing::Term | pb::Billing::Unspecified) => Billing::Term,
            Err(_) => {
                violations.push(FieldViolation::new(
                    "contract.billing",
                    "must be TERM or PAY_PER_USE",
                ));
                Billing::Term
            }
        };
        let end_day = match c.end_date.as_ref() {
            None => None,
            Some(d) => match date_to_day("contract.end_date", Some(d)) {
                Ok(day) => {
                    let today = crate::domain::day_of(self.app.now_micros());
                    if let Err(v) = crate::service::renewals::check_end_day(billing, day, today) {
                        violations.push(v);
                    }
                    Some(day)
                }
                Err(_) => {
                    violations.push(FieldViolation::new(
                        "contract.end_date",
                        "is not a calendar date",
                    ));
                    None
                }
            },
        };
        let mut subs = Vec::new();
        if r.subscriptions.is_empty() {
            violations.push(FieldViolation::new(
                "subscriptions",
                "a contract has at least one subscription",
            ));
        }
        for (i, s) in r.subscriptions.iter().enumerate() {
            let p = ProductId::parse(&format!("subscriptions[{i}].product"), &s.product)
                .map_err(|v| violations.push(v))
                .ok();
            let n = parse_seats(&format!("subscriptions[{i}].seats"), s.seats)
                .map_err(|v| violations.push(v))
                .ok();
            if let (Some(p), Some(n)) = (p, n) {
                subs.push((p, n));
            }
        }
        let (Some(owner), Some(activation), true) = (owner, activation, violations.is_empty())
        else {
            return Err(EntitlementError::Invalid(violations).into());
        };
        let new = NewContract {
            owner,
            activation,
            serial_number: serial,
            plan,
            billing,
            collaboration_site: c.collaboration_site.trim().to_owned(),
            sso_enabled: c.sso_enabled,
            end_day,
        };
        let (contract, subs) = self
            .app
            .create_contract(&ctx, new, subs, key.as_ref())
            .await?;
        Ok(Response::new(convert::contract(&contract, &subs)))
    }

    async fn get_contract(&self, req: Request<pb::GetContractRequest>) -> R<pb::Contract> {
        let caller = caller(&req)?;
        let id = ContractId::parse("name", &req.get_ref().name).map_err(invalid)?;
        let (c, subs) = self.app.get_contract(&caller, &id).await?;
        Ok(Response::new(convert::contract(&c, &subs)))
    }

    async fn list_contracts(
        &self,
        req: Request<pb::ListContractsRequest>,
    ) -> R<pb::ListContractsResponse> {
        let caller = caller(&req)?;
        let r = req.into_inner();
        let account = optional("account", &r.account, AccountId::parse)?;
        let team = optional("team", &r.team, TeamId::parse)?;
        let (rows, next) = self
            .app
            .list_contracts(
                &caller,
                account.as_ref(),
                team.as_ref(),
                r.page_size,
                &r.page_token,
            )
            .await?;
        Ok(Response::new(pb::ListContractsResponse {
            contracts: rows.iter().map(|(c, s)| convert::contract(c, s)).collect(),
            next_page_token: next,
        }))
    }

    async fn set_software_coordinator(
        &self,
        req: Request<pb::SetSoftwareCoordinatorRequest>,
    ) -> R<pb::Contract> {
        let ctx = ctx(&req)?;
        let r = req.get_ref();
        let id = ContractId::parse("contract", &r.contract).map_err(invalid)?;
        let who =
            AccountId::parse("software_coordinator", &r.software_coordinator).map_err(invalid)?;
        let c = self.app.set_software_coordinator(&ctx, &id, &who).await?;
        Ok(Response::new(convert::contract(&c, &[])))
    }

    async fn set_contract_manager(
        &self,
        req: Request<pb::SetContractManagerRequest>,
    ) -> R<pb::Contract> {
        let ctx = ctx(&req)?;
        let r = req.get_ref();
        let id = ContractId::parse("contract", &r.contract).map_err(invalid)?;
        let who = AccountId::parse("contract_manager", &r.contract_manager).map_err(invalid)?;
        let c = self.app.set_contract_manager(&ctx, &id, &who).await?;
        Ok(Response::new(convert::contract(&c, &[])))
    }

    async fn create_subscription(
        &self,
        req: Request<pb::CreateSubscriptionRequest>,
    ) -> R<pb::Subscription> {
        let ctx = ctx(&req)?;
        let r = req.into_inner();
        let key = request_key!(ctx.caller, "CreateSubscription", r).map_err(invalid)?;
        let contract = ContractId::parse("parent", &r.parent).map_err(invalid)?;
        let s = required("subscription", r.subscription)?;
        let product = product_ref("subscription.product", &s.product)?;
        let seats = parse_seats("subscription.seats", s.seats).map_err(invalid)?;
        let (sub, c) = self
            .app
            .create_subscription(&ctx, &contract, &product, seats, key.as_ref())
            .await?;
        Ok(Response::new(convert::subscription(&sub, &c)))
    }

    async fn get_subscription(
        &self,
        req: Request<pb::GetSubscriptionRequest>,
    ) -> R<pb::Subscription> {
        let caller = caller(&req)?;
        let id = SubscriptionId::parse("name", &req.get_ref().name).map_err(invalid)?;
        let (s, c) = self.app.get_subscription(&caller, &id).await?;
        Ok(Response::new(convert::subscription(&s, &c)))
    }

    async fn list_subscriptions(
        &self,
        req: Request<pb::ListSubscriptionsRequest>,
    ) -> R<pb::ListSubscriptionsResponse> {
        let caller = caller(&req)?;
        let r = req.into_inner();
        let team = optional("team", &r.team, TeamId::parse)?;
        let contract = optional("contract", &r.contract, ContractId::parse)?;
        let (rows, next) = self
            .app
            .list_subscriptions(
                &caller,
                team.as_ref(),
                contract.as_ref(),
                r.page_size,
                &r.page_token,
            )
            .await?;
        Ok(Response::new(pb::ListSubscriptionsResponse {
            subscriptions: rows
                .iter()
                .map(|(s, c)| convert::subscription(s, c))
                .collect(),
            next_page_token: next,
        }))
    }

    async fn add_seats(&self, req: Request<pb::AddSeatsRequest>) -> R<pb::Subscription> {
        let ctx = ctx(&req)?;
        let r = req.get_ref();
        let id = SubscriptionId::parse("subscription", &r.subscription).map_err(invalid)?;
        let seats = parse_seats("seats", r.seats).map_err(invalid)?;
        let key = request_key!(ctx.caller, "AddSeats", *r).map_err(invalid)?;
        let (s, c) = self.app.add_seats(&ctx, &id, seats, key.as_ref()).await?;
        Ok(Response::new(convert::subscription(&s, &c)))
    }

    async fn move_subscription(
        &self,
        req: Request<pb::MoveSubscriptionRequest>,
    ) -> R<pb::Subscription> {
        let ctx = ctx(&req)?;
        let r = req.get_ref();
        let id = SubscriptionId::parse("subscription", &r.subscription).map_err(invalid)?;
        let target = TeamId::parse("target_team", &r.target_team).map_err(invalid)?;
        let (s, c) = self.app.move_subscription(&ctx, &id, &target).await?;
        Ok(Response::new(convert::subscription(&s, &c)))
    }

    async fn get_pool(&self, req: Request<pb::GetPoolRequest>) -> R<pb::Pool> {
        let caller = caller(&req)?;
        let (team, product) = in_team("name", &req.get_ref().name, "pools")?;
        let product = ProductId::from_db(product);
        let (p, name, waiting) = self.app.get_pool(&caller, &team, &product).await?;
        Ok(Response::new(convert::pool(&p, &name, waiting)))
    }

    async fn list_pools(&self, req: Request<pb::ListPoolsRequest>) -> R<pb::ListPoolsResponse> {
        let caller = caller(&req)?;
        let team = TeamId::parse("parent", &req.get_ref().parent).map_err(invalid)?;
        let pools = self.app.list_pools(&caller, &team).await?;
        Ok(Response::new(pb::ListPoolsResponse {
            pools: pools
                .iter()
                .map(|(p, n, w)| convert::pool(p, n, *w))
                .collect(),
        }))
    }

    async fn assign_products(
        &self,
        req: Request<pb::AssignProductsRequest>,
    ) -> R<pb::AssignResponse> {
        let ctx = ctx(&req)?;
        let r = req.into_inner();
        let team = TeamId::parse("parent", &r.parent).map_err(invalid)?;
        let account = AccountId::parse("account", &r.account).map_err(invalid)?;
        if r.products.is_empty() {
            return Err(invalid(FieldViolation::new("products", "names no product")));
        }
        if r.products.len() > crate::domain::MAX_SELECTIONS {
            return Err(too_many(
                "products",
                r.products.len(),
                crate::domain::MAX_SELECTIONS,
            ));
        }
        let mut selections: Vec<(ProductId, Vec<String>)> = Vec::with_capacity(r.products.len());
        let mut seen = std::collections::HashSet::with_capacity(r.products.len());
        for (i, s) in r.products.iter().enumerate() {
            let p = product_ref(&format!("products[{i}].product"), &s.product)?;
            if s.items.len() > crate::domain::MAX_ITEMS {
                return Err(too_many(
                    &format!("products[{i}].items"),
                    s.items.len(),
                    crate::domain::MAX_ITEMS,
                ));
            }
            if !seen.insert(p.clone()) {
                return Err(invalid(FieldViolation::new(
                    format!("products[{i}].product"),
                    "is named twice",
                )));
            }
            selections.push((p, s.items.clone()));
        }
        let key = request_key!(ctx.caller, "AssignProducts", r).map_err(invalid)?;
        let results = self
            .app
            .assign_products(&ctx, &team, &account, selections, key.as_ref())
            .await?;
        Ok(Response::new(pb::AssignResponse {
            results: results.iter().map(convert::assign_result).collect(),
        }))
    }

    async fn assign_users(&self, req: Request<pb::AssignUsersRequest>) -> R<pb::AssignResponse> {
        let ctx = ctx(&req)?;
        let r = req.into_inner();
        let team = TeamId::parse("parent", &r.parent).map_err(invalid)?;
        let product = product_ref("product", &r.product)?;
        if r.accounts.is_empty() || r.accounts.len() > 1000 {
            return Err(invalid(FieldViolation::new(
                "accounts",
                "names 1 to 1000 accounts",
            )));
        }
        if r.items.len() > crate::domain::MAX_ITEMS {
            return Err(too_many("items", r.items.len(), crate::domain::MAX_ITEMS));
        }
        let mut accounts: Vec<AccountId> = Vec::with_capacity(r.accounts.len());
        let mut seen = std::collections::HashSet::with_capacity(r.accounts.len());
        for (i, a) in r.accounts.iter().enumerate() {
            let a = AccountId::parse(&format!("accounts[{i}]"), a).map_err(invalid)?;
            if seen.insert(a.clone()) {
                accounts.push(a);
            }
        }
        let key = request_key!(ctx.caller, "AssignUsers", r).map_err(invalid)?;
        let results = self
            .app
            .assign_users(&ctx, &team, &product, r.items, accounts, key.as_ref())
            .await?;
        Ok(Response::new(pb::AssignResponse {
            results: results.iter().map(convert::assign_result).collect(),
        }))
    }

    async fn create_group_assignment(
        &self,
        req: Request<pb::CreateGroupAssignmentRequest>,
    ) -> R<pb::GroupAssignmentResponse> {
        let ctx = ctx(&req)?;
        let r = req.into_inner();
        let team = TeamId::parse("parent", &r.parent).map_err(invalid)?;
        let key = request_key!(ctx.caller, "CreateGroupAssignment", r).map_err(invalid)?;
        let ga = required("group_assignment", r.group_assignment)?;
        let (group_team, group) = in_team("group_assignment.group", &ga.group, "groups")?;
        if group_team != team {
            return Err(invalid(FieldViolation::new(
                "group_assignment.group",
                "must be a group of the parent team",
            )));
        }
        let product = product_ref("group_assignment.product", &ga.product)?;
        let (row, results) = self
            .app
            .create_group_assignment(&ctx, &team, &group, &product, ga.items, key.as_ref())
            .await?;
        Ok(Response::new(pb::GroupAssignmentResponse {
            group_assignment: Some(convert::group_assignment(&row)),
            results: results.iter().map(convert::assign_result).collect(),
        }))
    }

    async fn list_group_assignments(
        &self,
        req: Request<pb::ListGroupAssignmentsRequest>,
    ) -> R<pb::ListGroupAssignmentsResponse> {
        let caller = caller(&req)?;
        let team = TeamId::parse("parent", &req.get_ref().parent).map_err(invalid)?;
        let rows = self.app.list_group_assignments(&caller, &team).await?;
        Ok(Response::new(pb::ListGroupAssignmentsResponse {
            group_assignments: rows.iter().map(convert::group_assignment).collect(),
        }))
    }

    async fn delete_group_assignment(
        &self,
        req: Request<pb::DeleteGroupAssignmentRequest>,
    ) -> R<()> {
        let ctx = ctx(&req)?;
        let (team, id) = in_team("name", &req.get_ref().name, "groupAssignments")?;
        self.app.delete_group_assignment(&ctx, &team, &id).await?;
        Ok(Response::new(()))
    }

    async fn get_assignment(&self, req: Request<pb::GetAssignmentRequest>) -> R<pb::Assignment> {
        let caller = caller(&req)?;
        let (team, id) = in_team("name", &req.get_ref().name, "assignments")?;
        Ok(Response::new(convert::assignment(
            &self.app.get_assignment(&caller, &team, &id).await?,
        )))
    }

    async fn list_assignments(
        &self,
        req: Request<pb::ListAssignmentsRequest>,
    ) -> R<pb::ListAssignmentsResponse> {
        let caller = caller(&req)?;
        let r = req.into_inner();
        let team = TeamId::parse("parent", &r.parent).map_err(invalid)?;
        let account = optional("account", &r.account, AccountId::parse)?;
        let product = optional("product", &r.product, ProductId::parse)?;
        let contract = optional("contract", &r.contract, ContractId::parse)?;
        let query = AssignmentQuery {
            account,
            product,
            contract,
        };
        let (rows, next) = self
            .app
            .list_assignments(&caller, &team, &query, r.page_size, &r.page_token)
            .await?;
        let last = self.app.last_uses(&team, &rows).await?;
        Ok(Response::new(pb::ListAssignmentsResponse {
            assignments: rows
                .iter()
                .map(|a| pb::Assignment {
                    last_use_time: last
                        .get(&(a.account.as_str().to_owned(), a.product.as_str().to_owned()))
                        .map(|t| allot_platform::clock::timestamp(*t)),
                    ..convert::assignment(a)
                })
                .collect(),
            next_page_token: next,
        }))
    }

    async fn update_assignment(
        &self,
        req: Request<pb::UpdateAssignmentRequest>,
    ) -> R<pb::Assignment> {
        let ctx = ctx(&req)?;
        let r = req.into_inner();
        let a = required("assignment", r.assignment)?;
        let (team, id) = in_team("assignment.name", &a.name, "assignments")?;
        update_paths(r.update_mask.as_ref(), &["items"], |_| true).map_err(invalid)?;
        let before = a.name.clone();
        match self
            .app
            .update_assignment_items(&ctx, &team, &id, a.items)
            .await?
        {
            Some(updated) => Ok(Response::new(convert::assignment(&updated))),
            // R-SEAT-4: no item left, the seat is free; the assignment is gone.
            None => Ok(Response::new(pb::Assignment {
                name: before,
                ..Default::default()
            })),
        }
    }

    async fn delete_assignment(&self, req: Request<pb::DeleteAssignmentRequest>) -> R<()> {
        let ctx = ctx(&req)?;
        let (team, id) = in_team("name", &req.get_ref().name, "assignments")?;
        self.app.delete_assignment(&ctx, &team, &id).await?;
        Ok(Response::new(()))
    }

    async fn check_entitlement(
        &self,
        req: Request<pb::CheckEntitlementRequest>,
    ) -> R<pb::CheckEntitlementResponse> {
        let caller = caller(&req)?;
        let r = req.get_ref();
        let account = match (r.account.as_str(), caller.account()) {
            ("", Some(me)) => me.clone(),
            ("", None) => {
                return Err(invalid(FieldViolation::new(
                    "account",
                    "is required for service accounts",
                )));
            }
            (a, _) => AccountId::parse("account", a).map_err(invalid)?,
        };
        let product = product_ref("product", &r.product)?;
        let answer = self
            .app
            .check(&caller, &account, &product, r.record_usage)?;
        Ok(Response::new(match answer {
            Answer::Allowed { grant, pool } => pb::CheckEntitlementResponse {
                allowed: true,
                items: grant.items.to_vec(),
                activation_type: convert::activation(
                    pool.as_ref()
                        .map(|p| p.activation)
                        .unwrap_or(ActivationType::SignIn),
                ) as i32,
                serial_number: pool.map(|p| p.serial_number).unwrap_or_default(),
                team: format!("teams/{}", grant.team),
                deny_reason: pb::DenyReason::Unspecified as i32,
                message: String::new(),
            },
            Answer::NotAssigned => pb::CheckEntitlementResponse {
                deny_reason: pb::DenyReason::NotAssigned as i32,
                message: "you have no seat of this product; ask an admin of your team to assign it"
                    .into(),
                ..Default::default()
            },
            Answer::UnknownProduct => pb::CheckEntitlementResponse {
                deny_reason: pb::DenyReason::UnknownProduct as i32,
                message: format!("{} is not a product Allot knows", product.name()),
                ..Default::default()
            },
        }))
    }

    async fn list_my_products(
        &self,
        req: Request<pb::ListMyProductsRequest>,
    ) -> R<pb::ListMyProductsResponse> {
        let caller = caller(&req)?;
        let account = match (req.get_ref().account.as_str(), caller.account()) {
            ("", Some(me)) => me.clone(),
            ("", None) => {
                return Err(invalid(FieldViolation::new(
                    "account",
                    "is required for service accounts",
                )));
            }
            (a, _) => AccountId::parse("account", a).map_err(invalid)?,
        };
        Ok(Response::new(pb::ListMyProductsResponse {
            products: self
                .app
                .my_products(&caller, &account)?
                .iter()
                .map(convert::my_product)
                .collect(),
        }))
    }

    async fn get_usage_report(
        &self,
        req: Request<pb::GetUsageReportRequest>,
    ) -> R<pb::UsageReport> {
        let r = req.get_ref();
        let (team, rows) = self
            .usage_rows(&req, &r.parent, r.start_date.as_ref(), r.end_date.as_ref())
            .await?;
        Ok(Response::new(pb::UsageReport {
            team: team.name(),
            rows: rows
                .iter()
                .map(|u| pb::UsageRow {
                    date: Some(day_to_date(u.day)),
                    product: format!("products/{}", u.product),
                    seats: u.seats,
                    assigned: u.assigned,
                    users: i32::try_from(u.users).unwrap_or(i32::MAX),
                })
                .collect(),
        }))
    }

    /// R-SEAT-3 by CSV: starts an assignment import.
    async fn import_assignments(
        &self,
        req: Request<pb::ImportAssignmentsRequest>,
    ) -> R<cpb::Operation> {
        let mut ctx = ctx(&req)?;
        let r = req.into_inner();
        ctx.caller = ctx.caller.on_behalf_of("on_behalf_of", &r.on_behalf_of)?;
        let key = request_key!(ctx.caller, "ImportAssignments", r).map_err(invalid)?;
        let team = TeamId::parse("parent", &r.parent).map_err(invalid)?;
        let op = self
            .app
            .start_assignment_import(
                &ctx,
                &team,
                &r.csv,
                r.validate_only,
                self.max_rows,
                key.as_ref(),
            )
            .await?;
        Ok(Response::new(op))
    }

    async fn get_operation(&self, req: Request<pb::GetOperationRequest>) -> R<cpb::Operation> {
        let caller = caller(&req)?;
        let op = self
            .app
            .get_operation(&caller, &req.into_inner().name)
            .await?;
        Ok(Response::new(op))
    }

    async fn list_import_rows(
        &self,
        req: Request<pb::ListImportRowsRequest>,
    ) -> R<pb::ListImportRowsResponse> {
        let caller = caller(&req)?;
        let r = req.into_inner();
        let (rows, next_page_token) = self
            .app
            .list_import_rows(&caller, &r.name, r.page_size, &r.page_token)
            .await?;
        Ok(Response::new(pb::ListImportRowsResponse {
            rows: rows
                .into_iter()
                .map(|r| pb::ImportAssignmentRow {
                    line: i32::try_from(r.line).unwrap_or(i32::MAX),
                    email: r.email,
                    product: r.detail,
                    outcome: r.outcome,
                    message: r.message,
                })
                .collect(),
            next_page_token,
        }))
    }

    async fn list_operations(
        &self,
        req: Request<pb::ListOperationsRequest>,
    ) -> R<pb::ListOperationsResponse> {
        let caller = caller(&req)?;
        let r = req.into_inner();
        let team = TeamId::parse("parent", &r.parent).map_err(invalid)?;
        let (operations, next_page_token) = self
            .app
            .list_operations(&caller, &team, r.page_size, &r.page_token)
            .await?;
        Ok(Response::new(pb::ListOperationsResponse {
            operations,
            next_page_token,
        }))
    }

    async fn watch_operation(
        &self,
        req: Request<pb::WatchOperationRequest>,
    ) -> R<BoxStream<cpb::Operation>> {
        let caller = (*caller(&req)?).clone();
        let name = req.into_inner().name;
        let holder = caller.name();
        let app = self.app.clone();
        let stream = allot_platform::jobs::watch(&self.operation_watchers, &holder, move || {
            let (app, caller, name) = (app.clone(), caller.clone(), name.clone());
            async move {
                app.get_operation(&caller, &name)
                    .await
                    .map_err(Status::from)
            }
        })
        .await?;
        Ok(Response::new(stream))
    }

    /// R-USE-2 as a CSV file: one line per day and product.
    async fn export_usage_report(
        &self,
        req: Request<pb::ExportUsageReportRequest>,
    ) -> R<BoxStream<pb::ExportUsageReportResponse>> {
        let r = req.get_ref();
        let (_, rows) = self
            .usage_rows(&req, &r.parent, r.start_date.as_ref(), r.end_date.as_ref())
            .await?;
        let bytes = crate::report::usage_csv(&rows)
            .map_err(|e| Status::internal(format!("writing the report: {e}")))?;
        Ok(Response::new(allot_platform::grpc::chunked(
            bytes,
            |chunk| pb::ExportUsageReportResponse { chunk },
        )))
    }

    async fn watch(&self, req: Request<pb::WatchRequest>) -> R<BoxStream<pb::WatchResponse>> {
        let caller = caller(&req)?;
        self.app.authorize_watch(&caller)?;
        let r = req.into_inner();
        let team = optional("team", &r.team, TeamId::parse)?.map(|t| t.name());
        let params = WatchParams::from_request(
            r.after_cursor,
            r.start_at_now,
            r.event_types,
            team,
            caller.name(),
        );
        let stream = self
            .app
            .outbox()
            .watch_events(
                params,
                |e| pb::WatchResponse {
                    kind: Some(pb::watch_response::Kind::Event(e)),
                },
                |c| pb::WatchResponse {
                    kind: Some(pb::watch_response::Kind::Checkpoint(c)),
                },
            )
            .await?;
        Ok(Response::new(stream))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_through_day_numbers() {
        let d = cpb::Date {
            year: 2026,
            month: 11,
            day: 22,
        };
        let day = date_to_day("start_date", Some(&d)).unwrap();
        assert_eq!(day_to_date(day), d);
        assert_eq!(
            date_to_day(
                "x",
                Some(&cpb::Date {
                    year: 1970,
                    month: 1,
                    day: 1
                })
            )
            .unwrap(),
            0
        );
        assert!(
            date_to_day(
                "x",
                Some(&cpb::Date {
                    year: 2026,
                    month: 2,
                    day: 30
                })
            )
            .is_err()
        );
    }
}
