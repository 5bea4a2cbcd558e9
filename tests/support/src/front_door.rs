//! The front door as deployed: Debian's nginx in front of the
//! one-process-per-service topology, from the template docker-compose uses
//! (`deploy/nginx/allot.conf.template`).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use allot_platform::testing::free_port;

use crate::Env;

/// nginx routing each service's calls to its process.
pub struct FrontDoor {
    port: u16,
    child: Child,
    _dir: tempfile::TempDir,
}

impl FrontDoor {
    /// Starts nginx on a loopback port in front of the services of `env`
    /// ([`Env::deployed`]): TLS to callers with the front door's
    /// certificate, TLS to each service verified against the deployment's
    /// CA, showing the front door's client certificate.
    pub fn start(env: &Env) -> FrontDoor {
        let services = &env.urls;
        let deployment = env
            .deployment()
            .expect("the front door stands before Env::deployed");
        let tls_dir = &deployment.tls_dir;
        let console_port = deployment
            .console
            .as_ref()
            .map(|(_, p)| *p)
            .expect("the deployed console");
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let template = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../deploy/nginx/allot.conf.template"
        ))
        .expect("the front door's template");
        let upstream = |url: &str| url.trim_start_matches("https://").to_owned();
        let conf = template
            .replace("${ALLOT_FRONT_DOOR_LISTEN}", &format!("127.0.0.1:{port}"))
            .replace(
                "${ALLOT_FRONT_DOOR_TLS}",
                &tls_dir.join("front-door").display().to_string(),
            )
            .replace("${ALLOT_IDENTITY_UPSTREAM}", &upstream(&services.identity))
            .replace("${ALLOT_TEAM_UPSTREAM}", &upstream(&services.team))
            .replace(
                "${ALLOT_ENTITLEMENT_UPSTREAM}",
                &upstream(&services.entitlement),
            )
            .replace(
                "${ALLOT_NOTIFICATION_UPSTREAM}",
                &upstream(&services.notification),
            )
            .replace(
                "${ALLOT_CONSOLE_UPSTREAM}",
                &format!("127.0.0.1:{console_port}"),
            )
            .replace(
                "${ALLOT_FRONT_DOOR_ACCESS_LOG}",
                &dir.path().join("access.log").display().to_string(),
            );
        assert!(!conf.contains("${"), "every placeholder is filled:\n{conf}");
        let d = dir.path().display();
        // One process, no workers: killing it leaves nothing behind.
        std::fs::write(dir.path().join("allot.conf"), conf).expect("write allot.conf");
        let main = format!(
            "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
             events {{ worker_connections 512; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n  \
             fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n  \
             include {d}/allot.conf;\n}}\n"
        );
        std::fs::write(dir.path().join("nginx.conf"), main).expect("write nginx.conf");
        let child = Command::new("nginx")
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(dir.path().join("nginx.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("stderr.log")).expect("stderr file"))
            .spawn()
            .expect("start nginx (apt-get install nginx, or run tests/run-all.sh)");
        let deadline = Instant::now() + Duration::from_secs(15);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            let log = std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default()
                + &std::fs::read_to_string(dir.path().join("stderr.log")).unwrap_or_default();
            assert!(Instant::now() < deadline, "nginx did not start:\n{log}");
            std::thread::sleep(Duration::from_millis(20));
        }
        FrontDoor {
            port,
            child,
            _dir: dir,
        }
    }

    /// What nginx wrote to its access log.
    pub fn access_log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("access.log")).unwrap_or_default()
    }

    /// The front door's certificate, for a browser to pin.
    pub fn certificate(env: &Env) -> std::path::PathBuf {
        env.deployment()
            .expect("deployed")
            .tls_dir
            .join("front-door")
            .join("cert.pem")
    }

    /// `https://127.0.0.1:{port}`: every service at one address.
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }
}

impl Drop for FrontDoor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
