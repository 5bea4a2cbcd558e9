//! The first slice across all four services: an admin invites a person, the
//! email reaches a real SMTP server, the person accepts with the token from
//! its link and becomes ACTIVE (R-INV-1, R-INV-2, R-INV-3, R-MAIL-1).

use std::time::Duration;

use allot_platform::testing::Backend;
use allot_proto::identity as idpb;
use allot_proto::team as tpb;
use tonic::Code;
use tonic_types::StatusExt;

use crate::harness::{Clients, Env, accept_token, unique_email};

/// How the test makes an invitation expire.
enum Expiry {
    /// Move the injected clock past the 7-day default.
    AdvanceClock,
    /// The services run with a short TTL; wait it out.
    Wait(Duration),
}

pub async fn invite(
    admin: &mut Clients,
    team: &str,
    given: &str,
    family: &str,
    email: &str,
) -> tpb::Member {
    admin
        .team
        .add_member(tpb::AddMemberRequest {
            parent: team.into(),
            who: Some(tpb::add_member_request::Who::Person(tpb::Person {
                given_name: given.into(),
                family_name: family.into(),
                email: email.into(),
            })),
            ..Default::default()
        })
        .await
        .expect("invite")
        .into_inner()
}

async fn accept(env: &Env, token: &str) -> Result<idpb::AcceptInvitationResponse, tonic::Status> {
    env.clients_with(None)
        .identity
        .accept_invitation(idpb::AcceptInvitationRequest {
            token: token.into(),
            ..Default::default()
        })
        .await
        .map(tonic::Response::into_inner)
}

async fn member_state(admin: &mut Clients, member: &str) -> i32 {
    admin
        .team
        .get_member(tpb::GetMemberRequest {
            name: member.into(),
        })
        .await
        .expect("member")
        .into_inner()
        .state
}

