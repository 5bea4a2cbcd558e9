//! R-EVT-1 and R-MAIL-5: change streams that never skip an event, mail that
//! survives outages, crashes and rejections, reactions that survive a
//! service being down, and the JetStream relay.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use allot::ServiceKind;
use allot_platform::testing::{Backend, NatsServer};
use allot_proto::notification as npb;
use allot_proto::team as tpb;
use rand::{Rng, SeedableRng};
use tokio_stream::StreamExt;

use crate::entitlement::Shop;
use crate::harness::{Clients, Env, eventually, unique_email};
use crate::invitations::invite;

async fn create_group(
    c: &mut Clients,
    team: &str,
    name: &str,
) -> Result<tpb::Group, tonic::Status> {
    c.team
        .create_group(tpb::CreateGroupRequest {
            parent: team.into(),
            group: Some(tpb::Group {
                display_name: name.into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .map(tonic::Response::into_inner)
}

async fn open_watch(
    c: &Clients,
    after_cursor: &str,
) -> Result<tonic::Streaming<tpb::WatchResponse>, tonic::Status> {
    c.team
        .clone()
        .watch(tpb::WatchRequest {
            after_cursor: after_cursor.into(),
            ..Default::default()
        })
        .await
        .map(tonic::Response::into_inner)
}

fn created_group(e: &tpb::Event) -> Option<String> {
    match &e.payload {
        Some(tpb::event::Payload::GroupCreated(g)) => {
            g.group.as_ref().map(|g| g.display_name.clone())
        }
        _ => None,
    }
}

/// Every team event with its position, read from the start up to `upto`.
async fn all_team_events(c: &Clients, upto: usize) -> Vec<tpb::Event> {
    let mut stream = open_watch(c, "").await.expect("watch");
    let mut out = Vec::new();
    while out.len() < upto {
        let item = tokio::time::timeout(Duration::from_secs(30), stream.next())
            .await
            .expect("the stream keeps delivering")
            .expect("the stream stays open")
            .expect("no error");
        if let Some(tpb::watch_response::Kind::Event(e)) = item.kind {
            out.push(e);
        }
    }
    out
}

fn position(e: &tpb::Event) -> i64 {
    e.context
        .as_ref()
        .and_then(|c| c.cursor.parse().ok())
        .expect("a numeric cursor")
}

fn event_id(e: &tpb::Event) -> String {
    e.context.as_ref().map(|c| c.id.clone()).unwrap_or_default()
}

const WRITERS: usize = 4;
const EACH: usize = 30;

/// R-EVT-1: writers commit concurrently while a watcher reads; the watcher
/// is cut off at random points and resumes from the cursor it saved last.
/// It sees every event, by id, in commit order, with no gap in positions,
/// and sees again only events it had not saved.
async fn r_evt_1_a_resumed_watcher_misses_nothing(backend: Backend) {
    let env = Env::in_process(backend).await;
    let admin = env.admin().await;
    let reader = env.service_account(&["events.read"]).await;
    let team = env.first_team().await.name;

    let watcher = tokio::spawn(async move {
        let mut rng = rand::rngs::StdRng::from_entropy();
        let mut saved = String::new();
        let mut counts: HashMap<String, usize> = HashMap::new();
        let mut may_repeat: HashSet<String> = HashSet::new();
        let mut unsaved: Vec<String> = Vec::new();
        let mut first_seen: HashMap<String, i64> = HashMap::new();
        let mut reconnects = 0;
        let deadline = Instant::now() + Duration::from_secs(90);
        'connect: loop {
            assert!(
                Instant::now() < deadline,
                "the watcher did not see every group in time"
            );
            let mut stream = open_watch(&reader, &saved).await.expect("watch");
            let mut last: i64 = saved.parse().unwrap_or(0);
            loop {
                let item = tokio::time::timeout(Duration::from_secs(30), stream.next())
                    .await
                    .expect("events or checkpoints keep coming")
                    .expect("the stream stays open")
                    .expect("no error on the stream");
                match item.kind {
                    Some(tpb::watch_response::Kind::Event(e)) => {
                        let pos = position(&e);
                        assert_eq!(pos, last + 1, "positions have no gap and no reordering");
                        last = pos;
                        let id = event_id(&e);
                        let n = counts.entry(id.clone()).or_default();
                        *n += 1;
                        if *n > 1 {
                            assert!(
                                may_repeat.remove(&id),
                                "event {id} was delivered again although the watcher had saved past it"
                            );
                        }
                        unsaved.push(id);
                        if let Some(name) = created_group(&e) {
                            first_seen.entry(name).or_insert(pos);
                        }
                        if first_seen.len() == WRITERS * EACH {
                            return (counts, first_seen, reconnects);
                        }
                        if rng.gen_ratio(1, 3) {
                            saved = pos.to_string();
                            unsaved.clear();
                        }
                        if rng.gen_ratio(1, 8) {
                            // Cut off: whatever was not saved may come again.
                            reconnects += 1;
                            may_repeat.extend(unsaved.drain(..));
                            continue 'connect;
                        }
                    }
                    Some(tpb::watch_response::Kind::Checkpoint(c)) => {
                        let at: i64 = c.cursor.parse().expect("numeric checkpoint");
                        assert!(at >= last, "a checkpoint never goes back");
                        last = at;
                        saved = c.cursor;
                        unsaved.clear();
                    }
                    None => panic!("an empty watch response"),
                }
            }
        }
    });

    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let mut c = admin.clone();
        let team = team.clone();
        writers.push(tokio::spawn(async move {
            for i in 0..EACH {
                create_group(&mut c, &team, &format!("w{w}-{i:03}"))
                    .await
                    .expect("create group");
            }
        }));
    }
    for w in writers {
        w.await.expect("writer");
    }
    let (counts, first_seen, reconnects) = watcher.await.expect("watcher");
    assert!(reconnects > 0, "the watcher was cut off at least once");
    assert_eq!(first_seen.len(), WRITERS * EACH);
    // Commit order: each writer's commits follow one another, so the
    // watcher must see them in that order.
    for w in 0..WRITERS {
        let positions: Vec<i64> = (0..EACH)
            .map(|i| first_seen[&format!("w{w}-{i:03}")])
            .collect();
        assert!(
            positions.windows(2).all(|p| p[0] < p[1]),
            "writer {w}'s commits arrive in the order they were made: {positions:?}"
        );
    }
    assert!(counts.values().all(|n| *n >= 1));
    env.shutdown().await;
}
crate::on_both_backends!(r_evt_1_a_resumed_watcher_misses_nothing);

/// R-EVT-1: a cursor older than the retained events gets OUT_OF_RANGE, so
/// the client lists afresh; reading from the start still works.
async fn r_evt_1_a_pruned_cursor_is_out_of_range(backend: Backend) {
    let env = Env::in_process(backend).await;
    let mut admin = env.admin().await;
    let team = env.first_team().await.name;
    create_group(&mut admin, &team, "old").await.expect("group");
    // Retention passes for everything so far (pruning as the sequencer
    // does it once events are older than `outbox.retention`).
    let outbox = env.team_app().outbox().clone();
    let cutoff = outbox.now_micros() + 1;
    while outbox.now_micros() <= cutoff {
        tokio::task::yield_now().await;
    }
    let retained = outbox.prune_before(cutoff).await.expect("prune");
    assert!(retained > 1, "events were pruned");
    create_group(&mut admin, &team, "new").await.expect("group");
    let reader = env.service_account(&["events.read"]).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Err(s) = open_watch(&reader, "1").await {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "the first events were never pruned"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(status.code(), tonic::Code::OutOfRange, "{status:?}");
    assert!(
        status.message().contains("list"),
        "says what to do: {}",
        status.message()
    );
    // From the start: the oldest retained event, and "old" is gone.
    let events = all_team_events(&reader, 1).await;
    assert!(position(&events[0]) > 1);
    env.shutdown().await;
}
crate::on_both_backends!(r_evt_1_a_pruned_cursor_is_out_of_range);

async fn deliveries_to(c: &Clients, recipient: &str) -> Vec<npb::Delivery> {
    c.notification
        .clone()
        .list_deliveries(npb::ListDeliveriesRequest {
            page_size: 100,
            recipient: recipient.into(),
            ..Default::default()
        })
        .await
        .expect("list deliveries")
        .into_inner()
        .deliveries
}

/// Waits until the (first) delivery to `recipient` is in `state`.
async fn wait_state(c: &Clients, recipient: &str, state: npb::DeliveryState) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now = deliveries_to(c, recipient).await;
        if now.first().is_some_and(|d| d.state == state as i32) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the delivery to {recipient} never became {state:?}: {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn message_id(m: &allot_platform::testing::ReceivedMail) -> String {
    m.header("Message-ID")
        .expect("every message has a Message-ID")
        .trim_matches(|c| c == '<' || c == '>')
        .to_owned()
}

/// R-MAIL-5: with the SMTP server down, 100 invitations wait; when it is
/// back each arrives exactly once, counted by Message-ID at the server.
async fn r_mail_5_an_smtp_outage_loses_and_doubles_nothing(backend: Backend) {
    let mut env = Env::in_process_with(backend, |c| c.delivery.max_attempts = 10_000).await;
    env.smtp.stop();
    let admin = env.admin().await;
    let team = env.first_team().await.name;
    let emails: Vec<String> = (0..100)
        .map(|i| unique_email(&format!("outage{i}")))
        .collect();
    let mut tasks = Vec::new();
    for chunk in emails.chunks(25) {
        let (mut c, team, chunk) = (admin.clone(), team.clone(), chunk.to_vec());
        tasks.push(tokio::spawn(async move {
            for e in chunk {
                invite(&mut c, &team, "Out", "Age", &e).await;
            }
        }));
    }
    for t in tasks {
        t.await.expect("inviter");
    }
    // Every invitation is queued and has already failed at least once.
    let last = emails.last().cloned().expect("emails");
    let a = admin.clone();
    eventually(
        "the last invitation to fail against the stopped server",
        || {
            let (a, last) = (a.clone(), last.clone());
            async move {
                deliveries_to(&a, &last).await.first().is_some_and(|d| {
                    d.attempts >= 1 && d.state == npb::DeliveryState::Pending as i32
                })
            }
        },
    )
    .await;
    assert!(env.smtp.messages().is_empty());
    env.smtp.resume();
    for e in &emails {
        env.mail_to(e, 1).await;
    }
    // Anything sent twice has arrived once nothing is left to send.
    env.settled().await;
    let wanted: HashSet<&str> = emails.iter().map(String::as_str).collect();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    for m in env.smtp.messages() {
        let to = m.header("To").unwrap_or_default().to_lowercase();
        if wanted.iter().any(|w| to.contains(&w.to_lowercase())) {
            *by_id.entry(message_id(&m)).or_default() += 1;
        }
    }
    assert_eq!(by_id.len(), 100, "one message per invitation");
    assert!(
        by_id.values().all(|n| *n == 1),
        "no message twice: {by_id:?}"
    );
    env.shutdown().await;
}
crate::on_both_backends!(r_mail_5_an_smtp_outage_loses_and_doubles_nothing);

/// R-MAIL-5: notification killed after the server took a message but
/// before it recorded the send: after the lease the message goes again,
/// once more at most, with the same Message-ID.
async fn r_mail_5_a_crash_after_sending_repeats_one_message(backend: Backend) {
    let mut env = Env::processes(backend, &[("ALLOT_DELIVERY__LEASE", "1s")]).await;
    let mut admin = env.admin().await;
    let team = env.first_team().await.name;
    // Nothing else in flight: an earlier email held 20 s by the slow
    // server would keep this one waiting behind it.
    env.settled().await;
    env.smtp.delay_replies(Duration::from_secs(20));
    let email = unique_email("crash");
    invite(&mut admin, &team, "Cra", "Sh", &email).await;
    // The server stored it and holds back its answer: kill now.
    env.mail_to(&email, 1).await;
    env.kill(ServiceKind::Notification);
    env.smtp.delay_replies(Duration::ZERO);
    env.restart(ServiceKind::Notification).await;
    wait_state(&admin, &email, npb::DeliveryState::Sent).await;
    env.settled().await;
    let delivery = deliveries_to(&admin, &email).await.remove(0);
    let got = env.smtp.messages_to(&email);
    assert!(
        (1..=2).contains(&got.len()),
        "at most one duplicate, found {} messages",
        got.len()
    );
    let want = delivery.message_id.trim_matches(|c| c == '<' || c == '>');
    for m in &got {
        assert_eq!(
            message_id(m),
            want,
            "a duplicate carries the same Message-ID"
        );
    }
    env.shutdown().await;
}
crate::on_both_backends!(r_mail_5_a_crash_after_sending_repeats_one_message);

/// R-MAIL-5: a permanent refusal (550) is not retried; it is dead, listed
/// for the operator, and a retry over gRPC delivers it.
async fn r_mail_5_a_rejected_message_is_dead_until_retried(backend: Backend) {
    let env = Env::in_process(backend).await;
    let mut admin = env.admin().await;
    let team = env.first_team().await.name;
    let email = unique_email("bounce");
    env.smtp.reject(&[&email]);
    invite(&mut admin, &team, "Bou", "Nce", &email).await;
    wait_state(&admin, &email, npb::DeliveryState::Dead).await;
    // The operator's list of dead letters has it.
    let dead_letters = admin
        .notification
        .clone()
        .list_deliveries(npb::ListDeliveriesRequest {
            state: npb::DeliveryState::Dead as i32,
            page_size: 100,
            ..Default::default()
        })
        .await
        .expect("list dead deliveries")
        .into_inner()
        .deliveries;
    assert!(
        dead_letters
            .iter()
            .any(|d| d.recipient.eq_ignore_ascii_case(&email))
    );
    let dead = deliveries_to(&admin, &email).await.remove(0);
    assert_eq!(dead.state, npb::DeliveryState::Dead as i32);
    assert_eq!(dead.attempts, 1, "a permanent refusal is not retried");
    assert!(dead.last_error.contains("550"), "{}", dead.last_error);
    assert!(env.smtp.messages_to(&email).is_empty());

    env.smtp.reject(&[]);
    let retried = admin
        .notification
        .retry_delivery(npb::RetryDeliveryRequest {
            name: dead.name.clone(),
        })
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(retried.state, npb::DeliveryState::Pending as i32);
    let got = env.mail_to(&email, 1).await;
    assert_eq!(
        message_id(&got[0]),
        dead.message_id.trim_matches(|c| c == '<' || c == '>')
    );
    wait_state(&admin, &email, npb::DeliveryState::Sent).await;
    env.shutdown().await;
}
crate::on_both_backends!(r_mail_5_a_rejected_message_is_dead_until_retried);

/// R-TEAM-5: removing a member while entitlement is down; when it starts,
/// it reads the removal from team's stream and frees the seat.
async fn r_team_5_seats_are_freed_after_entitlement_was_down(backend: Backend) {
    let shop = Shop::on(Env::processes(backend, &[]).await).await;
    crate::entitlement::removal_frees_seats(shop, crate::entitlement::WhileRemoved::Down).await;
}
crate::on_both_backends!(r_team_5_seats_are_freed_after_entitlement_was_down);

/// R-TEAM-5 after lost events: entitlement was down while retention
/// pruned the removal's event; on start its cursor is older than the
/// stream, so it reconciles with team's members and still frees the seat.
async fn r_team_5_seats_are_freed_after_the_removal_event_was_pruned(backend: Backend) {
    let shop = Shop::on(Env::processes(backend, &[]).await).await;
    crate::entitlement::removal_frees_seats(
        shop,
        crate::entitlement::WhileRemoved::DownPastRetention,
    )
    .await;
}
crate::on_both_backends!(r_team_5_seats_are_freed_after_the_removal_event_was_pruned);

/// R-MAIL-1 after lost events: notification was down while retention
/// pruned an invitation's event; on start it reconciles with identity's
/// pending invitations and the email still goes out, once.
async fn r_mail_1_an_invitation_pruned_while_notification_was_down_is_mailed(backend: Backend) {
    let mut env = Env::split_notification(backend).await;
    let mut admin = env.admin().await;
    let team = env.first_team().await.name;
    let before = unique_email("before.prune");
    invite(&mut admin, &team, "Bea", "Fore", &before).await;
    env.mail_to(&before, 1).await;
    env.stop_notification().await;
    let lost = unique_email("lost.event");
    invite(&mut admin, &team, "Lo", "St", &lost).await;
    assert!(env.prune_all_events(allot::ServiceKind::Identity).await > 0);
    env.start_notification().await;
    let got = env.mail_to(&lost, 1).await;
    assert!(got[0].decoded().contains("Lo"), "{}", got[0].decoded());
    // Everything owed is queued in one pass; the one sent before is not
    // sent again.
    let admin = env.admin().await;
    wait_state(&admin, &lost, npb::DeliveryState::Sent).await;
    assert_eq!(deliveries_to(&admin, &before).await.len(), 1);
    env.shutdown().await;
}
crate::on_both_backends!(r_mail_1_an_invitation_pruned_while_notification_was_down_is_mailed);

/// R-INV-2 after lost events: team was down while a person accepted and
/// retention pruned identity's `invitation_accepted`; on start team
/// reconciles with identity's invitations and the member is ACTIVE.
async fn r_inv_2_an_acceptance_pruned_while_team_was_down_still_activates(backend: Backend) {
    let mut env = Env::processes(backend, &[]).await;
    let mut admin = env.admin().await;
    let team = env.first_team().await.name;
    let email = unique_email("accepted.meanwhile");
    let member = invite(&mut admin, &team, "Ida", "Meanwhile", &email).await;
    let mail = env.mail_to(&email, 1).await;
    env.kill(ServiceKind::Team);
    env.clients_with(None)
        .identity
        .accept_invitation(allot_proto::identity::AcceptInvitationRequest {
            token: crate::harness::accept_token(&mail[0]),
            ..Default::default()
        })
        .await
        .expect("Ida accepts while team is down");
    assert!(env.prune_all_events(ServiceKind::Identity).await > 0);
    env.restart(ServiceKind::Team).await;
    let admin = env.admin().await;
    crate::harness::eventually("Ida to be an active member", || {
        let (mut c, name) = (admin.clone(), member.name.clone());
        async move {
            c.team
                .get_member(tpb::GetMemberRequest { name })
                .await
                .map(|m| m.into_inner().state == tpb::MemberState::Active as i32)
                .unwrap_or(false)
        }
    })
    .await;
    env.shutdown().await;
}
crate::on_both_backends!(r_inv_2_an_acceptance_pruned_while_team_was_down_still_activates);

/// R-ROLE-5 after lost events: team's reconcile (which its consumer runs
/// when its cursor on entitlement's stream is past retention) reads
/// entitlement's contracts, and a team holding a premium subscription is
/// premium again although the event that made it so is missing.
async fn r_role_5_the_plan_is_reconciled_with_entitlements_contracts(backend: Backend) {
    use allot_platform::consumer::Handler;
    use allot_proto::entitlement as epb;
    let shop = Shop::open(backend).await;
    shop.product("cad").await;
    let contract = shop
        .buy(
            &shop.owner.account,
            epb::Contract {
                plan: epb::ContractPlan::Premium as i32,
                ..crate::entitlement::sign_in_contract()
            },
            &[("cad", 1)],
        )
        .await;
    let plan = || {
        let (mut c, name) = (shop.owner.clients.clone(), contract.team.clone());
        async move {
            c.team
                .get_team(tpb::GetTeamRequest { name })
                .await
                .expect("team")
                .into_inner()
                .plan
        }
    };
    eventually("the team to be premium", || async {
        plan().await == tpb::Plan::Premium as i32
    })
    .await;
    // As if `subscription_created` had been lost: team holds the old plan.
    let team = shop.env.team_app();
    let mut conn = team.outbox().db().conn().await.expect("team's database");
    sqlx::query("UPDATE teams SET plan = 'STANDARD' WHERE id = $1")
        .bind(contract.team.trim_start_matches("teams/"))
        .execute(&mut *conn)
        .await
        .expect("forget the plan");
    drop(conn);
    assert_eq!(plan().await, tpb::Plan::Standard as i32);
    allot_team::consumer::EntitlementEvents { app: team }
        .reconcile()
        .await
        .expect("reconcile");
    assert_eq!(plan().await, tpb::Plan::Premium as i32, "premium again");
    shop.env.shutdown().await;
}
crate::on_both_backends!(r_role_5_the_plan_is_reconciled_with_entitlements_contracts);

/// R-EVT-1 on NATS: with the relay on, JetStream holds every team event
/// exactly once by id, in commit order, although team's process was killed
/// in the middle of a burst of writes and started again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_evt_1_jetstream_gets_every_event_once_across_a_relay_restart() {
    let nats = NatsServer::start();
    let mut env = Env::processes(Backend::Postgres, &[("ALLOT_NATS_URL", &nats.url())]).await;
    let admin = env.admin().await;
    let team = env.first_team().await.name;
    let written = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let writers: Vec<_> = (0..3)
        .map(|w| {
            let (mut c, team, written) = (admin.clone(), team.clone(), written.clone());
            tokio::spawn(async move {
                let mut made = Vec::new();
                for i in 0..60 {
                    let name = format!("js{w}-{i:03}");
                    if create_group(&mut c, &team, &name).await.is_ok() {
                        made.push(name);
                        written.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    } else {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
                made
            })
        })
        .collect();
    // Killed in the middle of the burst: some writes made, most to come.
    eventually("a burst of writes under way", || {
        let written = written.clone();
        async move { written.load(std::sync::atomic::Ordering::Relaxed) >= 15 }
    })
    .await;
    env.kill(ServiceKind::Team);
    env.restart(ServiceKind::Team).await;
    let mut made = HashSet::new();
    for w in writers {
        made.extend(w.await.expect("writer"));
    }
    assert!(
        made.len() > 60,
        "writes went on after the restart: {}",
        made.len()
    );

    // The source of truth: team's own stream, read over Watch.
    let reader = env.service_account(&["events.read"]).await;
    let head = {
        let mut n = 0;
        let mut stream = open_watch(&reader, "").await.expect("watch");
        loop {
            let item = tokio::time::timeout(Duration::from_secs(30), stream.next())
                .await
                .expect("items")
                .expect("open")
                .expect("ok");
            match item.kind {
                Some(tpb::watch_response::Kind::Event(_)) => n += 1,
                Some(tpb::watch_response::Kind::Checkpoint(_)) => break n,
                None => {}
            }
        }
    };
    let events = all_team_events(&reader, head).await;

    let client = async_nats::connect(nats.url())
        .await
        .expect("connect to NATS");
    let js = async_nats::jetstream::new(client);
    let mut relayed: Vec<(String, i64, String)> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        relayed.clear();
        let mut stream = js
            .get_stream("ALLOT")
            .await
            .expect("the relay created the stream");
        let last = stream
            .info()
            .await
            .expect("stream info")
            .state
            .last_sequence;
        for seq in 1..=last {
            let Ok(m) = stream.get_raw_message(seq).await else {
                continue;
            };
            if !m.subject.starts_with("allot.team.") {
                continue;
            }
            let header = |k: &str| {
                m.headers
                    .get(k)
                    .map(|v| v.as_str().to_owned())
                    .unwrap_or_default()
            };
            relayed.push((
                header("Nats-Msg-Id"),
                header("Allot-Position").parse().expect("position header"),
                m.subject.to_string(),
            ));
        }
        if relayed.len() >= events.len() || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let ids: Vec<&str> = relayed.iter().map(|(id, _, _)| id.as_str()).collect();
    let unique: HashSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "no event twice on JetStream");
    for e in &events {
        assert!(
            unique.contains(event_id(e).as_str()),
            "event {} reached JetStream",
            position(e)
        );
    }
    assert!(
        relayed.windows(2).all(|w| w[0].1 < w[1].1),
        "JetStream holds them in commit order"
    );
    let created: HashSet<String> = events.iter().filter_map(created_group).collect();
    assert!(made.iter().all(|m| created.contains(m)));
    assert!(
        relayed
            .iter()
            .any(|(_, _, s)| s == "allot.team.group_created")
    );
    env.shutdown().await;
}

/// R-EVT-1 bounded: one caller holds at most 16 open Watch streams on a
/// server; the next is RESOURCE_EXHAUSTED with the figures, and closing
/// one makes room. Another caller is not affected.
async fn r_evt_1_watch_streams_per_caller_are_capped(backend: Backend) {
    use tonic_types::StatusExt;
    let env = Env::in_process(backend).await;
    let reader = env.service_account(&["events.read"]).await;
    let mut open = Vec::new();
    for _ in 0..allot_platform::outbox::MAX_WATCHES_PER_CALLER {
        open.push(open_watch(&reader, "").await.expect("within the cap"));
    }
    let err = open_watch(&reader, "").await.expect_err("over the cap");
    assert_eq!(
        err.code(),
        tonic::Code::ResourceExhausted,
        "{}",
        err.message()
    );
    let info = err.get_details_error_info().expect("ErrorInfo");
    assert_eq!(info.reason, "TOO_MANY_WATCHES");
    assert_eq!(info.metadata.get("limit").map(String::as_str), Some("16"));
    let other = env.service_account(&["events.read"]).await;
    open_watch(&other, "")
        .await
        .expect("another caller has its own cap");
    drop(open.pop());
    let deadline = Instant::now() + Duration::from_secs(20);
    while open_watch(&reader, "").await.is_err() {
        assert!(Instant::now() < deadline, "a closed stream frees its place");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    env.shutdown().await;
}
crate::on_both_backends!(r_evt_1_watch_streams_per_caller_are_capped);

/// R-EVT-1: an event a consumer parked is where an operator can see it
/// (`allot parked list`) and retry it (`allot parked retry`): the running
/// service handles it within seconds, here by sending the import email it
/// owed, and the event leaves the list.
async fn r_evt_1_an_operator_lists_and_retries_parked_events(backend: Backend) {
    use allot_proto::common as cpb;
    use prost::Message as _;
    let env = Env::in_process(backend).await;
    let url = env.config.database_url_for("notification");
    let db = allot_platform::Db::connect(&url, 1).await.expect("db");
    let creator = unique_email("parked.creator");
    let owed = tpb::Event {
        context: Some(cpb::EventContext {
            id: "parked-import-1".into(),
            ..Default::default()
        }),
        payload: Some(tpb::event::Payload::OperationFinished(
            tpb::OperationFinished {
                operation: Some(cpb::Operation {
                    name: "operations/parked-1".into(),
                    done: true,
                    ..Default::default()
                }),
                summary: "3 added".into(),
                creator_email: creator.clone(),
                team_display_name: "Parked Team".into(),
            },
        )),
    };
    {
        let mut conn = db.conn().await.expect("conn");
        sqlx::query(
            "INSERT INTO parked_events (consumer, event_id, cursor, reason, payload, park_time) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(allot_notification::consumer::TEAM_CONSUMER)
        .bind("parked-import-1")
        .bind("0")
        .bind("template store was unreadable")
        .bind(owed.encode_to_vec())
        .bind(0_i64)
        .execute(&mut *conn)
        .await
        .expect("park");
    }
    let allot = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_allot"))
            .arg("parked")
            .args(args)
            .env("ALLOT_DATABASES__NOTIFICATION", &url)
            .env("ALLOT_DATA_DIR", &env.config.data_dir)
            .output()
            .expect("run allot parked");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };

    let (ok, out, err) = allot(&["list", "--service", "notification"]);
    assert!(ok, "{err}");
    let row = out
        .lines()
        .find(|l| l.contains("parked-import-1"))
        .unwrap_or_else(|| panic!("listed: {out}"));
    assert!(
        row.contains("notification.team-events") && row.contains("template store was unreadable"),
        "{row}"
    );

    let (ok, _, err) = allot(&["retry", "--service", "notification", "no-such-event"]);
    assert!(!ok, "an unknown event is refused");
    assert!(err.contains("no parked event matches"), "{err}");
    let (ok, _, err) = allot(&["retry", "--service", "notification"]);
    assert!(!ok, "naming nothing retries nothing");
    assert!(err.contains("<EVENT_IDS>"), "{err}");

    let (ok, out, err) = allot(&["retry", "--service", "notification", "parked-import-1"]);
    assert!(ok, "{err}");
    assert!(out.contains("asked for 1"), "{out}");
    let mail = env.mail_to(&creator, 1).await;
    assert_eq!(mail.len(), 1, "the owed email went out");
    eventually("the handled event leaves the list", || async {
        allot_platform::parked::list(&db, None)
            .await
            .expect("list")
            .is_empty()
    })
    .await;
    let (ok, out, err) = allot(&["list", "--service", "notification"]);
    assert!(ok, "{err}");
    assert!(out.contains("no parked events"), "{out}");
    env.shutdown().await;
}
crate::on_both_backends!(r_evt_1_an_operator_lists_and_retries_parked_events);
