//! `allot`: run Allot's services.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Instant;

use allot::{ServiceKind, StartOptions, start};
use allot_platform::Config;
use allot_platform::auth::SigningKeyPair;
use allot_platform::clock::SystemClock;
use allot_platform::server::shutdown_signal;
use anyhow::Context;
use clap::{Parser, Subcommand};

mod parked;

#[derive(Parser)]
#[command(
    name = "allot",
    version,
    about = "Allot: who may use which licensed software"
)]
struct Cli {
    /// A TOML configuration file; `ALLOT_*` environment variables override it.
    #[arg(long, global = true, env = "ALLOT_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// All four services in one process on SQLite, mail written to files
    /// unless ALLOT_SMTP_URL is set. Needs nothing installed.
    Dev {
        /// Where to listen (default 127.0.0.1:50051).
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Where to keep databases, keys and mail (default ./data).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// One service per process, against the configured database, finding
    /// its peers by `ALLOT_PEERS__*` URLs; or the web console alone.
    Serve { service: Served },
    /// Exits 0 when the server at `--url` answers health with SERVING (for
    /// container health checks). An `https://` URL is verified against
    /// `tls.ca_file`.
    Health {
        #[arg(long, default_value = "http://127.0.0.1:50051")]
        url: String,
    },
    /// Makes a private CA (once) and a TLS certificate per host, signed by
    /// it, for `tls.cert_file`, `tls.key_file` and `tls.ca_file`.
    Certs {
        /// Folder for `ca.pem`, `ca.key` and `<host>/{cert,key,ca}.pem`.
        #[arg(long, default_value = "tls")]
        dir: PathBuf,
        /// A host to issue a certificate for (its name as peers dial it);
        /// repeat for each service and the front door.
        #[arg(long = "host", required = true)]
        hosts: Vec<String>,
        /// Another name every certificate carries (a public host name).
        #[arg(long = "san")]
        sans: Vec<String>,
        /// Issue every certificate again, even those still valid.
        #[arg(long)]
        renew: bool,
        /// Certificates that only serve (a database's), not accepted as a
        /// client certificate by the services.
        #[arg(long)]
        server_only: bool,
    },
    /// Events a service's consumer could not handle: list them, or have
    /// the running service handle them again once the cause is fixed.
    Parked {
        /// Where `allot dev` keeps its databases (default ./data).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        #[command(subcommand)]
        action: parked::Action,
    },
    /// Writes a new token signing key and invitation key for `allot serve
    /// identity`.
    Keygen {
        /// Folder to write `signing.pem` and `invitation.key` into.
        #[arg(long, default_value = "keys")]
        dir: PathBuf,
    },
}

/// What `allot serve` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Served {
    Identity,
    Team,
    Entitlement,
    Notification,
    /// The web console: a client of the other four (no database).
    Console,
}

