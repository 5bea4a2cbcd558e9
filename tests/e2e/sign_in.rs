//! People sign in: accepting an invitation is where a new person chooses
//! their password and may correct their names (R-AUTH-1); they then sign
//! in with email and password for a token whose powers are their team
//! roles, and repeated failures are slowed down (R-AUTH-2).

use allot_platform::testing::Backend;
use allot_proto::identity as idpb;
use allot_proto::team as tpb;
use tonic::Code;
use tonic_types::StatusExt;

use crate::harness::{Clients, Env, accept_token, unique_email};
use crate::invitations::invite;

pub(crate) const GOOD: &str = "correct horse battery staple";

pub(crate) async fn accept(
    env: &Env,
    token: &str,
    password: &str,
    given_name: &str,
) -> Result<idpb::AcceptInvitationResponse, tonic::Status> {
    env.clients_with(None)
        .identity
        .accept_invitation(idpb::AcceptInvitationRequest {
            token: token.into(),
            password: password.into(),
            given_name: given_name.into(),
            family_name: String::new(),
        })
        .await
        .map(|r| r.into_inner())
}

pub(crate) async fn sign_in(
    env: &Env,
    email: &str,
    password: &str,
) -> Result<idpb::SignInResponse, tonic::Status> {
    env.clients_with(None)
        .identity
        .sign_in(idpb::SignInRequest {
            email: email.into(),
            password: password.into(),
        })
        .await
        .map(|r| r.into_inner())
}

/// Invites a new person to the first team; returns the admin, the team,
/// the email and the accept token.
pub(crate) async fn invited(env: &Env, given: &str) -> (Clients, String, String, String) {
    let mut admin = env.admin().await;
    let team = env.first_team().await.name;
    let email = unique_email(given);
    invite(&mut admin, &team, given, "Lane", &email).await;
    let mail = env.mail_to(&email, 1).await;
    (admin, team, email, accept_token(&mail[0]))
}

