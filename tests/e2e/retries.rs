//! Request ids on every create and add (AIP-155), on SQLite and
//! PostgreSQL: a retry with the same id gets the first answer and changes
//! nothing; the same id with another request is refused.

use allot_platform::testing::Backend;
use allot_proto::entitlement as epb;
use allot_proto::team as tpb;
use tonic::Code;

use crate::entitlement::{Shop, pool, sign_in_contract};

/// AIP-155: a retried AddSeats with the same request id adds once and gets
/// the first answer; the same id with another request is refused.
async fn add_seats_retried_with_one_request_id_adds_once(backend: Backend) {
    let shop = Shop::open(backend).await;
    shop.product("cad").await;
    let contract = shop.sign_in(&[("cad", 3)]).await;
    let sub = contract.subscriptions[0].name.clone();
    let add = |seats: i32, request_id: &str| {
        let mut c = shop.commerce.clone();
        let req = epb::AddSeatsRequest {
            subscription: sub.clone(),
            seats,
            request_id: request_id.into(),
        };
        async move { c.entitlement.add_seats(req).await }
    };
    let first = add(4, "buy-42").await.expect("first").into_inner();
    assert_eq!(first.seats, 7);
    let again = add(4, "buy-42").await.expect("retry").into_inner();
    assert_eq!(again.seats, 7, "the retry gets the first answer");
    assert_eq!(
        pool(&shop.owner.clients, &contract.team, "cad").await.seats,
        7
    );
    let err = add(5, "buy-42").await.expect_err("same id, other request");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message().starts_with("request_id:"),
        "{}",
        err.message()
    );
    let err = add(1, "no spaces allowed").await.expect_err("odd id");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        pool(&shop.owner.clients, &contract.team, "cad").await.seats,
        7
    );
    // Without a request id every call adds.
    add(1, "").await.expect("plain");
    add(1, "").await.expect("plain again");
    assert_eq!(
        pool(&shop.owner.clients, &contract.team, "cad").await.seats,
        9
    );
    shop.env.shutdown().await;
}
crate::on_both_backends!(add_seats_retried_with_one_request_id_adds_once);

/// AIP-155 on creates: CreateTeam, CreateGroup, CreateSubscription and
/// CreateContract
/// retried with one request id create once and answer the first result;
/// the same id with another request is refused.
async fn creates_retried_with_one_request_id_create_once(backend: Backend) {
    let shop = Shop::open(backend).await;
    shop.product("cad").await;
    shop.product("cam").await;
    let contract = shop.sign_in(&[("cad", 3)]).await;
    let mut owner = shop.owner.clients.clone();
    let team = |name: &str, id: &str| tpb::CreateTeamRequest {
        team: Some(tpb::Team {
            display_name: name.into(),
            ..Default::default()
        }),
        request_id: id.into(),
    };
    let first = owner
        .team
        .create_team(team("Retry", "t-1"))
        .await
        .expect("first")
        .into_inner();
    let again = owner
        .team
        .create_team(team("Retry", "t-1"))
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(first.name, again.name, "the retry gets the first team");
    let err = owner
        .team
        .create_team(team("Other", "t-1"))
        .await
        .expect_err("same id, other request");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message().starts_with("request_id:"),
        "{}",
        err.message()
    );

    let group = |id: &str| tpb::CreateGroupRequest {
        parent: contract.team.clone(),
        group: Some(tpb::Group {
            display_name: "Once".into(),
            ..Default::default()
        }),
        request_id: id.into(),
    };
    let g1 = owner
        .team
        .create_group(group("g-1"))
        .await
        .expect("group")
        .into_inner();
    let g2 = owner
        .team
        .create_group(group("g-1"))
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(g1.name, g2.name);
    let groups = owner
        .team
        .list_groups(tpb::ListGroupsRequest {
            parent: contract.team.clone(),
            ..Default::default()
        })
        .await
        .expect("groups")
        .into_inner()
        .groups;
    assert_eq!(
        groups.iter().filter(|g| g.display_name == "Once").count(),
        1
    );

    let subscription = || epb::CreateSubscriptionRequest {
        parent: contract.name.clone(),
        subscription: Some(epb::Subscription {
            product: "products/cam".into(),
            seats: 2,
            ..Default::default()
        }),
        request_id: "s-1".into(),
    };
    let mut commerce = shop.commerce.clone();
    let s1 = commerce
        .entitlement
        .create_subscription(subscription())
        .await
        .expect("subscription")
        .into_inner();
    let s2 = commerce
        .entitlement
        .create_subscription(subscription())
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(s1.name, s2.name);
    assert_eq!(
        pool(&owner, &contract.team, "cam").await.seats,
        2,
        "added once"
    );

    let purchase = |seats: i32| epb::CreateContractRequest {
        contract: Some(epb::Contract {
            owner: shop.owner.account.clone(),
            ..sign_in_contract()
        }),
        subscriptions: vec![epb::Subscription {
            product: "products/cam".into(),
            seats,
            ..Default::default()
        }],
        request_id: "c-1".into(),
    };
    let c1 = commerce
        .entitlement
        .create_contract(purchase(5))
        .await
        .expect("contract")
        .into_inner();
    let c2 = commerce
        .entitlement
        .create_contract(purchase(5))
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(c1.name, c2.name, "the retry gets the first contract");
    let err = commerce
        .entitlement
        .create_contract(purchase(6))
        .await
        .expect_err("same id, other purchase");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message().starts_with("request_id:"),
        "{}",
        err.message()
    );
    assert_eq!(
        pool(&owner, &c1.team, "cam").await.seats,
        if c1.team == contract.team { 7 } else { 5 },
        "bought once"
    );
    shop.env.shutdown().await;
}
crate::on_both_backends!(creates_retried_with_one_request_id_create_once);

