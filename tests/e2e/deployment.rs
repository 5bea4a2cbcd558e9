//! What a deployment relies on: health and calls follow the database (a
//! service whose database is out of reach says NOT_SERVING and answers
//! UNAVAILABLE at once, and both recover when it is back), and a server
//! refuses to start with a weak or unreadable secret.

use std::time::Duration;

use allot_platform::testing::{Backend, postgres_admin_url};
use allot_proto::entitlement as epb;
use allot_proto::identity as idpb;
use allot_proto::notification as npb;
use allot_proto::team as tpb;
use tokio::net::TcpStream;
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::harness::{ADMIN_EMAIL, ADMIN_SECRET, Env, FrontDoor, Gate, Urls, eventually};

/// `postgres://user@host:port/db` with `host:port` replaced by the gate's.
fn through(url: &str, port: u16) -> (String, String) {
    let (scheme, rest) = url.split_once("://").expect("a URL");
    let (authority, path) = rest.split_once('/').expect("a database");
    let (user, host) = authority.rsplit_once('@').expect("a user");
    (
        format!("{scheme}://{user}@127.0.0.1:{port}/{path}"),
        host.to_owned(),
    )
}

/// `service`'s status as health at `url` reports it.
async fn health_of(env: &Env, url: &str, service: &str) -> i32 {
    let channel = env.endpoint(url).connect().await.expect("connect");
    HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: service.into(),
        })
        .await
        .map(|r| r.into_inner().status)
        .unwrap_or_default()
}