/// R-AUTH-1: a weak password is refused naming the field, and nothing
/// changes (the invitation can still be accepted); a good one, with a
/// corrected name, activates the account, and the person signs in with it.
async fn r_auth_1_accepting_sets_the_password_and_names(backend: Backend) {
    let env = Env::in_process(backend).await;
    let (_, team, email, token) = invited(&env, "Adda").await;

    let weak = accept(&env, &token, "password1234", "")
        .await
        .expect_err("weak");
    assert_eq!(weak.code(), Code::InvalidArgument, "{weak:?}");
    let fields = weak
        .get_details_bad_request()
        .map(|b| {
            b.field_violations
                .into_iter()
                .map(|v| v.field)
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    assert_eq!(fields, ["password"], "{weak:?}");
    let not_yet = sign_in(&env, &email, "password1234")
        .await
        .expect_err("no password");
    assert_eq!(not_yet.code(), Code::Unauthenticated);

    let accepted = accept(&env, &token, GOOD, "Adeline").await.expect("accept");
    let account = accepted.account.expect("account");
    assert_eq!(account.given_name, "Adeline", "the corrected name");
    assert_eq!(account.state, idpb::AccountState::Active as i32);

    let signed_in = sign_in(&env, &email, GOOD).await.expect("sign in");
    assert_eq!(
        signed_in.account.map(|a| a.name),
        Some(account.name.clone())
    );
    // The token acts as the person: their teams, by their roles.
    let mut me = env.clients_with(Some(&signed_in.access_token));
    let teams = me
        .team
        .list_teams(tpb::ListTeamsRequest::default())
        .await
        .expect("my teams")
        .into_inner()
        .teams;
    assert!(teams.iter().any(|t| t.name == team), "{teams:?}");
    env.shutdown().await;
}
crate::on_both_backends!(r_auth_1_accepting_sets_the_password_and_names);

/// R-AUTH-1: a person who has a password just joins the next team; a
/// password sent with that acceptance changes nothing.
async fn r_auth_1_a_person_with_a_password_just_joins(backend: Backend) {
    let env = Env::in_process(backend).await;
    let (mut admin, _, email, token) = invited(&env, "Joan").await;
    accept(&env, &token, GOOD, "").await.expect("first team");
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
        .expect("a second team")
        .into_inner()
        .name;
    invite(&mut admin, &second, "Joan", "Lane", &email).await;
    let mail = env.mail_to(&email, 2).await;
    // The mailbox lists messages in no particular order.
    let token = mail
        .iter()
        .map(accept_token)
        .find(|t| *t != token)
        .expect("the second invitation's token");
    accept(&env, &token, "another long passphrase here", "Jo")
        .await
        .expect("joins the second team");
    sign_in(&env, &email, GOOD)
        .await
        .expect("the first password still works");
    let refused = sign_in(&env, &email, "another long passphrase here")
        .await
        .expect_err("the second password was not taken");
    assert_eq!(refused.code(), Code::Unauthenticated);
    env.shutdown().await;
}
crate::on_both_backends!(r_auth_1_a_person_with_a_password_just_joins);

/// R-AUTH-2: a wrong password and an unknown email get the same answer;
/// after five failures the account must wait (RESOURCE_EXHAUSTED with the
/// wait), even with the right password, while another account is not held
/// up.
async fn r_auth_2_failed_sign_ins_are_slowed_down(backend: Backend) {
    let env = Env::in_process(backend).await;
    let (_, _, email, token) = invited(&env, "Tess").await;
    accept(&env, &token, GOOD, "").await.expect("accept");
    let wrong = sign_in(&env, &email, "not the password at all")
        .await
        .expect_err("wrong");
    let unknown = sign_in(&env, &unique_email("nobody"), GOOD)
        .await
        .expect_err("unknown");
    assert_eq!(wrong.code(), Code::Unauthenticated);
    assert_eq!(unknown.code(), Code::Unauthenticated);
    assert_eq!(
        wrong.message(),
        unknown.message(),
        "nothing tells them apart"
    );
    // Four more count as free; from the fifth on each one makes the next
    // wait longer (1 s, 2 s, …): after ten, half a minute, longer than
    // this test takes between two calls on a loaded machine.
    let mut failures = 1;
    while failures < 10 {
        let e = sign_in(&env, &email, "not the password at all")
            .await
            .expect_err("wrong");
        // Past the free ones, a call may come while the account waits.
        assert!(
            [Code::Unauthenticated, Code::ResourceExhausted].contains(&e.code()),
            "{e:?}"
        );
        if e.code() == Code::Unauthenticated {
            failures += 1;
        } else {
            let wait = e
                .get_details_error_info()
                .and_then(|i| i.metadata.get("retry_after_seconds").cloned())
                .and_then(|s| s.parse::<u64>().ok())
                .unwrap_or(1);
            assert!(failures >= 5, "held after only {failures} failures");
            // Time moves on, as it would while they wait.
            env.clock
                .advance(time::Duration::seconds(i64::try_from(wait).unwrap_or(1)));
        }
    }
    let held = sign_in(&env, &email, GOOD).await.expect_err("must wait");
    assert_eq!(held.code(), Code::ResourceExhausted, "{held:?}");
    let info = held.get_details_error_info().expect("error info");
    assert_eq!(info.reason, "SIGN_IN_ATTEMPTS");
    assert!(
        info.metadata
            .get("retry_after_seconds")
            .and_then(|s| s.parse::<i64>().ok())
            .is_some_and(|s| s >= 1),
        "{info:?}"
    );
    let (_, _, other, other_token) = invited(&env, "Otto").await;
    accept(&env, &other_token, GOOD, "").await.expect("accept");
    sign_in(&env, &other, GOOD)
        .await
        .expect("another account signs in");
    env.shutdown().await;
}
crate::on_both_backends!(r_auth_2_failed_sign_ins_are_slowed_down);

/// Waits until team refuses `token` because its session ended.
async fn refused_everywhere(env: &Env, token: &str) {
    crate::harness::eventually("team refuses the ended session's token", || async {
        let answer = env
            .clients_with(Some(token))
            .team
            .list_teams(tpb::ListTeamsRequest::default())
            .await;
        matches!(&answer, Err(s) if s.code() == Code::Unauthenticated && s.message().contains("session has ended"))
    })
    .await;
}

async fn teams_work(env: &Env, token: &str) -> bool {
    env.clients_with(Some(token))
        .team
        .list_teams(tpb::ListTeamsRequest::default())
        .await
        .is_ok()
}

/// R-AUTH-2: signing out ends that session only, at every service; a
/// password change ends every session of the person; a token from a key
/// has no session to end; a wrong current password changes nothing.
async fn sessions_end_at_sign_out_and_password_change(env: Env) {
    let (mut admin, _, email, token) = invited(&env, "Sami").await;
    accept(&env, &token, GOOD, "").await.expect("accept");
    let a = sign_in(&env, &email, GOOD)
        .await
        .expect("first")
        .access_token;
    let b = sign_in(&env, &email, GOOD)
        .await
        .expect("second")
        .access_token;
    assert!(teams_work(&env, &a).await && teams_work(&env, &b).await);

    env.clients_with(Some(&a))
        .identity
        .sign_out(idpb::SignOutRequest {})
        .await
        .expect("sign out");
    refused_everywhere(&env, &a).await;
    assert!(teams_work(&env, &b).await, "the other session goes on");

    let mut me = env.clients_with(Some(&b));
    let wrong = me
        .identity
        .change_password(idpb::ChangePasswordRequest {
            current_password: "not my password at all".into(),
            new_password: "a brand new passphrase".into(),
        })
        .await
        .expect_err("wrong current password");
    assert_eq!(wrong.code(), Code::InvalidArgument, "{wrong:?}");
    assert!(teams_work(&env, &b).await, "nothing changed");
    me.identity
        .change_password(idpb::ChangePasswordRequest {
            current_password: GOOD.into(),
            new_password: "a brand new passphrase".into(),
        })
        .await
        .expect("change password");
    refused_everywhere(&env, &b).await;
    let old = sign_in(&env, &email, GOOD)
        .await
        .expect_err("the old password");
    assert_eq!(old.code(), Code::Unauthenticated);
    sign_in(&env, &email, "a brand new passphrase")
        .await
        .expect("the new password");

    let keyed = admin
        .identity
        .sign_out(idpb::SignOutRequest {})
        .await
        .expect_err("a key's token has no session");
    assert_eq!(keyed.code(), Code::FailedPrecondition, "{keyed:?}");
    env.shutdown().await;
}

async fn r_auth_2_signing_out_and_a_new_password_end_sessions(backend: Backend) {
    sessions_end_at_sign_out_and_password_change(Env::in_process(backend).await).await;
}
crate::on_both_backends!(r_auth_2_signing_out_and_a_new_password_end_sessions);

/// R-AUTH-2 as deployed: team, in its own process, learns from identity
/// that a session ended.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_auth_2_every_service_refuses_an_ended_session() {
    sessions_end_at_sign_out_and_password_change(Env::processes(Backend::Sqlite, &[]).await).await;
}

/// R-AUTH-2: a forgotten password is reset through an emailed link that
/// works once and for an hour. Asking for an address without an account
/// looks the same and mails nothing; a weak new password changes nothing;
/// the reset ends the person's sessions.
async fn r_auth_2_a_forgotten_password_is_reset_through_a_single_use_link(backend: Backend) {
    let env = Env::in_process(backend).await;
    let (_, _, email, token) = invited(&env, "Rosa").await;
    accept(&env, &token, GOOD, "").await.expect("accept");
    let before = sign_in(&env, &email, GOOD)
        .await
        .expect("sign in")
        .access_token;
    let request = |email: String| {
        let mut identity = env.clients_with(None).identity;
        async move {
            identity
                .request_password_reset(idpb::RequestPasswordResetRequest { email })
                .await
        }
    };
    let nobody = unique_email("nobody");
    request(nobody.clone())
        .await
        .expect("the same answer for no account");
    request(email.clone())
        .await
        .expect("a link for the account");
    // The mailbox lists messages in no particular order: the reset emails
    // are those with a reset link.
    let reset_tokens = |mail: &[allot_platform::testing::ReceivedMail]| -> Vec<String> {
        mail.iter()
            .filter(|m| m.decoded().contains("/password/reset?token="))
            .map(accept_token)
            .collect()
    };
    let mail = env.mail_to(&email, 2).await;
    let first = reset_tokens(&mail);
    assert_eq!(first.len(), 1, "one reset email");
    let reset_token = first[0].clone();
    let reset = |token: String, new_password: &str| {
        let mut identity = env.clients_with(None).identity;
        let new_password = new_password.to_owned();
        async move {
            identity
                .reset_password(idpb::ResetPasswordRequest {
                    token,
                    new_password,
                })
                .await
        }
    };

    let weak = reset(reset_token.clone(), "password1234")
        .await
        .expect_err("weak");
    assert_eq!(weak.code(), Code::InvalidArgument, "{weak:?}");
    sign_in(&env, &email, GOOD).await.expect("nothing changed");

    reset(reset_token.clone(), "a fresh and long passphrase")
        .await
        .expect("reset");
    sign_in(&env, &email, "a fresh and long passphrase")
        .await
        .expect("the new password");
    let old = sign_in(&env, &email, GOOD)
        .await
        .expect_err("the old password");
    assert_eq!(old.code(), Code::Unauthenticated);
    refused_everywhere(&env, &before).await;
    let again = reset(reset_token.clone(), "yet another long passphrase")
        .await
        .expect_err("a link works once");
    assert_eq!(again.code(), Code::FailedPrecondition, "{again:?}");

    // A link an hour old no longer works.
    request(email.clone()).await.expect("another link");
    let mail = env.mail_to(&email, 3).await;
    let newest = reset_tokens(&mail)
        .into_iter()
        .find(|t| *t != reset_token)
        .expect("the second reset email");
    env.clock.advance(time::Duration::minutes(61));
    let late = reset(newest, "yet another long passphrase")
        .await
        .expect_err("expired");
    assert_eq!(late.code(), Code::FailedPrecondition, "{late:?}");
    assert!(late.message().contains("expired"), "{late:?}");

    env.settled().await;
    assert!(
        env.smtp.messages_to(&nobody).is_empty(),
        "no email to an address without an account"
    );
    env.shutdown().await;
}
crate::on_both_backends!(r_auth_2_a_forgotten_password_is_reset_through_a_single_use_link);
