//! Team settings in the browser: another team (R-TEAM-1), and moving a
//! subscription (R-TEAM-4), whose refusal says how many seats to free.

use allot_platform::testing::Backend;
use allot_proto::entitlement as epb;

use super::{admin_account, admin_signs_in, assert_accessible, first_team_id};
use crate::entitlement::{Shop, sign_in_contract};
use crate::harness::{Browser, Env};

/// R-TEAM-4: with three seats taken of a pool of 2 + 1, moving the
/// 2-seat subscription is refused, in its own form, with how many seats
/// to unassign first; nothing moves. Once they are free, it moves.
async fn r_team_4_console_a_move_says_how_many_seats_to_free(backend: Backend) {
    let shop = Shop::on(Env::with_console(backend).await).await;
    let env = &shop.env;
    shop.product("mov").await;
    let owner = admin_account(env).await;
    let contract = shop
        .buy(&owner, sign_in_contract(), &[("mov", 2), ("mov", 1)])
        .await;
    let team = first_team_id(env).await;
    let mut admin = env.admin().await;
    let parent = format!("teams/{team}");
    let mut others = Vec::new();
    for name in ["Mia", "Max"] {
        let p = env.person(name).await;
        crate::entitlement::assign(&admin, &parent, &p.account, "mov", &[])
            .await
            .expect("assign");
        others.push(p);
    }
    let pool = crate::entitlement::pool(&admin, &parent, "mov").await;
    assert_eq!((pool.seats, pool.assigned), (3, 3), "{pool:?}");
    let two = contract
        .subscriptions
        .iter()
        .find(|s| s.seats == 2)
        .expect("the 2-seat subscription")
        .name
        .trim_start_matches("subscriptions/")
        .to_owned();

    let b = Browser::start("r_team_4_move").await;
    admin_signs_in(&b, env).await;
    b.open(&format!("{}/teams/{team}/settings", env.console_url()))
        .await;
    b.fill("#create-team-display_name", "Second office").await;
    b.click("#create-team button[type=submit]").await;
    b.wait_text("Team Second office is created").await;
    b.shot("settings-new-team").await;
    b.open(&format!("{}/teams/{team}/settings", env.console_url()))
        .await;
    b.wait_text("Subscriptions").await;
    b.shot("settings").await;
    assert_accessible(&b).await;

    b.click_and_confirm(&format!("#move-{two} button[type=submit]"))
        .await;
    let refused = b.wait_text("unassign 2 seats").await;
    let form = b.text_of(&format!("#move-{two}")).await;
    assert!(
        form.contains("unassign 2 seats of this product first"),
        "the refusal sits in the subscription's form: {form}\n{refused}"
    );
    b.shot("move-refused").await;
    let still = env
        .admin()
        .await
        .entitlement
        .get_subscription(epb::GetSubscriptionRequest {
            name: format!("subscriptions/{two}"),
        })
        .await
        .expect("subscription")
        .into_inner();
    assert_eq!(still.team, parent, "nothing moved");

    // Freed, it moves.
    for p in &others {
        let held = admin
            .entitlement
            .list_assignments(epb::ListAssignmentsRequest {
                parent: parent.clone(),
                account: p.account.clone(),
                ..Default::default()
            })
            .await
            .expect("assignments")
            .into_inner()
            .assignments;
        for a in held {
            admin
                .entitlement
                .delete_assignment(epb::DeleteAssignmentRequest { name: a.name })
                .await
                .expect("unassign");
        }
    }
    b.open(&format!("{}/teams/{team}/settings", env.console_url()))
        .await;
    b.click_and_confirm(&format!("#move-{two} button[type=submit]"))
        .await;
    b.wait_text("The subscription is moved").await;
    let moved = env
        .admin()
        .await
        .entitlement
        .get_subscription(epb::GetSubscriptionRequest {
            name: format!("subscriptions/{two}"),
        })
        .await
        .expect("subscription")
        .into_inner();
    assert_ne!(moved.team, parent, "it moved to the second office");
    b.close().await;
    shop.env.shutdown().await;
}
crate::on_both_backends!(r_team_4_console_a_move_says_how_many_seats_to_free);
