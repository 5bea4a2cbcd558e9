//! The entitlement core over gRPC, on SQLite and PostgreSQL: catalog,
//! contracts, pools, assignments, classic contracts and the check
//! (R-SEAT-1..8, R-CLS-1..6, R-TEAM-3..5, R-USE-1, R-ROLE-8, R-MAIL-2, R-MAIL-4).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use allot_platform::testing::Backend;
use allot_proto::entitlement as epb;
use allot_proto::team as tpb;
use tokio::sync::Mutex;
use tonic::Code;
use tonic_types::StatusExt;

use crate::harness::{Clients, Env, Person};
use crate::teams::{add_account, member_name};

/// Allot with a catalog, a commerce back end and a contract owner.
pub struct Shop {
    pub env: Env,
    pub catalog: Clients,
    pub commerce: Clients,
    pub owner: Person,
}

pub fn item(id: &str, kind: epb::ItemKind) -> epb::Item {
    epb::Item {
        id: id.into(),
        display_name: format!("{id} item"),
        kind: kind as i32,
    }
}

impl Shop {
    pub async fn open(backend: Backend) -> Shop {
        Self::on(Env::in_process(backend).await).await
    }

    /// A shop on an environment of any shape.
    pub async fn on(env: Env) -> Shop {
        let catalog = env.service_account(&["catalog"]).await;
        let commerce = env.service_account(&["contracts"]).await;
        let owner = env.person("Olivia").await;
        Shop {
            env,
            catalog,
            commerce,
            owner,
        }
    }

    /// A product with an application, a cloud service and support.
    pub async fn product(&self, id: &str) -> epb::Product {
        self.catalog
            .clone()
            .entitlement
            .create_product(epb::CreateProductRequest {
                product_id: id.into(),
                product: Some(epb::Product {
                    display_name: format!("Product {id}"),
                    items: vec![
                        item("desktop", epb::ItemKind::Application),
                        item("render", epb::ItemKind::CloudService),
                        item("support", epb::ItemKind::Support),
                    ],
                    ..Default::default()
                }),
            })
            .await
            .expect("create product")
            .into_inner()
    }

    /// Records a purchase for `owner`.
    pub async fn buy(
        &self,
        owner: &str,
        contract: epb::Contract,
        subs: &[(&str, i32)],
    ) -> epb::Contract {
        self.try_buy(owner, contract, subs).await.expect("buy")
    }

    pub async fn try_buy(
        &self,
        owner: &str,
        contract: epb::Contract,
        subs: &[(&str, i32)],
    ) -> Result<epb::Contract, tonic::Status> {
        self.commerce
            .clone()
            .entitlement
            .create_contract(epb::CreateContractRequest {
                contract: Some(epb::Contract {
                    owner: owner.into(),
                    ..contract
                }),
                subscriptions: subs
                    .iter()
                    .map(|(p, n)| epb::Subscription {
                        product: format!("products/{p}"),
                        seats: *n,
                        ..Default::default()
                    })
                    .collect(),
                request_id: String::new(),
            })
            .await
            .map(tonic::Response::into_inner)
    }

    /// A sign-in contract of the owner.
    pub async fn sign_in(&self, subs: &[(&str, i32)]) -> epb::Contract {
        self.buy(&self.owner.account, sign_in_contract(), subs)
            .await
    }

    /// A new person added to `team` by its admin `by`.
    pub async fn member(&self, by: &Clients, team: &str, name: &str) -> Person {
        let p = self.env.person(name).await;
        add_account(&mut by.clone(), team, &p.account, tpb::Role::User, false)
            .await
            .expect("add member");
        p
    }
}

/// Frees every seat the owner holds in `team` (R-SEAT-6 gave them one per
/// contract), for the people a test gives them to.
pub async fn free_the_owners_seats(shop: &Shop, team: &str) {
    let owner = shop.owner.clients.clone();
    let mine = owner
        .clone()
        .entitlement
        .list_assignments(epb::ListAssignmentsRequest {
            parent: team.into(),
            account: shop.owner.account.clone(),
            ..Default::default()
        })
        .await
        .expect("own assignments")
        .into_inner()
        .assignments;
    for a in mine {
        owner
            .clone()
            .entitlement
            .delete_assignment(epb::DeleteAssignmentRequest { name: a.name })
            .await
            .expect("free the owner's seat");
    }
}

pub fn sign_in_contract() -> epb::Contract {
    epb::Contract {
        activation_type: epb::ActivationType::SignIn as i32,
        ..Default::default()
    }
}

pub fn classic_contract(serial: &str) -> epb::Contract {
    epb::Contract {
        activation_type: epb::ActivationType::SerialNumber as i32,
        serial_number: serial.into(),
        ..Default::default()
    }
}

pub async fn pool(c: &Clients, team: &str, product: &str) -> epb::Pool {
    try_pool(c, team, product).await.expect("pool")
}

pub async fn try_pool(c: &Clients, team: &str, product: &str) -> Result<epb::Pool, tonic::Status> {
    c.clone()
        .entitlement
        .get_pool(epb::GetPoolRequest {
            name: format!("{team}/pools/{product}"),
        })
        .await
        .map(tonic::Response::into_inner)
}

pub async fn assign(
    c: &Clients,
    team: &str,
    account: &str,
    product: &str,
    items: &[&str],
) -> Result<epb::AssignResponse, tonic::Status> {
    c.clone()
        .entitlement
        .assign_products(epb::AssignProductsRequest {
            parent: team.into(),
            account: account.into(),
            products: vec![epb::ProductSelection {
                product: format!("products/{product}"),
                items: items.iter().map(|s| (*s).to_owned()).collect(),
            }],
            ..Default::default()
        })
        .await
        .map(tonic::Response::into_inner)
}

pub async fn check(c: &Clients, account: &str, product: &str) -> epb::CheckEntitlementResponse {
    c.clone()
        .entitlement
        .check_entitlement(epb::CheckEntitlementRequest {
            account: account.into(),
            product: format!("products/{product}"),
            record_usage: false,
        })
        .await
        .expect("check")
        .into_inner()
}

