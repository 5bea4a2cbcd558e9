//! Starts Allot for a test the way it runs for real: the services on port 0
//! with their own fresh databases (SQLite or PostgreSQL), a real SMTP server,
//! and typed gRPC clients. Three shapes: all services in one process, the
//! notification service apart (so it can be stopped), and every service in
//! its own OS process.
//!
//! The end-to-end tests (`tests/e2e`) and the benchmarks
//! (`crates/allot/benches`) both use it as a library.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};

use allot::{Running, ServiceKind, StartOptions};
use allot_platform::Config;
use allot_platform::clock::SystemClock;
use allot_platform::testing::{Backend, ReceivedMail, SmtpSink, free_port, fresh_database};
use allot_proto::entitlement::entitlement_service_client::EntitlementServiceClient;
use allot_proto::identity as idpb;
use allot_proto::identity::identity_service_client::IdentityServiceClient;
use allot_proto::notification::notification_service_client::NotificationServiceClient;
use allot_proto::team as tpb;
use allot_proto::team::team_service_client::TeamServiceClient;
use tokio::net::TcpListener;
use tonic::metadata::MetadataValue;
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// The `allot` binary Cargo built for the running test or benchmark: beside
/// it, or one folder up from `deps/` where Cargo puts test binaries.
pub fn allot_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("the running test's path");
    let dir = exe.parent().expect("a folder");
    let dir = if dir.ends_with("deps") {
        dir.parent().expect("the target folder")
    } else {
        dir
    };
    dir.join("allot")
}

pub const ADMIN_EMAIL: &str = "admin@allot.test";
pub const ADMIN_SECRET: &str = "bootstrap-secret-for-tests-only-0123456789";
pub const INTERNAL_SECRET: &str = "internal-secret-for-tests-only-0123456789";

static TRACING: Once = Once::new();

/// Logs for failing tests: `ALLOT_TEST_LOG=debug` shows more.
pub fn init_tracing() {
    let filter = std::env::var("ALLOT_TEST_LOG").unwrap_or_else(|_| "warn".into());
    init_tracing_with(&filter);
}

/// Installs logging once with `filter`.
pub fn init_tracing_with(filter: &str) {
    TRACING.call_once(|| {
        let log = allot_platform::config::LogConfig {
            format: "text".into(),
            filter: filter.into(),
        };
        // Lives as long as the process: tests share one subscriber.
        std::mem::forget(allot_platform::telemetry::init(&log, "test"));
    });
}

/// Adds a bearer token to calls.
#[derive(Clone)]
pub struct Bearer(Option<MetadataValue<tonic::metadata::Ascii>>);

impl Bearer {
    pub fn new(token: Option<&str>) -> Bearer {
        Bearer(token.map(|t| format!("Bearer {t}").parse().expect("token is ASCII")))
    }
}

impl Interceptor for Bearer {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(v) = &self.0 {
            req.metadata_mut().insert("authorization", v.clone());
        }
        Ok(req)
    }
}

pub type Authed = InterceptedService<Channel, Bearer>;
pub type Identity = IdentityServiceClient<Authed>;
pub type Team = TeamServiceClient<Authed>;
pub type Entitlement = EntitlementServiceClient<Authed>;
pub type Notification = NotificationServiceClient<Authed>;

/// Typed clients acting with one token.
#[derive(Clone)]
pub struct Clients {
    pub identity: Identity,
    pub team: Team,
    pub entitlement: Entitlement,
    pub notification: Notification,
}

/// Where each service answers.
#[derive(Debug, Clone)]
pub struct Urls {
    pub identity: String,
    pub team: String,
    pub entitlement: String,
    pub notification: String,
}

impl Urls {
    fn same(url: &str) -> Urls {
        Urls {
            identity: url.into(),
            team: url.into(),
            entitlement: url.into(),
            notification: url.into(),
        }
    }
}

enum Shape {
    /// One `Running`, or two when notification runs apart.
    InProcess {
        main: Option<Box<Running>>,
        notification: Option<Box<Running>>,
    },
    Processes(Vec<(ServiceKind, Child, u16)>),
}

