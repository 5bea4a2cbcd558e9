//! Bad input in the browser: a post without its form token, a stranger's
//! team in the address, a used invitation link; and pages that fit a
//! phone and work with the keyboard alone. Each is answered with a clear
//! page or message, and nothing changes.

use allot_platform::testing::Backend;
use allot_proto::team as tpb;
use serde_json::json;

use super::{admin_signs_in, assert_accessible, first_team_id, sign_in};
use crate::harness::{ADMIN_EMAIL, ADMIN_PASSWORD, Browser, Env, accept_token, unique_email};
use crate::invitations::invite;
use crate::sign_in::{GOOD, accept};

/// A post whose form token is not the session's is refused with a page
/// that says so, and the person is not invited.
async fn console_refuses_a_post_without_its_form_token(backend: Backend) {
    let env = Env::with_console(backend).await;
    let team = first_team_id(&env).await;
    let b = Browser::start("forged_post").await;
    admin_signs_in(&b, &env).await;
    b.open(&format!("{}/teams/{team}/users", env.console_url()))
        .await;
    let email = unique_email("forged");
    b.fill("#invite-given_name", "Fred").await;
    b.fill("#invite-family_name", "Forge").await;
    b.fill("#invite-email", &email).await;
    b.client()
        .execute(
            "document.querySelector('#invite input[name=_csrf]').value = arguments[0];",
            vec![json!("a-token-from-another-page")],
        )
        .await
        .expect("forge the token");
    b.click("#invite button[type=submit]").await;
    b.wait_text("This form has expired").await;
    b.shot("forged-post").await;
    let found = env
        .admin()
        .await
        .team
        .list_members(tpb::ListMembersRequest {
            parent: format!("teams/{team}"),
            query: email.clone(),
            ..Default::default()
        })
        .await
        .expect("members")
        .into_inner();
    assert_eq!(found.total_size, 0, "nobody was invited");
    b.close().await;
    env.shutdown().await;
}
crate::on_both_backends!(console_refuses_a_post_without_its_form_token);