impl Served {
    fn service(self) -> Option<ServiceKind> {
        match self {
            Served::Identity => Some(ServiceKind::Identity),
            Served::Team => Some(ServiceKind::Team),
            Served::Entitlement => Some(ServiceKind::Entitlement),
            Served::Notification => Some(ServiceKind::Notification),
            Served::Console => None,
        }
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run_cli(Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run_cli(cli: Cli) -> anyhow::Result<()> {
    let mut config = Config::load(cli.config.as_deref())?;
    match cli.command {
        Command::Keygen { dir } => keygen(&dir),
        Command::Health { url } => health(&config, &url).await,
        Command::Certs {
            dir,
            hosts,
            sans,
            renew,
            server_only,
        } => {
            let usage = if server_only {
                allot::certs::Use::ServerOnly
            } else {
                allot::certs::Use::ServerAndClient
            };
            certs(&dir, &hosts, &sans, renew, usage)
        }
        Command::Parked { data_dir, action } => {
            if let Some(d) = data_dir {
                config.data_dir = d;
            }
            parked::run(&config, action).await
        }
        Command::Dev { listen, data_dir } => {
            if let Some(l) = listen {
                config.listen = l;
            }
            if let Some(d) = data_dir {
                config.data_dir = d;
            }
            // Links in emails open the console this process serves, unless
            // another address is configured.
            if config.public_url == Config::default().public_url && config.console.enabled {
                config.public_url = format!("http://{}", config.console.listen);
            }
            let _telemetry = allot_platform::telemetry::init(&config.log, "dev");
            run(config, ServiceKind::ALL.to_vec(), true).await
        }
        Command::Serve { service } => match service.service() {
            Some(kind) => {
                let _telemetry = allot_platform::telemetry::init(&config.log, kind.name());
                run(config, vec![kind], false).await
            }
            None => {
                let _telemetry = allot_platform::telemetry::init(&config.log, "console");
                serve_console(config).await
            }
        },
    }
}

async fn run(config: Config, services: Vec<ServiceKind>, dev: bool) -> anyhow::Result<()> {
    let started = Instant::now();
    let data_dir = config.data_dir.clone();
    let mail = match &config.smtp_url {
        Some(url) if !url.is_empty() => {
            format!("sent to {}", allot_platform::redact::url(url))
        }
        _ => format!("written to {}", config.mail_dir().display()),
    };
    let console_config = config.clone();
    let running = start(StartOptions {
        config,
        services: services.clone(),
        dev,
        clock: SystemClock::shared(),
        listener: None,
    })
    .await?;
    let names: Vec<&str> = services.iter().map(|s| s.name()).collect();
    tracing::info!(address = %running.addr, services = ?names, startup_ms = started.elapsed().as_millis() as u64, "Allot is SERVING");
    let console = if dev && console_config.console.enabled {
        let urls = allot::console::service_urls(&console_config, Some(&running.url()))?;
        Some(allot::console::start_console(&console_config, &urls, true, None).await?)
    } else {
        None
    };
    if dev {
        println!();
        println!(
            "Allot is serving on {} (data in {}, mail {mail}).",
            running.url(),
            data_dir.display()
        );
        if let Some(b) = &running.bootstrap {
            match &b.generated_secret {
                Some(secret) => {
                    println!(
                        "Bootstrap administrator {}; this credential is shown once and stored only as a hash:",
                        b.account.email
                    );
                    println!("  export ALLOT_CREDENTIAL='{}:{secret}'", b.client_id);
                }
                None => println!(
                    "Bootstrap administrator {} created with the configured secret.",
                    b.account.email
                ),
            }
            println!("Then try: cargo run -p allotctl -- team list");
        }
        if let Some(c) = &console {
            println!("The console: {}", c.url());
            let link = match &running.identity {
                Some(identity) => identity.app.startup().admin_password_token().await?,
                None => None,
            };
            if let Some(token) = link {
                println!(
                    "Choose the bootstrap administrator's password (this link works for an hour, once):"
                );
                println!(
                    "  {}/password/reset?token={token}",
                    console_config.public_url.trim_end_matches('/')
                );
            }
        }
        println!("Stop with Ctrl-C.");
        println!();
    }
    shutdown_signal().await;
    if let Some(c) = console {
        c.shutdown().await;
    }
    running.shutdown().await;
    Ok(())
}

/// `allot serve console`: the web console alone, calling the services at
/// their `peers.*` URLs.
async fn serve_console(config: Config) -> anyhow::Result<()> {
    let urls = allot::console::service_urls(&config, None)?;
    let console = allot::console::start_console(&config, &urls, false, None).await?;
    tracing::info!(address = %console.addr, "Allot's console is SERVING");
    shutdown_signal().await;
    console.shutdown().await;
    Ok(())
}

fn keygen(dir: &std::path::Path) -> anyhow::Result<()> {
    let signing = dir.join("signing.pem");
    let invitation = dir.join("invitation.key");
    let cookie = dir.join("console-cookie.key");
    for p in [&signing, &invitation, &cookie] {
        anyhow::ensure!(
            !p.exists(),
            "{} exists already; move it away first",
            p.display()
        );
    }
    let pair = SigningKeyPair::load_or_create(&signing).context("writing the signing key")?;
    allot_identity::domain::InvitationKey::load_or_create(&invitation, true)?;
    allot_console::write_cookie_key(&cookie)?;
    println!(
        "wrote {} (key id {}), {} and {}",
        signing.display(),
        pair.key_id(),
        invitation.display(),
        cookie.display()
    );
    println!(
        "set ALLOT_AUTH__SIGNING_KEY_FILE={} ALLOT_INVITATION__KEY_FILE={} (identity) and ALLOT_CONSOLE__COOKIE_KEY_FILE={} (the console)",
        signing.display(),
        invitation.display(),
        cookie.display()
    );
    Ok(())
}

fn certs(
    dir: &std::path::Path,
    hosts: &[String],
    sans: &[String],
    renew: bool,
    usage: allot::certs::Use,
) -> anyhow::Result<()> {
    let w = allot::certs::write_for(dir, hosts, sans, renew, usage)?;
    if w.created_ca {
        println!(
            "made a new CA: {} (keep ca.key private)",
            dir.join("ca.pem").display()
        );
    }
    for h in &w.issued {
        println!("issued {}", dir.join(h).join("cert.pem").display());
    }
    for h in &w.kept {
        println!(
            "kept {} (valid for more than 30 days)",
            dir.join(h).join("cert.pem").display()
        );
    }
    Ok(())
}

async fn health(config: &Config, url: &str) -> anyhow::Result<()> {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
    let tls = allot_platform::tls::Tls::load(&config.tls)?;
    let channel = tls
        .endpoint(url, "--url")?
        .connect_timeout(std::time::Duration::from_secs(3))
        .connect()
        .await
        .with_context(|| format!("cannot reach {url}"))?;
    let status = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await?
        .into_inner()
        .status;
    anyhow::ensure!(
        status == ServingStatus::Serving as i32,
        "{url} is not serving ({status})"
    );
    println!("{url} is SERVING");
    Ok(())
}
