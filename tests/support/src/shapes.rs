//! The three shapes Allot runs in for a test (one process, notification
//! apart, one OS process per service) and their lifecycle: stop, kill,
//! restart, wait until serving, shut down.

use super::*;

impl Env {
    /// All four services in one process.
    pub async fn in_process(backend: Backend) -> Env {
        Self::in_process_with(backend, |_| {}).await
    }

    /// All four in one process, with a configuration change.
    pub async fn in_process_with(backend: Backend, change: impl FnOnce(&mut Config)) -> Env {
        init_tracing();
        let dir = tempfile::tempdir().expect("temp dir");
        let smtp = SmtpSink::start();
        let mut config = test_config(backend, dir.path(), &smtp).await;
        change(&mut config);
        let clock = SystemClock::shared();
        let running = start_in_process(&config, ServiceKind::ALL.to_vec(), clock.clone()).await;
        let urls = Urls::same(&running.url());
        let client_id = running
            .bootstrap
            .as_ref()
            .map(|b| b.client_id.clone())
            .expect("bootstrap administrator created");
        let env = Env {
            smtp,
            urls,
            clock,
            config,
            admin_client_id: client_id,
            shape: Shape::InProcess {
                main: Some(Box::new(running)),
                notification: None,
            },
            extra_env: Vec::new(),
            deployed: None,
            console: None,
            _dir: dir,
        };
        env.wait_serving().await;
        env
    }

    /// Identity, team and entitlement in one process, notification in
    /// another (same OS process, own server and port) so it can be stopped.
    pub async fn split_notification(backend: Backend) -> Env {
        init_tracing();
        let dir = tempfile::tempdir().expect("temp dir");
        let smtp = SmtpSink::start();
        let mut config = test_config(backend, dir.path(), &smtp).await;
        let clock = SystemClock::shared();
        let main = start_in_process(
            &config,
            vec![
                ServiceKind::Identity,
                ServiceKind::Team,
                ServiceKind::Entitlement,
            ],
            clock.clone(),
        )
        .await;
        config.peers.identity = Some(main.url());
        config.peers.team = Some(main.url());
        config.peers.entitlement = Some(main.url());
        let notification =
            start_in_process(&config, vec![ServiceKind::Notification], clock.clone()).await;
        let mut urls = Urls::same(&main.url());
        urls.notification = notification.url();
        let client_id = main
            .bootstrap
            .as_ref()
            .map(|b| b.client_id.clone())
            .expect("bootstrap");
        let env = Env {
            smtp,
            urls,
            clock,
            config,
            admin_client_id: client_id,
            shape: Shape::InProcess {
                main: Some(Box::new(main)),
                notification: Some(Box::new(notification)),
            },
            extra_env: Vec::new(),
            deployed: None,
            console: None,
            _dir: dir,
        };
        env.wait_serving().await;
        env
    }

    /// Every service in its own OS process (`allot serve`), as deployed.
    pub async fn processes(backend: Backend, extra_env: &[(&str, &str)]) -> Env {
        Self::processes_as(backend, extra_env, false).await
    }

    /// Every service in its own OS process on PostgreSQL, as docker-compose
    /// deploys them: see [`Deployed`].
    pub async fn deployed(extra_env: &[(&str, &str)]) -> Env {
        Self::processes_as(Backend::Postgres, extra_env, true).await
    }

