//! What the console needs of signing in: an accept link read before it is
//! used (R-AUTH-1), sessions renewed while a person works (R-AUTH-2), reset
//! links asked for a limited number of times from one address (R-AUTH-2),
//! and a first password for the bootstrap administrator.

use allot_platform::testing::Backend;
use allot_proto::identity as idpb;
use allot_proto::team as tpb;
use tonic::Code;
use tonic_types::StatusExt;

use crate::harness::{ADMIN_EMAIL, Env, accept_token, unique_email};
use crate::invitations::invite;
use crate::sign_in::{GOOD, accept, invited, sign_in};

async fn lookup(env: &Env, token: &str) -> Result<idpb::LookupInvitationResponse, tonic::Status> {
    env.clients_with(None)
        .identity
        .lookup_invitation(idpb::LookupInvitationRequest {
            token: token.into(),
        })
        .await
        .map(tonic::Response::into_inner)
}

async fn refresh(env: &Env, token: &str) -> Result<idpb::SignInResponse, tonic::Status> {
    env.clients_with(Some(token))
        .identity
        .refresh_session(idpb::RefreshSessionRequest {})
        .await
        .map(tonic::Response::into_inner)
}

fn precondition_kind(status: &tonic::Status) -> String {
    status
        .get_details_precondition_failure()
        .and_then(|p| p.violations.first().map(|v| v.r#type.clone()))
        .unwrap_or_default()
}

/// R-AUTH-1: the token of an accept link shows what it is for (the team,
/// who invited, the names typed, whether the person has a password)
/// without accepting anything; once used it says so, and a person who has
/// a password is told they just join.
async fn r_auth_1_an_accept_link_shows_its_invitation_before_accepting(backend: Backend) {
    let env = Env::in_process(backend).await;
    let (mut admin, team, email, token) = invited(&env, "Lena").await;
    let team_name = env.first_team().await.display_name;

    let seen = lookup(&env, &token).await.expect("lookup");
    let invitation = seen.invitation.clone().expect("invitation");
    assert_eq!(invitation.team, team);
    assert_eq!(invitation.team_display_name, team_name);
    assert!(!invitation.inviter_display_name.is_empty());
    assert!(invitation.expire_time.is_some());
    assert_eq!(
        (seen.given_name.as_str(), seen.family_name.as_str()),
        ("Lena", "Lane")
    );
    assert!(!seen.has_password, "a new person chooses a password");
    // Looking changed nothing: the invitation is still pending.
    assert_eq!(
        lookup(&env, &token).await.expect("again").invitation,
        Some(invitation)
    );

    accept(&env, &token, GOOD, "").await.expect("accept");
    let used = lookup(&env, &token).await.expect_err("used");
    assert_eq!(used.code(), Code::FailedPrecondition);
    assert_eq!(precondition_kind(&used), "INVITATION_ALREADY_ACCEPTED");
    assert!(used.message().contains("sign in"), "{}", used.message());

    let second = admin
        .team
        .create_team(tpb::CreateTeamRequest {
            team: Some(tpb::Team {
                display_name: "Second".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect("second team")
        .into_inner()
        .name;
    invite(&mut admin, &second, "Lena", "Lane", &email).await;
    let mail = env.mail_to(&email, 2).await;
    let next = mail
        .iter()
        .map(accept_token)
        .find(|t| *t != token)
        .expect("the second token");
    let joining = lookup(&env, &next).await.expect("second lookup");
    assert!(joining.has_password, "she only joins the second team");
    assert_eq!(
        joining.invitation.map(|i| i.team_display_name),
        Some("Second".to_owned())
    );

    let unknown = lookup(&env, &"A".repeat(43)).await.expect_err("unknown");
    assert_eq!(unknown.code(), Code::NotFound);
    env.shutdown().await;
}
crate::on_both_backends!(r_auth_1_an_accept_link_shows_its_invitation_before_accepting);

/// R-AUTH-2: a signed-in person's session gives new tokens while it is
/// open, never past its maximum age; an ended session gives none, nor
/// does a token from a key.
async fn r_auth_2_a_session_is_renewed_until_its_maximum_age(backend: Backend) {
    let env = Env::in_process_with(backend, |c| {
        c.auth.session_max_age = std::time::Duration::from_secs(90 * 60);
    })
    .await;
    let (_, team, email, token) = invited(&env, "Rhea").await;
    accept(&env, &token, GOOD, "").await.expect("accept");
    let first = sign_in(&env, &email, GOOD).await.expect("sign in");
    let signed_in_at = first.expire_time.expect("expiry").seconds - 3600;

    env.clock.advance(time::Duration::minutes(10));
    let renewed = refresh(&env, &first.access_token).await.expect("refresh");
    let renewed_exp = renewed.expire_time.expect("expiry").seconds;
    assert!(
        renewed_exp > first.expire_time.expect("expiry").seconds,
        "the new token lives longer"
    );
    assert_eq!(
        renewed.account.map(|a| a.email),
        Some(email.clone()),
        "the same person"
    );
    let teams = env
        .clients_with(Some(&renewed.access_token))
        .team
        .list_teams(tpb::ListTeamsRequest::default())
        .await
        .expect("the new token works")
        .into_inner()
        .teams;
    assert!(teams.iter().any(|t| t.name == team));

    // Near the session's end the token ends with it.
    env.clock.advance(time::Duration::minutes(50));
    let last = refresh(&env, &renewed.access_token).await.expect("refresh");
    assert_eq!(
        last.expire_time.expect("expiry").seconds,
        signed_in_at + 90 * 60,
        "never past the session's maximum age"
    );

    env.clients_with(Some(&last.access_token))
        .identity
        .sign_out(idpb::SignOutRequest {})
        .await
        .expect("sign out");
    let ended = refresh(&env, &last.access_token)
        .await
        .expect_err("ended session");
    assert_eq!(ended.code(), Code::Unauthenticated, "{ended:?}");

    let key = refresh(&env, &env.admin_token().await)
        .await
        .expect_err("a key's token");
    assert_eq!(key.code(), Code::FailedPrecondition);
    assert_eq!(precondition_kind(&key), "NO_SESSION");
    env.shutdown().await;
}
crate::on_both_backends!(r_auth_2_a_session_is_renewed_until_its_maximum_age);

/// R-AUTH-2: one address asks for at most 20 reset links an hour, whatever
/// addresses it names (the answer still says nothing about accounts);
/// another address is not held up, and an hour later it may ask again.
async fn r_auth_2_reset_requests_from_one_address_are_limited(backend: Backend) {
    let env = Env::in_process(backend).await;
    let ask = |from: &'static str, email: String| {
        let mut client = env.clients_with(None).identity;
        async move {
            let mut req = tonic::Request::new(idpb::RequestPasswordResetRequest { email });
            req.metadata_mut()
                .insert("x-real-ip", from.parse().expect("ascii"));
            client.request_password_reset(req).await
        }
    };
    for _ in 0..20 {
        ask("203.0.113.9", unique_email("stranger"))
            .await
            .expect("within the limit");
    }
    let held = ask("203.0.113.9", unique_email("stranger"))
        .await
        .expect_err("over the limit");
    assert_eq!(held.code(), Code::ResourceExhausted);
    let info = held.get_details_error_info().expect("error info");
    assert_eq!(info.reason, "RESET_REQUESTS");
    let wait: i64 = info.metadata["retry_after_seconds"]
        .parse()
        .expect("number");
    assert!((1..=3600).contains(&wait), "{wait}");
    ask("198.51.100.7", unique_email("stranger"))
        .await
        .expect("another address goes ahead");
    env.clock.advance(time::Duration::seconds(wait + 1));
    ask("203.0.113.9", unique_email("stranger"))
        .await
        .expect("an hour later");
    env.shutdown().await;
}
crate::on_both_backends!(r_auth_2_reset_requests_from_one_address_are_limited);

/// R-AUTH-1: the bootstrap administrator gets the configured first
/// password (to sign in to the console), and keeps a password they chose
/// later when the server starts again with the old setting.
async fn r_auth_1_the_bootstrap_administrator_gets_a_first_password(backend: Backend) {
    let first = "first console passphrase 2026";
    let mut env = Env::in_process_with(backend, |c| {
        c.bootstrap.admin_password = Some(first.into());
    })
    .await;
    let signed_in = sign_in(&env, ADMIN_EMAIL, first).await.expect("sign in");
    env.clients_with(Some(&signed_in.access_token))
        .identity
        .change_password(idpb::ChangePasswordRequest {
            current_password: first.into(),
            new_password: "a passphrase of my own choosing".into(),
        })
        .await
        .expect("change");
    env.restart_in_process().await;
    sign_in(&env, ADMIN_EMAIL, "a passphrase of my own choosing")
        .await
        .expect("the chosen password is kept");
    let old = sign_in(&env, ADMIN_EMAIL, first)
        .await
        .expect_err("the configured one was not set again");
    assert_eq!(old.code(), Code::Unauthenticated);
    env.shutdown().await;
}
crate::on_both_backends!(r_auth_1_the_bootstrap_administrator_gets_a_first_password);
