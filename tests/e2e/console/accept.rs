//! Signing in (R-AUTH-1, R-AUTH-2): an admin invites a person in the
//! browser; the person opens the link from the email that reached the
//! SMTP server, chooses a password and is signed in; later they sign in
//! with it, and a wrong password is refused in plain words.

use allot_platform::testing::Backend;

use super::{admin_signs_in, assert_accessible, first_team_id, sign_in};
use crate::harness::{Browser, Env, unique_email};

const CHOSEN: &str = "quiet meadow lantern 77";

/// The link in an email, as the person's mail program opens it.
fn link_in(mail: &allot_platform::testing::ReceivedMail, path: &str) -> String {
    let text = mail.decoded();
    let start = text.find("http").expect("a link");
    let link: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '"' && *c != '<')
        .collect();
    assert!(link.contains(path), "{link}");
    link
}

/// R-AUTH-1: from the invitation email to a signed-in person: a weak
/// password is refused beside its field, a good one creates the account
/// with the corrected name, and the token leaves the address bar.
async fn r_auth_1_console_an_invited_person_sets_a_password_from_the_emailed_link(
    backend: Backend,
) {
    let env = Env::with_console(backend).await;
    let team = first_team_id(&env).await;
    let b = Browser::start("r_auth_1_invite_and_accept").await;

    b.open(&format!("{}/", env.console_url())).await;
    b.wait_path("/sign-in").await;
    b.shot("sign-in").await;
    assert_accessible(&b).await;
    admin_signs_in(&b, &env).await;
    b.wait_path(&format!("/teams/{team}/users")).await;
    b.shot("by-user").await;
    assert_accessible(&b).await;

    let email = unique_email("nora");
    b.fill("#invite-given_name", "Nora").await;
    b.fill("#invite-family_name", "Nilsen").await;
    b.fill("#invite-email", &email).await;
    b.click("#invite button[type=submit]").await;
    b.wait_text(&format!("Invited {email}")).await;
    b.shot("invited").await;
    let row = b.wait_text(&email).await;
    assert!(row.contains("Invited"), "listed as invited: {row}");

    // The admin signs out; the person opens their email's link.
    b.click(".menu summary").await;
    b.click(".menu-body button[type=submit]").await;
    b.wait_text("You are signed out").await;
    let mail = env.mail_to(&email, 1).await;
    let link = link_in(&mail[0], "/invitations/accept?token=");
    b.open(&link).await;
    let page = b.wait_text("Join").await;
    assert_eq!(
        b.path().await,
        "/invitations/accept",
        "the token left the address bar"
    );
    assert!(page.contains(&email), "{page}");
    b.shot("accept").await;
    assert_accessible(&b).await;

    b.fill("#accept-given_name", "Norah").await;
    b.fill("#accept-password", "password1234").await;
    b.fill("#accept-confirm", "password1234").await;
    b.click("#accept button[type=submit]").await;
    let refused = b.wait_text("Please correct the marked fields").await;
    assert!(
        b.count("#accept-password-error").await == 1,
        "the reason sits beside the password: {refused}"
    );
    assert_eq!(
        b.value("#accept-given_name").await,
        "Norah",
        "what was typed is kept"
    );
    b.shot("accept-weak-password").await;

    b.fill("#accept-password", CHOSEN).await;
    b.fill("#accept-confirm", CHOSEN).await;
    b.click("#accept button[type=submit]").await;
    b.wait_path("/me/products").await;
    let welcome = b.wait_text("Welcome to").await;
    assert!(
        welcome.contains("No products are assigned to you yet"),
        "{welcome}"
    );
    b.shot("my-products-empty").await;

    // Signed in with the new password, once signed out.
    b.click(".menu summary").await;
    b.click(".menu-body button[type=submit]").await;
    b.wait_text("You are signed out").await;
    b.open(&format!("{}/sign-in", env.console_url())).await;
    b.fill("#sign-in-email", &email).await;
    b.fill("#sign-in-password", "not the password at all").await;
    b.click("#sign-in button[type=submit]").await;
    b.wait_text("Wrong email or password").await;
    b.shot("sign-in-wrong-password").await;
    sign_in(&b, &env, &email, CHOSEN).await;
    let mine = b.wait_text("My products").await;
    assert!(mine.contains("Norah"), "the corrected name: {mine}");
    b.close().await;
    env.shutdown().await;
}
crate::on_both_backends!(r_auth_1_console_an_invited_person_sets_a_password_from_the_emailed_link);