/// The whole slice, for any shape of deployment.
async fn invite_accept_resend_expire(env: &Env, expiry: Expiry) {
    let mut admin = env.admin().await;
    let team = env.first_team().await;

    // Someone to let expire, invited first so a short TTL runs out while
    // the rest of the test goes on.
    let alan = unique_email("alan");
    invite(&mut admin, &team.name, "Alan", "Turing", &alan).await;

    // R-INV-1: invite; the member is INVITED and has no products (R-INV-6).
    let ada = unique_email("ada");
    let member = invite(&mut admin, &team.name, "Ada", "Lovelace", &ada).await;
    assert_eq!(member.state, tpb::MemberState::Invited as i32);
    assert_eq!(member.role, tpb::Role::User as i32);

    // R-MAIL-1: who invited, to which team, the link, the expiry.
    let mail = env.mail_to(&ada, 1).await.remove(0);
    let subject = mail.header("Subject").expect("subject");
    assert!(subject.contains(&team.display_name), "subject {subject:?}");
    assert!(
        subject.contains("Allot Administrator"),
        "subject {subject:?}"
    );
    let body = mail.decoded();
    assert!(body.contains("http://accept.allot.test/invitations/accept?token="));
    assert!(body.contains("expires on"));
    let message_id = mail.header("Message-ID").expect("Message-ID");
    assert!(message_id.ends_with("@allot>"), "{message_id}");

    // The delivery log shows it sent, under the Message-ID that went out
    // (recorded a moment after the server took it).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let deliveries = loop {
        let deliveries = admin
            .notification
            .list_deliveries(allot_proto::notification::ListDeliveriesRequest {
                recipient: ada.clone(),
                ..Default::default()
            })
            .await
            .expect("delivery log")
            .into_inner()
            .deliveries;
        let sent = allot_proto::notification::DeliveryState::Sent as i32;
        if deliveries.iter().all(|d| d.state == sent) || std::time::Instant::now() > deadline {
            break deliveries;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].message_id, message_id);
    assert_eq!(
        deliveries[0].state,
        allot_proto::notification::DeliveryState::Sent as i32
    );
    assert_eq!(deliveries[0].template, "templates/invitation");

    // R-INV-2: accepting activates the account, once.
    let token = accept_token(&mail);
    let accepted = accept(env, &token).await.expect("accept");
    let account = accepted.account.expect("account");
    assert_eq!(account.state, idpb::AccountState::Active as i32);
    assert_eq!(account.email, ada);
    let again = accept(env, &token)
        .await
        .expect_err("a used token is refused");
    assert_eq!(again.code(), Code::FailedPrecondition);
    assert!(
        again.message().contains("already been accepted"),
        "{}",
        again.message()
    );

    // The team learns of the activation from identity's events.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while member_state(&mut admin, &member.name).await != tpb::MemberState::Active as i32 {
        assert!(
            std::time::Instant::now() < deadline,
            "membership never became ACTIVE"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // R-INV-3: resend voids the old token and sends a new link.
    let grace = unique_email("grace");
    let grace_member = invite(&mut admin, &team.name, "Grace", "Hopper", &grace).await;
    let first = accept_token(&env.mail_to(&grace, 1).await[0]);
    admin
        .team
        .resend_invitation(tpb::ResendInvitationRequest {
            name: grace_member.name.clone(),
        })
        .await
        .expect("resend");
    let mails = env.mail_to(&grace, 2).await;
    let tokens: Vec<String> = mails.iter().map(accept_token).collect();
    let second = tokens
        .into_iter()
        .find(|t| *t != first)
        .expect("a new token");
    let old = accept(env, &first)
        .await
        .expect_err("the old token is void");
    assert_eq!(old.code(), Code::FailedPrecondition);
    assert!(
        old.message().contains("replaced by a newer invitation"),
        "{}",
        old.message()
    );
    accept(env, &second).await.expect("the new token works");

    // R-INV-2: an expired token is refused, saying an admin can resend.
    let alan_mail = env.mail_to(&alan, 1).await.remove(0);
    let alan_token = accept_token(&alan_mail);
    match expiry {
        Expiry::AdvanceClock => env
            .clock
            .advance(time::Duration::days(7) + time::Duration::minutes(1)),
        Expiry::Wait(ttl) => tokio::time::sleep(ttl).await,
    }
    let expired = accept(env, &alan_token)
        .await
        .expect_err("an expired token is refused");
    assert_eq!(expired.code(), Code::FailedPrecondition);
    assert!(
        expired.message().contains("expired"),
        "{}",
        expired.message()
    );
    assert!(
        expired.message().contains("resend"),
        "{}",
        expired.message()
    );
    let kind = expired
        .get_details_precondition_failure()
        .expect("details")
        .violations[0]
        .r#type
        .clone();
    assert_eq!(kind, "INVITATION_EXPIRED");
}

async fn invitation_slice_in_one_process(backend: Backend) {
    let env = Env::in_process(backend).await;
    invite_accept_resend_expire(&env, Expiry::AdvanceClock).await;
    env.shutdown().await;
}
crate::on_both_backends!(invitation_slice_in_one_process);

/// Each service in its own process against PostgreSQL, as deployed; the
/// invitation lifetime is configured short instead of moving a clock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitation_slice_one_service_per_process_postgres() {
    let ttl = Duration::from_secs(8);
    let env = Env::processes(Backend::Postgres, &[("ALLOT_INVITATION__TTL", "8s")]).await;
    invite_accept_resend_expire(&env, Expiry::Wait(ttl)).await;
    env.shutdown().await;
}

/// R-MAIL-5: an invitation made while the notification service was down is
/// delivered once when it comes back: its cursor survived.
async fn stopped_notification_delivers_once(mut env: Env) {
    let mut admin = env.admin().await;
    let team = env.first_team().await;
    let before = unique_email("before");
    invite(&mut admin, &team.name, "Early", "Bird", &before).await;
    env.mail_to(&before, 1).await;

    env.stop_notification().await;
    let during = unique_email("during");
    invite(&mut admin, &team.name, "Late", "Comer", &during).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        env.smtp.messages_to(&during).is_empty(),
        "nothing can be sent while notification is down"
    );

    env.start_notification().await;
    env.mail_to(&during, 1).await;
    // A duplicate would be there once nothing is left to send.
    env.settled().await;
    assert_eq!(
        env.smtp.messages_to(&during).len(),
        1,
        "the invitation arrives exactly once"
    );
    assert_eq!(
        env.smtp.messages_to(&before).len(),
        1,
        "nothing before the stop is sent again"
    );
    env.shutdown().await;
}

