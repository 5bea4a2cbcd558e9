//! The composition root: starts any set of Allot's services in this process
//! on one port. `allot dev` starts all four on SQLite; `allot serve
//! <service>` starts one against PostgreSQL and finds its peers by URL.
//! Tests start the same way on port 0.

use std::net::SocketAddr;
use std::sync::Arc;

use allot_identity::{IdentityService, KeySource};
use allot_notification::NotificationService;
use allot_platform::Config;
use allot_platform::auth::{TokenVerifier, random_secret};
use allot_platform::clock::SharedClock;
use allot_platform::config::check_secret;
use allot_platform::db::{Db, Migrations};
use allot_platform::hosting::Peers;
use allot_platform::server::{EdgeLayer, serve};
use allot_platform::tls::Tls;
use allot_platform::values::Email;
use allot_team::TeamService;
use anyhow::{Context, anyhow};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::service::Routes;

pub use allot_identity::service::BootstrapCredential;

pub mod certs;
pub mod console;
mod host;
mod peers;
mod trust;

use host::Host;
use peers::{ProcessPeers, own_url};
use trust::follow_ended_sessions;
pub use trust::{KEY_REFRESH, SESSION_POLL};

/// One of Allot's services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ServiceKind {
    Identity,
    Team,
    Entitlement,
    Notification,
}

impl ServiceKind {
    pub const ALL: [ServiceKind; 4] = [
        ServiceKind::Identity,
        ServiceKind::Team,
        ServiceKind::Entitlement,
        ServiceKind::Notification,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ServiceKind::Identity => "identity",
            ServiceKind::Team => "team",
            ServiceKind::Entitlement => "entitlement",
            ServiceKind::Notification => "notification",
        }
    }
}

/// How to start.
pub struct StartOptions {
    pub config: Config,
    pub services: Vec<ServiceKind>,
    /// `allot dev`: create missing keys under the data folder, make an
    /// internal secret, create the bootstrap administrator with a generated
    /// secret.
    pub dev: bool,
    pub clock: SharedClock,
    /// A listener to serve on (tests bind port 0); otherwise `config.listen`.
    pub listener: Option<TcpListener>,
}

/// A running set of services.
pub struct Running {
    pub addr: SocketAddr,
    /// Where `/metrics` is served, when `metrics_listen` is set.
    pub metrics_addr: Option<SocketAddr>,
    /// Printed once by `allot dev` on first start.
    pub bootstrap: Option<BootstrapCredential>,
    pub identity: Option<IdentityService>,
    pub team: Option<TeamService>,
    pub entitlement: Option<allot_entitlement::EntitlementService>,
    pub notification: Option<NotificationService>,
    stop: CancellationToken,
    server: JoinHandle<Result<(), tonic::transport::Error>>,
    tasks: Vec<JoinHandle<()>>,
    dbs: Vec<Db>,
    tls: bool,
}

impl Running {
    /// The URL peers and clients use (`https://` when the server speaks
    /// TLS).
    pub fn url(&self) -> String {
        own_url(self.addr, self.tls)
    }

    /// Stops serving (draining calls in flight), stops background work and
    /// closes the databases.
    pub async fn shutdown(self) {
        self.stop.cancel();
        let _ = self.server.await;
        for t in self.tasks {
            let _ = t.await;
        }
        for db in self.dbs {
            db.close().await;
        }
    }

    /// Runs until `signal` completes, then shuts down.
    pub async fn run_until(self, signal: impl std::future::Future<Output = ()>) {
        signal.await;
        self.shutdown().await;
    }
}

async fn open_db(config: &Config, kind: ServiceKind, migrations: Migrations) -> anyhow::Result<Db> {
    let url = config.database_url_for(kind.name());
    let db = Db::connect_with(
        &url,
        config.database_max_connections,
        config.database_acquire_timeout,
    )
    .await
    .with_context(|| format!("connecting to the {} database", kind.name()))?;
    db.migrate(migrations)
        .await
        .with_context(|| format!("migrating the {} database", kind.name()))?;
    tracing::info!(service = kind.name(), dialect = ?db.dialect(), "database ready");
    Ok(db)
}