/// AIP-155 on adds and jobs: AddMember, ImportMembers, ImportAssignments
/// and PublishRelease retried with one request id answer the first result
/// and do nothing twice (no second member, operation or release).
async fn adds_and_imports_retried_with_one_request_id_happen_once(backend: Backend) {
    let shop = Shop::open(backend).await;
    shop.product("cad").await;
    let team = shop.sign_in(&[("cad", 3)]).await.team;
    let mut owner = shop.owner.clients.clone();
    let email = crate::harness::unique_email("once");
    let add = || tpb::AddMemberRequest {
        parent: team.clone(),
        who: Some(tpb::add_member_request::Who::Person(tpb::Person {
            given_name: "Once".into(),
            family_name: "Only".into(),
            email: email.clone(),
        })),
        request_id: "m-1".into(),
        ..Default::default()
    };
    let first = owner
        .team
        .add_member(add())
        .await
        .expect("add")
        .into_inner();
    let again = owner
        .team
        .add_member(add())
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(
        first.name, again.name,
        "the first member, not ALREADY_EXISTS"
    );
    assert_eq!(shop.env.mail_to(&email, 1).await.len(), 1);

    let members_csv = format!("email\n{}\n", crate::harness::unique_email("imp.once"));
    let import = || tpb::ImportMembersRequest {
        parent: team.clone(),
        csv: members_csv.clone().into_bytes(),
        request_id: "i-1".into(),
        ..Default::default()
    };
    let op1 = owner
        .team
        .import_members(import())
        .await
        .expect("import")
        .into_inner();
    let op2 = owner
        .team
        .import_members(import())
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(op1.name, op2.name, "one operation");

    let assign_csv = format!("email,product\n{},cad\n", shop.owner.email);
    let assign = || epb::ImportAssignmentsRequest {
        parent: team.clone(),
        csv: assign_csv.clone().into_bytes(),
        request_id: "a-1".into(),
        ..Default::default()
    };
    let a1 = owner
        .entitlement
        .import_assignments(assign())
        .await
        .expect("import")
        .into_inner();
    let a2 = owner
        .entitlement
        .import_assignments(assign())
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(a1.name, a2.name, "one operation");

    let mut catalog = shop.catalog.clone();
    let publish = || epb::PublishReleaseRequest {
        parent: "products/cad".into(),
        release: Some(epb::Release {
            version: "9.0".into(),
            ..Default::default()
        }),
        request_id: "r-1".into(),
    };
    let r1 = catalog
        .entitlement
        .publish_release(publish())
        .await
        .expect("publish")
        .into_inner();
    let r2 = catalog
        .entitlement
        .publish_release(publish())
        .await
        .expect("retry, not ALREADY_EXISTS")
        .into_inner();
    assert_eq!(r1, r2);
    shop.env.shutdown().await;
}
crate::on_both_backends!(adds_and_imports_retried_with_one_request_id_happen_once);

