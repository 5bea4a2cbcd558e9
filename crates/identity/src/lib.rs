//! The identity service: people, invitations, service accounts and the
//! bearer tokens every service verifies.

mod convert;
pub mod domain;
pub mod error;
mod events;
pub mod grpc;
pub mod service;
pub mod store;

use std::path::PathBuf;
use std::sync::Arc;

use allot_platform::Config;
use allot_platform::auth::SigningKeyPair;
use allot_platform::clock::SharedClock;
use allot_platform::db::{Db, Migrations};
use allot_platform::outbox::Outbox;
use allot_proto::identity::identity_service_server::IdentityServiceServer;
use sqlx::migrate::Migrator;

pub use error::IdentityError;
pub use service::Identity;

static SQLITE: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("migrations/postgres");

/// Identity's tables, per dialect.
pub const MIGRATIONS: Migrations = Migrations {
    sqlite: &SQLITE,
    postgres: &POSTGRES,
};

/// The gRPC service name, as health reports it.
pub const SERVICE_NAME: &str = "allot.identity.v1.IdentityService";

/// Where keys come from: files named in the configuration, or (in
/// `allot dev`) files created under the data folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    /// Keys must be configured.
    Configured,
    /// Missing keys are created under `data_dir/keys`.
    CreateInDataDir,
}

/// The built identity service.
#[derive(Debug, Clone)]
pub struct IdentityService {
    pub app: Arc<Identity>,
}

impl IdentityService {
    /// Builds identity on a migrated database.
    pub fn build(
        config: &Config,
        db: Db,
        clock: SharedClock,
        keys: KeySource,
    ) -> Result<IdentityService, IdentityError> {
        let create = keys == KeySource::CreateInDataDir;
        let key_dir = config.data_dir.join("keys");
        let signing_path = config
            .auth
            .signing_key_file
            .clone()
            .or_else(|| create.then(|| key_dir.join("signing.pem")))
            .ok_or_else(|| {
                IdentityError::Config(
                    "auth.signing_key_file (ALLOT_AUTH__SIGNING_KEY_FILE) is required; create one with `allot keygen`".into(),
                )
            })?;
        let signing = if create {
            SigningKeyPair::load_or_create(&signing_path)
        } else {
            SigningKeyPair::load(&signing_path)
        }
        .map_err(|e| IdentityError::Config(e.to_string()))?;
        let previous = config
            .auth
            .previous_signing_key_files
            .iter()
            .map(|p| SigningKeyPair::load(p))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| IdentityError::Config(format!("auth.previous_signing_key_files: {e}")))?;
        let invitation_path: PathBuf = config
            .invitation
            .key_file
            .clone()
            .or_else(|| create.then(|| key_dir.join("invitation.key")))
            .ok_or_else(|| {
                IdentityError::Config(
                    "invitation.key_file (ALLOT_INVITATION__KEY_FILE) is required; create one with `allot keygen`".into(),
                )
            })?;
        let invitation_key = domain::InvitationKey::load_or_create(&invitation_path, create)?;
        let outbox = Outbox::new(db.clone(), clock.clone(), config.outbox.clone());
        let app = Identity::new(
            db,
            outbox,
            clock,
            service::SigningKeys {
                current: signing,
                previous,
            },
            service::Lifetimes {
                token: config.auth.token_ttl,
                session: config.auth.session_max_age,
            },
            invitation_key,
            config.invitation.clone(),
        )?;
        Ok(IdentityService { app: Arc::new(app) })
    }

    pub fn server(&self) -> IdentityServiceServer<grpc::IdentityGrpc> {
        IdentityServiceServer::new(grpc::IdentityGrpc::new(self.app.clone()))
    }
}

impl allot_platform::hosting::Hosted for IdentityService {
    const NAME: &'static str = SERVICE_NAME;

    fn outbox(&self) -> Option<&Outbox> {
        Some(self.app.outbox())
    }

    /// Identity follows no other service and runs no background work.
    fn spawn(
        &self,
        _peers: &dyn allot_platform::hosting::Peers,
        _stop: &allot_platform::hosting::CancellationToken,
    ) -> Result<Vec<tokio::task::JoinHandle<()>>, allot_platform::hosting::MissingPeer> {
        Ok(Vec::new())
    }

    fn route(&self, routes: tonic::service::Routes) -> tonic::service::Routes {
        routes.add_service(self.server())
    }
}
