//! What integration tests need from the real world: a fresh database per
//! service and test on SQLite or PostgreSQL, and a real SMTP server whose
//! mailbox can be read. Only built with the `testing` feature.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::TcpListener as StdListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sqlx::Connection;

/// The database kinds every store test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server the test command started, as an admin URL without
/// a database name (`postgres://postgres@127.0.0.1:55432`).
pub fn postgres_admin_url() -> String {
    std::env::var("ALLOT_TEST_POSTGRES_URL").unwrap_or_else(|_| {
        panic!(
            "ALLOT_TEST_POSTGRES_URL is not set: run the suite with `bash tests/run-all.sh`, \
             which starts PostgreSQL, or point it at a server you started"
        )
    })
}

/// A fresh database for `service`, returning its URL. SQLite files go
/// under `dir`.
pub async fn fresh_database(backend: Backend, dir: &Path, service: &str) -> String {
    match backend {
        Backend::Sqlite => format!(
            "sqlite://{}?mode=rwc",
            dir.join(format!("{service}.db")).display()
        ),
        Backend::Postgres => {
            sqlx::any::install_default_drivers();
            let admin = postgres_admin_url();
            let name = format!("t_{}_{service}", crate::ids::new_id());
            let mut conn = sqlx::AnyConnection::connect(&format!("{admin}/postgres"))
                .await
                .expect("connect to the test PostgreSQL server");
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
                .execute(&mut conn)
                .await
                .expect("create a test database");
            let _ = conn.close().await;
            format!("{admin}/{name}")
        }
    }
}

/// Drops a database [`fresh_database`] made on PostgreSQL, with whatever
/// connections still reach it; SQLite files go with their folder.
pub async fn drop_database(url: &str) {
    let admin = postgres_admin_url();
    let Some(name) = url.strip_prefix(&format!("{admin}/")).filter(|n| {
        n.starts_with("t_") && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    }) else {
        return;
    };
    sqlx::any::install_default_drivers();
    if let Ok(mut conn) = sqlx::AnyConnection::connect(&format!("{admin}/postgres")).await {
        let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut conn)
            .await;
        // The database's own role, when it had one (`own_role`).
        let sql = format!("DROP ROLE IF EXISTS \"{name}\"");
        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut conn)
            .await;
        let _ = conn.close().await;
    }
}

/// Gives a database [`fresh_database`] made on PostgreSQL a role of its
/// own, as `deploy/postgres-init.sh` does: the role owns the database, and
/// no other role but the superuser may connect to it. Returns the URL the
/// service connects with, `?sslmode=verify-full` against `ca_file` when
/// given.
pub async fn own_role(url: &str, ca_file: Option<&Path>) -> String {
    let admin = postgres_admin_url();
    let name = url
        .strip_prefix(&format!("{admin}/"))
        .expect("a database fresh_database made");
    let password = format!("pw-{}", crate::ids::new_id());
    let mut conn = sqlx::AnyConnection::connect(&format!("{admin}/postgres"))
        .await
        .expect("connect to the test PostgreSQL server");
    for sql in [
        format!("CREATE ROLE \"{name}\" LOGIN PASSWORD '{password}'"),
        format!("ALTER DATABASE \"{name}\" OWNER TO \"{name}\""),
        format!("REVOKE ALL ON DATABASE \"{name}\" FROM PUBLIC"),
    ] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut conn)
            .await
            .expect("give the database its own role");
    }
    let _ = conn.close().await;
    let host = admin
        .rsplit('@')
        .next()
        .expect("the admin URL names its host");
    let mut own = format!("postgres://{name}:{password}@{host}/{name}");
    if let Some(ca) = ca_file {
        own.push_str(&format!(
            "?sslmode=verify-full&sslrootcert={}",
            ca.display()
        ));
    }
    own
}

/// The CA of the test PostgreSQL server's certificate, when the test
/// command started it with TLS (`ALLOT_TEST_POSTGRES_CA`).
pub fn postgres_ca() -> Option<PathBuf> {
    std::env::var_os("ALLOT_TEST_POSTGRES_CA").map(PathBuf::from)
}

