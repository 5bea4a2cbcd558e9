//! Runs built services in this process, every one the same way.

use allot_platform::Config;
use allot_platform::db::Db;
use allot_platform::hosting::{Hosted, Peers};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::service::Routes;

use crate::ServiceKind;

/// Runs built services in this process, every one the same way: its
/// stream's sequencer (and the JetStream relay when `nats_url` is set), its
/// background work, its routes and its health.
pub(crate) struct Host<'a> {
    pub(crate) config: &'a Config,
    pub(crate) stop: &'a CancellationToken,
    pub(crate) tasks: &'a mut Vec<JoinHandle<()>>,
    pub(crate) routes: Routes,
    /// Each hosted service's health name and database.
    pub(crate) health: Vec<(&'static str, Db)>,
    /// What `/metrics` reads from each hosted service's database.
    pub(crate) gauges: Vec<(
        &'static str,
        Db,
        &'static [allot_platform::metrics::GaugeQuery],
    )>,
}

impl Host<'_> {
    pub(crate) fn run<S: Hosted>(
        &mut self,
        kind: ServiceKind,
        svc: &S,
        db: &Db,
        peers: &dyn Peers,
    ) -> anyhow::Result<()> {
        if let Some(outbox) = svc.outbox() {
            self.tasks.push(outbox.spawn(self.stop.clone()));
            if let Some(url) = self.config.nats_url.as_ref().filter(|u| !u.is_empty()) {
                let relay = allot_platform::relay::Relay {
                    service: kind.name(),
                    nats_url: url.clone(),
                    outbox: outbox.clone(),
                };
                self.tasks.push(relay.spawn(self.stop.clone()));
            }
        }
        self.tasks.extend(svc.spawn(peers, self.stop)?);
        self.routes = svc.route(std::mem::take(&mut self.routes));
        self.health.push((S::NAME, db.clone()));
        self.gauges.push((kind.name(), db.clone(), svc.gauges()));
        Ok(())
    }
}