/// AIP-155 on batches: AssignUsers, AssignProducts, CreateGroupAssignment
/// and AddMembers retried with one request id answer the first results
/// (ASSIGNED, INVITED: not ALREADY_ASSIGNED or ALREADY_MEMBER), take no
/// second seat and send no second invitation.
async fn batches_retried_with_one_request_id_answer_the_first_results(backend: Backend) {
    let shop = Shop::open(backend).await;
    shop.product("cad").await;
    shop.product("cam").await;
    let team = shop.sign_in(&[("cad", 3), ("cam", 3)]).await.team;
    let mut owner = shop.owner.clients.clone();
    // The owner holds a seat of each product already (R-SEAT-6).
    let bea = shop.member(&owner, &team, "Bea").await;
    let cy = shop.member(&owner, &team, "Cy").await;
    let outcomes = |r: &[epb::AssignResult]| -> Vec<(String, i32)> {
        r.iter().map(|r| (r.account.clone(), r.outcome)).collect()
    };
    let assigned = epb::AssignOutcome::Assigned as i32;

    let users = |items: Vec<String>| epb::AssignUsersRequest {
        parent: team.clone(),
        product: "products/cad".into(),
        items,
        accounts: vec![bea.account.clone(), cy.account.clone()],
        request_id: "u-1".into(),
    };
    let first = owner
        .entitlement
        .assign_users(users(vec![]))
        .await
        .expect("assign")
        .into_inner()
        .results;
    let again = owner
        .entitlement
        .assign_users(users(vec![]))
        .await
        .expect("retry")
        .into_inner()
        .results;
    assert_eq!(
        outcomes(&again),
        vec![
            (bea.account.clone(), assigned),
            (cy.account.clone(), assigned)
        ],
        "the first answer, not ALREADY_ASSIGNED"
    );
    assert_eq!(
        first
            .iter()
            .map(|r| r.assignment.clone())
            .collect::<Vec<_>>(),
        again
            .iter()
            .map(|r| r.assignment.clone())
            .collect::<Vec<_>>()
    );
    assert_eq!(pool(&owner, &team, "cad").await.assigned, 3);
    let err = owner
        .entitlement
        .assign_users(users(vec!["desktop".into()]))
        .await
        .expect_err("same id, other request");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message().starts_with("request_id:"),
        "{}",
        err.message()
    );

    let products = || epb::AssignProductsRequest {
        parent: team.clone(),
        account: bea.account.clone(),
        products: vec![epb::ProductSelection {
            product: "products/cam".into(),
            items: vec![],
        }],
        request_id: "p-1".into(),
    };
    let p1 = owner
        .entitlement
        .assign_products(products())
        .await
        .expect("assign")
        .into_inner()
        .results;
    let p2 = owner
        .entitlement
        .assign_products(products())
        .await
        .expect("retry")
        .into_inner()
        .results;
    assert_eq!(outcomes(&p2), vec![(bea.account.clone(), assigned)]);
    assert_eq!(p1[0].assignment, p2[0].assignment);
    assert_eq!(pool(&owner, &team, "cam").await.assigned, 2);

    let group = owner
        .team
        .create_group(tpb::CreateGroupRequest {
            parent: team.clone(),
            group: Some(tpb::Group {
                display_name: "Designers".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect("group")
        .into_inner()
        .name;
    owner
        .team
        .add_group_members(tpb::AddGroupMembersRequest {
            group: group.clone(),
            accounts: vec![cy.account.clone()],
        })
        .await
        .expect("join");
    let by_group = || epb::CreateGroupAssignmentRequest {
        parent: team.clone(),
        group_assignment: Some(epb::GroupAssignment {
            group: group.clone(),
            product: "products/cam".into(),
            ..Default::default()
        }),
        request_id: "g-1".into(),
    };
    let g1 = owner
        .entitlement
        .create_group_assignment(by_group())
        .await
        .expect("group assignment")
        .into_inner();
    let g2 = owner
        .entitlement
        .create_group_assignment(by_group())
        .await
        .expect("retry, not ALREADY_EXISTS")
        .into_inner();
    assert_eq!(g1.group_assignment, g2.group_assignment);
    assert_eq!(outcomes(&g2.results), vec![(cy.account.clone(), assigned)]);
    assert_eq!(pool(&owner, &team, "cam").await.assigned, 3);

    let email = crate::harness::unique_email("list.once");
    let list = || tpb::AddMembersRequest {
        parent: team.clone(),
        addresses: format!("Lee Once <{email}>; not-an-address"),
        request_id: "l-1".into(),
        ..Default::default()
    };
    let l1 = owner
        .team
        .add_members(list())
        .await
        .expect("add list")
        .into_inner()
        .results;
    let l2 = owner
        .team
        .add_members(list())
        .await
        .expect("retry")
        .into_inner()
        .results;
    let list_outcomes =
        |r: &[tpb::AddMemberResult]| -> Vec<i32> { r.iter().map(|r| r.outcome).collect() };
    assert_eq!(
        list_outcomes(&l2),
        vec![
            tpb::AddMemberOutcome::Invited as i32,
            tpb::AddMemberOutcome::Invalid as i32
        ],
        "the first answer, not ALREADY_MEMBER"
    );
    assert_eq!(list_outcomes(&l1), list_outcomes(&l2));
    assert_eq!(l1[0].member, l2[0].member);
    assert_eq!(l2[1].violations, l1[1].violations);
    assert_eq!(shop.env.mail_to(&email, 1).await.len(), 1, "one invitation");
    shop.env.shutdown().await;
}
crate::on_both_backends!(batches_retried_with_one_request_id_answer_the_first_results);
