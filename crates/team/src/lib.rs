//! The team service: teams, memberships, roles, groups, and per-team
//! authorization.

pub mod consumer;
mod convert;
pub mod directory;
pub mod domain;
pub mod error;
mod events;
pub mod grpc;
pub mod service;
pub mod store;

use std::sync::Arc;

use allot_platform::Config;
use allot_platform::clock::SharedClock;
use allot_platform::db::{Db, Migrations};
use allot_platform::grpc::{EntitlementClient, IdentityClient};
use allot_platform::outbox::Outbox;
use allot_proto::team::team_service_server::TeamServiceServer;
use sqlx::migrate::Migrator;

pub use error::TeamError;
pub use service::Teams;

static SQLITE: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("migrations/postgres");

/// Team's tables, per dialect.
pub const MIGRATIONS: Migrations = Migrations {
    sqlite: &SQLITE,
    postgres: &POSTGRES,
};

/// The gRPC service name, as health reports it.
pub const SERVICE_NAME: &str = "allot.team.v1.TeamService";

/// The built team service.
#[derive(Debug, Clone)]
pub struct TeamService {
    pub app: Arc<Teams>,
}

impl TeamService {
    /// Builds team on a migrated database; `identity` and `entitlement`
    /// reach those services with an internal token.
    pub fn build(
        config: &Config,
        db: Db,
        clock: SharedClock,
        identity: IdentityClient,
        entitlement: EntitlementClient,
    ) -> TeamService {
        let outbox = Outbox::new(db.clone(), clock.clone(), config.outbox.clone());
        TeamService {
            app: Arc::new(
                Teams::new(db, outbox, clock, identity, entitlement)
                    .with_import_max_rows(config.import.max_rows),
            ),
        }
    }

    /// Follows entitlement's events (the plan of teams).
    pub fn entitlement_consumer(
        &self,
        entitlement: EntitlementClient,
    ) -> allot_platform::consumer::Consumer<EntitlementClient, consumer::EntitlementEvents> {
        allot_platform::consumer::Consumer {
            name: consumer::ENTITLEMENT_CONSUMER,
            source: entitlement,
            event_types: consumer::ENTITLEMENT_EVENTS,
            handler: consumer::EntitlementEvents {
                app: self.app.clone(),
            },
            outbox: self.app.outbox().clone(),
            clock: self.app.clock().clone(),
        }
    }

    /// The gRPC service. Requests may be as large as an import file of
    /// 100,000 rows (R-INV-5); the default limit of 4 MiB is not.
    pub fn server(&self) -> TeamServiceServer<grpc::TeamGrpc> {
        TeamServiceServer::new(grpc::TeamGrpc::new(self.app.clone()))
            .max_decoding_message_size(allot_platform::jobs::MAX_REQUEST_BYTES)
    }

    /// Follows identity's events.
    pub fn identity_consumer(
        &self,
        identity: IdentityClient,
    ) -> allot_platform::consumer::Consumer<IdentityClient, consumer::IdentityEvents> {
        allot_platform::consumer::Consumer {
            name: consumer::CONSUMER,
            source: identity,
            event_types: consumer::IDENTITY_EVENTS,
            handler: consumer::IdentityEvents {
                app: self.app.clone(),
            },
            outbox: self.app.outbox().clone(),
            clock: self.app.clock().clone(),
        }
    }
}

impl allot_platform::hosting::Hosted for TeamService {
    const NAME: &'static str = SERVICE_NAME;

    fn outbox(&self) -> Option<&Outbox> {
        Some(self.app.outbox())
    }

    /// The import worker, and the followers of identity (accepted
    /// invitations) and entitlement (contract roles, premium plans).
    fn spawn(
        &self,
        peers: &dyn allot_platform::hosting::Peers,
        stop: &allot_platform::hosting::CancellationToken,
    ) -> Result<Vec<tokio::task::JoinHandle<()>>, allot_platform::hosting::MissingPeer> {
        Ok(vec![
            self.app.spawn_jobs(stop.clone()),
            self.identity_consumer(peers.identity()?)
                .spawn(stop.clone()),
            self.entitlement_consumer(peers.entitlement()?)
                .spawn(stop.clone()),
        ])
    }

    fn route(&self, routes: tonic::service::Routes) -> tonic::service::Routes {
        routes.add_service(self.server())
    }
}