/// R-ROLE-2: an admin of another team who puts this team in the address
/// sees a page saying it is not theirs, with nothing of the team on it;
/// their post to it changes nothing.
async fn r_role_2_console_a_strangers_team_in_the_address_shows_nothing(backend: Backend) {
    let env = Env::with_console(backend).await;
    let team = first_team_id(&env).await;
    // A person who founds a team of their own.
    let mut admin = env.admin().await;
    let email = unique_email("stella");
    invite(
        &mut admin,
        &format!("teams/{team}"),
        "Stella",
        "Stranger",
        &email,
    )
    .await;
    let mail = env.mail_to(&email, 1).await;
    accept(&env, &accept_token(&mail[0]), GOOD, "")
        .await
        .expect("accept");
    // She leaves the first team and has one of her own.
    let signed = crate::sign_in::sign_in(&env, &email, GOOD)
        .await
        .expect("sign in");
    let mut her = env.clients_with(Some(&signed.access_token));
    admin
        .team
        .remove_member(tpb::RemoveMemberRequest {
            name: format!(
                "teams/{team}/members/{}",
                signed
                    .account
                    .clone()
                    .expect("account")
                    .name
                    .trim_start_matches("accounts/")
            ),
        })
        .await
        .expect("remove her from the first team");
    let _ = her
        .team
        .create_team(tpb::CreateTeamRequest {
            team: Some(tpb::Team {
                display_name: "Stella's own".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await;

    let b = Browser::start("stranger_team").await;
    sign_in(&b, &env, &email, GOOD).await;
    for page in [
        "users", "products", "groups", "settings", "reports", "classic",
    ] {
        b.open(&format!("{}/teams/{team}/{page}", env.console_url()))
            .await;
        let text = b.wait_text("Not yours to see").await;
        assert!(
            !text.contains(ADMIN_EMAIL),
            "{page} shows nothing of the team: {text}"
        );
    }
    b.shot("stranger").await;
    // A post from her session to the team's invite form.
    let cookies = b
        .client()
        .execute("return document.cookie;", vec![])
        .await
        .expect("cookies");
    assert_eq!(
        cookies,
        json!(""),
        "the session cookie is out of the page's reach (HttpOnly)"
    );
    b.open(&format!("{}/me/products", env.console_url())).await;
    b.wait_text("My products").await;
    let target = unique_email("victim");
    b.client()
        .execute(
            r#"const f = document.createElement('form');
               f.method = 'post'; f.action = arguments[0];
               for (const [k, v] of Object.entries(arguments[1])) {
                 const i = document.createElement('input'); i.name = k; i.value = v; f.appendChild(i);
               }
               f.appendChild(document.querySelector('input[name=_csrf]').cloneNode());
               document.body.appendChild(f); f.submit();"#,
            vec![
                json!(format!("/teams/{team}/users/invite")),
                json!({"given_name": "Vic", "family_name": "Tim", "email": target}),
            ],
        )
        .await
        .expect("post");
    b.wait_text("Not yours to see").await;
    let found = env
        .admin()
        .await
        .team
        .list_members(tpb::ListMembersRequest {
            parent: format!("teams/{team}"),
            query: target,
            ..Default::default()
        })
        .await
        .expect("members")
        .into_inner();
    assert_eq!(found.total_size, 0, "nobody was invited");
    b.close().await;
    env.shutdown().await;
}
crate::on_both_backends!(r_role_2_console_a_strangers_team_in_the_address_shows_nothing);

/// R-INV-2: a link that was used says so and what to do (sign in); a
/// made-up one says it does not work.
async fn r_inv_2_console_a_used_invitation_link_says_what_to_do(backend: Backend) {
    let env = Env::with_console(backend).await;
    let mut admin = env.admin().await;
    let team = env.first_team().await.name;
    let email = unique_email("uma");
    invite(&mut admin, &team, "Uma", "Used", &email).await;
    let mail = env.mail_to(&email, 1).await;
    let token = accept_token(&mail[0]);
    accept(&env, &token, GOOD, "").await.expect("accept");
    let b = Browser::start("used_link").await;
    b.open(&format!(
        "{}/invitations/accept?token={token}",
        env.console_url()
    ))
    .await;
    let page = b.wait_text("cannot be accepted").await;
    assert!(page.contains("already been accepted"), "{page}");
    assert!(page.contains("sign in"), "{page}");
    b.shot("used-link").await;
    b.open(&format!(
        "{}/invitations/accept?token={}",
        env.console_url(),
        "A".repeat(43)
    ))
    .await;
    b.wait_text("This link does not work").await;
    b.close().await;
    env.shutdown().await;
}
crate::on_both_backends!(r_inv_2_console_a_used_invitation_link_says_what_to_do);

/// Usable: signing in with the keyboard alone, and every admin page at a
/// phone's width (390 px) with labelled fields and nothing wider than the
/// screen.
async fn console_works_with_the_keyboard_and_at_a_phones_width() {
    let env = Env::with_console(Backend::Sqlite).await;
    let team = first_team_id(&env).await;
    let b = Browser::start("phone_and_keyboard").await;
    b.resize(390, 844).await;
    b.open(&format!("{}/sign-in", env.console_url())).await;
    b.wait_text("Sign in to Allot").await;
    // Tab to the email field, type, Tab to the password, Enter.
    let mut found = false;
    for _ in 0..10 {
        b.keys("\u{e004}").await;
        if b.active_id().await == "sign-in-email" {
            found = true;
            break;
        }
    }
    assert!(found, "the email field is reachable with Tab");
    b.keys(ADMIN_EMAIL).await;
    b.keys("\u{e004}").await;
    assert_eq!(b.active_id().await, "sign-in-password");
    b.keys(ADMIN_PASSWORD).await;
    b.keys("\u{e007}").await;
    b.wait_path(&format!("/teams/{team}/users")).await;
    for page in [
        "users", "products", "groups", "classic", "reports", "settings",
    ] {
        b.open(&format!("{}/teams/{team}/{page}", env.console_url()))
            .await;
        b.wait_text("Allot").await;
        assert_accessible(&b).await;
        b.shot(&format!("phone-{page}")).await;
    }
    b.open(&format!("{}/me/products", env.console_url())).await;
    assert_accessible(&b).await;
    b.close().await;
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_works_with_the_keyboard_and_at_a_phones_width_sqlite() {
    console_works_with_the_keyboard_and_at_a_phones_width().await;
}
