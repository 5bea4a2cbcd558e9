//! Starts Allot for a test the way it runs for real: the services on port 0
//! with their own fresh databases (SQLite or PostgreSQL), a real SMTP server,
//! and typed gRPC clients. Three shapes: all services in one process, the
//! notification service apart (so it can be stopped), and every service in
//! its own OS process.
//!
//! The end-to-end tests (`tests/e2e`) and the benchmarks
//! (`crates/allot/benches`) both use it as a library.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod browser;
mod callers;
mod console;
mod front_door;
mod gate;
mod mail;
mod shapes;
mod streams;
mod traces;

pub use browser::Browser;
pub use fantoccini;
pub use front_door::FrontDoor;
pub use gate::Gate;
pub use traces::{ExportedSpan, TraceSink};

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};

use allot::{Running, ServiceKind, StartOptions};
use allot_platform::Config;
use allot_platform::clock::SystemClock;
use allot_platform::testing::{
    Backend, NatsServer, ReceivedMail, SmtpSink, free_port, fresh_database,
};
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
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};

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
/// The bootstrap administrator's password in the console's tests.
pub const ADMIN_PASSWORD: &str = "orchid tramline velvet 2026";

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
    /// Every service at one address (one process, or a front door).
    pub fn same(url: &str) -> Urls {
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
    /// TLS, database roles and NATS of [`Env::deployed`].
    deployed: Option<Deployed>,
    /// The web console, when the test started one.
    console: Option<allot::console::RunningConsole>,
    _dir: tempfile::TempDir,
}

/// What [`Env::deployed`] adds to the processes shape, as docker-compose
/// runs it: TLS between every caller and service (client certificates
/// between services), a role per service's database that reaches only it
/// (over `sslmode=verify-full` when the test PostgreSQL speaks TLS), and
/// NATS that admits only Allot's user.
pub struct Deployed {
    /// `ca.pem` and `<host>/{cert,key}.pem` for the four services and the
    /// front door, made by `allot certs`.
    pub tls_dir: PathBuf,
    /// The URL each service connects to its database with.
    pub database_urls: Vec<(ServiceKind, String)>,
    pub nats: NatsServer,
    pub nats_url: String,
    /// Where each process serves `/metrics`.
    pub metrics_ports: Vec<(ServiceKind, u16)>,
    /// The console's process (`allot serve console`), behind the front
    /// door, and its port.
    pub console: Option<(ConsoleProcess, u16)>,
}

/// A console process, stopped with its test.
pub struct ConsoleProcess(pub Child);

impl Drop for ConsoleProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
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
    // Two cores run four tests of four services each: a connection may be
    // a while coming. The deployment default (5 s) is tested on its own.
    c.database_acquire_timeout = Duration::from_secs(30);
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
