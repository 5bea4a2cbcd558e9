//! Typed configuration: defaults, then an optional TOML file, then `ALLOT_`
//! environment variables (`__` separates sections: `ALLOT_AUTH__TOKEN_TTL`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

mod secrets;
pub use secrets::{MIN_SECRET_CHARS, check_secret};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address the gRPC server listens on.
    pub listen: SocketAddr,
    /// Where `/metrics` (Prometheus) is served; none: not served.
    pub metrics_listen: Option<SocketAddr>,
    /// Where `allot dev` keeps its SQLite files, keys and mail.
    pub data_dir: PathBuf,
    /// Database of the service this process runs (`allot serve`). Empty: a
    /// SQLite file under `data_dir`.
    pub database_url: Option<String>,
    /// Per-service databases when one process runs several services.
    pub databases: Databases,
    /// Largest number of pooled database connections.
    pub database_max_connections: u32,
    /// The longest a call waits for a database connection before it
    /// answers UNAVAILABLE; health asks the database within it too.
    #[serde(with = "humantime_serde")]
    pub database_acquire_timeout: Duration,
    /// SMTP server, `smtp://host:port` (or `smtps://`, with `user:pass@`).
    /// Empty: mail is written as `.eml` files under `mail_dir`.
    pub smtp_url: Option<String>,
    pub mail_dir: Option<PathBuf>,
    /// The sender of every email.
    pub mail_from: String,
    /// Where people reach the console: the base of the links in emails
    /// (`{public_url}/invitations/accept?token=…`, `/password/reset?token=…`).
    /// An `https://` URL makes the console's cookies `Secure`.
    pub public_url: String,
    /// NATS server with JetStream; when set, events are also published there.
    pub nats_url: Option<String>,
    pub peers: Peers,
    /// TLS of the gRPC server and of calls to peers.
    pub tls: crate::tls::TlsConfig,
    pub auth: AuthConfig,
    pub bootstrap: BootstrapConfig,
    pub invitation: InvitationConfig,
    pub outbox: OutboxConfig,
    pub delivery: DeliveryConfig,
    pub import: ImportConfig,
    pub renewal: RenewalConfig,
    pub requests: RequestsConfig,
    pub log: LogConfig,
    pub console: ConsoleConfig,
}

/// `[console]`: the web console (`allot dev` serves it beside gRPC;
/// `allot serve console` on its own).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsoleConfig {
    /// Where the console serves HTTP (HTTPS with `tls.cert_file`).
    pub listen: SocketAddr,
    /// A file of 64 random bytes that seals the console's cookies; every
    /// console process of a deployment shares it. `allot dev` creates one
    /// under `data_dir`; `allot keygen` writes one.
    pub cookie_key_file: Option<PathBuf>,
    /// Behind the front door: the browser's address comes from its
    /// `X-Real-IP` header (for the sign-in throttle), not the connection.
    pub behind_proxy: bool,
    /// `allot dev` serves the console too.
    pub enabled: bool,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            cookie_key_file: None,
            behind_proxy: false,
            enabled: true,
        }
    }
}

/// Where the other services are, for `allot serve`. Empty means "this
/// process" (as in `allot dev`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Peers {
    pub identity: Option<String>,
    pub team: Option<String>,
    pub entitlement: Option<String>,
    pub notification: Option<String>,
}