    async fn processes_as(backend: Backend, extra_env: &[(&str, &str)], deploy: bool) -> Env {
        init_tracing();
        let dir = tempfile::tempdir().expect("temp dir");
        let smtp = SmtpSink::start();
        let config = test_config(backend, dir.path(), &smtp).await;
        let deployed = if deploy {
            Some(deploy_extras(dir.path(), &config).await)
        } else {
            None
        };
        let scheme = if deploy { "https" } else { "http" };
        let keys = dir.path().join("keys");
        let status = Command::new(allot_bin())
            .args(["keygen", "--dir"])
            .arg(&keys)
            .stdout(Stdio::null())
            .status()
            .expect("run allot keygen");
        assert!(status.success(), "allot keygen failed");
        let ports: Vec<(ServiceKind, u16)> =
            ServiceKind::ALL.iter().map(|k| (*k, free_port())).collect();
        let url_of = |k: ServiceKind| {
            let port = ports
                .iter()
                .find(|(s, _)| *s == k)
                .map(|(_, p)| *p)
                .unwrap_or_default();
            format!("{scheme}://127.0.0.1:{port}")
        };
        let urls = Urls {
            identity: url_of(ServiceKind::Identity),
            team: url_of(ServiceKind::Team),
            entitlement: url_of(ServiceKind::Entitlement),
            notification: url_of(ServiceKind::Notification),
        };
        let mut env = Env {
            smtp,
            urls,
            clock: SystemClock::shared(),
            config,
            admin_client_id: "bootstrap-admin".into(),
            shape: Shape::Processes(Vec::new()),
            extra_env: extra_env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            deployed,
            console: None,
            _dir: dir,
        };
        let children = ports
            .iter()
            .map(|(kind, port)| (*kind, env.spawn_process(*kind, *port), *port))
            .collect();
        env.shape = Shape::Processes(children);
        env.wait_serving().await;
        if env.deployed.is_some() {
            env.spawn_console_process().await;
        }
        env
    }

    fn spawn_process(&self, kind: ServiceKind, port: u16) -> Child {
        self.spawn_process_with(kind, port, &[])
    }