/// A free loopback port (bound and released) for a server a test starts.
/// It is picked at random below Linux's ephemeral range (32768 and up):
/// a port from that range can be taken by any outgoing connection in the
/// moment between this check and the server's own bind, which parallel
/// tests with browsers and databases make likely.
pub fn free_port() -> u16 {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    for _ in 0..200 {
        let port = rng.gen_range(20_000..32_000);
        if StdListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    StdListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A real SMTP server (Python's aiosmtpd) storing what it receives in a
/// Maildir. It can be stopped and started again on the same port, to test
/// outages.
pub struct SmtpSink {
    port: u16,
    maildir: PathBuf,
    child: Option<Child>,
    _dir: tempfile::TempDir,
}

impl std::fmt::Debug for SmtpSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSink")
            .field("port", &self.port)
            .finish()
    }
}

/// One message as the SMTP server stored it.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub raw: String,
}

impl ReceivedMail {
    /// The first value of a header, unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self
            .raw
            .split("\n\n")
            .next()
            .unwrap_or_default()
            .replace("\r\n", "\n");
        let mut value: Option<String> = None;
        for line in head.lines() {
            if let Some(v) = value.as_mut() {
                if line.starts_with(' ') || line.starts_with('\t') {
                    // Unfolding removes the line break, not the blank.
                    v.push_str(line);
                    continue;
                }
                break;
            }
            if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case(name)
            {
                value = Some(v.trim().to_owned());
            }
        }
        value
    }

    /// The message with quoted-printable soft breaks and escapes undone, so
    /// tests can look for links and words in it.
    pub fn decoded(&self) -> String {
        let text = self.raw.replace("\r\n", "\n").replace("=\n", "");
        let mut out = String::with_capacity(text.len());
        let bytes = text.as_bytes();
        let mut i = 0;
        let mut pending: Vec<u8> = Vec::new();
        while i < bytes.len() {
            if bytes[i] == b'='
                && i + 2 < bytes.len()
                && let Ok(b) = u8::from_str_radix(&text[i + 1..i + 3], 16)
            {
                pending.push(b);
                i += 3;
                continue;
            }
            if !pending.is_empty() {
                out.push_str(&String::from_utf8_lossy(&pending));
                pending.clear();
            }
            out.push(bytes[i] as char);
            i += 1;
        }
        out.push_str(&String::from_utf8_lossy(&pending));
        out
    }
}

/// aiosmtpd's Maildir handler, with two switches read from files next to
/// the Maildir: `reject` (addresses refused with 550) and `delay` (seconds
/// to wait after storing a message before answering).
const SINK_HANDLER: &str = r#"
import asyncio, os
from aiosmtpd.handlers import Mailbox

class Handler(Mailbox):
    def __init__(self, maildir):
        super().__init__(maildir)
        self.control = os.path.dirname(os.path.abspath(maildir))

    def _read(self, name):
        try:
            with open(os.path.join(self.control, name)) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        rejected = {a.strip().lower() for a in self._read("reject").splitlines() if a.strip()}
        if address.lower() in rejected:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        result = await super().handle_DATA(server, session, envelope)
        delay = self._read("delay").strip()
        if delay:
            await asyncio.sleep(float(delay))
        return result
"#;

impl SmtpSink {
    /// Starts a server on a free loopback port.
    pub fn start() -> SmtpSink {
        let dir = tempfile::tempdir().expect("temp dir");
        let maildir = dir.path().join("Maildir");
        let mut sink = SmtpSink {
            port: free_port(),
            maildir,
            child: None,
            _dir: dir,
        };
        sink.resume();
        sink
    }

    /// `smtp://127.0.0.1:{port}` for `ALLOT_SMTP_URL`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Stops the server; mail sent meanwhile is refused at the TCP level.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port, keeping the mailbox.
    pub fn resume(&mut self) {
        if self.child.is_some() {
            return;
        }
        let python = std::env::var("ALLOT_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
        let control = self._dir.path();
        std::fs::write(control.join("allot_sink.py"), SINK_HANDLER).expect("write the handler");
        let child = Command::new(python)
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{}", self.port),
                "-c",
                "allot_sink.Handler",
            ])
            .arg(&self.maildir)
            .env("PYTHONPATH", control)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start aiosmtpd (pip install aiosmtpd, or run tests/run-all.sh)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(15);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "aiosmtpd did not start on port {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Answers `550` to RCPT for these addresses (none when empty), as a
    /// server rejecting a mailbox permanently.
    pub fn reject(&self, addresses: &[&str]) {
        std::fs::write(self._dir.path().join("reject"), addresses.join("\n"))
            .expect("write the reject list");
    }