/// Starts the services.
pub async fn start(opts: StartOptions) -> anyhow::Result<Running> {
    let StartOptions {
        mut config,
        services,
        dev,
        clock,
        listener,
    } = opts;
    allot_platform::idempotency::set_retention(config.requests.retention);
    // TLS that cannot work stops the start before anything listens.
    let tls = Tls::load(&config.tls)?;
    let listener = match listener {
        Some(l) => l,
        None => {
            tls.check_listen(config.listen)?;
            TcpListener::bind(config.listen)
                .await
                .with_context(|| format!("listening on {}", config.listen))?
        }
    };
    let addr = listener.local_addr()?;
    tls.check_listen(addr)?;
    let own_url = own_url(addr, tls.serves_tls());
    let stop = CancellationToken::new();
    let mut tasks = Vec::new();
    let mut dbs = Vec::new();
    let verifier = Arc::new(TokenVerifier::new());
    let hosts = |k| services.contains(&k);

    if dev && config.auth.internal_secret.is_none() {
        config.auth.internal_secret = Some(random_secret());
    }
    let internal_secret = config.auth.internal_secret.clone().ok_or_else(|| {
        anyhow!("auth.internal_secret (ALLOT_AUTH__INTERNAL_SECRET) is required: the secret Allot's services call each other with")
    })?;
    if !dev {
        // A guessable shared secret is the `internal` scope for anyone.
        check_secret(
            "auth.internal_secret (ALLOT_AUTH__INTERNAL_SECRET)",
            &internal_secret,
        )?;
        if let Some(secret) = config
            .bootstrap
            .admin_secret
            .as_deref()
            .filter(|s| !s.is_empty())
        {
            check_secret(
                "bootstrap.admin_secret (ALLOT_BOOTSTRAP__ADMIN_SECRET)",
                secret,
            )?;
        }
    }

    let mut bootstrap = None;

    // Identity first: it signs the tokens everything else verifies.
    let identity = if hosts(ServiceKind::Identity) {
        let db = open_db(&config, ServiceKind::Identity, allot_identity::MIGRATIONS).await?;
        dbs.push(db.clone());
        let keys = if dev {
            KeySource::CreateInDataDir
        } else {
            KeySource::Configured
        };
        let svc = IdentityService::build(&config, db, clock.clone(), keys)?;
        for k in svc.app.tokens().signing_keys() {
            verifier.add_key(&k.key_id, k.public_key);
        }
        svc.app
            .startup()
            .ensure_internal_client(&internal_secret)
            .await?;
        let email = Email::parse("bootstrap.admin_email", &config.bootstrap.admin_email)?;
        let secret = config
            .bootstrap
            .admin_secret
            .clone()
            .filter(|s| !s.is_empty());
        if dev || secret.is_some() {
            bootstrap = svc
                .app
                .startup()
                .bootstrap(&email, &config.bootstrap.admin_client_id, secret.as_deref())
                .await?;
        }
        if let Some(password) = config
            .bootstrap
            .admin_password
            .as_deref()
            .filter(|p| !p.is_empty())
        {
            svc.app.startup().ensure_admin_password(password).await?;
        }
        Some(svc)
    } else {
        None
    };

    // The token this process calls its peers with.
    let tokens = peers::call_tokens(
        identity.as_ref(),
        &config,
        &services,
        &own_url,
        &tls,
        &internal_secret,
        &verifier,
        &clock,
        &stop,
        &mut tasks,
    )?;
    let peers = ProcessPeers {
        config: &config,
        hosted: &services,
        own_url: &own_url,
        tls: &tls,
        tokens: tokens.clone(),
    };
    let ended = peers::ended_sessions(identity.as_ref(), &peers)?;
    tasks.push(follow_ended_sessions(
        ended,
        verifier.clone(),
        clock.clone(),
        stop.clone(),
    ));
    let mut host = Host {
        config: &config,
        stop: &stop,
        tasks: &mut tasks,
        routes: Routes::default(),
        health: Vec::new(),
        gauges: Vec::new(),
    };
    if let Some(svc) = &identity {
        host.run(ServiceKind::Identity, svc, svc.app.outbox().db(), &peers)?;
    }

    let team = if hosts(ServiceKind::Team) {
        let db = open_db(&config, ServiceKind::Team, allot_team::MIGRATIONS).await?;
        dbs.push(db.clone());
        let svc = TeamService::build(
            &config,
            db.clone(),
            clock.clone(),
            peers.identity()?,
            peers.entitlement()?,
        );
        host.run(ServiceKind::Team, &svc, &db, &peers)?;
        Some(svc)
    } else {
        None
    };

    let entitlement = if hosts(ServiceKind::Entitlement) {
        let db = open_db(
            &config,
            ServiceKind::Entitlement,
            allot_entitlement::MIGRATIONS,
        )
        .await?;
        dbs.push(db.clone());
        let svc = allot_entitlement::EntitlementService::build(
            &config,
            db.clone(),
            clock.clone(),
            peers.team()?,
        )
        .await?;
        host.run(ServiceKind::Entitlement, &svc, &db, &peers)?;
        Some(svc)
    } else {
        None
    };

    let notification = if hosts(ServiceKind::Notification) {
        let db = open_db(
            &config,
            ServiceKind::Notification,
            allot_notification::MIGRATIONS,
        )
        .await?;
        dbs.push(db.clone());
        let svc =
            NotificationService::build(&config, db.clone(), clock.clone(), peers.identity()?)?;
        host.run(ServiceKind::Notification, &svc, &db, &peers)?;
        Some(svc)
    } else {
        None
    };
    let Host {
        routes,
        health,
        gauges,
        ..
    } = host;

    let calls = allot_platform::metrics::Calls::default();
    let metrics_addr = match config.metrics_listen {
        Some(at) => {
            let listener = TcpListener::bind(at)
                .await
                .with_context(|| format!("serving metrics on {at}"))?;
            let addr = listener.local_addr()?;
            let metrics = Arc::new(allot_platform::metrics::Metrics::new(&calls, &gauges));
            tasks.push(tokio::spawn(allot_platform::metrics::serve(
                listener,
                metrics,
                stop.clone(),
            )));
            tracing::info!(address = %addr, "serving /metrics");
            Some(addr)
        }
        None => None,
    };
    let edge = EdgeLayer::new(verifier, clock.clone()).counting(calls);
    let server_stop = stop.clone();
    let server_tls = tls.server();
    let server = tokio::spawn(async move {
        serve(listener, routes, health, edge, server_tls, async move {
            server_stop.cancelled().await
        })
        .await
    });
    Ok(Running {
        addr,
        metrics_addr,
        bootstrap,
        identity,
        team,
        entitlement,
        notification,
        stop,
        server,
        tasks,
        dbs,
        tls: tls.serves_tls(),
    })
}
