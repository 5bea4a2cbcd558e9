//! Seats in the browser (R-SEAT-3, R-SEAT-4, R-SEAT-5, R-SEAT-8): the
//! admin assigns a product with chosen items from the person's page and
//! by product, gives a product to a group; the person sees what they may
//! use under My products.

use allot_platform::testing::Backend;
use allot_proto::team as tpb;

use super::{admin_buys, admin_signs_in, assert_accessible, first_team_id, sign_in, squash};
use crate::entitlement::Shop;
use crate::harness::{Browser, Env, unique_email};
use crate::invitations::invite;
use crate::sign_in::{GOOD, accept};

/// A person invited to the first team who accepted with [`GOOD`]:
/// their email and account id.
async fn person(env: &Env, given: &str) -> (String, String) {
    let mut admin = env.admin().await;
    let team = env.first_team().await.name;
    let email = unique_email(&given.to_lowercase());
    let member = invite(&mut admin, &team, given, "Lund", &email).await;
    let mail = env.mail_to(&email, 1).await;
    accept(env, &crate::harness::accept_token(&mail[0]), GOOD, "")
        .await
        .expect("accept");
    (
        email,
        member.account.trim_start_matches("accounts/").to_owned(),
    )
}

/// R-SEAT-4: the admin assigns a product with only its application; the
/// person's page shows exactly that item, and the person sees the product
/// with that item and its activation under My products (R-SEAT-8). Then
/// the admin adds an item and unassigns, and the seat is free again.
async fn r_seat_4_console_assigns_chosen_items_and_the_person_sees_them(backend: Backend) {
    let shop = Shop::on(Env::with_console(backend).await).await;
    let env = &shop.env;
    admin_buys(&shop, "cad", 3).await;
    let team = first_team_id(env).await;
    let (email, account) = person(env, "Ines").await;
    let b = Browser::start("r_seat_4_assign_items").await;
    admin_signs_in(&b, env).await;

    b.open(&format!("{}/teams/{team}/users?q=ines", env.console_url()))
        .await;
    b.wait_text(&email).await;
    b.click(&format!("a[href$='/users/{account}']")).await;
    b.wait_text("Assign a product").await;
    b.shot("person").await;
    assert_accessible(&b).await;
    // Only the desktop application.
    b.click("#assign-cad input[name=which][value=chosen]").await;
    b.click("#assign-cad input[name=items][value=desktop]")
        .await;
    b.click("#assign-cad button[type=submit]").await;
    b.wait_text("Assigned.").await;
    b.shot("person-assigned").await;
    let card = b.text_of("form[id^=items-]").await;
    assert!(card.contains("Product cad"), "{card}");
    assert_eq!(
        b.count("form[id^=items-] input[name=items]:checked").await,
        1,
        "only the chosen item"
    );

    // By Product shows the seat taken.
    b.open(&format!("{}/teams/{team}/products", env.console_url()))
        .await;
    let pools = b.wait_text("Product cad").await;
    assert!(
        squash(&pools).contains("Product cad 3 2 1"),
        "seats, assigned, available: {pools}"
    );
    b.shot("by-product").await;
    assert_accessible(&b).await;

    // The person sees it under My products, with its item and activation.
    let them = Browser::start("r_seat_4_my_products").await;
    sign_in(&them, env, &email, GOOD).await;
    them.open(&format!("{}/me/products", env.console_url()))
        .await;
    let mine = them.wait_text("Product cad").await;
    assert!(mine.contains("desktop item (application)"), "{mine}");
    assert!(
        !mine.contains("render item"),
        "not the cloud service: {mine}"
    );
    assert!(mine.contains("Sign in"), "the activation type: {mine}");
    them.shot("my-products").await;
    assert_accessible(&them).await;

    // The admin adds the cloud service, then unassigns.
    b.open(&format!(
        "{}/teams/{team}/users/{account}",
        env.console_url()
    ))
    .await;
    b.click("form[id^=items-] input[name=items][value=render]")
        .await;
    b.click("form[id^=items-] button[type=submit]").await;
    b.wait_text("The items are changed").await;
    them.open(&format!("{}/me/products", env.console_url()))
        .await;
    them.wait_text("render item (cloud service)").await;
    b.click_and_confirm("form[id^=items-] button.danger").await;
    b.wait_text("Unassigned: the seat is free").await;
    them.open(&format!("{}/me/products", env.console_url()))
        .await;
    them.wait_text("No products are assigned to you yet").await;
    them.close().await;
    b.close().await;
    shop.env.shutdown().await;
}
crate::on_both_backends!(r_seat_4_console_assigns_chosen_items_and_the_person_sees_them);

