//! The web console in a real headless Chromium: the seeds' flows end to
//! end, as an admin and an invited person click through them, with a
//! screenshot of each page under `target/browser-screenshots/`.

mod accept;
mod bulk;
mod classic;
mod front_door;
mod people;
mod reports;
mod safety;
mod settings;

use allot_proto::entitlement as epb;

use crate::entitlement::{Shop, sign_in_contract};
use crate::harness::{ADMIN_EMAIL, ADMIN_PASSWORD, Browser, Env};

/// Signs in at the console as `email` and waits for the first page.
pub async fn sign_in(b: &Browser, env: &Env, email: &str, password: &str) {
    b.open(&format!("{}/sign-in", env.console_url())).await;
    b.fill("#sign-in-email", email).await;
    b.fill("#sign-in-password", password).await;
    b.click("#sign-in button[type=submit]").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while b.path().await.starts_with("/sign-in") {
        assert!(
            std::time::Instant::now() < deadline,
            "still signing in: {}",
            b.text().await
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// The bootstrap administrator signs in.
pub async fn admin_signs_in(b: &Browser, env: &Env) {
    sign_in(b, env, ADMIN_EMAIL, ADMIN_PASSWORD).await;
}

/// `teams/{id}` of the administrator's first team, as its id.
pub async fn first_team_id(env: &Env) -> String {
    env.first_team()
        .await
        .name
        .trim_start_matches("teams/")
        .to_owned()
}

/// `accounts/{id}` of the bootstrap administrator.
pub async fn admin_account(env: &Env) -> String {
    env.first_team().await.primary_admin
}

/// A shop whose purchases the bootstrap administrator owns: a product
/// with an application, a cloud service and support, and `seats` of it
/// in the administrator's first team (one of them theirs, R-SEAT-6).
pub async fn admin_buys(shop: &Shop, product: &str, seats: i32) -> epb::Contract {
    shop.product(product).await;
    let owner = admin_account(&shop.env).await;
    shop.buy(&owner, sign_in_contract(), &[(product, seats)])
        .await
}

/// Fails with the problems when the page misses what a keyboard or
/// screen reader user needs.
pub async fn assert_accessible(b: &Browser) {
    let problems = b.accessibility_problems().await;
    assert!(problems.is_empty(), "{}: {problems:?}", b.path().await);
}

/// Text with every run of whitespace (tabs between table cells) as one
/// space.
pub fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