/// A running Allot for one test.
pub struct Env {
    pub smtp: SmtpSink,
    pub urls: Urls,
    /// Moves time forward for the in-process shapes.
    pub clock: Arc<SystemClock>,
    pub config: Config,
    admin_client_id: String,
    shape: Shape,
    /// Extra environment of `allot serve` processes, kept for restarts.
    extra_env: Vec<(String, String)>,
    _dir: tempfile::TempDir,
}

/// A configuration for tests: fast retries and polling, real SMTP.
#[allow(clippy::field_reassign_with_default)]
async fn test_config(backend: Backend, dir: &std::path::Path, smtp: &SmtpSink) -> Config {
    let mut c = Config::default();
    c.data_dir = dir.to_path_buf();
    c.smtp_url = Some(smtp.url());
    c.public_url = "http://accept.allot.test".into();
    c.bootstrap.admin_email = ADMIN_EMAIL.into();
    c.bootstrap.admin_secret = Some(ADMIN_SECRET.into());
    c.auth.internal_secret = Some(INTERNAL_SECRET.into());
    c.delivery.initial_backoff = Duration::from_millis(100);
    c.delivery.max_backoff = Duration::from_millis(500);
    c.delivery.smtp_timeout = Duration::from_secs(5);
    c.outbox.poll_interval = Duration::from_millis(20);
    c.renewal.scan_interval = Duration::from_millis(200);
    c.outbox.checkpoint_interval = Duration::from_millis(500);
    c.database_max_connections = 8;
    c.databases.identity = Some(fresh_database(backend, dir, "identity").await);
    c.databases.team = Some(fresh_database(backend, dir, "team").await);
    c.databases.entitlement = Some(fresh_database(backend, dir, "entitlement").await);
    c.databases.notification = Some(fresh_database(backend, dir, "notification").await);
    c
}

async fn start_in_process(
    config: &Config,
    services: Vec<ServiceKind>,
    clock: Arc<SystemClock>,
) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
    allot::start(StartOptions {
        config: config.clone(),
        services,
        dev: true,
        clock,
        listener: Some(listener),
    })
    .await
    .expect("Allot starts")
}

impl Env {
    /// All four services in one process.
    pub async fn in_process(backend: Backend) -> Env {
        Self::in_process_with(backend, |_| {}).await
    }

    /// All four in one process, with a configuration change.
    pub async fn in_process_with(backend: Backend, change: impl FnOnce(&mut Config)) -> Env {
        init_tracing();
        let dir = tempfile::tempdir().expect("temp dir");
        let smtp = SmtpSink::start();
        let mut config = test_config(backend, dir.path(), &smtp).await;
        change(&mut config);
        let clock = SystemClock::shared();
        let running = start_in_process(&config, ServiceKind::ALL.to_vec(), clock.clone()).await;
        let urls = Urls::same(&running.url());
        let client_id = running
            .bootstrap
            .as_ref()
            .map(|b| b.client_id.clone())
            .expect("bootstrap administrator created");
        let env = Env {
            smtp,
            urls,
            clock,
            config,
            admin_client_id: client_id,
            shape: Shape::InProcess {
                main: Some(Box::new(running)),
                notification: None,
            },
            extra_env: Vec::new(),
            _dir: dir,
        };
        env.wait_serving().await;
        env
    }

    /// Identity, team and entitlement in one process, notification in
    /// another (same OS process, own server and port) so it can be stopped.
    pub async fn split_notification(backend: Backend) -> Env {
        init_tracing();
        let dir = tempfile::tempdir().expect("temp dir");
        let smtp = SmtpSink::start();
        let mut config = test_config(backend, dir.path(), &smtp).await;
        let clock = SystemClock::shared();
        let main = start_in_process(
            &config,
            vec![
                ServiceKind::Identity,
                ServiceKind::Team,
                ServiceKind::Entitlement,
            ],
            clock.clone(),
        )
        .await;
        config.peers.identity = Some(main.url());
        config.peers.team = Some(main.url());
        config.peers.entitlement = Some(main.url());
        let notification =
            start_in_process(&config, vec![ServiceKind::Notification], clock.clone()).await;
        let mut urls = Urls::same(&main.url());
        urls.notification = notification.url();
        let client_id = main
            .bootstrap
            .as_ref()
            .map(|b| b.client_id.clone())
            .expect("bootstrap");
        let env = Env {
            smtp,
            urls,
            clock,
            config,
            admin_client_id: client_id,
            shape: Shape::InProcess {
                main: Some(Box::new(main)),
                notification: Some(Box::new(notification)),
            },
            extra_env: Vec::new(),
            _dir: dir,
        };
        env.wait_serving().await;
        env
    }

