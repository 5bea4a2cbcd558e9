//! The entitlement service: catalog, contracts, subscriptions, seat pools,
//! assignments, the entitlement check and usage.

mod consistency;
pub mod consumer;
mod convert;
pub mod directory;
pub mod domain;
pub mod error;
mod events;
pub mod grpc;
pub mod projection;
mod report;
pub mod service;
pub mod store;
mod usage;

use std::sync::Arc;

use allot_platform::Config;
use allot_platform::clock::SharedClock;
use allot_platform::consumer::Consumer;
use allot_platform::db::{Db, Migrations};
use allot_platform::grpc::TeamClient;
use allot_platform::outbox::Outbox;
use allot_proto::entitlement::entitlement_service_server::EntitlementServiceServer;
use sqlx::migrate::Migrator;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use error::EntitlementError;
pub use service::Entitlements;

static SQLITE: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("migrations/postgres");

/// Entitlement's tables, per dialect.
pub const MIGRATIONS: Migrations = Migrations {
    sqlite: &SQLITE,
    postgres: &POSTGRES,
};

/// The gRPC service name, as health reports it.
pub const SERVICE_NAME: &str = "allot.entitlement.v1.EntitlementService";

/// The built entitlement service.
#[derive(Debug, Clone)]
pub struct EntitlementService {
    pub app: Arc<Entitlements>,
    projection: Arc<projection::Projection>,
    projected_from: i64,
    db: Db,
    usage_stop: CancellationToken,
    usage_task: Arc<std::sync::Mutex<Option<JoinHandle<()>>>>,
    /// Most rows one CSV import takes (`import.max_rows`).
    import_max_rows: usize,
    /// Entitlement's copy of the team directory (none when the directory
    /// is answered some other way, as in unit tests).
    directory_copy: Option<Arc<directory::DirectoryCopy>>,
    renewal_scan: std::time::Duration,
}

impl EntitlementService {
    /// Builds entitlement on a migrated database: loads the check's index
    /// and starts writing usage records.
    pub async fn build(
        config: &Config,
        db: Db,
        clock: SharedClock,
        team: TeamClient,
    ) -> Result<EntitlementService, EntitlementError> {
        let team = directory::GrpcTeamDirectory::new(team);
        let copy = directory::DirectoryCopy::new(db.clone(), team.clone());
        let cursor = {
            let mut conn = db.conn().await?;
            allot_platform::consumer::load_cursor(&mut conn, consumer::CONSUMER).await?
        };
        copy.load(cursor.as_deref()).await?;
        let directory = Arc::new(directory::CopiedTeamDirectory {
            copy: copy.clone(),
            team,
        });
        let mut service = Self::build_with_directory(config, db, clock, directory).await?;
        service.directory_copy = Some(copy);
        Ok(service)
    }

    /// [`EntitlementService::build`] with another answer to "who is in
    /// which team" (tests answer it from memory).
    pub async fn build_with_directory(
        config: &Config,
        db: Db,
        clock: SharedClock,
        directory: Arc<dyn directory::TeamDirectory>,
    ) -> Result<EntitlementService, EntitlementError> {
        let outbox = Outbox::new(db.clone(), clock.clone(), config.outbox.clone());
        let (projection, head) = projection::Projection::load(&db).await?;
        let usage_stop = CancellationToken::new();
        let (usage, usage_task) = usage::UsageRecorder::spawn(db.clone(), usage_stop.clone());
        let app = Entitlements::new(
            db.clone(),
            outbox,
            clock,
            directory,
            projection.clone(),
            usage,
        );
        Ok(EntitlementService {
            app: Arc::new(app),
            projection,
            projected_from: head,
            db,
            usage_stop,
            usage_task: Arc::new(std::sync::Mutex::new(Some(usage_task))),
            import_max_rows: config.import.max_rows,
            renewal_scan: config.renewal.scan_interval,
            directory_copy: None,
        })
    }

