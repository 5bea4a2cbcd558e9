//! The small shared kit every Allot service stands on: configuration,
//! telemetry, the gRPC server bootstrap (health, reflection, shutdown),
//! authentication, database pools and migrations, the transactional outbox
//! with its `Watch` streams, and durable event consumers.

pub mod auth;
pub mod clock;
pub mod config;
pub mod consumer;
pub mod csvfile;
pub mod ctx;
pub mod db;
pub mod db_enum;
pub mod error;
pub mod grpc;
pub mod hosting;
pub mod idempotency;
pub mod ids;
pub mod jobs;
pub mod limits;
pub mod mask;
pub mod metrics;
pub mod outbox;
pub mod paging;
pub mod parked;
pub mod redact;
pub mod relay;
pub mod server;
pub mod streams;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tls;
pub mod values;
pub mod views;

pub use clock::{Clock, SharedClock};
pub use config::Config;
pub use db::{Db, Dialect};