    /// Every service in its own OS process (`allot serve`), as deployed.
    pub async fn processes(backend: Backend, extra_env: &[(&str, &str)]) -> Env {
        init_tracing();
        let dir = tempfile::tempdir().expect("temp dir");
        let smtp = SmtpSink::start();
        let config = test_config(backend, dir.path(), &smtp).await;
        let keys = dir.path().join("keys");
        let status = Command::new(allot_bin())
            .args(["keygen", "--dir"])
            .arg(&keys)
            .stdout(Stdio::null())
            .status()
            .expect("run allot keygen");
        assert!(status.success(), "allot keygen failed");
        let ports: Vec<(ServiceKind, u16)> =
            ServiceKind::ALL.iter().map(|k| (*k, free_port())).collect();
        let url_of = |k: ServiceKind| {
            let port = ports
                .iter()
                .find(|(s, _)| *s == k)
                .map(|(_, p)| *p)
                .unwrap_or_default();
            format!("http://127.0.0.1:{port}")
        };
        let urls = Urls {
            identity: url_of(ServiceKind::Identity),
            team: url_of(ServiceKind::Team),
            entitlement: url_of(ServiceKind::Entitlement),
            notification: url_of(ServiceKind::Notification),
        };
        let mut env = Env {
            smtp,
            urls,
            clock: SystemClock::shared(),
            config,
            admin_client_id: "bootstrap-admin".into(),
            shape: Shape::Processes(Vec::new()),
            extra_env: extra_env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            _dir: dir,
        };
        let children = ports
            .iter()
            .map(|(kind, port)| (*kind, env.spawn_process(*kind, *port), *port))
            .collect();
        env.shape = Shape::Processes(children);
        env.wait_serving().await;
        env
    }

