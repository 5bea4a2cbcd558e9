//! The one contract every service follows to run in a process. A service is
//! built from its configuration and database; then its host starts its
//! stream's sequencer, its background work and its routes the same way for
//! all four (`allot/src/lib.rs`), whether they share a process or not.

use tokio::task::JoinHandle;
pub use tokio_util::sync::CancellationToken;
use tonic::service::Routes;

use crate::grpc::{EntitlementClient, IdentityClient, TeamClient};
use crate::outbox::Outbox;

/// A peer a service needs that this process cannot reach.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct MissingPeer(pub String);

/// Clients of the other services, made on demand: a process that hosts one
/// service needs the addresses of only the peers that service uses.
pub trait Peers {
    fn identity(&self) -> Result<IdentityClient, MissingPeer>;
    fn team(&self) -> Result<TeamClient, MissingPeer>;
    fn entitlement(&self) -> Result<EntitlementClient, MissingPeer>;
}

/// A built service, as its host runs it.
pub trait Hosted {
    /// The gRPC service health reports on.
    const NAME: &'static str;

    /// Its own event stream, which the host sequences (and relays to NATS
    /// when configured); `None` for a service that writes no events.
    fn outbox(&self) -> Option<&Outbox>;

    /// Its background work (consumers of its peers' streams, jobs, senders),
    /// all stopping with `stop`.
    fn spawn(
        &self,
        peers: &dyn Peers,
        stop: &CancellationToken,
    ) -> Result<Vec<JoinHandle<()>>, MissingPeer>;

    /// `routes` with its gRPC service added.
    fn route(&self, routes: Routes) -> Routes;

    /// What `/metrics` reads from its database besides the platform's
    /// tables.
    fn gauges(&self) -> &'static [crate::metrics::GaugeQuery] {
        &[]
    }
}
