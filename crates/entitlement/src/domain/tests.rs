use allot_platform::auth::{Caller, scopes};
use allot_platform::ids::{AccountId, ContractId, ProductId, TeamId};

use super::*;
use crate::error::EntitlementError;

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
    assert!(SeatCount::parse("seats", 0).is_err());
    assert!(SeatCount::parse("seats", -3).is_err());
    assert_eq!(SeatCount::parse("seats", 10).unwrap().get(), 10);
}

#[test]
fn seat_counts_added_stop_at_the_largest_subscription() {
    let ten = SeatCount::parse("seats", 10).unwrap();
    assert_eq!(ten.added_to(5), Ok(15));
    let e = ten
        .added_to(MAX_SEATS - 9)
        .expect_err("one past the largest");
    assert_eq!(e.field, "seats");
    assert!(ten.added_to(i32::MAX).is_err(), "no overflow");
    assert!(SeatCount::parse("seats", MAX_SEATS + 1).is_err());
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
            check_classic_by_user(&pool(ActivationType::SerialNumber, 1), "by group").unwrap_err()
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
        session: None,
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

#[test]
fn r_seat_1_a_batch_gets_the_free_seats_in_order_and_never_more() {
    let pool = Pool {
        team: TeamId::from_db("t".into()),
        product: ProductId::from_db("p".into()),
        seats: 10,
        assigned: 7,
        activation: ActivationType::SignIn,
        serial_number: String::new(),
    };
    let (given, after) = pool.grant(5);
    assert_eq!(given, 3);
    assert_eq!((after.assigned, after.available()), (10, 0));
    let (given, after) = pool.grant(2);
    assert_eq!((given, after.assigned), (2, 9));
    let full = Pool {
        assigned: 10,
        ..pool.clone()
    };
    assert_eq!(full.grant(4).0, 0);
    let over = Pool {
        assigned: 12,
        ..pool
    };
    assert_eq!(
        over.grant(1).0,
        0,
        "a pool over its seats (after a move) gives none"
    );
}
