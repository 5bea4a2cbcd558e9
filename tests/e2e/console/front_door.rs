//! The console as deployed: its own process (`allot serve console`) behind
//! the same front door as the services, TLS on every hop (the browser to
//! nginx, nginx to the console with its client certificate, the console
//! to the services), and cookies that are `Secure` and `__Host-`.

use super::assert_accessible;
use crate::harness::{ADMIN_EMAIL, ADMIN_PASSWORD, Browser, Env, FrontDoor};

/// The browser signs in at the front door's HTTPS address, gets a sealed
/// `__Host-` cookie that scripts cannot read, works through the admin
/// pages, and watches an import to its end through nginx.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_serves_through_the_front_door_over_tls() {
    let env = Env::deployed(&[("ALLOT_BOOTSTRAP__ADMIN_PASSWORD", ADMIN_PASSWORD)]).await;
    let door = FrontDoor::start(&env);
    let team = super::first_team_id(&env).await;
    let b = Browser::trusting("front_door", &FrontDoor::certificate(&env)).await;
    let url = door.url();
    b.open(&format!("{url}/")).await;
    b.wait_text("Sign in to Allot").await;
    b.fill("#sign-in-email", ADMIN_EMAIL).await;
    b.fill("#sign-in-password", ADMIN_PASSWORD).await;
    b.click("#sign-in button[type=submit]").await;
    b.wait_path(&format!("/teams/{team}/users")).await;
    b.wait_text(ADMIN_EMAIL).await;
    b.shot("front-door-users").await;
    assert_accessible(&b).await;

    let cookies = b.client().get_all_cookies().await.expect("cookies");
    let session = cookies
        .iter()
        .find(|c| c.name() == "__Host-allot")
        .unwrap_or_else(|| panic!("the session cookie: {cookies:?}"));
    assert_eq!(session.secure(), Some(true), "Secure");
    assert_eq!(session.http_only(), Some(true), "HttpOnly");
    assert_eq!(session.path(), Some("/"));
    assert_eq!(
        session.same_site().map(|s| s.to_string()).as_deref(),
        Some("Lax")
    );

    // An import's progress streams through nginx to its end.
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("few.csv");
    let run = allot_platform::ids::new_id().to_lowercase();
    let mut csv = String::from("email,first name,last name\n");
    for i in 0..5 {
        csv.push_str(&format!("d{i}.{run}@example.com,Door,Person{i}\n"));
    }
    std::fs::write(&file, csv).expect("file");
    b.choose_file("#import-file", &file).await;
    b.click("#import-members button[type=submit]").await;
    b.wait_text("Done: all 5 rows handled").await;
    b.shot("front-door-import").await;

    // An invitation link opened through the door: its token is in no log.
    let email = crate::harness::unique_email("door");
    crate::invitations::invite(
        &mut env.admin().await,
        &format!("teams/{team}"),
        "Dora",
        "Door",
        &email,
    )
    .await;
    let mail = env.mail_to(&email, 1).await;
    let token = crate::harness::accept_token(&mail[0]);
    b.open(&format!("{url}/invitations/accept?token={token}"))
        .await;
    b.wait_text("Join").await;
    let log = door.access_log();
    assert!(log.contains("GET /invitations/accept"), "{log}");
    assert!(!log.contains(&token), "the token is not logged: {log}");
    b.close().await;
    drop(door);
    env.shutdown().await;
}
