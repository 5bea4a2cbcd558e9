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