/// A database URL per service; each overrides `database_url`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Databases {
    pub identity: Option<String>,
    pub team: Option<String>,
    pub entitlement: Option<String>,
    pub notification: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// PKCS#8 PEM file with the Ed25519 key identity signs tokens with.
    /// `allot dev` creates one under `data_dir`; `allot serve identity`
    /// requires it.
    pub signing_key_file: Option<PathBuf>,
    /// Keys tokens were signed with before the current one: still trusted
    /// (published to the other services) but never signed with. Keep the
    /// old key here for one `token_ttl` after a rotation.
    pub previous_signing_key_files: Vec<PathBuf>,
    /// Shared secret of the `allot-internal` service account the services use
    /// to call each other. Required by `allot serve`; `allot dev` makes one
    /// per start.
    pub internal_secret: Option<String>,
    /// Lifetime of issued bearer tokens.
    #[serde(with = "humantime_serde")]
    pub token_ttl: Duration,
    /// How long a person stays signed in at most (R-AUTH-2): a session's
    /// tokens are renewed (`RefreshSession`) until this long after signing
    /// in; then they sign in again.
    #[serde(with = "humantime_serde")]
    pub session_max_age: Duration,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BootstrapConfig {
    /// Email of the administrator created on first start.
    pub admin_email: String,
    /// Client id of their credential.
    pub admin_client_id: String,
    /// Their client secret. Empty in `allot dev`: one is generated and
    /// printed once.
    pub admin_secret: Option<String>,
    /// Their first password, to sign in to the console (R-AUTH-1's rules
    /// apply). Set only while they have none: a password they chose later
    /// is kept. Without it, `allot dev` prints a link to choose one.
    pub admin_password: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InvitationConfig {
    /// How long an invitation can be accepted (R-INV-2).
    #[serde(with = "humantime_serde")]
    pub ttl: Duration,
    /// 32-byte secret (in a file) from which accept tokens are derived.
    /// `allot dev` creates one under `data_dir`.
    pub key_file: Option<PathBuf>,
    /// The most invitations one team sends in an hour (R-INV-1: nobody
    /// mails thousands of strangers); room for one full import.
    pub max_per_team_per_hour: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutboxConfig {
    /// Events older than this are pruned; a Watch cursor before them gets
    /// OUT_OF_RANGE.
    #[serde(with = "humantime_serde")]
    pub retention: Duration,
    /// How often the sequencer looks for events committed by other processes.
    #[serde(with = "humantime_serde")]
    pub poll_interval: Duration,
    /// How often an idle Watch stream sends a checkpoint.
    #[serde(with = "humantime_serde")]
    pub checkpoint_interval: Duration,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeliveryConfig {
    /// Attempts before a delivery is dead; 0: no count, only `give_up_after`.
    pub max_attempts: u32,
    /// How long temporary failures are retried, from when the email was
    /// queued (R-MAIL-5: three days, as RFC 5321 senders keep trying).
    #[serde(with = "humantime_serde")]
    pub give_up_after: Duration,
    #[serde(with = "humantime_serde")]
    pub initial_backoff: Duration,
    #[serde(with = "humantime_serde")]
    pub max_backoff: Duration,
    /// How long one SMTP conversation may take.
    #[serde(with = "humantime_serde")]
    pub smtp_timeout: Duration,
    /// How long a sender holds a delivery it is sending; if the process dies
    /// meanwhile, another sender takes it over after this long (and may send
    /// it a second time, with the same Message-ID).
    #[serde(with = "humantime_serde")]
    pub lease: Duration,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RenewalConfig {
    /// How often entitlement looks for term contracts whose renewal
    /// reminders are due (R-MAIL-4).
    #[serde(with = "humantime_serde")]
    pub scan_interval: Duration,
}

impl Default for RenewalConfig {
    fn default() -> Self {
        RenewalConfig {
            scan_interval: Duration::from_secs(600),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImportConfig {
    /// Most rows a CSV import may have (R-INV-5).
    pub max_rows: usize,
}

/// Request ids on creates and adds (AIP-155).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RequestsConfig {
    /// How long a request id is remembered: a retry within it gets the
    /// first answer.
    #[serde(with = "humantime_serde")]
    pub retention: Duration,
}

impl Default for RequestsConfig {
    fn default() -> Self {
        RequestsConfig {
            retention: crate::idempotency::DEFAULT_RETENTION,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `text` or `json`.
    pub format: String,
    /// A tracing filter such as `info,allot=debug`; `RUST_LOG` wins.
    pub filter: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 50051)),
            metrics_listen: None,
            data_dir: PathBuf::from("data"),
            database_url: None,
            databases: Databases::default(),
            database_max_connections: 16,
            database_acquire_timeout: crate::db::ACQUIRE_TIMEOUT,
            smtp_url: None,
            mail_dir: None,
            mail_from: "Allot <no-reply@allot.localhost>".into(),
            public_url: "http://localhost:8080".into(),
            nats_url: None,
            peers: Peers::default(),
            tls: crate::tls::TlsConfig::default(),
            auth: AuthConfig::default(),
            bootstrap: BootstrapConfig::default(),
            invitation: InvitationConfig::default(),
            outbox: OutboxConfig::default(),
            delivery: DeliveryConfig::default(),
            import: ImportConfig::default(),
            renewal: RenewalConfig::default(),
            requests: RequestsConfig::default(),
            log: LogConfig::default(),
            console: ConsoleConfig::default(),
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            signing_key_file: None,
            previous_signing_key_files: Vec::new(),
            internal_secret: None,
            token_ttl: Duration::from_secs(3600),
            session_max_age: Duration::from_secs(12 * 3600),
        }
    }
}

impl Default for BootstrapConfig {
    fn default() -> Self {
        BootstrapConfig {
            admin_email: "admin@allot.localhost".into(),
            admin_client_id: "bootstrap-admin".into(),
            admin_secret: None,
            admin_password: None,
        }
    }
}

impl Default for InvitationConfig {
    fn default() -> Self {
        InvitationConfig {
            ttl: Duration::from_secs(7 * 24 * 3600),
            key_file: None,
            max_per_team_per_hour: 5000,
        }
    }
}

impl Default for OutboxConfig {
    fn default() -> Self {
        OutboxConfig {
            retention: Duration::from_secs(7 * 24 * 3600),
            poll_interval: Duration::from_millis(25),
            checkpoint_interval: Duration::from_secs(5),
        }
    }
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            max_attempts: 0,
            give_up_after: Duration::from_secs(3 * 24 * 3600),
            initial_backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(3600),
            smtp_timeout: Duration::from_secs(30),
            lease: Duration::from_secs(120),
        }
    }
}

impl Default for ImportConfig {
    fn default() -> Self {
        ImportConfig { max_rows: 5000 }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: "text".into(),
            filter: "info".into(),
        }
    }
}

/// A configuration that could not be read, in words an operator can act on.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(String);

impl ConfigError {
    pub fn new(message: impl Into<String>) -> Self {
        ConfigError(message.into())
    }
}

/// `ALLOT_*` variables that are not the server's: `ALLOT_CONFIG` names the
/// file, `ALLOT_TEST_*` belong to the test suite, and the rest are
/// allotctl's (the ones `allot dev` tells people to export), so having them
/// set never stops a server from starting. Any other unknown key is a typo
/// and is refused.
const NOT_SERVER_KEYS: &[&str] = &["config", "server", "credential", "context", "ca_file"];

fn not_server_configuration(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    NOT_SERVER_KEYS.contains(&key.as_str()) || key.starts_with("test_")
}

impl Config {
    /// Defaults, then `file` (if given, it must exist), then `ALLOT_*`.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            if !file.exists() {
                return Err(ConfigError(format!(
                    "configuration file {} does not exist",
                    file.display()
                )));
            }
            figment = figment.merge(Toml::file(file));
        }
        figment = figment.merge(
            Env::prefixed("ALLOT_")
                .filter(|k| {
                    let key = k.as_str().to_ascii_lowercase();
                    !not_server_configuration(&key) && !secrets::is_file_variant(&key)
                })
                .split("__"),
        );
        let mut config: Config = figment.extract().map_err(|e| ConfigError(e.to_string()))?;
        config.read_secret_files(|name| std::env::var(name).ok())?;
        Ok(config)
    }

    /// The database URL of `service`: the configured one, or a SQLite file
    /// under `data_dir` (created when missing).
    pub fn database_url_for(&self, service: &str) -> String {
        let own = match service {
            "identity" => &self.databases.identity,
            "team" => &self.databases.team,
            "entitlement" => &self.databases.entitlement,
            "notification" => &self.databases.notification,
            _ => &None,
        };
        match own.as_ref().or(self.database_url.as_ref()) {
            Some(url) if !url.is_empty() => url.clone(),
            _ => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join(format!("{service}.db")).display()
            ),
        }
    }

    pub fn mail_dir(&self) -> PathBuf {
        self.mail_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("mail"))
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's closures return figment::Error
mod tests {
    use super::*;