    /// Stores each message, then waits this long before answering `250`,
    /// so a test can kill a sender between sending and recording.
    pub fn delay_replies(&self, delay: Duration) {
        std::fs::write(
            self._dir.path().join("delay"),
            delay.as_secs_f64().to_string(),
        )
        .expect("write the delay");
    }

    /// Every message received so far.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            let Ok(entries) = std::fs::read_dir(self.maildir.join(sub)) else {
                continue;
            };
            let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
            paths.sort();
            for p in paths {
                if let Ok(raw) = std::fs::read_to_string(&p) {
                    out.push(ReceivedMail { raw });
                }
            }
        }
        out
    }

    /// How many messages arrived, without reading them.
    pub fn count(&self) -> usize {
        ["new", "cur"]
            .iter()
            .filter_map(|sub| std::fs::read_dir(self.maildir.join(sub)).ok())
            .map(Iterator::count)
            .sum()
    }

    /// Messages to `recipient`.
    pub fn messages_to(&self, recipient: &str) -> Vec<ReceivedMail> {
        self.messages()
            .into_iter()
            .filter(|m| {
                m.header("To")
                    .is_some_and(|to| to.to_lowercase().contains(&recipient.to_lowercase()))
            })
            .collect()
    }

    /// Waits until at least `count` messages reached `recipient`.
    pub async fn wait_for(
        &self,
        recipient: &str,
        count: usize,
        timeout: Duration,
    ) -> Vec<ReceivedMail> {
        let deadline = Instant::now() + timeout;
        loop {
            let found = self.messages_to(recipient);
            if found.len() >= count {
                return found;
            }
            assert!(
                Instant::now() < deadline,
                "expected {count} message(s) to {recipient} within {timeout:?}, found {}",
                found.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A real NATS server with JetStream (`nats-server -js`) on a free loopback
/// port, its store in a temporary folder.
pub struct NatsServer {
    port: u16,
    child: Child,
    _dir: tempfile::TempDir,
}

impl std::fmt::Debug for NatsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsServer")
            .field("port", &self.port)
            .finish()
    }
}

impl NatsServer {
    /// Starts a server with JetStream on a port the server picks itself
    /// (`-p -1`), read back from the ports file it writes.
    pub fn start() -> NatsServer {
        Self::start_with(&[])
    }

    /// Starts a server that admits only `user` with `password`, as
    /// docker-compose runs it.
    pub fn start_with_user(user: &str, password: &str) -> NatsServer {
        Self::start_with(&["--user", user, "--pass", password])
    }

    fn start_with(extra: &[&str]) -> NatsServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let ports = dir.path().join("ports");
        std::fs::create_dir(&ports).expect("ports folder");
        let child = Command::new("nats-server")
            .args(["-js", "-a", "127.0.0.1", "-p", "-1", "--ports_file_dir"])
            .arg(&ports)
            .args(extra)
            .arg("-sd")
            .arg(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nats-server (apt-get install nats-server, or run tests/run-all.sh)");
        let file = ports.join(format!("nats-server_{}.ports", child.id()));
        let deadline = Instant::now() + Duration::from_secs(15);
        let port = loop {
            if let Some(port) = std::fs::read_to_string(&file)
                .ok()
                .and_then(|text| nats_client_port(&text))
            {
                break port;
            }
            assert!(Instant::now() < deadline, "nats-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        };
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "nats-server did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
        NatsServer {
            port,
            child,
            _dir: dir,
        }
    }

    /// `nats://127.0.0.1:{port}` for `ALLOT_NATS_URL`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// `nats://user:password@127.0.0.1:{port}`.
    pub fn url_as(&self, user: &str, password: &str) -> String {
        format!("nats://{user}:{password}@127.0.0.1:{}", self.port)
    }
}

/// The client port in a nats-server ports file
/// (`{"nats":["nats://127.0.0.1:4222"]}`); `None` while it is being written.
fn nats_client_port(text: &str) -> Option<u16> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    let url = v.get("nats")?.get(0)?.as_str()?;
    url.rsplit(':').next()?.parse().ok()
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