    /// The work that needs no peer: the check's index follower, the import
    /// worker, the renewal sweeper and the usage writer's shutdown, all
    /// stopping with `stop`.
    pub fn spawn_own(&self, stop: &CancellationToken) -> Vec<JoinHandle<()>> {
        let stop = stop.clone();
        let outbox = self.app.outbox().clone();
        let mut tasks =
            vec![
                self.projection
                    .spawn_follower(outbox, self.projected_from, stop.clone()),
            ];
        let (run, fail) = (self.app.clone(), self.app.clone());
        tasks.push(self.app.jobs().spawn(
            stop.clone(),
            move |job| {
                let app = run.clone();
                async move { app.imports().run_assignment_import(&job).await }
            },
            move |job, code, message| {
                let app = fail.clone();
                async move { app.imports().fail_job(&job, code, message).await }
            },
        ));
        tasks.push(
            self.app
                .clone()
                .spawn_renewal_sweeper(self.renewal_scan, stop.clone()),
        );
        let usage_stop = self.usage_stop.clone();
        let usage_task = self.usage_task.lock().ok().and_then(|mut t| t.take());
        tasks.push(tokio::spawn(async move {
            stop.cancelled().await;
            usage_stop.cancel();
            if let Some(t) = usage_task {
                let _ = t.await;
            }
        }));
        tasks
    }

    pub fn server(&self) -> EntitlementServiceServer<grpc::EntitlementGrpc> {
        EntitlementServiceServer::new(grpc::EntitlementGrpc::new(
            self.app.clone(),
            self.import_max_rows,
        ))
        .max_decoding_message_size(allot_platform::jobs::MAX_REQUEST_BYTES)
    }

    /// Follows the team service's events.
    pub fn team_consumer(&self, team: TeamClient) -> Consumer<TeamClient, consumer::TeamEvents> {
        Consumer {
            name: consumer::CONSUMER,
            source: team,
            event_types: consumer::TEAM_EVENTS,
            handler: consumer::TeamEvents {
                app: self.app.clone(),
                copy: self.directory_copy.clone(),
            },
            outbox: self.app.outbox().clone(),
            clock: self.app.clock().clone(),
        }
    }

    /// The database (tests count rows in it).
    pub fn db(&self) -> &Db {
        &self.db
    }
}

impl allot_platform::hosting::Hosted for EntitlementService {
    const NAME: &'static str = SERVICE_NAME;

    fn gauges(&self) -> &'static [allot_platform::metrics::GaugeQuery] {
        use allot_platform::metrics::GaugeQuery;
        &[
            GaugeQuery {
                name: "allot_pool_seats",
                help: "Seats a team's pool of a product holds",
                sql: "SELECT team_id AS team, product_id AS product, CAST(seats AS BIGINT) FROM pools",
            },
            GaugeQuery {
                name: "allot_pool_assigned",
                help: "Seats of a team's pool of a product that are assigned",
                sql: "SELECT team_id AS team, product_id AS product, CAST(assigned AS BIGINT) FROM pools",
            },
        ]
    }

    fn outbox(&self) -> Option<&allot_platform::outbox::Outbox> {
        Some(self.app.outbox())
    }

    /// Its own work ([`EntitlementService::spawn_own`]) and the follower of
    /// team's events.
    fn spawn(
        &self,
        peers: &dyn allot_platform::hosting::Peers,
        stop: &CancellationToken,
    ) -> Result<Vec<JoinHandle<()>>, allot_platform::hosting::MissingPeer> {
        let mut tasks = self.spawn_own(stop);
        tasks.push(self.team_consumer(peers.team()?).spawn(stop.clone()));
        Ok(tasks)
    }

    /// Calls that carry a team cursor wait for the copy of the directory
    /// to reach it (read your writes).
    fn route(&self, routes: tonic::service::Routes) -> tonic::service::Routes {
        routes.add_service(consistency::AfterTeamCursor::new(
            self.server(),
            self.directory_copy.clone(),
        ))
    }
}
