//! The notification service: the emails that go with everything, sent once
//! each, also across mail server outages (R-MAIL-5).

pub mod consumer;
pub mod directory;
pub mod domain;
pub mod error;
pub mod grpc;
pub mod mailer;
pub mod service;
pub mod store;
pub mod templates;

use std::sync::Arc;

use allot_platform::Config;
use allot_platform::clock::SharedClock;
use allot_platform::consumer::Consumer;
use allot_platform::db::{Db, Migrations};
use allot_platform::grpc::{EntitlementClient, IdentityClient, TeamClient};
use allot_platform::outbox::Outbox;
use allot_proto::notification::notification_service_server::NotificationServiceServer;
use sqlx::migrate::Migrator;

pub use error::NotificationError;
pub use service::Notifications;

static SQLITE: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("migrations/postgres");

/// Notification's tables, per dialect.
pub const MIGRATIONS: Migrations = Migrations {
    sqlite: &SQLITE,
    postgres: &POSTGRES,
};

/// The gRPC service name, as health reports it.
pub const SERVICE_NAME: &str = "allot.notification.v1.NotificationService";

/// The built notification service.
#[derive(Debug, Clone)]
pub struct NotificationService {
    pub app: Arc<Notifications>,
    outbox: Outbox,
    clock: SharedClock,
}

impl NotificationService {
    /// Builds notification on a migrated database: SMTP when `smtp_url` is
    /// set, otherwise `.eml` files under `mail_dir`.
    pub fn build(
        config: &Config,
        db: Db,
        clock: SharedClock,
        identity: IdentityClient,
    ) -> Result<NotificationService, NotificationError> {
        let mailer = match config.smtp_url.as_deref().filter(|u| !u.is_empty()) {
            Some(url) => mailer::Mailer::smtp(url, config.delivery.smtp_timeout)
                .map_err(NotificationError::Internal)?,
            None => mailer::Mailer::Folder(config.mail_dir()),
        };
        let settings = service::MailSettings {
            from: config.mail_from.clone(),
            public_url: config.public_url.clone(),
            retry: domain::RetryPolicy {
                max_attempts: config.delivery.max_attempts,
                give_up_after: config.delivery.give_up_after,
                initial_backoff: config.delivery.initial_backoff,
                max_backoff: config.delivery.max_backoff,
            },
            lease: config.delivery.lease,
            smtp_timeout: config.delivery.smtp_timeout,
        };
        let outbox = Outbox::new(db.clone(), clock.clone(), config.outbox.clone());
        let app = Notifications::new(db, clock.clone(), mailer, settings, identity)?;
        Ok(NotificationService {
            app: Arc::new(app),
            outbox,
            clock,
        })
    }

    pub fn server(&self) -> NotificationServiceServer<grpc::NotificationGrpc> {
        NotificationServiceServer::new(grpc::NotificationGrpc::new(self.app.clone()))
    }

    /// Follows entitlement's events for product and contract emails.
    pub fn entitlement_consumer(
        &self,
        entitlement: EntitlementClient,
    ) -> Consumer<EntitlementClient, consumer::EntitlementMail> {
        Consumer {
            name: consumer::ENTITLEMENT_CONSUMER,
            source: entitlement,
            event_types: consumer::ENTITLEMENT_EVENTS,
            handler: consumer::EntitlementMail {
                app: self.app.clone(),
            },
            outbox: self.outbox.clone(),
            clock: self.clock.clone(),
        }
    }

    /// Follows team's events for import completion emails.
    pub fn team_consumer(&self, team: TeamClient) -> Consumer<TeamClient, consumer::TeamMail> {
        Consumer {
            name: consumer::TEAM_CONSUMER,
            source: team,
            event_types: consumer::TEAM_EVENTS,
            handler: consumer::TeamMail {
                app: self.app.clone(),
            },
            outbox: self.outbox.clone(),
            clock: self.clock.clone(),
        }
    }

    /// Follows identity's events for invitation emails.
    pub fn identity_consumer(
        &self,
        identity: IdentityClient,
    ) -> Consumer<IdentityClient, consumer::IdentityMail> {
        Consumer {
            name: consumer::IDENTITY_CONSUMER,
            source: identity,
            event_types: consumer::IDENTITY_EVENTS,
            handler: consumer::IdentityMail {
                app: self.app.clone(),
            },
            outbox: self.outbox.clone(),
            clock: self.clock.clone(),
        }
    }
}

impl allot_platform::hosting::Hosted for NotificationService {
    const NAME: &'static str = SERVICE_NAME;

    fn gauges(&self) -> &'static [allot_platform::metrics::GaugeQuery] {
        use allot_platform::metrics::GaugeQuery;
        &[
            GaugeQuery {
                name: "allot_mail_deliveries",
                help: "Emails by state: PENDING is the queue, DEAD the dead letters",
                sql: "SELECT state, CAST(COUNT(*) AS BIGINT) FROM deliveries GROUP BY state",
            },
            GaugeQuery {
                name: "allot_mail_retries",
                help: "Attempts beyond the first, over every email kept",
                sql: "SELECT CAST(COALESCE(SUM(CASE WHEN attempts > 1 THEN attempts - 1 ELSE 0 END), 0) AS BIGINT) FROM deliveries",
            },
        ]
    }

    /// Notification writes no events of its own.
    fn outbox(&self) -> Option<&allot_platform::outbox::Outbox> {
        None
    }

    /// The followers of the three other services' streams, and the sender.
    fn spawn(
        &self,
        peers: &dyn allot_platform::hosting::Peers,
        stop: &allot_platform::hosting::CancellationToken,
    ) -> Result<Vec<tokio::task::JoinHandle<()>>, allot_platform::hosting::MissingPeer> {
        Ok(vec![
            self.identity_consumer(peers.identity()?)
                .spawn(stop.clone()),
            self.entitlement_consumer(peers.entitlement()?)
                .spawn(stop.clone()),
            self.team_consumer(peers.team()?).spawn(stop.clone()),
            self.app.spawn_sender(stop.clone()),
        ])
    }

    fn route(&self, routes: tonic::service::Routes) -> tonic::service::Routes {
        routes.add_service(self.server())
    }
}