    #[test]
    fn environment_overrides_file_and_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "allot.toml",
                "listen = \"127.0.0.1:6000\"\n[invitation]\nttl = \"3d\"\n",
            )?;
            jail.set_env("ALLOT_SMTP_URL", "smtp://127.0.0.1:2525");
            jail.set_env("ALLOT_INVITATION__TTL", "90d");
            let c = Config::load(Some(Path::new("allot.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(c.listen.port(), 6000);
            assert_eq!(c.smtp_url.as_deref(), Some("smtp://127.0.0.1:2525"));
            assert_eq!(c.invitation.ttl, Duration::from_secs(90 * 24 * 3600));
            assert_eq!(c.auth.token_ttl, Duration::from_secs(3600));
            Ok(())
        });
    }

    #[test]
    fn test_suite_variables_are_not_configuration() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("ALLOT_TEST_POSTGRES_URL", "postgres://x");
            jail.set_env("ALLOT_CONFIG", "allot.toml");
            assert!(Config::load(None).is_ok());
            Ok(())
        });
    }

    #[test]
    fn allotctl_variables_never_stop_the_server() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("ALLOT_CREDENTIAL", "0199:secret");
            jail.set_env("ALLOT_SERVER", "http://127.0.0.1:50051");
            let c = Config::load(None).map_err(|e| e.to_string())?;
            assert_eq!(c.listen, Config::default().listen);
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_are_refused() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("ALLOT_LISTEN_ADRESS", "x");
            let err = Config::load(None).err().map(|e| e.to_string());
            assert!(err.unwrap_or_default().contains("listen_adress"));
            Ok(())
        });
    }

    #[test]
    fn sqlite_is_the_default_database() {
        let c = Config::default();
        assert_eq!(
            c.database_url_for("identity"),
            "sqlite://data/identity.db?mode=rwc"
        );
    }
}
