//! The entitlement service: catalog, contracts, subscriptions, seat pools,
//! assignments and the entitlement check.

pub mod grpc;

use std::sync::Arc;

use allot_platform::Config;
use allot_platform::clock::SharedClock;
use allot_platform::db::{Db, Migrations};
use allot_platform::outbox::Outbox;
use allot_proto::entitlement::entitlement_service_server::EntitlementServiceServer;
use sqlx::migrate::Migrator;

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
    pub outbox: Outbox,
}

impl EntitlementService {
    pub fn build(config: &Config, db: Db, clock: SharedClock) -> EntitlementService {
        EntitlementService {
            outbox: Outbox::new(db, clock, config.outbox.clone()),
        }
    }

    pub fn server(&self) -> EntitlementServiceServer<grpc::EntitlementGrpc> {
        EntitlementServiceServer::new(grpc::EntitlementGrpc::new(Arc::new(self.clone())))
    }
}
