//! Allot's web console: people sign in, accept invitations and reset
//! their password; admins do what the seeds' account portal does (by
//! user, by product, by group, classic user management, team settings,
//! reporting). Server-rendered HTML (axum, minijinja), a small script for
//! the live parts, assets compiled in.
//!
//! The console is a client of the gRPC API like any platform: it acts as
//! the signed-in person with their own token and reads no database, so
//! every rule and every authorization stays in the services.

// A page that cannot go on answers with the response that says why: the
// error side of its steps is a whole `Response`, by design.
#![allow(clippy::result_large_err)]

mod api;
mod assets;
mod chart;
mod form;
mod pages;
mod refusal;
mod render;
mod security;
mod session;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use allot_platform::Config;
use allot_platform::tls::Tls;
use axum::Router;
use axum::http::HeaderMap;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use api::ServiceUrls;

/// What every page shares.
pub struct Shared {
    api: api::Api,
    cookies: session::Cookies,
    behind_proxy: bool,
    /// The most bytes of one CSV import.
    max_upload: usize,
}

impl Shared {
    /// The browser's address: the front door's `X-Real-IP` when the
    /// console is behind it, else the connection's.
    fn client_address(&self, headers: &HeaderMap, peer: SocketAddr) -> String {
        if self.behind_proxy
            && let Some(ip) = headers
                .get("x-real-ip")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<std::net::IpAddr>().ok())
        {
            return ip.to_string();
        }
        peer.ip().to_string()
    }
}

/// The most bytes a CSV import may have in the browser (the API takes the
/// rows it allows).
pub const MAX_UPLOAD_BYTES: usize = 16 * 1024 * 1024;

/// How long the console waits for requests in flight when it stops.
const DRAIN: Duration = Duration::from_secs(10);

/// A built console.
#[derive(Clone)]
pub struct Console {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Console {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Console").finish_non_exhaustive()
    }
}

impl Console {
    /// A console calling the services at `urls` (checked with `tls`);
    /// `create_key` (`allot dev`) makes a missing cookie key under
    /// `data_dir`.
    pub fn build(
        config: &Config,
        urls: &ServiceUrls,
        tls: &Tls,
        create_key: bool,
    ) -> anyhow::Result<Console> {
        render::check_templates()?;
        let key = cookie_key(config, create_key)?;
        let secure = config.public_url.starts_with("https://");
        Ok(Console {
            shared: Arc::new(Shared {
                api: api::Api::connect(tls, urls)?,
                cookies: session::Cookies::new(key, secure),
                behind_proxy: config.console.behind_proxy,
                max_upload: MAX_UPLOAD_BYTES,
            }),
        })
    }

    /// Every page behind the session layer; the assets and the health
    /// check outside it (no cookie on a cached file or a probe); the
    /// security headers on everything.
    pub fn router(&self) -> Router {
        let pages = pages::routes(self.shared.clone()).layer(axum::middleware::from_fn_with_state(
            self.shared.clone(),
            session::layer,
        ));
        let secure = self.shared.cookies.secure();
        Router::new()
            .route("/healthz", axum::routing::get(|| async { "ok" }))
            .route(
                "/assets/{version}/{file}",
                axum::routing::get(assets::serve),
            )
            .merge(pages)
            .layer(axum::middleware::from_fn(
                move |req: axum::extract::Request, next: axum::middleware::Next| {
                    security::headers(secure, req, next)
                },
            ))
    }

    /// Serves on `listener` until `stop`: HTTPS when `tls` has the
    /// server's certificate, else plain HTTP (loopback only, as gRPC).
    pub async fn serve(
        self,
        listener: TcpListener,
        tls: &allot_platform::tls::TlsConfig,
        stop: CancellationToken,
    ) -> anyhow::Result<()> {
        let app = self
            .router()
            .into_make_service_with_connect_info::<SocketAddr>();
        match server_tls(tls)? {
            None => {
                axum::serve(listener, app)
                    .with_graceful_shutdown(async move { stop.cancelled().await })
                    .await?;
            }
            Some(rustls_config) => {
                let handle = axum_server::Handle::new();
                let waiter = handle.clone();
                tokio::spawn(async move {
                    stop.cancelled().await;
                    waiter.graceful_shutdown(Some(DRAIN));
                });
                let listener = listener.into_std()?;
                axum_server::from_tcp_rustls(
                    listener,
                    axum_server::tls_rustls::RustlsConfig::from_config(rustls_config),
                )?
                .handle(handle)
                .serve(app)
                .await?;
            }
        }
        Ok(())
    }
}

/// The console's HTTPS: the `[tls]` certificate; with `client_ca_file`,
/// only callers with a certificate that CA signed (the front door).
fn server_tls(
    tls: &allot_platform::tls::TlsConfig,
) -> anyhow::Result<Option<Arc<rustls::ServerConfig>>> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let (Some(cert), Some(key)) = (&tls.cert_file, &tls.key_file) else {
        return Ok(None);
    };
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|i| i.collect::<Result<Vec<_>, _>>())
        .map_err(|e| anyhow::anyhow!("tls.cert_file {}: {e}", cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| anyhow::anyhow!("tls.key_file {}: {e}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let builder = match &tls.client_ca_file {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in CertificateDer::pem_file_iter(ca)
                .and_then(|i| i.collect::<Result<Vec<_>, _>>())
                .map_err(|e| anyhow::anyhow!("tls.client_ca_file {}: {e}", ca.display()))?
            {
                roots.add(c)?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Some(Arc::new(config)))
}

/// The key that seals cookies: `console.cookie_key_file`, or (in `allot
/// dev`) one made under `data_dir/keys`.
fn cookie_key(config: &Config, create: bool) -> anyhow::Result<cookie::Key> {
    let path = match &config.console.cookie_key_file {
        Some(p) => p.clone(),
        None if create => config.data_dir.join("keys").join("console-cookie.key"),
        None => anyhow::bail!(
            "console.cookie_key_file (ALLOT_CONSOLE__COOKIE_KEY_FILE) is required: 64 random bytes that seal the console's cookies; create one with `allot keygen`"
        ),
    };
    if create && !path.exists() {
        write_cookie_key(&path)?;
    }
    let bytes = std::fs::read(&path).map_err(|e| {
        anyhow::anyhow!(
            "console.cookie_key_file {}: cannot read it ({e})",
            path.display()
        )
    })?;
    cookie::Key::try_from(bytes.as_slice()).map_err(|_| {
        anyhow::anyhow!(
            "console.cookie_key_file {}: has {} bytes, needs at least 64 random ones (`allot keygen` writes one)",
            path.display(),
            bytes.len()
        )
    })
}

/// Writes a new cookie key (64 random bytes, readable by the owner only).
pub fn write_cookie_key(path: &Path) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut key = [0u8; 64];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut key);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    std::io::Write::write_all(&mut options.open(path)?, &key)?;
    Ok(())
}
