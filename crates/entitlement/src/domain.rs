//! The rules of the catalog, contracts, seats and checks. Pure: no
//! database, no gRPC.

use allot_platform::auth::{Caller, scopes};
use allot_platform::error::FieldViolation;
use allot_platform::ids::{AccountId, ContractId, ProductId, SubscriptionId, TeamId};
use allot_platform::values::parse_text;

use crate::error::EntitlementError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    Application,
    CloudService,
    Support,
}

impl ItemKind {
    pub fn as_db(self) -> &'static str {
        match self {
            ItemKind::Application => "APPLICATION",
            ItemKind::CloudService => "CLOUD_SERVICE",
            ItemKind::Support => "SUPPORT",
        }
    }

    pub fn from_db(s: &str) -> ItemKind {
        match s {
            "CLOUD_SERVICE" => ItemKind::CloudService,
            "SUPPORT" => ItemKind::Support,
            _ => ItemKind::Application,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub id: String,
    pub display_name: String,
    pub kind: ItemKind,
}

#[derive(Debug, Clone)]
pub struct Product {
    pub id: ProductId,
    pub display_name: String,
    pub items: Vec<Item>,
    pub create_time: i64,
}

impl Product {
    /// R-SEAT-6: the items of the owner's automatic seat: everything on
    /// sign-in pools; on classic pools the application only, since cloud
    /// services and support benefits are few and handed out by the
    /// contract's manager or coordinator (R-CLS-4, R-CLS-5).
    pub fn owner_seat_items(&self, activation: ActivationType) -> Vec<String> {
        match activation {
            ActivationType::SignIn => Vec::new(),
            ActivationType::SerialNumber => self
                .items
                .iter()
                .filter(|i| i.kind == ItemKind::Application)
                .map(|i| i.id.clone())
                .collect(),
        }
    }

    pub fn item(&self, id: &str) -> Option<&Item> {
        self.items.iter().find(|i| i.id == id)
    }

    pub fn all_item_ids(&self) -> Vec<String> {
        self.items.iter().map(|i| i.id.clone()).collect()
    }

    /// R-SEAT-4: the items an assignment covers: all of them when none are
    /// named, otherwise the named ones (each must exist), in catalog order.
    pub fn select_items(
        &self,
        field: &str,
        requested: &[String],
    ) -> Result<Vec<String>, EntitlementError> {
        if requested.is_empty() {
            return Ok(self.all_item_ids());
        }
        for r in requested {
            if self.item(r).is_none() {
                return Err(EntitlementError::not_found(
                    "item",
                    format!("{}/items/{r} (named in {field})", self.id.name()),
                ));
            }
        }
        Ok(self
            .items
            .iter()
            .filter(|i| requested.contains(&i.id))
            .map(|i| i.id.clone())
            .collect())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivationType {
    SignIn,
    SerialNumber,
}

impl ActivationType {
    pub fn as_db(self) -> &'static str {
        match self {
            ActivationType::SignIn => "SIGN_IN",
            ActivationType::SerialNumber => "SERIAL_NUMBER",
        }
    }

    pub fn from_db(s: &str) -> ActivationType {
        if s == "SERIAL_NUMBER" {
            ActivationType::SerialNumber
        } else {
            ActivationType::SignIn
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContractPlan {
    Standard,
    Premium,
}

impl ContractPlan {
    pub fn as_db(self) -> &'static str {
        match self {
            ContractPlan::Standard => "STANDARD",
            ContractPlan::Premium => "PREMIUM",
        }
    }

    pub fn from_db(s: &str) -> ContractPlan {
        if s == "PREMIUM" {
            ContractPlan::Premium
        } else {
            ContractPlan::Standard
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Billing {
    Term,
    PayPerUse,
}

impl Billing {
    pub fn as_db(self) -> &'static str {
        match self {
            Billing::Term => "TERM",
            Billing::PayPerUse => "PAY_PER_USE",
        }
    }

    pub fn from_db(s: &str) -> Billing {
        if s == "PAY_PER_USE" {
            Billing::PayPerUse
        } else {
            Billing::Term
        }
    }
}

#[derive(Debug, Clone)]
pub struct Contract {
    pub id: ContractId,
    /// The contract manager (R-ROLE-8, R-CLS-1).
    pub owner: AccountId,
    pub owner_email: String,
    pub activation: ActivationType,
    pub serial_number: String,
    pub plan: ContractPlan,
    pub billing: Billing,
    pub collaboration_site: String,
    pub sso_enabled: bool,
    pub team: TeamId,
    pub coordinator: AccountId,
    pub create_time: i64,
    /// TERM contracts: the last day of the term (days since 1970-01-01).
    pub end_day: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct Subscription {
    pub id: SubscriptionId,
    pub contract: ContractId,
    pub product: ProductId,
    pub seats: i32,
    pub team: TeamId,
    pub create_time: i64,
}

/// A team's seats of one product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pool {
    pub team: TeamId,
    pub product: ProductId,
    pub seats: i32,
    pub assigned: i32,
    pub activation: ActivationType,
    pub serial_number: String,
}

impl Pool {
    pub fn available(&self) -> i32 {
        self.seats - self.assigned
    }

    /// R-SEAT-2: the refusal when no seat is left, with the figures.
    pub fn exhausted(&self) -> EntitlementError {
        EntitlementError::NoSeat {
            pool: format!("{}/pools/{}", self.team.name(), self.product),
            seats: self.seats,
            assigned: self.assigned,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub id: String,
    pub team: TeamId,
    pub account: AccountId,
    pub email: String,
    pub product: ProductId,
    pub items: Vec<String>,
    pub direct: bool,
    /// Group assignments it comes from.
    pub groups: Vec<String>,
    pub create_time: i64,
}

/// What unassigning a seat does (R-SEAT-4, R-SEAT-5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unassign {
    /// The seat is freed.
    Free,
    /// The seat also comes from groups: it stays, as theirs only.
    KeepForGroups,
}

impl Assignment {
    /// R-SEAT-5: a seat that comes only from groups cannot be unassigned
    /// (FROM_GROUP: change the group instead); one that is also direct
    /// keeps its group sources; any other is freed.
    pub fn unassign(&self) -> Result<Unassign, EntitlementError> {
        match (self.direct, self.groups.is_empty()) {
            (_, true) => Ok(Unassign::Free),
            (true, false) => Ok(Unassign::KeepForGroups),
            (false, false) => Err(EntitlementError::Precondition {
                kind: "FROM_GROUP",
                subject: self.name(),
                message: "this seat comes from a group assignment; remove the person from the group or delete the group assignment".into(),
            }),
        }
    }

    pub fn name(&self) -> String {
        format!("{}/assignments/{}", self.team.name(), self.id)
    }
}

/// How a seat is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Direct,
    /// A group assignment's id.
    Group(String),
}

/// Largest seat count of one subscription or one addition.
pub const MAX_SEATS: i32 = 1_000_000;

/// The most items one product has; also the most one assignment names.
pub const MAX_ITEMS: usize = 100;

/// The most products one AssignProducts call names.
pub const MAX_SELECTIONS: usize = 100;

/// A seat count: at least 1.
pub fn parse_seats(field: &str, n: i32) -> Result<i32, FieldViolation> {
    if n < 1 {
        return Err(FieldViolation::new(
            field,
            format!("must be at least 1, got {n}"),
        ));
    }
    if n > MAX_SEATS {
        return Err(FieldViolation::new(
            field,
            format!("must be at most {MAX_SEATS}"),
        ));
    }
    Ok(n)
}

/// A caller-chosen product id: lower-case letters, digits and dashes.
pub fn parse_product_id(field: &str, id: &str) -> Result<ProductId, FieldViolation> {
    let ok = (2..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-');
    if !ok {
        return Err(FieldViolation::new(
            field,
            "must be 2 to 64 lower-case letters, digits and dashes, starting with a letter or digit",
        ));
    }
    Ok(ProductId::from_db(id.to_owned()))
}

/// An item id within a product.
pub fn parse_item_id(field: &str, id: &str) -> Result<String, FieldViolation> {
    parse_product_id(field, id).map(|p| p.as_str().to_owned())
}

pub fn parse_display_name(field: &str, s: &str) -> Result<String, FieldViolation> {
    parse_text(field, s, 200)
}

fn contact_support(subject: &str, why: &str) -> EntitlementError {
    EntitlementError::Precondition {
        kind: "CONTACT_SUPPORT",
        subject: subject.to_owned(),
        message: format!(
            "{why}: such subscriptions cannot be moved between teams here; contact support"
        ),
    }
}

/// R-TEAM-4: whether a subscription of `contract` may leave a pool with
/// `pool_after_seats` seats and `assigned` taken.
/// R-TEAM-4: a subscription moves only into a team its contract's owner
/// administers, never into a stranger's.
pub fn check_move_target(owner_administers_target: bool) -> Result<(), EntitlementError> {
    if owner_administers_target {
        return Ok(());
    }
    Err(EntitlementError::PermissionDenied(
        "target_team: the contract's owner is not an admin of that team; a subscription moves only into a team its owner administers".into(),
    ))
}

pub fn check_move(
    contract: &Contract,
    subject: &str,
    pool_after_seats: i32,
    assigned: i32,
) -> Result<(), EntitlementError> {
    if contract.billing == Billing::PayPerUse {
        return Err(contact_support(
            subject,
            "the subscription is billed pay-per-use",
        ));
    }
    if contract.plan == ContractPlan::Premium && contract.sso_enabled {
        return Err(contact_support(
            subject,
            "the subscription is on a premium plan with single sign-on",
        ));
    }
    if !contract.collaboration_site.is_empty() {
        return Err(contact_support(
            subject,
            "the subscription is linked to a collaboration site",
        ));
    }
    if assigned > pool_after_seats {
        let excess = assigned - pool_after_seats;
        return Err(EntitlementError::Precondition {
            kind: "UNASSIGN_FIRST",
            subject: subject.to_owned(),
            message: format!(
                "moving it would leave the team with {assigned} assignments for {pool_after_seats} seats; unassign {excess} seat{} of this product first",
                if excess == 1 { "" } else { "s" }
            ),
        });
    }
    Ok(())
}

/// A pool holds one kind of activation: sign-in and serial-number
/// subscriptions of one product do not share seats.
pub fn check_activation(
    pool: Option<&Pool>,
    activation: ActivationType,
    subject: &str,
) -> Result<(), EntitlementError> {
    match pool {
        Some(p) if p.activation != activation && p.seats > 0 => {
            Err(EntitlementError::Precondition {
                kind: "MIXED_ACTIVATION",
                subject: subject.to_owned(),
                message: format!(
                    "the team already holds {} seats of {} with {} activation; a {} subscription of the same product cannot join them",
                    p.seats,
                    p.product,
                    p.activation.as_db().to_lowercase().replace('_', " "),
                    activation.as_db().to_lowercase().replace('_', " ")
                ),
            })
        }
        _ => Ok(()),
    }
}

/// R-CLS-3: classic products are assigned by user only.
pub fn check_classic_by_user(pool: &Pool, how: &str) -> Result<(), EntitlementError> {
    classic_by_user_only(&pool.team, &pool.product, pool.activation, how)
}

/// Whether a refusal is a classic item limit (R-CLS-4, R-CLS-5).
pub fn is_classic_limit(kind: &str) -> bool {
    matches!(kind, "CLASSIC_CLOUD_LIMIT" | "CLASSIC_SUPPORT_LIMIT")
}

/// R-CLS-3 for a product of `team` activated by `activation`, assigned
/// `how` (by product, by group, by CSV).
pub fn classic_by_user_only(
    team: &TeamId,
    product: &ProductId,
    activation: ActivationType,
    how: &str,
) -> Result<(), EntitlementError> {
    if activation == ActivationType::SerialNumber {
        return Err(EntitlementError::Precondition {
            kind: "CLASSIC_BY_USER_ONLY",
            subject: format!("{}/pools/{}", team.name(), product),
            message: format!(
                "{product} is a classic (serial number) product: assign it by user, not {how}"
            ),
        });
    }
    Ok(())
}

/// Whether an assignment of `items` takes a seat of a pool: always on
/// sign-in pools; on classic pools only with the application, since cloud
/// services and support benefits are handed out beside the software and
/// have limits of their own (R-CLS-4, R-CLS-5).
pub fn takes_seat(activation: ActivationType, product: &Product, items: &[String]) -> bool {
    activation == ActivationType::SignIn
        || items.iter().any(|i| {
            product
                .item(i)
                .is_some_and(|it| it.kind == ItemKind::Application)
        })
}

/// Most users of one cloud service of a classic subscription (R-CLS-4).
pub const CLASSIC_CLOUD_USERS: i64 = 3;
/// Most users of support benefits per classic seat (R-CLS-5).
pub const CLASSIC_SUPPORT_USERS_PER_SEAT: i64 = 6;

/// R-CLS-4, R-CLS-5: whether one more person may hold `item` of a classic
/// pool that `holders` people hold already.
pub fn check_classic_item(pool: &Pool, item: &Item, holders: i64) -> Result<(), EntitlementError> {
    if pool.activation != ActivationType::SerialNumber {
        return Ok(());
    }
    let (limit, rule) = match item.kind {
        ItemKind::CloudService => (
            CLASSIC_CLOUD_USERS,
            "a cloud service of a classic subscription is for at most 3 users".to_owned(),
        ),
        ItemKind::Support => (
            CLASSIC_SUPPORT_USERS_PER_SEAT * i64::from(pool.seats),
            format!(
                "support benefits are for at most 6 users per seat ({} for {} seats)",
                CLASSIC_SUPPORT_USERS_PER_SEAT * i64::from(pool.seats),
                pool.seats
            ),
        ),
        ItemKind::Application => return Ok(()),
    };
    if holders >= limit {
        return Err(EntitlementError::Precondition {
            kind: if item.kind == ItemKind::CloudService {
                "CLASSIC_CLOUD_LIMIT"
            } else {
                "CLASSIC_SUPPORT_LIMIT"
            },
            subject: format!("{}/pools/{}", pool.team.name(), pool.product),
            message: format!(
                "{rule}; {holders} already hold {}: take it from someone first",
                item.display_name
            ),
        });
    }
    Ok(())
}

/// A day number: days since the Unix epoch, in UTC.
pub fn day_of(micros: i64) -> i64 {
    micros.div_euclid(86_400_000_000)
}

/// A caller's standing in the team a request touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TeamStanding {
    /// Primary, secondary or SSO admin.
    Admin,
    /// A member without an admin role.
    Member,
    /// Not a member.
    Outsider,
}

/// What a caller asks to do in the entitlement service.
#[derive(Debug, Clone, Copy)]
pub enum Action<'a> {
    ReadCatalog,
    ManageCatalog,
    /// Contracts, subscriptions, seats bought: the commerce back end.
    RecordPurchase,
    /// Appoint the software coordinator, move a subscription: the contract
    /// manager only (R-CLS-1, R-TEAM-4).
    ActAsContractManager {
        owner: &'a AccountId,
    },
    /// R-CLS-1: passing the contract manager role on.
    PassContractManager {
        owner: &'a AccountId,
    },
    ReadContract {
        contract: &'a Contract,
        standing: TeamStanding,
    },
    ListContractsOf {
        account: Option<&'a AccountId>,
    },
    /// Assign, unassign, change items, group assignments (R-ROLE-2).
    ManageSeats {
        standing: TeamStanding,
    },
    /// R-CLS-7: seats of a classic product, whose contract's manager or
    /// software coordinator the caller is (`holds_role`) or not.
    ManageClassicSeats {
        holds_role: bool,
    },
    /// Pools and every assignment of a team (R-SEAT-7), reports (R-USE-2).
    ReadSeats {
        standing: TeamStanding,
    },
    /// The assignments of one person: their own, or an admin's view.
    ReadSeatsOf {
        account: &'a AccountId,
        standing: TeamStanding,
    },
    /// Assignments under one contract: its coordinator too (R-CLS-2).
    ReadContractSeats {
        contract: &'a Contract,
        standing: TeamStanding,
    },
    /// The entitlement check and a person's products (R-USE-1, R-SEAT-8).
    Check {
        account: &'a AccountId,
    },
    Watch,
}

fn denied(needed: &str) -> EntitlementError {
    EntitlementError::PermissionDenied(format!("this needs {needed}"))
}

/// The one place entitlement decides who may do what.
pub fn authorize(caller: &Caller, action: Action<'_>) -> Result<(), EntitlementError> {
    if caller.is_internal() {
        return Ok(());
    }
    let me = caller.account();
    match action {
        Action::ReadCatalog => Ok(()),
        // Operators (`admin`) may seed the catalog and record purchases too.
        Action::ManageCatalog
            if caller.has_scope(scopes::CATALOG) || caller.has_scope(scopes::ADMIN) =>
        {
            Ok(())
        }
        Action::ManageCatalog => Err(denied("the `catalog` scope")),
        Action::RecordPurchase
            if caller.has_scope(scopes::CONTRACTS) || caller.has_scope(scopes::ADMIN) =>
        {
            Ok(())
        }
        Action::RecordPurchase => Err(denied(
            "the `contracts` scope (the commerce back end records purchases)",
        )),
        Action::ActAsContractManager { owner } if me == Some(owner) && caller.actor.is_none() => {
            Ok(())
        }
        Action::ActAsContractManager { .. } => {
            Err(denied("the contract manager (the contract's owner)"))
        }
        Action::PassContractManager { owner }
            if (me == Some(owner) && caller.actor.is_none())
                || caller.has_scope(scopes::CONTRACTS) =>
        {
            Ok(())
        }
        Action::PassContractManager { .. } => Err(denied(
            "the contract manager (the contract's owner), or the `contracts` scope acting for a reseller",
        )),
        Action::ReadContract { contract, standing } => {
            let allowed = caller.has_scope(scopes::CONTRACTS)
                || standing == TeamStanding::Admin
                || me == Some(&contract.owner)
                || me == Some(&contract.coordinator);
            if allowed {
                Ok(())
            } else {
                Err(denied(
                    "an admin role in the contract's team, or to be its manager or coordinator",
                ))
            }
        }
        Action::ListContractsOf { account } => {
            if caller.has_scope(scopes::CONTRACTS) || (account.is_some() && me == account) {
                Ok(())
            } else {
                Err(denied(
                    "the `contracts` scope, or `account` set to yourself",
                ))
            }
        }
        Action::ManageSeats {
            standing: TeamStanding::Admin,
        } => Ok(()),
        Action::ManageClassicSeats { holds_role } if holds_role || caller.is_internal() => Ok(()),
        Action::ManageClassicSeats { .. } => Err(denied(
            "the contract manager or the software coordinator of the classic contract of this product (R-CLS-7); other admins may view it",
        )),
        Action::ManageSeats { standing } => Err(denied(match standing {
            TeamStanding::Member => {
                "an admin role in this team (primary, secondary or SSO admin); you are a user"
            }
            _ => {
                "an admin role in this team (primary, secondary or SSO admin); you are not a member"
            }
        })),
        Action::ReadSeats {
            standing: TeamStanding::Admin,
        } => Ok(()),
        Action::ReadSeats { .. } => Err(denied("an admin role in this team")),
        Action::ReadSeatsOf { account, standing } => {
            if standing == TeamStanding::Admin || me == Some(account) {
                Ok(())
            } else {
                Err(denied(
                    "an admin role in this team, or `account` set to yourself",
                ))
            }
        }
        Action::ReadContractSeats { contract, standing } => {
            if standing == TeamStanding::Admin
                || me == Some(&contract.coordinator)
                || me == Some(&contract.owner)
            {
                Ok(())
            } else {
                Err(denied(
                    "an admin role in this team, or to coordinate the contract",
                ))
            }
        }
        Action::Check { account } => {
            if me == Some(account)
                || caller.has_scope(scopes::ENTITLEMENTS_CHECK)
                || caller.has_scope(scopes::ADMIN)
            {
                Ok(())
            } else {
                Err(denied(
                    "to ask about yourself, or the `entitlements.check` or `admin` scope",
                ))
            }
        }
        Action::Watch
            if caller.has_scope(scopes::EVENTS_READ) || caller.has_scope(scopes::ADMIN) =>
        {
            Ok(())
        }
        Action::Watch => Err(denied("the `events.read` or `admin` scope")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contract() -> Contract {
        Contract {
            id: ContractId::generate(),
            owner: AccountId::generate(),
            owner_email: "o@example.com".into(),
            activation: ActivationType::SignIn,
            serial_number: String::new(),
            plan: ContractPlan::Standard,
            billing: Billing::Term,
            collaboration_site: String::new(),
            sso_enabled: false,
            team: TeamId::generate(),
            coordinator: AccountId::generate(),
            create_time: 0,
            end_day: None,
        }
    }

    fn pool(activation: ActivationType, seats: i32) -> Pool {
        Pool {
            team: TeamId::generate(),
            product: ProductId::from_db("cad".into()),
            seats,
            assigned: 0,
            activation,
            serial_number: String::new(),
        }
    }

    fn kind(e: EntitlementError) -> &'static str {
        match e {
            EntitlementError::Precondition { kind, .. } => kind,
            other => panic!("expected a precondition, got {other:?}"),
        }
    }

    #[test]
    fn seat_counts_are_positive() {
        assert!(parse_seats("seats", 0).is_err());
        assert!(parse_seats("seats", -3).is_err());
        assert_eq!(parse_seats("seats", 10).unwrap(), 10);
    }

    #[test]
    fn r_team_4_moves_that_need_support() {
        let s = "subscriptions/x";
        let mut c = contract();
        assert!(check_move(&c, s, 5, 5).is_ok());
        c.billing = Billing::PayPerUse;
        assert_eq!(
            kind(check_move(&c, s, 5, 0).unwrap_err()),
            "CONTACT_SUPPORT"
        );
        let mut c = contract();
        c.plan = ContractPlan::Premium;
        assert!(check_move(&c, s, 5, 0).is_ok(), "premium without SSO moves");
        c.sso_enabled = true;
        assert_eq!(
            kind(check_move(&c, s, 5, 0).unwrap_err()),
            "CONTACT_SUPPORT"
        );
        let mut c = contract();
        c.collaboration_site = "https://collab.example.com/p/1".into();
        assert_eq!(
            kind(check_move(&c, s, 5, 0).unwrap_err()),
            "CONTACT_SUPPORT"
        );
    }

    #[test]
    fn r_team_4_a_move_says_how_many_seats_to_unassign() {
        match check_move(&contract(), "subscriptions/x", 3, 7).unwrap_err() {
            EntitlementError::Precondition { kind, message, .. } => {
                assert_eq!(kind, "UNASSIGN_FIRST");
                assert!(message.contains("unassign 4 seats"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn r_cls_3_classic_products_by_user_only() {
        assert!(check_classic_by_user(&pool(ActivationType::SignIn, 1), "by group").is_ok());
        assert_eq!(
            kind(
                check_classic_by_user(&pool(ActivationType::SerialNumber, 1), "by group")
                    .unwrap_err()
            ),
            "CLASSIC_BY_USER_ONLY"
        );
    }

    #[test]
    fn r_cls_4_cloud_services_for_three_users() {
        let p = pool(ActivationType::SerialNumber, 50);
        let cloud = Item {
            id: "render".into(),
            display_name: "Rendering".into(),
            kind: ItemKind::CloudService,
        };
        assert!(check_classic_item(&p, &cloud, 2).is_ok());
        assert_eq!(
            kind(check_classic_item(&p, &cloud, 3).unwrap_err()),
            "CLASSIC_CLOUD_LIMIT"
        );
        assert!(
            check_classic_item(&pool(ActivationType::SignIn, 1), &cloud, 100).is_ok(),
            "only classic"
        );
    }

    #[test]
    fn r_cls_5_support_for_six_users_per_seat() {
        let p = pool(ActivationType::SerialNumber, 2);
        let support = Item {
            id: "support".into(),
            display_name: "Support".into(),
            kind: ItemKind::Support,
        };
        assert!(check_classic_item(&p, &support, 11).is_ok());
        assert_eq!(
            kind(check_classic_item(&p, &support, 12).unwrap_err()),
            "CLASSIC_SUPPORT_LIMIT"
        );
    }

    #[test]
    fn r_seat_4_items_default_to_all_and_must_exist() {
        let product = Product {
            id: ProductId::from_db("cad".into()),
            display_name: "CAD".into(),
            items: vec![
                Item {
                    id: "desktop".into(),
                    display_name: "Desktop".into(),
                    kind: ItemKind::Application,
                },
                Item {
                    id: "render".into(),
                    display_name: "Render".into(),
                    kind: ItemKind::CloudService,
                },
            ],
            create_time: 0,
        };
        assert_eq!(
            product.select_items("items", &[]).unwrap(),
            ["desktop", "render"]
        );
        assert_eq!(
            product
                .select_items("items", &["render".into(), "desktop".into()])
                .unwrap(),
            ["desktop", "render"]
        );
        assert!(matches!(
            product.select_items("items", &["nope".into()]),
            Err(EntitlementError::NotFound { .. })
        ));
    }

    #[test]
    fn r_cls_5_classic_benefits_take_no_seat() {
        let product = Product {
            id: ProductId::from_db("old".into()),
            display_name: "Old".into(),
            items: vec![
                Item {
                    id: "desktop".into(),
                    display_name: "Desktop".into(),
                    kind: ItemKind::Application,
                },
                Item {
                    id: "support".into(),
                    display_name: "Support".into(),
                    kind: ItemKind::Support,
                },
            ],
            create_time: 0,
        };
        let classic = ActivationType::SerialNumber;
        assert!(takes_seat(
            classic,
            &product,
            &["desktop".into(), "support".into()]
        ));
        assert!(!takes_seat(classic, &product, &["support".into()]));
        assert!(takes_seat(
            ActivationType::SignIn,
            &product,
            &["support".into()]
        ));
    }

    #[test]
    fn pools_do_not_mix_activation_types() {
        let p = pool(ActivationType::SignIn, 5);
        assert_eq!(
            kind(check_activation(Some(&p), ActivationType::SerialNumber, "x").unwrap_err()),
            "MIXED_ACTIVATION"
        );
        assert!(check_activation(Some(&p), ActivationType::SignIn, "x").is_ok());
        assert!(check_activation(None, ActivationType::SerialNumber, "x").is_ok());
    }

    #[test]
    fn r_seat_2_exhaustion_carries_the_figures() {
        let mut p = pool(ActivationType::SignIn, 10);
        p.assigned = 10;
        match p.exhausted() {
            EntitlementError::NoSeat {
                seats, assigned, ..
            } => assert_eq!((seats, assigned), (10, 10)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn days_are_utc_calendar_days() {
        assert_eq!(day_of(0), 0);
        assert_eq!(day_of(86_400_000_000 - 1), 0);
        assert_eq!(day_of(86_400_000_000), 1);
    }

    #[test]
    fn checks_are_for_yourself_or_with_a_scope() {
        use allot_platform::auth::Principal;
        let me = AccountId::generate();
        let other = AccountId::generate();
        let caller = |scopes: &[&str]| Caller {
            principal: Principal::Account(me.clone()),
            actor: None,
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            expires_at: i64::MAX,
        };
        assert!(authorize(&caller(&[]), Action::Check { account: &me }).is_ok());
        assert!(authorize(&caller(&[]), Action::Check { account: &other }).is_err());
        for scope in [scopes::ENTITLEMENTS_CHECK, scopes::ADMIN] {
            assert!(authorize(&caller(&[scope]), Action::Check { account: &other }).is_ok());
        }
        assert!(
            authorize(
                &caller(&[scopes::CATALOG]),
                Action::Check { account: &other }
            )
            .is_err()
        );
    }
}