    fn spawn_process(&self, kind: ServiceKind, port: u16) -> Child {
        let keys = self._dir.path().join("keys");
        let c = &self.config;
        let db = c.database_url_for(kind.name());
        let log_path: PathBuf = self._dir.path().join(format!("{}.log", kind.name()));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .expect("log file");
        let mut cmd = Command::new(allot_bin());
        cmd.args(["serve", kind.name()])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("ALLOT_LISTEN", format!("127.0.0.1:{port}"))
            .env("ALLOT_DATA_DIR", self._dir.path())
            .env("ALLOT_DATABASE_URL", db)
            .env("ALLOT_DATABASE_MAX_CONNECTIONS", "8")
            .env("ALLOT_SMTP_URL", self.smtp.url())
            .env("ALLOT_PUBLIC_URL", &c.public_url)
            .env("ALLOT_AUTH__SIGNING_KEY_FILE", keys.join("signing.pem"))
            .env("ALLOT_INVITATION__KEY_FILE", keys.join("invitation.key"))
            .env("ALLOT_AUTH__INTERNAL_SECRET", INTERNAL_SECRET)
            .env("ALLOT_BOOTSTRAP__ADMIN_EMAIL", ADMIN_EMAIL)
            .env("ALLOT_BOOTSTRAP__ADMIN_SECRET", ADMIN_SECRET)
            .env("ALLOT_PEERS__IDENTITY", &self.urls.identity)
            .env("ALLOT_PEERS__TEAM", &self.urls.team)
            .env("ALLOT_PEERS__ENTITLEMENT", &self.urls.entitlement)
            .env("ALLOT_PEERS__NOTIFICATION", &self.urls.notification)
            .env("ALLOT_DELIVERY__INITIAL_BACKOFF", "100ms")
            .env("ALLOT_DELIVERY__MAX_BACKOFF", "500ms")
            .env("ALLOT_OUTBOX__POLL_INTERVAL", "20ms")
            .env("ALLOT_OUTBOX__CHECKPOINT_INTERVAL", "500ms")
            .env(
                "RUST_LOG",
                std::env::var("ALLOT_TEST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log);
        for (k, v) in &self.extra_env {
            cmd.env(k, v);
        }
        cmd.spawn().expect("start allot serve")
    }

    /// Stops the notification service (the process, or its server).
    pub async fn stop_notification(&mut self) {
        match &mut self.shape {
            Shape::InProcess { notification, .. } => {
                if let Some(n) = notification.take() {
                    (*n).shutdown().await;
                }
            }
            Shape::Processes(_) => self.kill(ServiceKind::Notification),
        }
    }

    /// Kills a service's process at once (SIGKILL: nothing is cleaned up).
    pub fn kill(&mut self, which: ServiceKind) {
        let Shape::Processes(children) = &mut self.shape else {
            panic!("kill needs Env::processes");
        };
        for (kind, child, _) in children.iter_mut() {
            if *kind == which {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }

    /// Starts a killed service's process again on its port and database,
    /// and waits until every service serves.
    pub async fn restart(&mut self, which: ServiceKind) {
        let Shape::Processes(children) = &mut self.shape else {
            panic!("restart needs Env::processes");
        };
        let mut children = std::mem::take(children);
        let port = children
            .iter()
            .find(|(k, _, _)| *k == which)
            .map(|(_, _, p)| *p)
            .expect("the service's port");
        children.retain(|(k, _, _)| *k != which);
        children.push((which, self.spawn_process(which, port), port));
        self.shape = Shape::Processes(children);
        self.wait_serving().await;
    }

    /// Starts the notification service again on the same database.
    pub async fn start_notification(&mut self) {
        match &self.shape {
            Shape::InProcess { main, .. } => {
                let main_url = main.as_ref().map(|m| m.url()).expect("main running");
                let mut config = self.config.clone();
                config.peers.identity = Some(main_url.clone());
                config.peers.team = Some(main_url.clone());
                config.peers.entitlement = Some(main_url);
                let n =
                    start_in_process(&config, vec![ServiceKind::Notification], self.clock.clone())
                        .await;
                self.urls.notification = n.url();
                if let Shape::InProcess { notification, .. } = &mut self.shape {
                    *notification = Some(Box::new(n));
                }
            }
            Shape::Processes(_) => return self.restart(ServiceKind::Notification).await,
        }
        self.wait_serving().await;
    }

    /// Waits until every service answers health with SERVING.
    pub async fn wait_serving(&self) {
        use tonic_health::pb::health_client::HealthClient;
        use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};
        let targets = [
            (&self.urls.identity, allot_identity::SERVICE_NAME),
            (&self.urls.team, "allot.team.v1.TeamService"),
            (
                &self.urls.entitlement,
                "allot.entitlement.v1.EntitlementService",
            ),
            (
                &self.urls.notification,
                "allot.notification.v1.NotificationService",
            ),
        ];
        let deadline = Instant::now() + Duration::from_secs(30);
        for (url, service) in targets {
            loop {
                let ok = async {
                    let ch = Channel::from_shared(url.clone())
                        .ok()?
                        .connect()
                        .await
                        .ok()?;
                    let r = HealthClient::new(ch)
                        .check(HealthCheckRequest {
                            service: service.into(),
                        })
                        .await
                        .ok()?;
                    (r.into_inner().status == ServingStatus::Serving as i32).then_some(())
                }
                .await;
                if ok.is_some() {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "{service} at {url} did not become SERVING: {}",
                    self.logs()
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    /// The logs of the service processes, for failure messages.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        if let Shape::Processes(children) = &self.shape {
            for (kind, _, _) in children {
                let p = self._dir.path().join(format!("{}.log", kind.name()));
                let text = std::fs::read_to_string(p).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(30).collect();
                out.push_str(&format!("\n--- {} ---\n", kind.name()));
                for l in tail.iter().rev() {
                    out.push_str(l);
                    out.push('\n');
                }
            }
        }
        out
    }

    fn channel(url: &str) -> Channel {
        Channel::from_shared(url.to_owned())
            .expect("url")
            .connect_lazy()
    }

    /// Clients acting with `token` (or none).
    pub fn clients_with(&self, token: Option<&str>) -> Clients {
        let b = Bearer::new(token);
        Clients {
            identity: IdentityServiceClient::with_interceptor(
                Self::channel(&self.urls.identity),
                b.clone(),
            ),
            team: TeamServiceClient::with_interceptor(Self::channel(&self.urls.team), b.clone()),
            entitlement: EntitlementServiceClient::with_interceptor(
                Self::channel(&self.urls.entitlement),
                b.clone(),
            ),
            notification: NotificationServiceClient::with_interceptor(
                Self::channel(&self.urls.notification),
                b,
            ),
        }
    }

    /// A token for a client credential.
    pub async fn token_for(&self, client_id: &str, secret: &str) -> String {
        IdentityServiceClient::new(Self::channel(&self.urls.identity))
            .create_token(idpb::CreateTokenRequest {
                client_id: client_id.into(),
                client_secret: secret.into(),
                ..Default::default()
            })
            .await
            .expect("token")
            .into_inner()
            .access_token
    }

    /// Clients acting as the bootstrap administrator.
    pub async fn admin(&self) -> Clients {
        let token = self.admin_token().await;
        self.clients_with(Some(&token))
    }

    /// The bootstrap administrator's bearer token.
    pub async fn admin_token(&self) -> String {
        self.token_for(&self.admin_client_id, ADMIN_SECRET).await
    }

    /// A plain channel to team, for requests no generated client can send.
    pub fn team_channel(&self) -> Channel {
        Self::channel(&self.urls.team)
    }

    /// The bootstrap administrator's first team, once created.
    pub async fn first_team(&self) -> tpb::Team {
        let mut team = self.admin().await.team;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let teams = team
                .list_teams(tpb::ListTeamsRequest::default())
                .await
                .expect("list teams")
                .into_inner()
                .teams;
            if let Some(t) = teams.into_iter().next() {
                return t;
            }
            assert!(
                Instant::now() < deadline,
                "the first team was never created{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits for `count` emails to `to`.
    pub async fn mail_to(&self, to: &str, count: usize) -> Vec<ReceivedMail> {
        self.smtp.wait_for(to, count, Duration::from_secs(30)).await
    }

    /// Waits for `count` emails to `to` whose subject contains `subject`.
    pub async fn mail_with_subject(
        &self,
        to: &str,
        subject: &str,
        count: usize,
    ) -> Vec<ReceivedMail> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let found: Vec<ReceivedMail> = self
                .smtp
                .messages_to(to)
                .into_iter()
                .filter(|m| m.header("Subject").unwrap_or_default().contains(subject))
                .collect();
            if found.len() >= count {
                return found;
            }
            assert!(
                Instant::now() < deadline,
                "expected {count} email(s) to {to} about {subject:?}, found {}",
                found.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn shutdown(mut self) {
        match &mut self.shape {
            Shape::InProcess { main, notification } => {
                if let Some(n) = notification.take() {
                    (*n).shutdown().await;
                }
                if let Some(m) = main.take() {
                    (*m).shutdown().await;
                }
            }
            Shape::Processes(children) => {
                for (_, child, _) in children.iter_mut() {
                    let _ = child.kill();
                    let _ = child.wait();
                }
            }
        }
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Shape::Processes(children) = &mut self.shape {
            for (_, child, _) in children.iter_mut() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        // The test's PostgreSQL databases go with it (on a runtime of their
        // own: this may run inside the test's runtime).
        let d = &self.config.databases;
        let urls: Vec<String> = [&d.identity, &d.team, &d.entitlement, &d.notification]
            .into_iter()
            .flatten()
            .filter(|u| u.starts_with("postgres"))
            .cloned()
            .collect();
        if urls.is_empty() {
            return;
        }
        let _ = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                rt.block_on(async {
                    for u in &urls {
                        allot_platform::testing::drop_database(u).await;
                    }
                });
            }
        })
        .join();
    }
}

/// A person with their own credential, for tests of roles.
#[derive(Clone)]
pub struct Person {
    /// `accounts/{id}`.
    pub account: String,
    pub email: String,
    pub clients: Clients,
}

impl Env {
    /// Clients acting as Allot's own services (internal scope).
    pub async fn internal(&self) -> Clients {
        let token = self
            .token_for(
                allot_platform::auth::INTERNAL_SERVICE_ACCOUNT,
                INTERNAL_SECRET,
            )
            .await;
        self.clients_with(Some(&token))
    }

    /// A new person with a credential of their own (no scopes). They are
    /// invited into the bootstrap team, which gives them an account.
    pub async fn person(&self, given: &str) -> Person {
        let mut admin = self.admin().await;
        let first = self.first_team().await;
        let email = unique_email(&given.to_lowercase());
        let member = admin
            .team
            .add_member(tpb::AddMemberRequest {
                parent: first.name,
                who: Some(tpb::add_member_request::Who::Person(tpb::Person {
                    given_name: given.into(),
                    family_name: "Tester".into(),
                    email: email.clone(),
                })),
                ..Default::default()
            })
            .await
            .expect("invite a person")
            .into_inner();
        let key = admin
            .identity
            .create_key(idpb::CreateKeyRequest {
                parent: member.account.clone(),
            })
            .await
            .expect("a key for the person")
            .into_inner();
        let token = self
            .token_for(&key.key.expect("key").client_id, &key.client_secret)
            .await;
        Person {
            account: member.account,
            email,
            clients: self.clients_with(Some(&token)),
        }
    }

    /// A service account with `scopes` and clients acting as it.
    pub async fn service_account(&self, scopes: &[&str]) -> Clients {
        let token = self.token_for_scopes(scopes).await;
        self.clients_with(Some(&token))
    }

    /// A bearer token of a new service account with `scopes`.
    pub async fn token_for_scopes(&self, scopes: &[&str]) -> String {
        let mut admin = self.admin().await;
        let sa = admin
            .identity
            .create_service_account(idpb::CreateServiceAccountRequest {
                service_account: Some(idpb::ServiceAccount {
                    display_name: format!("test platform {}", scopes.join(",")),
                    scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
                    ..Default::default()
                }),
            })
            .await
            .expect("create service account")
            .into_inner();
        let key = admin
            .identity
            .create_key(idpb::CreateKeyRequest { parent: sa.name })
            .await
            .expect("key")
            .into_inner();
        self.token_for(&key.key.expect("key").client_id, &key.client_secret)
            .await
    }

    /// Prunes every event `which` has written so far, as retention does
    /// once they are old, through the service's own database; returns the
    /// new retention boundary. Works with every shape.
    pub async fn prune_all_events(&self, which: ServiceKind) -> i64 {
        let db = self.database(which).await;
        sequenced_head(&db).await;
        let outbox =
            allot_platform::outbox::Outbox::new(db, self.clock.clone(), Default::default());
        outbox
            .prune_before(outbox.now_micros() + 1)
            .await
            .expect("prune")
    }

    /// A connection pool to `which`'s own database, whatever the shape.
    async fn database(&self, which: ServiceKind) -> allot_platform::db::Db {
        let url = self.config.database_url_for(which.name());
        allot_platform::db::Db::connect(&url, 2)
            .await
            .expect("the service's database opens")
    }

    /// Waits until every service has read everything the others wrote so
    /// far (each consumer's cursor at its source's head, again and again
    /// until reactions write nothing new) and notification has no email
    /// left to send. What a test then asserts about events and mail is
    /// final: a duplicate would be there, a missing email will not come.
    pub async fn settled(&self) {
        use ServiceKind::{Entitlement, Identity, Notification, Team};
        const FOLLOWS: [(ServiceKind, ServiceKind); 6] = [
            (Team, Identity),
            (Team, Entitlement),
            (Entitlement, Team),
            (Notification, Identity),
            (Notification, Team),
            (Notification, Entitlement),
        ];
        let mut dbs = Vec::new();
        for kind in ServiceKind::ALL {
            dbs.push((kind, self.database(kind).await));
        }
        let db = |k: ServiceKind| &dbs.iter().find(|(d, _)| *d == k).expect("a database").1;
        let deadline = Instant::now() + Duration::from_secs(30);
        'again: loop {
            assert!(Instant::now() < deadline, "the services do not settle");
            for (reader, source) in FOLLOWS {
                let head = sequenced_head(db(source)).await;
                let consumer = format!("{}.{}-events", reader.name(), source.name());
                let mut conn = db(reader).conn().await.expect("connection");
                let at = allot_platform::consumer::load_cursor(&mut conn, &consumer)
                    .await
                    .expect("read the cursor")
                    .and_then(|c| c.parse::<i64>().ok())
                    .unwrap_or(0);
                if at < head {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue 'again;
                }
            }
            let mut conn = db(Notification).conn().await.expect("connection");
            let unsent: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM deliveries WHERE state = 'PENDING'")
                    .fetch_one(&mut *conn)
                    .await
                    .expect("count unsent mail");
            if unsent == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The in-process team service (to prune its events as retention would).
    pub fn team_app(&self) -> std::sync::Arc<allot_team::service::Teams> {
        match &self.shape {
            Shape::InProcess { main: Some(m), .. } => {
                m.team.as_ref().expect("team runs here").app.clone()
            }
            _ => panic!("team runs in another process"),
        }
    }

    /// The in-process identity service (to sign tokens of any shape).
    /// Waits until team has followed entitlement's stream past everything
    /// entitlement committed so far (the roles of contracts, R-CLS-6).
    pub async fn team_follows_entitlement(&self) {
        let head = match &self.shape {
            Shape::InProcess { main: Some(m), .. } => m
                .entitlement
                .as_ref()
                .expect("entitlement runs here")
                .app
                .outbox()
                .head(),
            _ => panic!("entitlement runs in another process"),
        };
        let team = self.team_app();
        eventually("team to follow entitlement's events", || {
            let team = team.clone();
            async move {
                let mut conn = team.outbox().db().conn().await.expect("team's database");
                allot_platform::consumer::load_cursor(
                    &mut conn,
                    allot_team::consumer::ENTITLEMENT_CONSUMER,
                )
                .await
                .ok()
                .flatten()
                .and_then(|c| c.parse::<i64>().ok())
                .is_some_and(|position| position >= head)
            }
        })
        .await;
    }

    pub fn identity_app(&self) -> std::sync::Arc<allot_identity::Identity> {
        match &self.shape {
            Shape::InProcess { main: Some(m), .. } => {
                m.identity.as_ref().expect("identity runs here").app.clone()
            }
            _ => panic!("identity runs in another process"),
        }
    }
}

/// The last position of a service's stream, once the sequencer has placed
/// every event committed so far.
async fn sequenced_head(db: &allot_platform::db::Db) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut conn = db.conn().await.expect("connection");
        let pending: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox_pending")
            .fetch_one(&mut *conn)
            .await
            .expect("count pending");
        if pending == 0 {
            return sqlx::query_scalar("SELECT head FROM outbox_state WHERE id = 1")
                .fetch_one(&mut *conn)
                .await
                .expect("the stream's head");
        }
        assert!(Instant::now() < deadline, "events stay unsequenced");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The accept token in an invitation email's link.
pub fn accept_token(mail: &ReceivedMail) -> String {
    let text = mail.decoded();
    let start = text.find("token=").expect("the email has an accept link") + "token=".len();
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

/// A unique address for this test run.
pub fn unique_email(name: &str) -> String {
    format!("{name}.{}@example.com", allot_platform::ids::new_id())
}

/// Runs a test body on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(allot_platform::testing::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(allot_platform::testing::Backend::Postgres).await
            }
        }
    };
}

/// Polls `f` until it holds, for up to 60 seconds.
pub async fn eventually<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(60);
    while !f().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