async fn team_health(env: &Env) -> i32 {
    health_of(env, &env.urls.team, allot_team::SERVICE_NAME).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_calls_follow_the_database() {
    // The gate's port must be known before Allot starts.
    let (_, pg_host) = through(&format!("{}/postgres", postgres_admin_url()), 0);
    let gate = Gate::start(pg_host).await;
    let port = gate.port;
    let env = Env::in_process_with(Backend::Postgres, move |c| {
        let team = c.databases.team.clone().expect("team's database");
        c.databases.team = Some(through(&team, port).0);
        // The deployment default, which the test suite otherwise raises.
        c.database_acquire_timeout = allot_platform::db::ACQUIRE_TIMEOUT;
    })
    .await;
    let mut admin = env.admin().await;
    let team = env.first_team().await.name;
    assert_eq!(team_health(&env).await, ServingStatus::Serving as i32);

    gate.close().await;
    eventually("team's health to say NOT_SERVING", || async {
        team_health(&env).await == ServingStatus::NotServing as i32
    })
    .await;
    let mut call = tonic::Request::new(tpb::ListMembersRequest {
        parent: team.clone(),
        ..Default::default()
    });
    // Answered long before the caller gives up: UNAVAILABLE, with a hint.
    call.set_timeout(Duration::from_secs(20));
    let refused = admin
        .team
        .list_members(call)
        .await
        .expect_err("no database, no members");
    assert_eq!(refused.code(), Code::Unavailable, "{refused:?}");
    assert!(refused.message().contains("retry"), "{}", refused.message());
    // Identity's database still answers: its health is untouched.
    let identity = health_of(&env, &env.urls.identity, allot_identity::SERVICE_NAME).await;
    assert_eq!(identity, ServingStatus::Serving as i32);

    gate.reopen();
    eventually("team's health to say SERVING again", || async {
        team_health(&env).await == ServingStatus::Serving as i32
    })
    .await;
    let members = admin
        .team
        .list_members(tpb::ListMembersRequest {
            parent: team,
            ..Default::default()
        })
        .await
        .expect("members once the database is back");
    assert!(!members.into_inner().members.is_empty());
    env.shutdown().await;
}

/// Runs `allot serve team` on loopback with `env` until it exits: whether
/// it succeeded, and what it printed on stderr.
pub(crate) fn serve_team(dir: &std::path::Path, env: &[(&str, &str)]) -> (bool, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_allot"));
    cmd.args(["serve", "team"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("ALLOT_LISTEN", "127.0.0.1:0")
        .env("ALLOT_DATA_DIR", dir)
        .env("ALLOT_PEERS__IDENTITY", "http://127.0.0.1:9")
        .env("ALLOT_PEERS__ENTITLEMENT", "http://127.0.0.1:9");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run allot serve");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `allot serve` refuses to start with a weak shared secret or an unreadable
/// secret file, saying what to fix, before it listens or opens a database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_refuses_weak_or_unreadable_secrets() {
    let dir = tempfile::tempdir().expect("temp dir");
    let serve = |env: &[(&str, &str)]| serve_team(dir.path(), env);
    let (ok, err) = serve(&[("ALLOT_AUTH__INTERNAL_SECRET", "change-me")]);
    assert!(!ok, "started with a weak secret");
    assert!(
        err.contains("ALLOT_AUTH__INTERNAL_SECRET") && err.contains("too weak"),
        "{err}"
    );
    let placeholder = "change-me-internal-secret-0123456789abcdef";
    let (ok, err) = serve(&[("ALLOT_AUTH__INTERNAL_SECRET", placeholder)]);
    assert!(!ok && err.contains("placeholder"), "{err}");
    let missing = dir.path().join("no-such-secret");
    let (ok, err) = serve(&[(
        "ALLOT_AUTH__INTERNAL_SECRET_FILE",
        missing.to_str().expect("a path"),
    )]);
    assert!(!ok, "started without its secret file");
    assert!(
        err.contains("ALLOT_AUTH__INTERNAL_SECRET_FILE: cannot read"),
        "{err}"
    );
    // A database URL with a password is never shown whole.
    let (ok, err) = serve(&[
        (
            "ALLOT_AUTH__INTERNAL_SECRET",
            crate::harness::INTERNAL_SECRET,
        ),
        (
            "ALLOT_DATABASE_URL",
            "mysql://team:hunter2-never-shown@db/team",
        ),
    ]);
    assert!(!ok, "started on an unsupported database");
    assert!(
        err.contains("mysql://team:***@db/team") && !err.contains("hunter2"),
        "{err}"
    );
    assert!(
        !dir.path().join("team.db").exists(),
        "nothing was written before the refusal"
    );
}

/// One front door: with every service in its own OS process over TLS (as
/// `Env::deployed` runs them), nginx (the configuration docker-compose
/// ships) passes each call to the service that owns it, so clients that know one address reach all four: a token from
/// identity, a team and its members, pools, deliveries, and a Watch stream
/// that keeps delivering through the door.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_front_door_serves_every_service() {
    let env = Env::deployed(&[]).await;
    let door = FrontDoor::start(&env);
    let via = Urls::same(&door.url());
    let token = env
        .clients_at(&via, None)
        .identity
        .create_token(idpb::CreateTokenRequest {
            client_id: "bootstrap-admin".into(),
            client_secret: ADMIN_SECRET.into(),
            ..Default::default()
        })
        .await
        .expect("a token from identity through the door")
        .into_inner()
        .access_token;
    let mut admin = env.clients_at(&via, Some(&token));
    // The bootstrap team comes a moment after the administrator.
    let mut team = String::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while team.is_empty() {
        assert!(std::time::Instant::now() < deadline, "no first team");
        let teams = admin
            .team
            .list_teams(tpb::ListTeamsRequest::default())
            .await
            .expect("teams through the door")
            .into_inner()
            .teams;
        match teams.first() {
            Some(t) => team = t.name.clone(),
            None => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    admin
        .entitlement
        .list_pools(epb::ListPoolsRequest {
            parent: team.clone(),
        })
        .await
        .expect("pools through the door");
    admin
        .notification
        .list_deliveries(npb::ListDeliveriesRequest::default())
        .await
        .expect("deliveries through the door");
    let mut events = admin
        .team
        .watch(tpb::WatchRequest {
            team: team.clone(),
            event_types: vec!["group_created".into()],
            ..Default::default()
        })
        .await
        .expect("watch through the door")
        .into_inner();
    admin
        .team
        .create_group(tpb::CreateGroupRequest {
            parent: team.clone(),
            group: Some(tpb::Group {
                display_name: "Door".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect("a group through the door");
    loop {
        let item = tokio::time::timeout(Duration::from_secs(30), events.message())
            .await
            .expect("the stream delivers through the door")
            .expect("no error")
            .expect("open");
        if let Some(tpb::watch_response::Kind::Event(e)) = item.kind
            && let Some(tpb::event::Payload::GroupCreated(g)) = e.payload
        {
            assert_eq!(g.group.map(|g| g.display_name).as_deref(), Some("Door"));
            break;
        }
    }
    assert_eq!(
        health_of(&env, &door.url(), allot_identity::SERVICE_NAME).await,
        ServingStatus::Serving as i32,
        "health answers at the door"
    );
    env.shutdown().await;
}

/// The admin secret can be rotated: a start with a new configured secret
/// makes it the bootstrap administrator's, and the old one stops working; a
/// start with the same one, or none, changes nothing.
async fn the_admin_secret_is_rotated_by_configuring_a_new_one(backend: Backend) {
    let env = Env::in_process(backend).await;
    let client_id = allot_platform::Config::default().bootstrap.admin_client_id;
    let email = allot_platform::values::Email::parse("email", ADMIN_EMAIL).expect("email");
    let token_with = |secret: &str| {
        let mut identity = env.clients_at(&env.urls, None).identity;
        let request = idpb::CreateTokenRequest {
            client_id: client_id.clone(),
            client_secret: secret.to_owned(),
            ..Default::default()
        };
        async move { identity.create_token(request).await.map(|_| ()) }
    };
    token_with(ADMIN_SECRET)
        .await
        .expect("the first secret works");
    let rotated = "rotated-admin-secret-9f8e7d6c5b4a3210fedcba";
    // What the next start does with ALLOT_BOOTSTRAP__ADMIN_SECRET changed.
    let startup = env.identity_app();
    let again = startup
        .startup()
        .bootstrap(&email, &client_id, Some(rotated))
        .await
        .expect("start again");
    assert!(again.is_none(), "no second administrator");
    token_with(rotated).await.expect("the new secret works");
    let old = token_with(ADMIN_SECRET).await.expect_err("the old secret");
    assert_eq!(old.code(), Code::Unauthenticated);
    startup
        .startup()
        .bootstrap(&email, &client_id, None)
        .await
        .expect("a start with no secret configured");
    token_with(rotated)
        .await
        .expect("kept when none is configured");
    env.shutdown().await;
}
crate::on_both_backends!(the_admin_secret_is_rotated_by_configuring_a_new_one);

/// The exposition at `/metrics`, over plain HTTP/1.1 as Prometheus scrapes.
pub(crate) async fn scrape(at: std::net::SocketAddr) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut conn = TcpStream::connect(at).await.expect("connect to /metrics");
    conn.write_all(b"GET /metrics HTTP/1.1\r\nHost: allot\r\nConnection: close\r\n\r\n")
        .await
        .expect("ask");
    let mut answer = String::new();
    conn.read_to_string(&mut answer).await.expect("read");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    answer
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default()
}

/// The value of the sample whose line starts with `series` (a name and
/// its labels in exposition order).
pub(crate) fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
}

/// `/metrics` shows the figures moving: calls counted by method and status
/// code, a seat taken from its pool, mail sent, and each consumer of
/// entitlement's stream back at its head.
async fn metrics_show_calls_seats_mail_and_consumers(backend: Backend) {
    let env = Env::in_process_with(backend, |c| {
        c.metrics_listen = Some("127.0.0.1:0".parse().expect("address"));
    })
    .await;
    let at = env.metrics_addr();
    let shop = crate::entitlement::Shop::on(env).await;
    shop.product("cad").await;
    let team = shop.sign_in(&[("cad", 4)]).await.team;
    let admin = shop.owner.clients.clone();
    let ann = shop.member(&admin, &team, "Ann").await;
    let team_id = team.trim_start_matches("teams/");
    let assigned = format!(
        "allot_pool_assigned{{service=\"entitlement\",team=\"{team_id}\",product=\"cad\"}}"
    );
    let before = sample(&scrape(at).await, &assigned).expect("the pool's gauge");
    crate::entitlement::assign(&admin, &team, &ann.account, "cad", &[])
        .await
        .expect("assign");
    shop.env.settled().await;
    let text = scrape(at).await;
    assert_eq!(
        sample(&text, &assigned),
        Some(before + 1.0),
        "a seat taken:\n{text}"
    );
    let pool = crate::entitlement::pool(&admin, &team, "cad").await;
    assert_eq!(sample(&text, &assigned), Some(f64::from(pool.assigned)));
    let calls = sample(
        &text,
        "rpc_server_requests_total{rpc_method=\"/allot.entitlement.v1.EntitlementService/AssignProducts\",rpc_grpc_status_code=\"0\"}",
    );
    assert!(
        calls.is_some_and(|n| n >= 1.0),
        "the call is counted:\n{text}"
    );
    let sent = sample(
        &text,
        "allot_mail_deliveries{service=\"notification\",state=\"SENT\"}",
    );
    assert!(sent.is_some_and(|n| n >= 1.0), "mail sent:\n{text}");
    let head = sample(&text, "allot_outbox_head{service=\"entitlement\"}").expect("head");
    let read = sample(
        &text,
        "allot_consumer_position{service=\"notification\",consumer=\"notification.entitlement-events\"}",
    )
    .expect("the consumer's position");
    assert_eq!(read, head, "no lag once settled:\n{text}");
    assert_eq!(
        sample(&text, "allot_outbox_backlog{service=\"entitlement\"}"),
        Some(0.0)
    );
    shop.env.shutdown().await;
}
crate::on_both_backends!(metrics_show_calls_seats_mail_and_consumers);

/// Rotating the signing key: with the new key configured and the old one
/// listed in `auth.previous_signing_key_files`, tokens the old key signed
/// keep working at every service (team learns the keys from identity)
/// until the old key is removed; a key never listed is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_previous_signing_key_is_trusted_until_it_is_removed() {
    use allot_platform::auth::{Principal, SigningKeyPair, TokenIssuer};
    use allot_platform::ids::ServiceAccountId;
    let dir = tempfile::tempdir().expect("temp dir");
    let old_path = dir.path().join("old.pem");
    let new_path = dir.path().join("new.pem");
    let old = SigningKeyPair::load_or_create(&old_path).expect("old key");
    let new = SigningKeyPair::load_or_create(&new_path).expect("new key");
    let env = Env::processes(
        Backend::Sqlite,
        &[
            (
                "ALLOT_AUTH__SIGNING_KEY_FILE",
                new_path.to_str().expect("path"),
            ),
            (
                "ALLOT_AUTH__PREVIOUS_SIGNING_KEY_FILES",
                &format!("[{}]", old_path.display()),
            ),
        ],
    )
    .await;
    let keys = env
        .clients_with(None)
        .identity
        .get_signing_keys(idpb::GetSigningKeysRequest {})
        .await
        .expect("signing keys")
        .into_inner()
        .keys;
    let ids: Vec<&str> = keys.iter().map(|k| k.key_id.as_str()).collect();
    assert_eq!(
        ids,
        [new.key_id(), old.key_id()],
        "the signing key first, then the old one"
    );

    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let operator = Principal::ServiceAccount(ServiceAccountId::from_db("operator".into()));
    let token_of = |key: &SigningKeyPair| {
        TokenIssuer::new(key, Duration::from_secs(600))
            .expect("issuer")
            .issue(&operator, None, &["admin".to_owned()], now)
            .expect("token")
            .0
    };
    // Past authentication, team asks a service account which member it
    // means: the token was accepted.
    for (key, which) in [(&old, "previous"), (&new, "new")] {
        let answer = env
            .clients_with(Some(&token_of(key)))
            .team
            .list_teams(tpb::ListTeamsRequest::default())
            .await;
        let code = answer.err().map(|s| s.code());
        assert_ne!(
            code,
            Some(Code::Unauthenticated),
            "a token of the {which} key is accepted at team"
        );
    }
    let stranger = SigningKeyPair::generate();
    let refused = env
        .clients_with(Some(&token_of(&stranger)))
        .team
        .list_teams(tpb::ListTeamsRequest::default())
        .await
        .expect_err("a key never configured");
    assert_eq!(refused.code(), Code::Unauthenticated);
    env.shutdown().await;
}