async fn notification_restart_in_process(backend: Backend) {
    stopped_notification_delivers_once(Env::split_notification(backend).await).await;
}
crate::on_both_backends!(notification_restart_in_process);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notification_restart_as_a_process_postgres() {
    stopped_notification_delivers_once(Env::processes(Backend::Postgres, &[]).await).await;
}

/// Row counts of the tables an invitation writes, read from the databases.
async fn table_counts(env: &Env) -> Vec<(String, i64)> {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut out = Vec::new();
    for (service, tables) in [
        (
            "identity",
            &["accounts", "invitations", "invitation_tokens", "outbox"][..],
        ),
        ("team", &["teams", "members", "outbox"][..]),
        ("notification", &["deliveries"][..]),
    ] {
        let url = env.config.database_url_for(service);
        let mut conn = sqlx::AnyConnection::connect(&url)
            .await
            .expect("open database");
        for t in tables {
            let n: i64 =
                sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {t}")))
                    .fetch_one(&mut conn)
                    .await
                    .expect("count");
            out.push((format!("{service}.{t}"), n));
        }
        let _ = conn.close().await;
    }
    out
}

fn violation_fields(status: &tonic::Status) -> Vec<String> {
    status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}

/// Bad input gets a precise status naming the field, and writes nothing.
async fn bad_input_is_refused_and_writes_nothing(backend: Backend) {
    let env = Env::in_process(backend).await;
    let mut admin = env.admin().await;
    let team = env.first_team().await;
    // Let the bootstrap's own writes settle before counting.
    env.settled().await;
    let before = table_counts(&env).await;

    let cases: Vec<(&str, &str, &str, &str)> = vec![
        ("not-an-email", "Ada", "Lovelace", "person.email"),
        ("ada@example", "Ada", "Lovelace", "person.email"),
        ("ada@example.com", "", "Lovelace", "person.given_name"),
        ("ada@example.com", "Ada", "  ", "person.family_name"),
    ];
    let long = "x".repeat(101);
    let mut cases: Vec<(String, String, String, String)> = cases
        .into_iter()
        .map(|(e, g, f, field)| (e.into(), g.into(), f.into(), field.into()))
        .collect();
    cases.push((
        "ada@example.com".into(),
        "Ada".into(),
        long,
        "person.family_name".into(),
    ));
    for (email, given, family, field) in cases {
        let err = admin
            .team
            .add_member(tpb::AddMemberRequest {
                parent: team.name.clone(),
                who: Some(tpb::add_member_request::Who::Person(tpb::Person {
                    given_name: given,
                    family_name: family,
                    email: email.clone(),
                })),
                ..Default::default()
            })
            .await
            .expect_err("refused");
        assert_eq!(
            err.code(),
            Code::InvalidArgument,
            "{email}: {}",
            err.message()
        );
        assert!(
            violation_fields(&err).contains(&field),
            "{email}: {:?}",
            violation_fields(&err)
        );
        assert!(
            err.message().contains(&field),
            "the message names the field: {}",
            err.message()
        );
    }

    let unknown = admin
        .team
        .add_member(tpb::AddMemberRequest {
            parent: "teams/doesnotexist".into(),
            who: Some(tpb::add_member_request::Who::Person(tpb::Person {
                given_name: "Ada".into(),
                family_name: "Lovelace".into(),
                email: "ada@example.com".into(),
            })),
            ..Default::default()
        })
        .await
        .expect_err("unknown team");
    assert_eq!(unknown.code(), Code::NotFound);

    let malformed = accept(&env, "not a token")
        .await
        .expect_err("malformed token");
    assert_eq!(malformed.code(), Code::InvalidArgument);
    assert_eq!(violation_fields(&malformed), ["token"]);
    let unknown_token = accept(&env, &"a".repeat(43))
        .await
        .expect_err("unknown token");
    assert_eq!(unknown_token.code(), Code::NotFound);

    env.settled().await;
    assert_eq!(table_counts(&env).await, before, "nothing was written");
    env.shutdown().await;
}
crate::on_both_backends!(bad_input_is_refused_and_writes_nothing);