fn kind(s: &tonic::Status) -> String {
    s.get_details_precondition_failure()
        .and_then(|p| p.violations.into_iter().next())
        .map(|v| v.r#type)
        .unwrap_or_default()
}

async fn eventually<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !f().await {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn r_seat_1_a_pool_never_gives_more_than_it_has(backend: Backend) {
    let shop = Shop::open(backend).await;
    shop.product("cad").await;
    let contract = shop.sign_in(&[("cad", 3)]).await;
    let team = contract.team.clone();
    let admin = shop.owner.clients.clone();
    // R-SEAT-6 took one seat for the owner.
    let p = pool(&admin, &team, "cad").await;
    assert_eq!((p.seats, p.assigned, p.available), (3, 1, 2));
    let a = shop.member(&admin, &team, "Ann").await;
    let b = shop.member(&admin, &team, "Ben").await;
    let c = shop.member(&admin, &team, "Cy").await;
    assign(&admin, &team, &a.account, "cad", &[])
        .await
        .expect("a");
    assign(&admin, &team, &b.account, "cad", &[])
        .await
        .expect("b");
    let full = assign(&admin, &team, &c.account, "cad", &[])
        .await
        .expect_err("full");
    assert_eq!(full.code(), Code::ResourceExhausted);
    let info = full.get_details_error_info().expect("figures");
    assert_eq!(info.metadata.get("seats").map(String::as_str), Some("3"));
    assert_eq!(info.metadata.get("assigned").map(String::as_str), Some("3"));
    assert_eq!(
        info.metadata.get("available").map(String::as_str),
        Some("0")
    );
    assert!(
        full.message().contains("3 seats, 3 assigned"),
        "{}",
        full.message()
    );
    // Nothing was written for C.
    assert!(
        !check(&shop.env.internal().await, &c.account, "cad")
            .await
            .allowed
    );
    let p = pool(&admin, &team, "cad").await;
    assert_eq!((p.seats, p.assigned, p.available), (3, 3, 0));
    // A second subscription adds to the pool (R-SEAT-1: the sum).
    shop.commerce
        .clone()
        .entitlement
        .create_subscription(epb::CreateSubscriptionRequest {
            parent: contract.name.clone(),
            subscription: Some(epb::Subscription {
                product: "products/cad".into(),
                seats: 2,
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect("second subscription");
    assert_eq!(pool(&admin, &team, "cad").await.seats, 5);
    assign(&admin, &team, &c.account, "cad", &[])
        .await
        .expect("now there is a seat");
    shop.env.shutdown().await;
}
crate::on_both_backends!(r_seat_1_a_pool_never_gives_more_than_it_has);

/// R-INV-6: joining a team gives no product: a new member may use nothing
/// until a seat is assigned to them, whatever the team holds.
async fn r_inv_6_a_new_member_has_no_product_until_assigned(backend: Backend) {
    let shop = Shop::open(backend).await;
    shop.product("cad").await;
    let team = shop.sign_in(&[("cad", 5)]).await.team;
    let owner = shop.owner.clients.clone();
    let ann = shop.member(&owner, &team, "Ann").await;
    assert!(!check(&ann.clients, &ann.account, "cad").await.allowed);
    let mine = ann
        .clients
        .clone()
        .entitlement
        .list_my_products(epb::ListMyProductsRequest::default())
        .await
        .expect("mine")
        .into_inner()
        .products;
    assert!(mine.is_empty(), "{mine:?}");
    assign(&owner, &team, &ann.account, "cad", &[])
        .await
        .expect("assign");
    assert!(check(&ann.clients, &ann.account, "cad").await.allowed);
    shop.env.shutdown().await;
}
crate::on_both_backends!(r_inv_6_a_new_member_has_no_product_until_assigned);

/// R-SEAT-1 under concurrency: 64 callers race 200 people for 10 free
/// seats, 50 times; exactly 10 get one every time.
async fn r_seat_1_racing_assigners_never_oversubscribe(backend: Backend) {
    let shop = Shop::open(backend).await;
    let team = shop
        .env
        .internal()
        .await
        .team
        .ensure_owner_team(tpb::EnsureOwnerTeamRequest {
            owner: shop.owner.account.clone(),
            always_create: false,
        })
        .await
        .expect("team")
        .into_inner()
        .name;
    let admin = shop.owner.clients.clone();
    // 200 people, added in one list.
    let addresses: Vec<String> = (0..200)
        .map(|i| crate::harness::unique_email(&format!("racer{i}")))
        .collect();
    let added = admin
        .clone()
        .team
        .add_members(tpb::AddMembersRequest {
            parent: team.clone(),
            addresses: addresses.join(";"),
            ..Default::default()
        })
        .await
        .expect("add 200")
        .into_inner()
        .results;
    let people: Vec<String> = added
        .into_iter()
        .map(|r| r.member.expect("member").account)
        .collect();
    assert_eq!(people.len(), 200);
    for round in 0..50 {
        let product = format!("race{round}");
        shop.product(&product).await;
        // 11 seats: the owner takes one (R-SEAT-6), 10 stay free.
        shop.sign_in(&[(&product, 11)]).await;
        let queue = Arc::new(Mutex::new(people.clone()));
        let mut tasks = Vec::new();
        for _ in 0..64 {
            let queue = queue.clone();
            let admin = admin.clone();
            let team = team.clone();
            let product = product.clone();
            tasks.push(tokio::spawn(async move {
                let (mut ok, mut full) = (0, 0);
                loop {
                    let Some(account) = queue.lock().await.pop() else {
                        break;
                    };
                    match assign(&admin, &team, &account, &product, &[]).await {
                        Ok(_) => ok += 1,
                        Err(e) if e.code() == Code::ResourceExhausted => full += 1,
                        Err(e) => panic!("unexpected {e:?}"),
                    }
                }
                (ok, full)
            }));
        }
        let (mut ok, mut full) = (0, 0);
        for t in tasks {
            let (o, f) = t.await.expect("task");
            ok += o;
            full += f;
        }
        assert_eq!((ok, full), (10, 190), "round {round}");
        let p = pool(&admin, &team, &product).await;
        assert_eq!((p.seats, p.assigned), (11, 11), "round {round}");
        let held = admin
            .clone()
            .entitlement
            .list_assignments(epb::ListAssignmentsRequest {
                parent: team.clone(),
                product: format!("products/{product}"),
                page_size: 1000,
                ..Default::default()
            })
            .await
            .expect("list")
            .into_inner()
            .assignments;
        assert_eq!(held.len(), 11, "round {round}");
    }
    shop.env.shutdown().await;
}
crate::on_both_backends!(r_seat_1_racing_assigners_never_oversubscribe);

async fn r_seat_3_by_user_by_product_and_by_group(backend: Backend) {
    let shop = Shop::open(backend).await;
    shop.product("cad").await;
    shop.product("viz").await;
    let contract = shop.sign_in(&[("cad", 10), ("viz", 10)]).await;
    let team = contract.team.clone();
    let admin = shop.owner.clients.clone();
    let ann = shop.member(&admin, &team, "Ann").await;
    let ben = shop.member(&admin, &team, "Ben").await;
    let cy = shop.member(&admin, &team, "Cy").await;
    // By user: several products for one person.
    let r = admin
        .clone()
        .entitlement
        .assign_products(epb::AssignProductsRequest {
            parent: team.clone(),
            account: ann.account.clone(),
            products: vec![
                epb::ProductSelection {
                    product: "products/cad".into(),
                    items: vec![],
                },
                epb::ProductSelection {
                    product: "products/viz".into(),
                    items: vec!["desktop".into()],
                },
            ],
            ..Default::default()
        })
        .await
        .expect("by user")
        .into_inner();
    assert!(
        r.results
            .iter()
            .all(|x| x.outcome == epb::AssignOutcome::Assigned as i32)
    );
    // By product: several people for one product.
    let r = admin
        .clone()
        .entitlement
        .assign_users(epb::AssignUsersRequest {
            parent: team.clone(),
            product: "products/viz".into(),
            items: vec![],
            accounts: vec![ben.account.clone(), cy.account.clone(), ann.account.clone()],
            ..Default::default()
        })
        .await
        .expect("by product")
        .into_inner();
    let outcomes: Vec<i32> = r.results.iter().map(|x| x.outcome).collect();
    assert_eq!(
        outcomes,
        [
            epb::AssignOutcome::Assigned as i32,
            epb::AssignOutcome::Assigned as i32,
            epb::AssignOutcome::AlreadyAssigned as i32
        ]
    );
    // By group.
    let group = admin
        .clone()
        .team
        .create_group(tpb::CreateGroupRequest {
            parent: team.clone(),
            group: Some(tpb::Group {
                display_name: "Drafters".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect("group")
        .into_inner();
    admin
        .clone()
        .team
        .add_group_members(tpb::AddGroupMembersRequest {
            group: group.name.clone(),
            accounts: vec![ben.account.clone(), cy.account.clone()],
        })
        .await
        .expect("fill");
    let r = admin
        .clone()
        .entitlement
        .create_group_assignment(epb::CreateGroupAssignmentRequest {
            parent: team.clone(),
            group_assignment: Some(epb::GroupAssignment {
                group: group.name.clone(),
                product: "products/cad".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect("by group")
        .into_inner();
    assert_eq!(r.results.len(), 2);
    let internal = shop.env.internal().await;
    for acc in [&ann.account, &ben.account, &cy.account] {
        assert!(check(&internal, acc, "cad").await.allowed, "{acc}");
        assert!(check(&internal, acc, "viz").await.allowed, "{acc}");
    }
    shop.env.shutdown().await;
}
crate::on_both_backends!(r_seat_3_by_user_by_product_and_by_group);

async fn r_seat_4_items_change_and_the_last_one_frees_the_seat(backend: Backend) {
    let shop = Shop::open(backend).await;
    shop.product("cad").await;
    let team = shop.sign_in(&[("cad", 2)]).await.team;
    let admin = shop.owner.clients.clone();
    let ann = shop.member(&admin, &team, "Ann").await;
    let a = assign(&admin, &team, &ann.account, "cad", &["desktop"])
        .await
        .expect("assign")
        .results[0]
        .assignment
        .clone()
        .expect("assignment");
    assert_eq!(a.items, ["desktop"]);
    assert_eq!(
        check(&ann.clients, &ann.account, "cad").await.items,
        ["desktop"]
    );
    let update = |items: Vec<&str>| {
        let mut c = admin.clone();
        let name = a.name.clone();
        let items: Vec<String> = items.into_iter().map(str::to_owned).collect();
        async move {
            c.entitlement
                .update_assignment(epb::UpdateAssignmentRequest {
                    assignment: Some(epb::Assignment {
                        name,
                        items,
                        ..Default::default()
                    }),
                    update_mask: Some(prost_types::FieldMask {
                        paths: vec!["items".into()],
                    }),
                })
                .await
        }
    };
    update(vec!["desktop", "render"])
        .await
        .expect("add an item");
    assert_eq!(
        check(&ann.clients, &ann.account, "cad").await.items,
        ["desktop", "render"]
    );
    let err = update(vec!["desktop", "teleport"])
        .await
        .expect_err("unknown item");
    assert_eq!(err.code(), Code::NotFound);
    update(vec![]).await.expect("remove the last item");
    assert!(
        !check(&ann.clients, &ann.account, "cad").await.allowed,
        "the last item frees the seat"
    );
    assert_eq!(pool(&admin, &team, "cad").await.assigned, 1);
    // As often as needed.
    for _ in 0..3 {
        let r = assign(&admin, &team, &ann.account, "cad", &[])
            .await
            .expect("assign again");
        let name = r.results[0].assignment.clone().expect("assignment").name;
        assert!(check(&ann.clients, &ann.account, "cad").await.allowed);
        admin
            .clone()
            .entitlement
            .delete_assignment(epb::DeleteAssignmentRequest { name })
            .await
            .expect("unassign");
        assert!(!check(&ann.clients, &ann.account, "cad").await.allowed);
    }
    shop.env.shutdown().await;
}
crate::on_both_backends!(r_seat_4_items_change_and_the_last_one_frees_the_seat);

async fn r_seat_5_groups_give_seats_to_members_now_and_later(backend: Backend) {
    let shop = Shop::open(backend).await;
    shop.product("cad").await;
    let team = shop.sign_in(&[("cad", 4)]).await.team;
    let admin = shop.owner.clients.clone();
    let internal = shop.env.internal().await;
    let mut people: Vec<Person> = Vec::new();
    for i in 0..4 {
        people.push(shop.member(&admin, &team, &format!("G{i}")).await);
    }
    let group = admin
        .clone()
        .team
        .create_group(tpb::CreateGroupRequest {
            parent: team.clone(),
            group: Some(tpb::Group {
                display_name: "G".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect("group")
        .into_inner()
        .name;
    admin
        .clone()
        .team
        .add_group_members(tpb::AddGroupMembersRequest {
            group: group.clone(),
            accounts: people[..3].iter().map(|p| p.account.clone()).collect(),
        })
        .await
        .expect("fill");
    // P1 also holds the product directly.
    assign(&admin, &team, &people[1].account, "cad", &[])
        .await
        .expect("direct");
    let r = admin
        .clone()
        .entitlement
        .create_group_assignment(epb::CreateGroupAssignmentRequest {
            parent: team.clone(),
            group_assignment: Some(epb::GroupAssignment {
                group: group.clone(),
                product: "products/cad".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect("group assignment")
        .into_inner();
    // 4 seats: owner, P1 (direct), P0 and P2 from the group.
    assert!(
        r.results
            .iter()
            .all(|x| x.outcome != epb::AssignOutcome::NoSeat as i32)
    );
    assert_eq!(pool(&admin, &team, "cad").await.assigned, 4);
    // A member who joins later gets a seat... when one is free.
    admin
        .clone()
        .entitlement
        .add_seats(epb::AddSeatsRequest {
            subscription: String::new(),
            seats: 1,
            ..Default::default()
        })
        .await
        .expect_err("needs a subscription");
    let subs = internal
        .clone()
        .entitlement
        .list_subscriptions(epb::ListSubscriptionsRequest {
            team: team.clone(),
            ..Default::default()
        })
        .await
        .expect("subs")
        .into_inner()
        .subscriptions;
    shop.commerce
        .clone()
        .entitlement
        .add_seats(epb::AddSeatsRequest {
            subscription: subs[0].name.clone(),
            seats: 1,
            ..Default::default()
        })
        .await
        .expect("one more seat");
    admin
        .clone()
        .team
        .add_group_members(tpb::AddGroupMembersRequest {
            group: group.clone(),
            accounts: vec![people[3].account.clone()],
        })
        .await
        .expect("join");
    let late = people[3].account.clone();
    eventually("the late joiner's seat", || {
        let internal = internal.clone();
        let late = late.clone();
        async move { check(&internal, &late, "cad").await.allowed }
    })
    .await;
    // Leaving the group loses it unless also assigned directly.
    admin
        .clone()
        .team
        .remove_group_members(tpb::RemoveGroupMembersRequest {
            group: group.clone(),
            accounts: vec![people[0].account.clone(), people[1].account.clone()],
        })
        .await
        .expect("leave");
    let p0 = people[0].account.clone();
    eventually("the leaver's seat to go", || {
        let internal = internal.clone();
        let p0 = p0.clone();
        async move { !check(&internal, &p0, "cad").await.allowed }
    })
    .await;
    assert!(
        check(&internal, &people[1].account, "cad").await.allowed,
        "direct assignment stays"
    );
    // Out of seats mid-group: the others keep theirs, the rest are listed.
    shop.product("viz").await;
    shop.sign_in(&[("viz", 2)]).await;
    let r = admin
        .clone()
        .entitlement
        .create_group_assignment(epb::CreateGroupAssignmentRequest {
            parent: team.clone(),
            group_assignment: Some(epb::GroupAssignment {
                group: group.clone(),
                product: "products/viz".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect("short group assignment")
        .into_inner();
    let got = r
        .results
        .iter()
        .filter(|x| x.outcome == epb::AssignOutcome::Assigned as i32)
        .count();
    let short: Vec<_> = r
        .results
        .iter()
        .filter(|x| x.outcome == epb::AssignOutcome::NoSeat as i32)
        .collect();
    assert_eq!((got, short.len()), (1, 1), "{:?}", r.results);
    assert!(
        short[0].reason.contains("no seat left"),
        "{}",
        short[0].reason
    );
    shop.env.shutdown().await;
}
crate::on_both_backends!(r_seat_5_groups_give_seats_to_members_now_and_later);

/// R-SEAT-6: the owner holds a seat of each contract they buy, sign-in
/// and classic (the application only); unassigning frees it.
async fn r_seat_6_the_owner_holds_a_seat_of_every_contract(backend: Backend) {
    let shop = Shop::open(backend).await;
    shop.product("cad").await;
    shop.product("old").await;
    let contract = shop.sign_in(&[("cad", 5)]).await;
    let team = contract.team.clone();
    let owner = shop.owner.clients.clone();
    // R-SEAT-6: the owner has a seat; unassigning frees it.
    let mine = owner
        .clone()
        .entitlement
        .list_assignments(epb::ListAssignmentsRequest {
            parent: team.clone(),
            account: shop.owner.account.clone(),
            ..Default::default()
        })
        .await
        .expect("own assignments")
        .into_inner()
        .assignments;
    assert_eq!(mine.len(), 1);
    owner
        .clone()
        .entitlement
        .delete_assignment(epb::DeleteAssignmentRequest {
            name: mine[0].name.clone(),
        })
        .await
        .expect("free it");
    assert_eq!(pool(&owner, &team, "cad").await.available, 5);
    // A classic contract of the same owner: a seat too, with the
    // application only.
    let classic = shop
        .buy(
            &shop.owner.account,
            classic_contract("123-45678901"),
            &[("old", 2)],
        )
        .await;
    assert_eq!(classic.team, team, "R-TEAM-3: the owner's newest team");
    assert_eq!(pool(&owner, &team, "old").await.assigned, 1);
    let owners_old = owner
        .clone()
        .entitlement
        .list_assignments(epb::ListAssignmentsRequest {
            parent: team.clone(),
            account: shop.owner.account.clone(),
            ..Default::default()
        })
        .await
        .expect("own assignments")
        .into_inner()
        .assignments
        .into_iter()
        .find(|a| a.product == "products/old")
        .expect("the owner's classic seat");
    assert_eq!(owners_old.items, ["desktop"]);
    owner
        .clone()
        .entitlement
        .delete_assignment(epb::DeleteAssignmentRequest {
            name: owners_old.name,
        })
        .await
        .expect("free it for someone else");
    shop.env.shutdown().await;
}
crate::on_both_backends!(r_seat_6_the_owner_holds_a_seat_of_every_contract);

/// The owner's team with a sign-in `cad` (5 seats) and a classic `old`
/// (2 seats), the owner's own seats freed, and Ann holding `cad` with its
/// desktop item and `old` with every item.
async fn ann_with_a_sign_in_and_a_classic_product(backend: Backend) -> (Shop, String, Person) {
    let shop = Shop::open(backend).await;
    shop.product("cad").await;
    shop.product("old").await;
    let contract = shop.sign_in(&[("cad", 5)]).await;
    let team = contract.team.clone();
    shop.buy(
        &shop.owner.account,
        classic_contract("123-45678901"),
        &[("old", 2)],
    )
    .await;
    let owner = shop.owner.clients.clone();
    free_the_owners_seats(&shop, &team).await;
    let ann = shop.member(&owner, &team, "Ann").await;
    assign(&owner, &team, &ann.account, "cad", &["desktop"])
        .await
        .expect("cad");
    assign(&owner, &team, &ann.account, "old", &[])
        .await
        .expect("old");
    (shop, team, ann)
}

async fn r_seat_7_seats_by_product_and_by_user(backend: Backend) {
    let (shop, team, ann) = ann_with_a_sign_in_and_a_classic_product(backend).await;
    let owner = shop.owner.clients.clone();
    // R-SEAT-7: by product and by user.
    let pools = owner
        .clone()
        .entitlement
        .list_pools(epb::ListPoolsRequest {
            parent: team.clone(),
        })
        .await
        .expect("pools")
        .into_inner()
        .pools;
    let figures: Vec<(String, i32, i32, i32)> = pools
        .iter()
        .map(|p| (p.product.clone(), p.seats, p.assigned, p.available))
        .collect();
    assert_eq!(
        figures,
        [
            ("products/cad".to_owned(), 5, 1, 4),
            ("products/old".to_owned(), 2, 1, 1)
        ]
    );
    let by_user = owner
        .clone()
        .entitlement
        .list_assignments(epb::ListAssignmentsRequest {
            parent: team.clone(),
            account: ann.account.clone(),
            ..Default::default()
        })
        .await
        .expect("by user")
        .into_inner()
        .assignments;
    assert_eq!(
        by_user
            .iter()
            .map(|a| (a.product.as_str(), a.items.clone()))
            .collect::<Vec<_>>(),
        [
            ("products/cad", vec!["desktop".to_owned()]),
            (
                "products/old",
                vec![
                    "desktop".to_owned(),
                    "render".to_owned(),
                    "support".to_owned()
                ]
            ),
        ]
    );
    shop.env.shutdown().await;
}
crate::on_both_backends!(r_seat_7_seats_by_product_and_by_user);

async fn r_seat_8_a_person_sees_only_their_own_products(backend: Backend) {
    let (shop, _team, ann) = ann_with_a_sign_in_and_a_classic_product(backend).await;
    // R-SEAT-8: a person sees their own products with the activation type.
    let own = ann
        .clients
        .clone()
        .entitlement
        .list_my_products(epb::ListMyProductsRequest::default())
        .await
        .expect("mine")
        .into_inner()
        .products;
    let seen: Vec<(String, i32, String)> = own
        .iter()
        .map(|p| {
            (
                p.product.clone(),
                p.activation_type,
                p.serial_number.clone(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                "products/cad".to_owned(),
                epb::ActivationType::SignIn as i32,
                String::new()
            ),
            (
                "products/old".to_owned(),
                epb::ActivationType::SerialNumber as i32,
                "123-45678901".to_owned()
            ),
        ]
    );
    assert_eq!(
        own[0]
            .items
            .iter()
            .map(|i| i.id.clone())
            .collect::<Vec<_>>(),
        ["desktop"]
    );
    // ... and nobody else's.
    let err = ann
        .clients
        .clone()
        .entitlement
        .list_my_products(epb::ListMyProductsRequest {
            account: shop.owner.account.clone(),
        })
        .await
        .expect_err("someone else's");
    assert_eq!(err.code(), Code::PermissionDenied);
    shop.env.shutdown().await;
}
crate::on_both_backends!(r_seat_8_a_person_sees_only_their_own_products);

async fn r_team_3_placement_of_contracts_and_seats(backend: Backend) {
    let shop = Shop::open(backend).await;
    shop.product("cad").await;
    shop.product("viz").await;
    let first = shop.sign_in(&[("cad", 1)]).await;
    // The owner creates another team; a new contract goes to the newest.
    let newer = shop
        .owner
        .clients
        .clone()
        .team
        .create_team(tpb::CreateTeamRequest {
            team: Some(tpb::Team {
                display_name: "Newer".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect("newer team")
        .into_inner();
    let second = shop.sign_in(&[("cad", 1)]).await;
    assert_eq!(second.team, newer.name);
    // A subscription added to the first contract goes to the first's team.
    let sub = shop
        .commerce
        .clone()
        .entitlement
        .create_subscription(epb::CreateSubscriptionRequest {
            parent: first.name.clone(),
            subscription: Some(epb::Subscription {
                product: "products/viz".into(),
                seats: 3,
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect("subscription")
        .into_inner();
    assert_eq!(sub.team, first.team);
    // Seats added stay in the subscription's team.
    let grown = shop
        .commerce
        .clone()
        .entitlement
        .add_seats(epb::AddSeatsRequest {
            subscription: sub.name.clone(),
            seats: 4,
            ..Default::default()
        })
        .await
        .expect("add")
        .into_inner();
    assert_eq!((grown.team.as_str(), grown.seats), (first.team.as_str(), 7));
    assert_eq!(pool(&shop.owner.clients, &first.team, "viz").await.seats, 7);
    shop.env.shutdown().await;
}
crate::on_both_backends!(r_team_3_placement_of_contracts_and_seats);

async fn r_team_4_moving_a_subscription(backend: Backend) {
    let shop = Shop::open(backend).await;
    shop.product("cad").await;
    let owner = shop.owner.clients.clone();
    let contract = shop.sign_in(&[("cad", 3)]).await;
    let sub = contract.subscriptions[0].name.clone();
    let team = contract.team.clone();
    let target = owner
        .clone()
        .team
        .create_team(tpb::CreateTeamRequest {
            team: Some(tpb::Team {
                display_name: "Target".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect("target")
        .into_inner()
        .name;
    let mover = |c: Clients, sub: String, target: String| async move {
        c.clone()
            .entitlement
            .move_subscription(epb::MoveSubscriptionRequest {
                subscription: sub,
                target_team: target,
            })
            .await
    };
    // Only the contract manager.
    let admin_b = shop.member(&owner, &team, "Adm").await;
    let mut o = owner.clone();
    crate::teams::update_member(
        &mut o,
        &team,
        &admin_b.account,
        Some(tpb::Role::SecondaryAdmin),
        None,
    )
    .await
    .expect("admin");
    let err = mover(admin_b.clients.clone(), sub.clone(), target.clone())
        .await
        .expect_err("not the owner");
    assert_eq!(err.code(), Code::PermissionDenied);
    // Too many assignments: say how many to unassign (owner holds 1).
    let ann = shop.member(&owner, &team, "Ann").await;
    assign(&owner, &team, &ann.account, "cad", &[])
        .await
        .expect("ann");
    let err = mover(owner.clone(), sub.clone(), target.clone())
        .await
        .expect_err("assignments left behind");
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(kind(&err), "UNASSIGN_FIRST");
    assert!(
        err.message().contains("unassign 2 seats"),
        "{}",
        err.message()
    );
    // Free the seats; the move goes through; assignments do not move.
    for a in owner
        .clone()
        .entitlement
        .list_assignments(epb::ListAssignmentsRequest {
            parent: team.clone(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .assignments
    {
        owner
            .clone()
            .entitlement
            .delete_assignment(epb::DeleteAssignmentRequest { name: a.name })
            .await
            .expect("unassign");
    }
    // Never into a stranger's team, nor one where the owner is a plain user.
    let stranger = shop.env.person("Stranger").await;
    let theirs = crate::teams::team_for(&shop.env, &stranger, "Theirs").await;
    crate::teams::add_account(
        &mut stranger.clients.clone(),
        &theirs.name,
        &shop.owner.account,
        tpb::Role::User,
        false,
    )
    .await
    .expect("the owner as a plain user there");
    let err = mover(owner.clone(), sub.clone(), theirs.name.clone())
        .await
        .expect_err("a team the owner does not administer");
    assert_eq!(err.code(), Code::PermissionDenied);
    assert!(err.message().contains("target_team"), "{}", err.message());
    assert_eq!(pool(&owner, &team, "cad").await.seats, 3);
    assert_eq!(
        try_pool(&stranger.clients, &theirs.name, "cad")
            .await
            .map(|p| p.seats)
            .unwrap_or(0),
        0
    );
    let moved = mover(owner.clone(), sub.clone(), target.clone())
        .await
        .expect("move")
        .into_inner();
    assert_eq!(moved.team, target);
    assert_eq!(pool(&owner, &target, "cad").await.seats, 3);
    assert_eq!(pool(&owner, &team, "cad").await.seats, 0);
    // Refusals that need support.
    for (c, what) in [
        (
            epb::Contract {
                billing: epb::Billing::PayPerUse as i32,
                ..sign_in_contract()
            },
            "pay-per-use",
        ),
        (
            epb::Contract {
                plan: epb::ContractPlan::Premium as i32,
                sso_enabled: true,
                ..sign_in_contract()
            },
            "single sign-on",
        ),
        (
            epb::Contract {
                collaboration_site: "https://collab.example.com/p/7".into(),
                ..sign_in_contract()
            },
            "collaboration site",
        ),
    ] {
        let bought = shop.buy(&shop.owner.account, c, &[("cad", 1)]).await;
        // Newest team is Target now; move back to the first.
        let err = mover(
            owner.clone(),
            bought.subscriptions[0].name.clone(),
            team.clone(),
        )
        .await
        .expect_err(what);
        assert_eq!(err.code(), Code::FailedPrecondition, "{what}");
        assert_eq!(kind(&err), "CONTACT_SUPPORT", "{what}");
        assert!(
            err.message().contains(what) && err.message().contains("contact support"),
            "{}",
            err.message()
        );
    }
    shop.env.shutdown().await;
}
crate::on_both_backends!(r_team_4_moving_a_subscription);

async fn r_team_5_removing_a_member_frees_their_seats(backend: Backend) {
    removal_frees_seats(Shop::open(backend).await, WhileRemoved::Up).await;
}

/// R-TEAM-5: a removed member's seat is freed through team's event, also
/// when entitlement was down at the time (`entitlement_down`, processes).
/// What happens to entitlement while a member is removed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum WhileRemoved {
    Up,
    /// Down, then started again.
    Down,
    /// Down while retention passes for the removal's event, then started.
    DownPastRetention,
}

pub async fn removal_frees_seats(mut shop: Shop, mode: WhileRemoved) {
    let entitlement_down = mode != WhileRemoved::Up;
    shop.product("cad").await;
    let team = shop.sign_in(&[("cad", 3)]).await.team;
    let owner = shop.owner.clients.clone();
    let ann = shop.member(&owner, &team, "Ann").await;
    assign(&owner, &team, &ann.account, "cad", &[])
        .await
        .expect("assign");
    assert_eq!(pool(&owner, &team, "cad").await.assigned, 2);
    if entitlement_down {
        shop.env.kill(allot::ServiceKind::Entitlement);
    }
    owner
        .clone()
        .team
        .remove_member(tpb::RemoveMemberRequest {
            name: member_name(&team, &ann.account),
        })
        .await
        .expect("removing a member does not need entitlement");
    if mode == WhileRemoved::DownPastRetention {
        let retained = shop.env.prune_all_events(allot::ServiceKind::Team).await;
        assert!(retained > 0, "the removal's event is gone");
    }
    if entitlement_down {
        shop.env.restart(allot::ServiceKind::Entitlement).await;
    }
    let (o, t) = (owner.clone(), team.clone());
    eventually("the seat to be freed", || {
        let (o, t) = (o.clone(), t.clone());
        async move {
            // A service just started answers UNAVAILABLE until its peers
            // do; callers retry, as the status says.
            match try_pool(&o, &t, "cad").await {
                Ok(p) => p.assigned == 1,
                Err(s) if s.code() == Code::Unavailable => false,
                Err(s) => panic!("pool: {s:?}"),
            }
        }
    })
    .await;
    // The check follows the freed seat through its projection.
    let internal = shop.env.internal().await;
    eventually("the check to refuse", || {
        let (c, a) = (internal.clone(), ann.account.clone());
        async move { !check(&c, &a, "cad").await.allowed }
    })
    .await;
    shop.env.shutdown().await;
}
crate::on_both_backends!(r_team_5_removing_a_member_frees_their_seats);

/// R-CLS-1: the software coordinator starts as the contract manager, and
/// only the manager appoints another.
async fn r_cls_1_only_the_contract_manager_appoints_the_coordinator(backend: Backend) {
    let shop = Shop::open(backend).await;
    shop.product("old").await;
    let owner = shop.owner.clients.clone();
    let classic = shop
        .buy(&shop.owner.account, classic_contract("SN-1"), &[("old", 2)])
        .await;
    let team = classic.team.clone();
    // R-CLS-1: the coordinator starts as the contract manager.
    assert_eq!(classic.software_coordinator, shop.owner.account);
    let coordinator = shop.member(&owner, &team, "Coco").await;
    let other = shop.member(&owner, &team, "Ozzy").await;
    let err = appoint(&other.clients, &classic.name, &other.account)
        .await
        .expect_err("only the manager");
    assert_eq!(err.code(), Code::PermissionDenied);
    let c = appoint(&owner, &classic.name, &coordinator.account)
        .await
        .expect("appoint")
        .into_inner();
    assert_eq!(c.software_coordinator, coordinator.account);
    shop.env.shutdown().await;
}
crate::on_both_backends!(r_cls_1_only_the_contract_manager_appoints_the_coordinator);

/// Sets the software coordinator of `contract`.
async fn appoint(
    c: &Clients,
    contract: &str,
    who: &str,
) -> Result<tonic::Response<epb::Contract>, tonic::Status> {
    c.clone()
        .entitlement
        .set_software_coordinator(epb::SetSoftwareCoordinatorRequest {
            contract: contract.into(),
            software_coordinator: who.into(),
        })
        .await
}

/// A classic contract of `old` (2 seats) whose manager, the owner, made
/// Coco its software coordinator; Ozzy is a member too.
async fn classic_with_a_coordinator(backend: Backend) -> (Shop, epb::Contract, Person, Person) {
    let shop = Shop::open(backend).await;
    shop.product("old").await;
    shop.product("cad").await;
    let owner = shop.owner.clients.clone();
    let classic = shop
        .buy(&shop.owner.account, classic_contract("SN-1"), &[("old", 2)])
        .await;
    let coordinator = shop.member(&owner, &classic.team, "Coco").await;
    let other = shop.member(&owner, &classic.team, "Ozzy").await;
    appoint(&owner, &classic.name, &coordinator.account)
        .await
        .expect("appoint");
    // Team keeps the contract roles it reads from entitlement's events.
    shop.env.team_follows_entitlement().await;
    (shop, classic, coordinator, other)
}

/// R-CLS-2: the coordinator sees the users and products of their
/// contract, and not the rest of the team.
async fn r_cls_2_the_coordinator_sees_only_their_contracts(backend: Backend) {
    let (shop, classic, coordinator, other) = classic_with_a_coordinator(backend).await;
    let (owner, team) = (shop.owner.clients.clone(), classic.team.clone());
    shop.sign_in(&[("cad", 3)]).await;
    assign(&owner, &team, &other.account, "old", &[])
        .await
        .expect("old");
    assign(&owner, &team, &other.account, "cad", &[])
        .await
        .expect("cad");
    let seen = coordinator
        .clients
        .clone()
        .entitlement
        .list_assignments(epb::ListAssignmentsRequest {
            parent: team.clone(),
            contract: classic.name.clone(),
            ..Default::default()
        })
        .await
        .expect("coordinator's view")
        .into_inner()
        .assignments;
    // The owner's automatic seat (R-SEAT-6) and Ozzy's, both of "old".
    assert_eq!(
        seen.iter().map(|a| a.product.as_str()).collect::<Vec<_>>(),
        ["products/old", "products/old"]
    );
    let err = coordinator
        .clients
        .clone()
        .entitlement
        .list_assignments(epb::ListAssignmentsRequest {
            parent: team.clone(),
            ..Default::default()
        })
        .await
        .expect_err("the whole team");
    assert_eq!(err.code(), Code::PermissionDenied);
    shop.env.shutdown().await;
}
crate::on_both_backends!(r_cls_2_the_coordinator_sees_only_their_contracts);

/// R-CLS-6: the coordinator cannot leave the team while holding the
/// role, and can once it passes on.
async fn r_cls_6_the_coordinator_stays_until_the_role_passes_on(backend: Backend) {
    let (shop, classic, coordinator, _) = classic_with_a_coordinator(backend).await;
    let (owner, team) = (shop.owner.clients.clone(), classic.team.clone());
    let err = owner
        .clone()
        .team
        .remove_member(tpb::RemoveMemberRequest {
            name: member_name(&team, &coordinator.account),
        })
        .await
        .expect_err("coordinator");
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(
        err.message().contains("software coordinator"),
        "{}",
        err.message()
    );
    appoint(&owner, &classic.name, &shop.owner.account)
        .await
        .expect("role passes back");
    // Team learns of the new coordinator from entitlement's event.
    let (o, name) = (owner.clone(), member_name(&team, &coordinator.account));
    eventually("the coordinator to be free to go", || {
        let (mut o, name) = (o.clone(), name.clone());
        async move {
            match o
                .team
                .remove_member(tpb::RemoveMemberRequest { name })
                .await
            {
                Ok(_) => true,
                Err(e) if e.code() == Code::FailedPrecondition => false,
                Err(e) => panic!("removal failed: {e:?}"),
            }
        }
    })
    .await;
    shop.env.shutdown().await;
}
crate::on_both_backends!(r_cls_6_the_coordinator_stays_until_the_role_passes_on);

/// The classic limits through the API, one after another on one contract:
/// by user only (R-CLS-3), the cloud service for at most three users
/// (asserted here) and support for six per seat (R-CLS-5). R-CLS-3 and
/// R-CLS-5 have their own tests in the domain.
async fn r_cls_4_classic_limits_hold_through_the_api(backend: Backend) {
    let shop = Shop::open(backend).await;
    shop.product("old").await;
    let owner = shop.owner.clients.clone();
    let team = shop
        .buy(&shop.owner.account, classic_contract("SN-2"), &[("old", 1)])
        .await
        .team;
    // R-SEAT-6 took the only seat for the owner; free it for the others.
    free_the_owners_seats(&shop, &team).await;
    let mut people: Vec<Person> = Vec::new();
    for i in 0..8 {
        people.push(shop.member(&owner, &team, &format!("C{i}")).await);
    }
    // R-CLS-3: by user only.
    let err = owner
        .clone()
        .entitlement
        .assign_users(epb::AssignUsersRequest {
            parent: team.clone(),
            product: "products/old".into(),
            items: vec![],
            accounts: vec![people[0].account.clone()],
            ..Default::default()
        })
        .await
        .expect_err("by product");
    assert_eq!(kind(&err), "CLASSIC_BY_USER_ONLY");
    let group = owner
        .clone()
        .team
        .create_group(tpb::CreateGroupRequest {
            parent: team.clone(),
            group: Some(tpb::Group {
                display_name: "G".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect("group")
        .into_inner()
        .name;
    let err = owner
        .clone()
        .entitlement
        .create_group_assignment(epb::CreateGroupAssignmentRequest {
            parent: team.clone(),
            group_assignment: Some(epb::GroupAssignment {
                group,
                product: "products/old".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect_err("by group");
    assert_eq!(kind(&err), "CLASSIC_BY_USER_ONLY");
    // One seat: the application for one person.
    assign(
        &owner,
        &team,
        &people[0].account,
        "old",
        &["desktop", "render", "support"],
    )
    .await
    .expect("seat");
    let full = assign(&owner, &team, &people[1].account, "old", &["desktop"])
        .await
        .expect_err("one seat");
    assert_eq!(full.code(), Code::ResourceExhausted);
    // Benefits are handed out beside the seat, within their own limits.
    // R-CLS-4: the cloud service for at most 3 users.
    assign(&owner, &team, &people[1].account, "old", &["render"])
        .await
        .expect("2nd cloud user");
    assign(&owner, &team, &people[2].account, "old", &["render"])
        .await
        .expect("3rd cloud user");
    let err = assign(&owner, &team, &people[3].account, "old", &["render"])
        .await
        .expect_err("4th cloud user");
    assert_eq!(kind(&err), "CLASSIC_CLOUD_LIMIT");
    assert!(
        err.message().contains("at most 3 users"),
        "{}",
        err.message()
    );
    // R-CLS-5: support for at most 6 users per seat (1 seat: 6 users).
    for p in &people[3..8] {
        assign(&owner, &team, &p.account, "old", &["support"])
            .await
            .expect("support user");
    }
    let seventh = shop.member(&owner, &team, "C8").await;
    let err = assign(&owner, &team, &seventh.account, "old", &["support"])
        .await
        .expect_err("7th support user");
    assert_eq!(kind(&err), "CLASSIC_SUPPORT_LIMIT");
    assert!(
        err.message().contains("6 users per seat"),
        "{}",
        err.message()
    );
    // Benefits took no seat; buying one more seat raises the support limit
    // (and gives the owner the application again, R-SEAT-6).
    assert_eq!(pool(&owner, &team, "old").await.assigned, 1);
    let more = shop
        .buy(&shop.owner.account, classic_contract("SN-2"), &[("old", 1)])
        .await;
    assert_eq!(more.team, team);
    assert_eq!(pool(&owner, &team, "old").await.assigned, 2);
    assign(&owner, &team, &seventh.account, "old", &["support"])
        .await
        .expect("limit is now 12");
    shop.env.shutdown().await;
}
crate::on_both_backends!(r_cls_4_classic_limits_hold_through_the_api);

async fn r_use_1_the_check_reflects_every_change_at_once(backend: Backend) {
    let shop = Shop::open(backend).await;
    shop.product("cad").await;
    let team = shop.sign_in(&[("cad", 2)]).await.team;
    let owner = shop.owner.clients.clone();
    let ann = shop.member(&owner, &team, "Ann").await;
    let launcher = shop.env.service_account(&["entitlements.check"]).await;
    let denied = check(&launcher, &ann.account, "cad").await;
    assert!(!denied.allowed);
    assert_eq!(denied.deny_reason, epb::DenyReason::NotAssigned as i32);
    assert!(
        denied.message.contains("ask an admin"),
        "{}",
        denied.message
    );
    let unknown = check(&launcher, &ann.account, "nothing").await;
    assert_eq!(unknown.deny_reason, epb::DenyReason::UnknownProduct as i32);
    // Every change shows in the very next check.
    for _ in 0..5 {
        let r = assign(&owner, &team, &ann.account, "cad", &["desktop"])
            .await
            .expect("assign");
        let allowed = check(&launcher, &ann.account, "cad").await;
        assert!(allowed.allowed);
        assert_eq!(allowed.items, ["desktop"]);
        assert_eq!(allowed.activation_type, epb::ActivationType::SignIn as i32);
        assert_eq!(allowed.team, team);
        let name = r.results[0].assignment.clone().expect("assignment").name;
        owner
            .clone()
            .entitlement
            .delete_assignment(epb::DeleteAssignmentRequest { name })
            .await
            .expect("unassign");
        assert!(!check(&launcher, &ann.account, "cad").await.allowed);
    }
    // A person asks for themselves; others need the scope.
    assign(&owner, &team, &ann.account, "cad", &[])
        .await
        .expect("assign");
    let own = ann
        .clients
        .clone()
        .entitlement
        .check_entitlement(epb::CheckEntitlementRequest {
            account: String::new(),
            product: "products/cad".into(),
            record_usage: true,
        })
        .await
        .expect("own check")
        .into_inner();
    assert!(own.allowed);
    let stranger = shop.env.person("Stranger").await;
    let err = stranger
        .clients
        .clone()
        .entitlement
        .check_entitlement(epb::CheckEntitlementRequest {
            account: ann.account.clone(),
            product: "products/cad".into(),
            record_usage: false,
        })
        .await
        .expect_err("someone else");
    assert_eq!(err.code(), Code::PermissionDenied);
    shop.env.shutdown().await;
}
crate::on_both_backends!(r_use_1_the_check_reflects_every_change_at_once);

async fn r_role_8_handing_over_the_team_keeps_the_contract_owner(backend: Backend) {
    let shop = Shop::open(backend).await;
    shop.product("cad").await;
    let contract = shop.sign_in(&[("cad", 2)]).await;
    let owner = shop.owner.clients.clone();
    let ann = shop.member(&owner, &contract.team, "Ann").await;
    owner
        .clone()
        .team
        .transfer_primary_admin(tpb::TransferPrimaryAdminRequest {
            team: contract.team.clone(),
            new_primary_admin: ann.account.clone(),
        })
        .await
        .expect("hand over");
    let after = owner
        .clone()
        .entitlement
        .get_contract(epb::GetContractRequest {
            name: contract.name.clone(),
        })
        .await
        .expect("contract")
        .into_inner();
    assert_eq!(
        after.owner, shop.owner.account,
        "the contract manager stays"
    );
    shop.env.shutdown().await;
}
crate::on_both_backends!(r_role_8_handing_over_the_team_keeps_the_contract_owner);

/// R-MAIL-4: the contract manager gets the purchase's confirmation.
async fn r_mail_4_the_contract_manager_gets_the_confirmation(backend: Backend) {
    let shop = Shop::open(backend).await;
    shop.product("cad").await;
    shop.product("viz").await;
    let contract = shop.sign_in(&[("cad", 3), ("viz", 3)]).await;
    let confirmations = shop
        .env
        .mail_with_subject(&shop.owner.email, "is confirmed", 1)
        .await;
    assert_eq!(confirmations.len(), 1);
    let body = confirmations[0].decoded();
    assert!(
        body.contains("Product cad: 3 seats") && body.contains("Product viz: 3 seats"),
        "{body}"
    );
    assert!(body.contains(&contract.name));
    shop.env.shutdown().await;
}
crate::on_both_backends!(r_mail_4_the_contract_manager_gets_the_confirmation);

/// R-MAIL-2: one email per person and request, with products and items.
async fn r_mail_2_one_email_per_person_and_request(backend: Backend) {
    let shop = Shop::open(backend).await;
    shop.product("cad").await;
    shop.product("viz").await;
    let contract = shop.sign_in(&[("cad", 3), ("viz", 3)]).await;
    let owner = shop.owner.clients.clone();
    let ann = shop.member(&owner, &contract.team, "Ann").await;
    owner
        .clone()
        .entitlement
        .assign_products(epb::AssignProductsRequest {
            parent: contract.team.clone(),
            account: ann.account.clone(),
            products: vec![
                epb::ProductSelection {
                    product: "products/cad".into(),
                    items: vec!["desktop".into()],
                },
                epb::ProductSelection {
                    product: "products/viz".into(),
                    items: vec![],
                },
            ],
            ..Default::default()
        })
        .await
        .expect("assign");
    let assignment = shop
        .env
        .mail_with_subject(&ann.email, "You can now use", 1)
        .await;
    assert_eq!(assignment.len(), 1, "one email for both products");
    let text = assignment[0].decoded();
    assert!(
        assignment[0]
            .header("Subject")
            .unwrap_or_default()
            .contains("2 products")
    );
    assert!(text.contains("Product cad: desktop item"), "{text}");
    assert!(
        text.contains("Product viz: desktop item, render item, support item"),
        "{text}"
    );
    assert!(text.contains("How to get started"));
    shop.env.settled().await;
    let count = shop
        .env
        .smtp
        .messages_to(&ann.email)
        .iter()
        .filter(|m| {
            m.header("Subject")
                .unwrap_or_default()
                .contains("You can now use")
        })
        .count();
    assert_eq!(count, 1, "and no second copy");
    shop.env.shutdown().await;
}
crate::on_both_backends!(r_mail_2_one_email_per_person_and_request);

async fn entitlement_bad_input(backend: Backend) {
    let shop = Shop::open(backend).await;
    shop.product("cad").await;
    let err = shop
        .try_buy(&shop.owner.account, sign_in_contract(), &[("cad", 0)])
        .await
        .expect_err("zero seats");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message().contains("subscriptions[0].seats"),
        "{}",
        err.message()
    );
    let err = shop
        .try_buy(&shop.owner.account, sign_in_contract(), &[("cad", -2)])
        .await
        .expect_err("negative");
    assert_eq!(err.code(), Code::InvalidArgument);
    let err = shop
        .try_buy(&shop.owner.account, sign_in_contract(), &[("nothing", 2)])
        .await
        .expect_err("unknown product");
    assert_eq!(err.code(), Code::NotFound);
    let err = shop
        .try_buy(&shop.owner.account, classic_contract(""), &[("cad", 2)])
        .await
        .expect_err("no serial");
    assert!(
        err.message().contains("contract.serial_number"),
        "{}",
        err.message()
    );
    let contract = shop.sign_in(&[("cad", 2)]).await;
    let owner = shop.owner.clients.clone();
    let err = assign(&owner, &contract.team, "accounts/nobody", "cad", &[])
        .await
        .expect_err("unknown person");
    assert_eq!(err.code(), Code::NotFound);
    let ann = shop.member(&owner, &contract.team, "Ann").await;
    let err = assign(&owner, &contract.team, &ann.account, "cad", &["teleport"])
        .await
        .expect_err("unknown item");
    assert_eq!(err.code(), Code::NotFound);
    let err = assign(&owner, &contract.team, &ann.account, "nothing", &[])
        .await
        .expect_err("unknown product");
    assert_eq!(err.code(), Code::NotFound);
    let err = shop
        .commerce
        .clone()
        .entitlement
        .add_seats(epb::AddSeatsRequest {
            subscription: contract.subscriptions[0].name.clone(),
            seats: 0,
            ..Default::default()
        })
        .await
        .expect_err("zero seats");
    assert_eq!(err.code(), Code::InvalidArgument);
    // Nothing half-written: the pool is as bought.
    let p = pool(&owner, &contract.team, "cad").await;
    assert_eq!((p.seats, p.assigned), (2, 1));
    let names: HashSet<String> = owner
        .clone()
        .entitlement
        .list_assignments(epb::ListAssignmentsRequest {
            parent: contract.team.clone(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .assignments
        .into_iter()
        .map(|a| a.account)
        .collect();
    assert_eq!(names, HashSet::from([shop.owner.account.clone()]));
    shop.env.shutdown().await;
}
crate::on_both_backends!(entitlement_bad_input);

/// R-CLS-1: the contract manager passes the role (and the contract) to
/// another member, who becomes a secondary admin and the one who appoints
/// the coordinator; commerce may pass it for a reseller; nobody else may.
async fn r_cls_1_the_contract_manager_role_passes_on(backend: Backend) {
    let shop = Shop::open(backend).await;
    shop.product("old").await;
    let owner = shop.owner.clients.clone();
    let classic = shop
        .buy(
            &shop.owner.account,
            classic_contract("SN-PASS"),
            &[("old", 3)],
        )
        .await;
    let team = classic.team.clone();
    let ann = shop.member(&owner, &team, "Ann").await;
    let ozzy = shop.member(&owner, &team, "Ozzy").await;
    let pass = |c: Clients, to: String| {
        let contract = classic.name.clone();
        async move {
            c.clone()
                .entitlement
                .set_contract_manager(epb::SetContractManagerRequest {
                    contract,
                    contract_manager: to,
                })
                .await
        }
    };
    let err = pass(ozzy.clients.clone(), ozzy.account.clone())
        .await
        .expect_err("not the manager");
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = pass(owner.clone(), "accounts/nobody".into())
        .await
        .expect_err("not a member");
    assert_eq!(err.code(), Code::NotFound);
    let c = pass(owner.clone(), ann.account.clone())
        .await
        .expect("pass the role")
        .into_inner();
    assert_eq!(c.owner, ann.account);
    assert_eq!(
        c.software_coordinator, shop.owner.account,
        "the coordinator stays"
    );
    // Team makes the new manager a secondary admin.
    let name = member_name(&team, &ann.account);
    eventually("Ann to become a secondary admin", || {
        let (mut o, name) = (owner.clone(), name.clone());
        async move {
            o.team
                .get_member(tpb::GetMemberRequest { name })
                .await
                .expect("member")
                .into_inner()
                .role
                == tpb::Role::SecondaryAdmin as i32
        }
    })
    .await;
    // Only the new manager appoints the coordinator now.
    let appoint = |c: Clients| {
        let contract = classic.name.clone();
        let who = ozzy.account.clone();
        async move {
            c.clone()
                .entitlement
                .set_software_coordinator(epb::SetSoftwareCoordinatorRequest {
                    contract,
                    software_coordinator: who,
                })
                .await
        }
    };
    let err = appoint(owner.clone())
        .await
        .expect_err("no longer the manager");
    assert_eq!(err.code(), Code::PermissionDenied);
    appoint(ann.clients.clone())
        .await
        .expect("the new manager appoints");
    // Commerce passes it back for a reseller.
    let back = pass(shop.commerce.clone(), shop.owner.account.clone())
        .await
        .expect("commerce may")
        .into_inner();
    assert_eq!(back.owner, shop.owner.account);
    shop.env.shutdown().await;
}
crate::on_both_backends!(r_cls_1_the_contract_manager_role_passes_on);

/// R-CLS-7: only the contract manager and the software coordinator manage
/// a classic contract's access; other admins of the team may view it. The
/// coordinator needs no admin role for it, and gets no power over the
/// team's other products.
async fn r_cls_7_only_the_manager_and_coordinator_manage_classic_access(backend: Backend) {
    let shop = Shop::open(backend).await;
    shop.product("old").await;
    shop.product("cad").await;
    let owner = shop.owner.clients.clone();
    let classic = shop
        .buy(
            &shop.owner.account,
            classic_contract("SN-CLS7"),
            &[("old", 4)],
        )
        .await;
    let team = classic.team.clone();
    shop.buy(
        &shop.owner.account,
        epb::Contract {
            team: team.clone(),
            ..sign_in_contract()
        },
        &[("cad", 4)],
    )
    .await;
    let sam = shop.env.person("Sam").await;
    add_account(
        &mut owner.clone(),
        &team,
        &sam.account,
        tpb::Role::SecondaryAdmin,
        false,
    )
    .await
    .expect("a secondary admin");
    let coco = shop.member(&owner, &team, "Coco").await;
    let ozzy = shop.member(&owner, &team, "Ozzy").await;
    owner
        .clone()
        .entitlement
        .set_software_coordinator(epb::SetSoftwareCoordinatorRequest {
            contract: classic.name.clone(),
            software_coordinator: coco.account.clone(),
        })
        .await
        .expect("appoint Coco");

    let err = assign(&sam.clients, &team, &ozzy.account, "old", &[])
        .await
        .expect_err("an admin who is neither");
    assert_eq!(err.code(), Code::PermissionDenied, "{}", err.message());
    assert!(err.message().contains("R-CLS-7"), "{}", err.message());
    assign(&sam.clients, &team, &ozzy.account, "cad", &[])
        .await
        .expect("the admin still manages sign-in products");
    let given = assign(&coco.clients, &team, &ozzy.account, "old", &[])
        .await
        .expect("the coordinator manages the classic product");
    let assignment = given.results[0].assignment.clone().expect("assignment");
    let err = assign(&coco.clients, &team, &ozzy.account, "cad", &[])
        .await
        .expect_err("but not the team's other products");
    assert_eq!(err.code(), Code::PermissionDenied);
    // Other admins view it, but cannot take it away.
    let seen = sam
        .clients
        .clone()
        .entitlement
        .list_assignments(epb::ListAssignmentsRequest {
            parent: team.clone(),
            account: ozzy.account.clone(),
            ..Default::default()
        })
        .await
        .expect("admins view")
        .into_inner()
        .assignments;
    assert!(seen.iter().any(|a| a.product == "products/old"));
    let err = sam
        .clients
        .clone()
        .entitlement
        .delete_assignment(epb::DeleteAssignmentRequest {
            name: assignment.name.clone(),
        })
        .await
        .expect_err("not theirs to manage");
    assert_eq!(err.code(), Code::PermissionDenied);
    owner
        .clone()
        .entitlement
        .delete_assignment(epb::DeleteAssignmentRequest {
            name: assignment.name,
        })
        .await
        .expect("the contract manager may");
    shop.env.shutdown().await;
}
crate::on_both_backends!(r_cls_7_only_the_manager_and_coordinator_manage_classic_access);

/// R-SEAT-5: a seat that comes only from a group cannot be unassigned,
/// neither by DeleteAssignment nor by UpdateAssignment with no items
/// (FROM_GROUP); one that is also direct stays for the group when unassigned.
async fn r_seat_5_a_group_seat_is_not_unassigned_by_hand(backend: Backend) {
    let shop = Shop::open(backend).await;
    shop.product("cad").await;
    let team = shop.sign_in(&[("cad", 4)]).await.team;
    let admin = shop.owner.clients.clone();
    let ann = shop.member(&admin, &team, "Ann").await;
    group_giving(&admin, &team, "Designers", &ann.account, "products/cad").await;
    let seat = || {
        let admin = admin.clone();
        let (team, account) = (team.clone(), ann.account.clone());
        async move {
            admin
                .clone()
                .entitlement
                .list_assignments(epb::ListAssignmentsRequest {
                    parent: team,
                    account,
                    ..Default::default()
                })
                .await
                .expect("list")
                .into_inner()
                .assignments
                .into_iter()
                .next()
        }
    };
    let a = seat().await.expect("the group's seat");
    let err = admin
        .clone()
        .entitlement
        .update_assignment(epb::UpdateAssignmentRequest {
            assignment: Some(epb::Assignment {
                name: a.name.clone(),
                items: vec![],
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["items".into()],
            }),
        })
        .await
        .expect_err("no items does not unassign a group seat");
    assert_eq!(kind(&err), "FROM_GROUP");
    assert!(seat().await.is_some(), "the seat stays");
    // Also assigned directly, then unassigned: the group's seat stays.
    assign(&admin, &team, &ann.account, "cad", &[])
        .await
        .expect("direct too");
    admin
        .clone()
        .entitlement
        .delete_assignment(epb::DeleteAssignmentRequest {
            name: a.name.clone(),
        })
        .await
        .expect("unassign the direct source");
    let kept = seat().await.expect("kept for the group");
    assert_eq!(kept.groups.len(), 1);
    assert_eq!(pool(&admin, &team, "cad").await.assigned, 2);
    shop.env.shutdown().await;
}
crate::on_both_backends!(r_seat_5_a_group_seat_is_not_unassigned_by_hand);

/// R-EVT-1: a seat whose sources change while it stays is an event too:
/// assigned directly on top of a group, and unassigned again.
async fn r_evt_1_source_changes_of_a_kept_seat_are_events(backend: Backend) {
    let shop = Shop::open(backend).await;
    shop.product("cad").await;
    let team = shop.sign_in(&[("cad", 4)]).await.team;
    let admin = shop.owner.clients.clone();
    let ann = shop.member(&admin, &team, "Ann").await;
    group_giving(&admin, &team, "Makers", &ann.account, "products/cad").await;
    let r = assign(&admin, &team, &ann.account, "cad", &[])
        .await
        .expect("direct too");
    let name = r.results[0].assignment.clone().expect("assignment").name;
    // The group's own event may be handled at this very moment; a busy
    // database answers UNAVAILABLE, which callers retry.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        match admin
            .clone()
            .entitlement
            .delete_assignment(epb::DeleteAssignmentRequest { name: name.clone() })
            .await
        {
            Ok(_) => break,
            Err(s) if s.code() == Code::Unavailable && std::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(s) => panic!("unassign the direct source: {s:?}"),
        }
    }
    let mut events = shop
        .env
        .internal()
        .await
        .entitlement
        .watch(epb::WatchRequest {
            event_types: vec!["sources_changed".into()],
            ..Default::default()
        })
        .await
        .expect("watch")
        .into_inner();
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let item = tokio::time::timeout(Duration::from_secs(30), events.message())
            .await
            .expect("the stream answers")
            .expect("no error")
            .expect("open");
        if let Some(epb::watch_response::Kind::Event(e)) = item.kind
            && let Some(epb::event::Payload::SourcesChanged(c)) = e.payload
        {
            let a = c.assignment.expect("assignment");
            seen.push((
                c.previous_direct,
                a.source == epb::AssignmentSource::Direct as i32,
            ));
        }
    }
    assert_eq!(
        seen,
        [(false, false), (true, false)],
        "direct added to a group seat, then taken away (DIRECT_AND_GROUP, then GROUP)"
    );
    shop.env.shutdown().await;
}
crate::on_both_backends!(r_evt_1_source_changes_of_a_kept_seat_are_events);

/// R-SEAT-5: a group member left without a seat waits, visibly (the
/// pool's `waiting`), and gets the next seat that frees, in the order
/// they came; leaving the group ends the wait.
async fn r_seat_5_members_without_a_seat_wait_for_one_in_order(backend: Backend) {
    let shop = Shop::open(backend).await;
    shop.product("cad").await;
    let team = shop.sign_in(&[("cad", 2)]).await.team;
    let admin = shop.owner.clients.clone();
    let mut people: Vec<Person> = Vec::new();
    for i in 0..3 {
        people.push(shop.member(&admin, &team, &format!("W{i}")).await);
    }
    let group = admin
        .clone()
        .team
        .create_group(tpb::CreateGroupRequest {
            parent: team.clone(),
            group: Some(tpb::Group {
                display_name: "Waiters".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect("group")
        .into_inner()
        .name;
    let join = |who: &Person| {
        let (admin, group, account) = (admin.clone(), group.clone(), who.account.clone());
        async move {
            admin
                .clone()
                .team
                .add_group_members(tpb::AddGroupMembersRequest {
                    group,
                    accounts: vec![account],
                })
                .await
                .expect("join")
        }
    };
    join(&people[0]).await;
    admin
        .clone()
        .entitlement
        .create_group_assignment(epb::CreateGroupAssignmentRequest {
            parent: team.clone(),
            group_assignment: Some(epb::GroupAssignment {
                group: group.clone(),
                product: "products/cad".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect("group assignment");
    // The owner and W0 hold both seats; W1 then W2 join and wait.
    join(&people[1]).await;
    let waiting = |n: i32| {
        let (admin, team) = (admin.clone(), team.clone());
        move || {
            let (admin, team) = (admin.clone(), team.clone());
            async move { pool(&admin, &team, "cad").await.waiting == n }
        }
    };
    eventually("W1 to wait", waiting(1)).await;
    join(&people[2]).await;
    eventually("W2 to wait too", waiting(2)).await;
    let holds = |who: &Person| {
        let (internal, account) = (shop.env.internal(), who.account.clone());
        async move { check(&internal.await, &account, "cad").await.allowed }
    };
    assert!(!holds(&people[1]).await && !holds(&people[2]).await);
    // The owner's seat frees: W1, who came first, gets it at once.
    let owners = admin
        .clone()
        .entitlement
        .list_assignments(epb::ListAssignmentsRequest {
            parent: team.clone(),
            account: shop.owner.account.clone(),
            ..Default::default()
        })
        .await
        .expect("own")
        .into_inner()
        .assignments;
    admin
        .clone()
        .entitlement
        .delete_assignment(epb::DeleteAssignmentRequest {
            name: owners[0].name.clone(),
        })
        .await
        .expect("free the owner's seat");
    let p = pool(&admin, &team, "cad").await;
    assert_eq!((p.assigned, p.waiting), (2, 1));
    assert!(holds(&people[1]).await, "the first in line is seated");
    assert!(!holds(&people[2]).await);
    // Leaving the group ends the wait.
    admin
        .clone()
        .team
        .remove_group_members(tpb::RemoveGroupMembersRequest {
            group: group.clone(),
            accounts: vec![people[2].account.clone()],
        })
        .await
        .expect("leave");
    eventually("W2's wait to end", waiting(0)).await;
    shop.env.shutdown().await;
}
crate::on_both_backends!(r_seat_5_members_without_a_seat_wait_for_one_in_order);

/// R-MAIL-4: publishing a release of a product mails each software
/// coordinator of a classic contract holding it, once (one email however
/// many of their contracts hold it); nobody else, and not twice.
async fn r_mail_4_release_news_reaches_each_coordinator_once(backend: Backend) {
    let shop = Shop::open(backend).await;
    shop.product("old").await;
    shop.product("cad").await;
    shop.buy(
        &shop.owner.account,
        classic_contract("SN-R1"),
        &[("old", 1)],
    )
    .await;
    shop.buy(
        &shop.owner.account,
        classic_contract("SN-R2"),
        &[("old", 1)],
    )
    .await;
    let bob = shop.env.person("Bob").await;
    crate::teams::team_for(&shop.env, &bob, "Bob's").await;
    shop.buy(&bob.account, classic_contract("SN-R3"), &[("old", 1)])
        .await;
    let sid = shop.env.person("Sid").await;
    crate::teams::team_for(&shop.env, &sid, "Sid's").await;
    shop.buy(&sid.account, sign_in_contract(), &[("old", 1)])
        .await;

    let publish = |version: &str, c: Clients| {
        let version = version.to_owned();
        async move {
            c.clone()
                .entitlement
                .publish_release(epb::PublishReleaseRequest {
                    parent: "products/old".into(),
                    release: Some(epb::Release {
                        version,
                        notes: "Faster.\nSmaller.".into(),
                        ..Default::default()
                    }),
                    ..Default::default()
                })
                .await
        }
    };
    let err = publish("2027.1", shop.owner.clients.clone())
        .await
        .expect_err("the catalog's back end publishes");
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = publish("not a version", shop.catalog.clone())
        .await
        .expect_err("bad version");
    assert_eq!(err.code(), Code::InvalidArgument);
    let r = publish("2027.1", shop.catalog.clone())
        .await
        .expect("publish")
        .into_inner();
    assert_eq!(r.name, "products/old/releases/2027.1");
    let err = publish("2027.1", shop.catalog.clone())
        .await
        .expect_err("once per version");
    assert_eq!(err.code(), Code::AlreadyExists);
    let olivia = shop
        .env
        .mail_with_subject(&shop.owner.email, "2027.1", 1)
        .await;
    assert!(
        olivia[0].decoded().contains("Smaller."),
        "{}",
        olivia[0].decoded()
    );
    shop.env.mail_with_subject(&bob.email, "2027.1", 1).await;
    // A later release arrives after any second copy of the first would.
    publish("2027.2", shop.catalog.clone()).await.expect("next");
    shop.env
        .mail_with_subject(&shop.owner.email, "2027.2", 1)
        .await;
    shop.env.mail_with_subject(&bob.email, "2027.2", 1).await;
    let count = |to: &str| {
        shop.env
            .smtp
            .messages_to(to)
            .iter()
            .filter(|m| m.header("Subject").unwrap_or_default().contains("2027.1"))
            .count()
    };
    assert_eq!(count(&shop.owner.email), 1, "two contracts, one email");
    assert_eq!(count(&bob.email), 1);
    assert_eq!(
        count(&sid.email),
        0,
        "sign-in contracts have no coordinator"
    );
    shop.env.shutdown().await;
}
crate::on_both_backends!(r_mail_4_release_news_reaches_each_coordinator_once);

/// R-MAIL-4: a term contract's owner is reminded 30 and 7 days before its
/// end date, once each; an end date must be in the future and on a TERM
/// contract.
async fn r_mail_4_renewal_reminders_30_and_7_days_before(backend: Backend) {
    let shop = Shop::open(backend).await;
    shop.product("cad").await;
    let today = time::OffsetDateTime::now_utc().date();
    let date = |d: time::Date| allot_proto::common::Date {
        year: d.year(),
        month: i32::from(u8::from(d.month())),
        day: i32::from(d.day()),
    };
    let term = |end: time::Date, billing: epb::Billing| epb::Contract {
        end_date: Some(date(end)),
        billing: billing as i32,
        ..sign_in_contract()
    };
    let err = shop
        .try_buy(
            &shop.owner.account,
            term(today - time::Duration::days(1), epb::Billing::Term),
            &[("cad", 1)],
        )
        .await
        .expect_err("an end in the past");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message().contains("contract.end_date"),
        "{}",
        err.message()
    );
    let err = shop
        .try_buy(
            &shop.owner.account,
            term(today + time::Duration::days(40), epb::Billing::PayPerUse),
            &[("cad", 1)],
        )
        .await
        .expect_err("pay-per-use does not end");
    assert_eq!(err.code(), Code::InvalidArgument);
    let c = shop
        .buy(
            &shop.owner.account,
            term(today + time::Duration::days(40), epb::Billing::Term),
            &[("cad", 3)],
        )
        .await;
    assert_eq!(c.end_date, Some(date(today + time::Duration::days(40))));
    let reminders = |days: &str| {
        shop.env
            .smtp
            .messages_to(&shop.owner.email)
            .iter()
            .filter(|m| {
                m.header("Subject")
                    .unwrap_or_default()
                    .contains(&format!("ends in {days} days"))
            })
            .count()
    };
    shop.env.clock.advance(time::Duration::days(11));
    let first = shop
        .env
        .mail_with_subject(&shop.owner.email, "ends in 30 days", 1)
        .await;
    assert!(
        first[0].decoded().contains("products/cad: 3 seats"),
        "{}",
        first[0].decoded()
    );
    shop.env.clock.advance(time::Duration::days(23));
    shop.env
        .mail_with_subject(&shop.owner.email, "ends in 7 days", 1)
        .await;
    assert_eq!((reminders("30"), reminders("7")), (1, 1), "once each");
    shop.env.shutdown().await;
}
crate::on_both_backends!(r_mail_4_renewal_reminders_30_and_7_days_before);

/// R-MAIL-4: a renewal reminder goes out once, also when entitlement
/// restarts after sending it.
async fn r_mail_4_a_renewal_reminder_goes_out_once_across_a_restart(backend: Backend) {
    let env = Env::processes(backend, &[("ALLOT_RENEWAL__SCAN_INTERVAL", "1s")]).await;
    let mut shop = Shop::on(env).await;
    shop.product("cad").await;
    let end = time::OffsetDateTime::now_utc().date() + time::Duration::days(20);
    let term = || epb::Contract {
        end_date: Some(allot_proto::common::Date {
            year: end.year(),
            month: i32::from(u8::from(end.month())),
            day: i32::from(end.day()),
        }),
        billing: epb::Billing::Term as i32,
        ..sign_in_contract()
    };
    let first = shop.buy(&shop.owner.account, term(), &[("cad", 1)]).await;
    let mails = shop
        .env
        .mail_with_subject(&shop.owner.email, "ends in 30 days", 1)
        .await;
    assert!(mails[0].decoded().contains(&first.name));
    shop.env.kill(allot::ServiceKind::Entitlement);
    shop.env.restart(allot::ServiceKind::Entitlement).await;
    // A second contract's reminder shows a scan ran after the restart.
    let second = shop.buy(&shop.owner.account, term(), &[("cad", 1)]).await;
    let mails = shop
        .env
        .mail_with_subject(&shop.owner.email, "ends in 30 days", 2)
        .await;
    assert_eq!(mails.len(), 2, "one reminder per contract, none again");
    assert!(mails.iter().any(|m| m.decoded().contains(&second.name)));
    assert_eq!(
        mails
            .iter()
            .filter(|m| m.decoded().contains(&first.name))
            .count(),
        1
    );
    shop.env.shutdown().await;
}
crate::on_both_backends!(r_mail_4_a_renewal_reminder_goes_out_once_across_a_restart);

/// A new group of `team` with `member` in it, assigned `product` (R-SEAT-5);
/// returns the group's name.
async fn group_giving(
    admin: &Clients,
    team: &str,
    display_name: &str,
    member: &str,
    product: &str,
) -> String {
    let group = admin
        .clone()
        .team
        .create_group(tpb::CreateGroupRequest {
            parent: team.into(),
            group: Some(tpb::Group {
                display_name: display_name.into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect("group")
        .into_inner()
        .name;
    admin
        .clone()
        .team
        .add_group_members(tpb::AddGroupMembersRequest {
            group: group.clone(),
            accounts: vec![member.into()],
        })
        .await
        .expect("join");
    admin
        .clone()
        .entitlement
        .create_group_assignment(epb::CreateGroupAssignmentRequest {
            parent: team.into(),
            group_assignment: Some(epb::GroupAssignment {
                group: group.clone(),
                product: product.into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect("group assignment");
    group
}