/// R-SEAT-5: by product, the admin assigns two people at once; a group
/// given the product seats its members and, when seats run out, names who
/// waits.
async fn r_seat_5_console_groups_give_their_members_seats(backend: Backend) {
    let shop = Shop::on(Env::with_console(backend).await).await;
    let env = &shop.env;
    // Three seats, one the administrator's (R-SEAT-6).
    admin_buys(&shop, "viz", 3).await;
    let team = first_team_id(env).await;
    let (a, a_id) = person(env, "Aino").await;
    let (bo, bo_id) = person(env, "Bo").await;
    let (c, _) = person(env, "Cai").await;
    let b = Browser::start("r_seat_5_groups").await;
    admin_signs_in(&b, env).await;

    // By product: Aino and Bo at once, all items.
    b.open(&format!("{}/teams/{team}/products/viz", env.console_url()))
        .await;
    b.wait_text("Assign people").await;
    b.click(&format!("#assign input[name=accounts][value='{a_id}']"))
        .await;
    b.click(&format!("#assign input[name=accounts][value='{bo_id}']"))
        .await;
    b.click("#assign button[type=submit]").await;
    b.wait_text("Assigned to 2").await;
    let holders = b.text_of("table").await;
    assert!(holders.contains(&a) && holders.contains(&bo), "{holders}");
    b.shot("by-product-assigned").await;
    assert_accessible(&b).await;

    // Bo's seat goes back; a group of Bo and Cai is given the product:
    // one seat is free, so one of them waits, named with the reason.
    b.click_and_confirm(&format!(
        "table tr:has(a[href$='/users/{bo_id}']) button.danger"
    ))
    .await;
    b.wait_text("Unassigned").await;
    b.open(&format!("{}/teams/{team}/groups", env.console_url()))
        .await;
    b.fill("#create-group-display_name", "Designers").await;
    b.click("#create-group button[type=submit]").await;
    b.wait_text("The group is created").await;
    b.tick("#add-members", &bo).await;
    b.tick("#add-members", &c).await;
    b.click("#add-members button[type=submit]").await;
    b.wait_text("Added to the group").await;
    b.click("#assign-viz button[type=submit]").await;
    let told = b.wait_text("without a seat for now").await;
    assert!(told.contains("1 member waits"), "{told}");
    assert!(
        told.contains(&bo) || told.contains(&c),
        "the one who waits is named by email: {told}"
    );
    assert!(told.contains("no seat free"), "{told}");
    b.shot("group").await;
    assert_accessible(&b).await;
    let given = b
        .text_of("#given-h + ul, section[aria-labelledby=given-h]")
        .await;
    assert!(given.contains("Product viz"), "{given}");
    b.open(&format!("{}/teams/{team}/groups", env.console_url()))
        .await;
    let groups = b.wait_text("Designers").await;
    assert!(
        squash(&groups).contains("Designers 2 Product viz"),
        "{groups}"
    );
    b.shot("by-group").await;
    // The team's membership list still has all three.
    let members = env
        .admin()
        .await
        .team
        .list_members(tpb::ListMembersRequest {
            parent: format!("teams/{team}"),
            ..Default::default()
        })
        .await
        .expect("members")
        .into_inner()
        .members;
    assert!(members.iter().any(|m| m.email == c));
    b.close().await;
    shop.env.shutdown().await;
}
crate::on_both_backends!(r_seat_5_console_groups_give_their_members_seats);