/// Every call but the public ones needs a valid bearer token.
async fn calls_need_a_valid_token(backend: Backend) {
    let env = Env::in_process(backend).await;
    let team = env.first_team().await;
    for token in [None, Some("garbage"), Some("eyJhbGciOiJFZERTQSJ9.e30.c2ln")] {
        let err = env
            .clients_with(token)
            .team
            .get_team(tpb::GetTeamRequest {
                name: team.name.clone(),
            })
            .await
            .expect_err("refused");
        assert_eq!(
            err.code(),
            Code::Unauthenticated,
            "{token:?}: {}",
            err.message()
        );
    }
    let bad_secret = env
        .clients_with(None)
        .identity
        .create_token(idpb::CreateTokenRequest {
            client_id: "nobody".into(),
            client_secret: "wrong".into(),
            ..Default::default()
        })
        .await
        .expect_err("bad credential");
    assert_eq!(bad_secret.code(), Code::Unauthenticated);
    env.shutdown().await;
}
crate::on_both_backends!(calls_need_a_valid_token);

/// R-INV-7: admins see an invited member as INVITED with the invitation's
/// expiry, then INVITATION_EXPIRED once it ran out; a resend (R-INV-3)
/// makes them INVITED again with the new expiry.
async fn r_inv_7_members_show_their_invitations_expiry(backend: Backend) {
    let env = Env::in_process(backend).await;
    let mut admin = env.admin().await;
    let team = env.first_team().await.name;
    let email = unique_email("expiring");
    let member = invite(&mut admin, &team, "Ex", "Piring", &email).await;
    assert_eq!(member.state, tpb::MemberState::Invited as i32);
    let first_expiry = member.invitation_expire_time.expect("expiry").seconds;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    assert!(
        (first_expiry - (now + 7 * 86_400)).abs() < 3_600,
        "7 days from now: {first_expiry} vs {now}"
    );
    env.clock
        .advance(time::Duration::days(7) + time::Duration::minutes(1));
    // Tokens expire with the clock too: sign in again.
    let mut admin = env.admin().await;
    assert_eq!(
        member_state(&mut admin, &member.name).await,
        tpb::MemberState::InvitationExpired as i32
    );
    let listed = admin
        .team
        .list_members(tpb::ListMembersRequest {
            parent: team.clone(),
            page_size: 100,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .members;
    let row = listed
        .iter()
        .find(|m| m.name == member.name)
        .expect("listed");
    assert_eq!(row.state, tpb::MemberState::InvitationExpired as i32);

    // The services renew their own tokens after the jump in time; until
    // then the call answers UNAVAILABLE, which callers retry.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let resent = loop {
        match admin
            .team
            .resend_invitation(tpb::ResendInvitationRequest {
                name: member.name.clone(),
            })
            .await
        {
            Ok(r) => break r.into_inner(),
            Err(s) if s.code() == Code::Unavailable => {
                assert!(std::time::Instant::now() < deadline, "{s:?}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(s) => panic!("resend: {s:?}"),
        }
    };
    assert_eq!(resent.state, tpb::MemberState::Invited as i32);
    assert!(resent.invitation_expire_time.expect("expiry").seconds > first_expiry);
    assert_eq!(
        member_state(&mut admin, &member.name).await,
        tpb::MemberState::Invited as i32
    );
    env.shutdown().await;
}
crate::on_both_backends!(r_inv_7_members_show_their_invitations_expiry);
