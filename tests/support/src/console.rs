//! The web console beside the services, for the browser tests: links in
//! emails open it, and the bootstrap administrator signs in with
//! [`ADMIN_PASSWORD`](crate::ADMIN_PASSWORD).

use super::*;

impl Env {
    /// All four services in one process, and the console.
    pub async fn with_console(backend: Backend) -> Env {
        Self::with_console_and(backend, |_| {}).await
    }

    /// The same, with a configuration change.
    pub async fn with_console_and(backend: Backend, change: impl FnOnce(&mut Config)) -> Env {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the console's port");
        let url = format!(
            "http://127.0.0.1:{}",
            listener.local_addr().expect("address").port()
        );
        let mut env = Env::in_process_with(backend, |c| {
            c.public_url = url;
            c.bootstrap.admin_password = Some(ADMIN_PASSWORD.into());
            change(c);
        })
        .await;
        let urls = allot_console::ServiceUrls {
            identity: env.urls.identity.clone(),
            team: env.urls.team.clone(),
            entitlement: env.urls.entitlement.clone(),
        };
        let console = allot::console::start_console(&env.config, &urls, true, Some(listener))
            .await
            .expect("the console starts");
        env.console = Some(console);
        env
    }

    /// Where the browser opens the console.
    pub fn console_url(&self) -> String {
        self.console
            .as_ref()
            .map(|c| c.url())
            .expect("started with Env::with_console")
    }
}

/// The public address the deployed console's links and cookies are for.
pub const DEPLOYED_PUBLIC_URL: &str = "https://front-door.allot.test";

impl Env {
    /// [`Env::deployed`]'s console: `allot serve console` with its own
    /// certificate, admitting the front door's only, calling the services
    /// over TLS, taking the browser's address from the front door.
    pub(crate) async fn spawn_console_process(&mut self) {
        let port = free_port();
        let d = self.deployed.as_ref().expect("deployed");
        let own = d.tls_dir.join("console");
        let ca = d.tls_dir.join("ca.pem");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self._dir.path().join("console.log"))
            .expect("log file");
        let child = ConsoleProcess(
            Command::new(allot_bin())
                .args(["serve", "console"])
                .env_clear()
                .env("PATH", std::env::var("PATH").unwrap_or_default())
                .env("ALLOT_CONSOLE__LISTEN", format!("127.0.0.1:{port}"))
                .env(
                    "ALLOT_CONSOLE__COOKIE_KEY_FILE",
                    self._dir.path().join("keys").join("console-cookie.key"),
                )
                .env("ALLOT_CONSOLE__BEHIND_PROXY", "true")
                .env("ALLOT_PUBLIC_URL", DEPLOYED_PUBLIC_URL)
                .env("ALLOT_PEERS__IDENTITY", &self.urls.identity)
                .env("ALLOT_PEERS__TEAM", &self.urls.team)
                .env("ALLOT_PEERS__ENTITLEMENT", &self.urls.entitlement)
                .env("ALLOT_TLS__CERT_FILE", own.join("cert.pem"))
                .env("ALLOT_TLS__KEY_FILE", own.join("key.pem"))
                .env("ALLOT_TLS__CA_FILE", &ca)
                .env("ALLOT_TLS__CLIENT_CA_FILE", &ca)
                .env(
                    "RUST_LOG",
                    std::env::var("ALLOT_TEST_LOG").unwrap_or_else(|_| "info".into()),
                )
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("log file"))
                .stderr(log)
                .spawn()
                .expect("start allot serve console"),
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "the console did not start: {}",
                std::fs::read_to_string(self._dir.path().join("console.log")).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if let Some(d) = self.deployed.as_mut() {
            d.console = Some((child, port));
        }
    }
}
