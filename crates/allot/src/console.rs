//! The web console's place in a process: beside the services in `allot
//! dev`, or alone (`allot serve console`), calling the services at their
//! URLs as the signed-in person.

use std::net::SocketAddr;

use allot_console::{Console, ServiceUrls};
use allot_platform::Config;
use allot_platform::tls::Tls;
use anyhow::{Context, anyhow};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A running console.
pub struct RunningConsole {
    pub addr: SocketAddr,
    tls: bool,
    stop: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

impl RunningConsole {
    /// Where a browser on this machine opens it.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        if self.addr.ip().is_unspecified() {
            format!("{scheme}://127.0.0.1:{}", self.addr.port())
        } else {
            format!("{scheme}://{}", self.addr)
        }
    }

    /// Stops serving, letting requests in flight finish.
    pub async fn shutdown(self) {
        self.stop.cancel();
        match self.task.await {
            Ok(Err(e)) => tracing::warn!(error = %e, "the console stopped with an error"),
            Err(e) => tracing::warn!(error = %e, "the console's task failed"),
            Ok(Ok(())) => {}
        }
    }
}

/// Where the console finds the services: `peers.*`, or `own` for those
/// this process serves.
pub fn service_urls(config: &Config, own: Option<&str>) -> anyhow::Result<ServiceUrls> {
    let pick = |configured: &Option<String>, name: &str| -> anyhow::Result<String> {
        configured
            .clone()
            .filter(|u| !u.is_empty())
            .or_else(|| own.map(str::to_owned))
            .ok_or_else(|| {
                anyhow!(
                    "peers.{name} (ALLOT_PEERS__{}) is required: where the console finds the {name} service",
                    name.to_uppercase()
                )
            })
    };
    Ok(ServiceUrls {
        identity: pick(&config.peers.identity, "identity")?,
        team: pick(&config.peers.team, "team")?,
        entitlement: pick(&config.peers.entitlement, "entitlement")?,
    })
}

/// Starts the console on `listener` (else `console.listen`); `dev` makes
/// a missing cookie key under the data folder.
pub async fn start_console(
    config: &Config,
    urls: &ServiceUrls,
    dev: bool,
    listener: Option<TcpListener>,
) -> anyhow::Result<RunningConsole> {
    let tls = Tls::load(&config.tls)?;
    let serves_tls = tls.serves_tls();
    let listener = match listener {
        Some(l) => l,
        None => TcpListener::bind(config.console.listen)
            .await
            .with_context(|| format!("serving the console on {}", config.console.listen))?,
    };
    let addr = listener.local_addr()?;
    if !serves_tls && !addr.ip().is_loopback() && !config.tls.allow_plaintext {
        anyhow::bail!(
            "refusing to serve the console over plain HTTP on {addr}: set tls.cert_file and tls.key_file, or listen on 127.0.0.1 behind the front door"
        );
    }
    if config.console.behind_proxy
        && config.tls.client_ca_file.is_none()
        && !addr.ip().is_loopback()
    {
        anyhow::bail!(
            "console.behind_proxy trusts the front door's X-Real-IP, but anyone who reaches {addr} could send one: set tls.client_ca_file so only the front door (with its certificate) gets in, or listen on 127.0.0.1"
        );
    }
    let console = Console::build(config, urls, &tls, dev)?;
    let stop = CancellationToken::new();
    let tls_config = config.tls.clone();
    let until = stop.clone();
    let task = tokio::spawn(async move { console.serve(listener, &tls_config, until).await });
    tracing::info!(address = %addr, "the console is serving");
    Ok(RunningConsole {
        addr,
        tls: serves_tls,
        stop,
        task,
    })
}