    fn spawn_process_with(
        &self,
        kind: ServiceKind,
        port: u16,
        overrides: &[(&str, &str)],
    ) -> Child {
        let keys = self._dir.path().join("keys");
        let c = &self.config;
        let db = c.database_url_for(kind.name());
        let log_path: PathBuf = self._dir.path().join(format!("{}.log", kind.name()));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .expect("log file");
        let mut cmd = Command::new(allot_bin());
        cmd.args(["serve", kind.name()])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("ALLOT_LISTEN", format!("127.0.0.1:{port}"))
            .env("ALLOT_DATA_DIR", self._dir.path())
            .env("ALLOT_DATABASE_URL", db)
            .env("ALLOT_DATABASE_MAX_CONNECTIONS", "8")
            .env("ALLOT_DATABASE_ACQUIRE_TIMEOUT", "30s")
            .env("ALLOT_SMTP_URL", self.smtp.url())
            .env("ALLOT_PUBLIC_URL", &c.public_url)
            .env("ALLOT_AUTH__SIGNING_KEY_FILE", keys.join("signing.pem"))
            .env("ALLOT_INVITATION__KEY_FILE", keys.join("invitation.key"))
            .env("ALLOT_AUTH__INTERNAL_SECRET", INTERNAL_SECRET)
            .env("ALLOT_BOOTSTRAP__ADMIN_EMAIL", ADMIN_EMAIL)
            .env("ALLOT_BOOTSTRAP__ADMIN_SECRET", ADMIN_SECRET)
            .env("ALLOT_PEERS__IDENTITY", &self.urls.identity)
            .env("ALLOT_PEERS__TEAM", &self.urls.team)
            .env("ALLOT_PEERS__ENTITLEMENT", &self.urls.entitlement)
            .env("ALLOT_PEERS__NOTIFICATION", &self.urls.notification)
            .env("ALLOT_DELIVERY__INITIAL_BACKOFF", "100ms")
            .env("ALLOT_DELIVERY__MAX_BACKOFF", "500ms")
            .env("ALLOT_OUTBOX__POLL_INTERVAL", "20ms")
            .env("ALLOT_OUTBOX__CHECKPOINT_INTERVAL", "500ms")
            .env(
                "RUST_LOG",
                std::env::var("ALLOT_TEST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log);
        if let Some(d) = &self.deployed {
            let own = d.tls_dir.join(kind.name());
            let ca = d.tls_dir.join("ca.pem");
            let db = d
                .database_urls
                .iter()
                .find(|(k, _)| *k == kind)
                .map(|(_, u)| u.clone())
                .expect("a database role per service");
            cmd.env("ALLOT_DATABASE_URL", db)
                .env("ALLOT_TLS__CERT_FILE", own.join("cert.pem"))
                .env("ALLOT_TLS__KEY_FILE", own.join("key.pem"))
                .env("ALLOT_TLS__CA_FILE", &ca)
                .env("ALLOT_TLS__CLIENT_CA_FILE", &ca)
                .env("ALLOT_NATS_URL", &d.nats_url);
            if let Some((_, port)) = d.metrics_ports.iter().find(|(k, _)| *k == kind) {
                cmd.env("ALLOT_METRICS_LISTEN", format!("127.0.0.1:{port}"));
            }
        }
        for (k, v) in &self.extra_env {
            cmd.env(k, v);
        }
        for (k, v) in overrides {
            cmd.env(k, v);
        }
        cmd.spawn().expect("start allot serve")
    }

    /// The OS process of each service ([`Env::processes`]), for
    /// measuring their memory.
    pub fn process_ids(&self) -> Vec<(ServiceKind, u32)> {
        match &self.shape {
            Shape::Processes(children) => children
                .iter()
                .map(|(kind, child, _)| (*kind, child.id()))
                .collect(),
            Shape::InProcess { .. } => Vec::new(),
        }
    }

    /// The deployment's TLS, roles and NATS, when it is [`Env::deployed`].
    pub fn deployment(&self) -> Option<&Deployed> {
        self.deployed.as_ref()
    }

    /// Stops the notification service (the process, or its server).
    pub async fn stop_notification(&mut self) {
        match &mut self.shape {
            Shape::InProcess { notification, .. } => {
                if let Some(n) = notification.take() {
                    (*n).shutdown().await;
                }
            }
            Shape::Processes(_) => self.kill(ServiceKind::Notification),
        }
    }

    /// Kills a service's process at once (SIGKILL: nothing is cleaned up).
    pub fn kill(&mut self, which: ServiceKind) {
        let Shape::Processes(children) = &mut self.shape else {
            panic!("kill needs Env::processes");
        };
        for (kind, child, _) in children.iter_mut() {
            if *kind == which {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }

    /// Starts a killed service's process again on its port and database,
    /// and waits until every service serves.
    pub async fn restart(&mut self, which: ServiceKind) {
        let Shape::Processes(children) = &mut self.shape else {
            panic!("restart needs Env::processes");
        };
        let mut children = std::mem::take(children);
        let port = port_of(&children, which);
        children.retain(|(k, _, _)| *k != which);
        children.push((which, self.spawn_process(which, port), port));
        self.shape = Shape::Processes(children);
        self.wait_serving().await;
    }

    /// Stops every service of [`Env::in_process`] and starts them again on
    /// the same databases and configuration (on a new port).
    pub async fn restart_in_process(&mut self) {
        let Shape::InProcess { main, notification } = &mut self.shape else {
            panic!("restart_in_process needs Env::in_process");
        };
        if let Some(n) = notification.take() {
            (*n).shutdown().await;
        }
        if let Some(m) = main.take() {
            (*m).shutdown().await;
        }
        let running =
            start_in_process(&self.config, ServiceKind::ALL.to_vec(), self.clock.clone()).await;
        self.urls = Urls::same(&running.url());
        *main = Some(Box::new(running));
        self.wait_serving().await;
    }

    /// Stops one service's process and starts it again with some settings
    /// changed (say, reaching a peer through a [`Gate`](crate::Gate)).
    pub async fn restart_with(&mut self, which: ServiceKind, overrides: &[(&str, &str)]) {
        let Shape::Processes(children) = &mut self.shape else {
            panic!("restart_with needs Env::processes");
        };
        let mut children = std::mem::take(children);
        let port = port_of(&children, which);
        for (kind, child, _) in children.iter_mut() {
            if *kind == which {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        children.retain(|(k, _, _)| *k != which);
        children.push((which, self.spawn_process_with(which, port, overrides), port));
        self.shape = Shape::Processes(children);
        self.wait_serving().await;
    }

    /// Starts the notification service again on the same database.
    pub async fn start_notification(&mut self) {
        match &self.shape {
            Shape::InProcess { main, .. } => {
                let main_url = main.as_ref().map(|m| m.url()).expect("main running");
                let mut config = self.config.clone();
                config.peers.identity = Some(main_url.clone());
                config.peers.team = Some(main_url.clone());
                config.peers.entitlement = Some(main_url);
                let n =
                    start_in_process(&config, vec![ServiceKind::Notification], self.clock.clone())
                        .await;
                self.urls.notification = n.url();
                if let Shape::InProcess { notification, .. } = &mut self.shape {
                    *notification = Some(Box::new(n));
                }
            }
            Shape::Processes(_) => return self.restart(ServiceKind::Notification).await,
        }
        self.wait_serving().await;
    }

    /// Waits until every service answers health with SERVING.
    pub async fn wait_serving(&self) {
        use tonic_health::pb::health_client::HealthClient;
        use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};
        let targets = [
            (&self.urls.identity, allot_identity::SERVICE_NAME),
            (&self.urls.team, "allot.team.v1.TeamService"),
            (
                &self.urls.entitlement,
                "allot.entitlement.v1.EntitlementService",
            ),
            (
                &self.urls.notification,
                "allot.notification.v1.NotificationService",
            ),
        ];
        let deadline = Instant::now() + Duration::from_secs(30);
        for (url, service) in targets {
            loop {
                let ok = async {
                    let ch = self.endpoint(url).connect().await.ok()?;
                    let r = HealthClient::new(ch)
                        .check(HealthCheckRequest {
                            service: service.into(),
                        })
                        .await
                        .ok()?;
                    (r.into_inner().status == ServingStatus::Serving as i32).then_some(())
                }
                .await;
                if ok.is_some() {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "{service} at {url} did not become SERVING: {}",
                    self.logs()
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    /// The whole log of one service's process ([`Env::processes`]).
    pub fn log_of(&self, kind: ServiceKind) -> String {
        let p = self._dir.path().join(format!("{}.log", kind.name()));
        std::fs::read_to_string(p).unwrap_or_default()
    }

    /// The logs of the service processes, for failure messages.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        if let Shape::Processes(children) = &self.shape {
            for (kind, _, _) in children {
                let p = self._dir.path().join(format!("{}.log", kind.name()));
                let text = std::fs::read_to_string(p).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(30).collect();
                out.push_str(&format!("\n--- {} ---\n", kind.name()));
                for l in tail.iter().rev() {
                    out.push_str(l);
                    out.push('\n');
                }
            }
        }
        out
    }

    pub async fn shutdown(mut self) {
        if let Some(c) = self.console.take() {
            c.shutdown().await;
        }
        match &mut self.shape {
            Shape::InProcess { main, notification } => {
                if let Some(n) = notification.take() {
                    (*n).shutdown().await;
                }
                if let Some(m) = main.take() {
                    (*m).shutdown().await;
                }
            }
            Shape::Processes(children) => {
                for (_, child, _) in children.iter_mut() {
                    let _ = child.kill();
                    let _ = child.wait();
                }
            }
        }
    }
}

/// The NATS user and password of [`Env::deployed`].
pub const NATS_USER: &str = "allot";
pub const NATS_PASSWORD: &str = "nats-password-for-tests-only-0123456789";

/// Certificates by `allot certs`, a role per service's database, NATS with
/// a password.
async fn deploy_extras(dir: &std::path::Path, config: &Config) -> Deployed {
    let tls_dir = dir.join("tls");
    let mut hosts: Vec<String> = ServiceKind::ALL
        .iter()
        .map(|k| k.name().to_owned())
        .collect();
    hosts.push("console".into());
    hosts.push("front-door".into());
    allot::certs::write(&tls_dir, &hosts, &[], false).expect("allot certs");
    let ca = allot_platform::testing::postgres_ca();
    if ca.is_none() && std::env::var_os("CI").is_some() {
        panic!("ALLOT_TEST_POSTGRES_CA is not set: the test command starts PostgreSQL with TLS");
    }
    let mut database_urls = Vec::new();
    for kind in ServiceKind::ALL {
        let admin_url = config.database_url_for(kind.name());
        let own = allot_platform::testing::own_role(&admin_url, ca.as_deref()).await;
        database_urls.push((kind, own));
    }
    let nats = NatsServer::start_with_user(NATS_USER, NATS_PASSWORD);
    let nats_url = nats.url_as(NATS_USER, NATS_PASSWORD);
    Deployed {
        tls_dir,
        database_urls,
        nats,
        nats_url,
        metrics_ports: ServiceKind::ALL.iter().map(|k| (*k, free_port())).collect(),
        console: None,
    }
}

/// The port a service's process listens on.
fn port_of(children: &[(ServiceKind, Child, u16)], which: ServiceKind) -> u16 {
    children
        .iter()
        .find(|(k, _, _)| *k == which)
        .map(|(_, _, p)| *p)
        .expect("the service's port")
}
