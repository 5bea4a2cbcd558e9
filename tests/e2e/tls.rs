//! TLS as deployed, and its mistakes: a server refuses certificates it
//! cannot use and plaintext off loopback before it listens; allotctl says
//! what to fix for a CA that did not sign the server's certificate and for
//! plaintext against a TLS server; a service admits only callers with a
//! certificate from the deployment's CA.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

use allot::certs::{Authority, names_for};

use crate::deployment::serve_team;
use crate::harness::{ADMIN_SECRET, Env, FrontDoor, INTERNAL_SECRET};

fn write(path: &Path, text: &str) -> String {
    std::fs::write(path, text).expect("write");
    path.to_string_lossy().into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_refuses_tls_it_cannot_use() {
    let dir = tempfile::tempdir().expect("temp dir");
    let tls = dir.path().join("tls");
    allot::certs::write(&tls, &["team".to_owned()], &[], false).expect("allot certs");
    let file = |p: &str| tls.join(p).to_string_lossy().into_owned();
    let (cert, key, ca) = (file("team/cert.pem"), file("team/key.pem"), file("ca.pem"));
    let secret = ("ALLOT_AUTH__INTERNAL_SECRET", INTERNAL_SECRET);

    // Plaintext on every interface: refused before it binds.
    let (ok, err) = serve_team(dir.path(), &[secret, ("ALLOT_LISTEN", "0.0.0.0:0")]);
    assert!(!ok, "served plaintext on every interface");
    assert!(
        err.contains("refusing to serve plaintext gRPC on 0.0.0.0:0")
            && err.contains("ALLOT_TLS__CERT_FILE"),
        "{err}"
    );

    // An expired certificate.
    let authority = Authority::load(
        std::fs::read_to_string(tls.join("ca.pem")).expect("ca.pem"),
        &std::fs::read_to_string(tls.join("ca.key")).expect("ca.key"),
    )
    .expect("the CA");
    let old = authority
        .issue_at(
            &names_for("team", &[]),
            SystemTime::now() - Duration::from_secs(3 * 86400),
            Duration::from_secs(86400),
        )
        .expect("an old certificate");
    let old_cert = write(&dir.path().join("old.pem"), &old.cert_pem);
    let old_key = write(&dir.path().join("old.key"), &old.key_pem);
    let (ok, err) = serve_team(
        dir.path(),
        &[
            secret,
            ("ALLOT_TLS__CERT_FILE", &old_cert),
            ("ALLOT_TLS__KEY_FILE", &old_key),
        ],
    );
    assert!(!ok, "served an expired certificate");
    assert!(
        err.contains("tls.cert_file expired") && err.contains("allot certs --renew"),
        "{err}"
    );

    // A CA that did not sign the certificate.
    let stranger = Authority::create().expect("another CA");
    let wrong_ca = write(&dir.path().join("wrong-ca.pem"), &stranger.cert_pem);
    let (ok, err) = serve_team(
        dir.path(),
        &[
            secret,
            ("ALLOT_TLS__CERT_FILE", &cert),
            ("ALLOT_TLS__KEY_FILE", &key),
            ("ALLOT_TLS__CA_FILE", &wrong_ca),
        ],
    );
    assert!(!ok, "started with a CA that did not sign its certificate");
    assert!(err.contains("not signed by the configured CA"), "{err}");

    // Half a pair, and a file that is not there.
    let (ok, err) = serve_team(dir.path(), &[secret, ("ALLOT_TLS__CERT_FILE", &cert)]);
    assert!(!ok && err.contains("tls.key_file is not"), "{err}");
    let (ok, err) = serve_team(
        dir.path(),
        &[
            secret,
            ("ALLOT_TLS__CERT_FILE", &cert),
            ("ALLOT_TLS__KEY_FILE", "/nonexistent/key.pem"),
        ],
    );
    assert!(
        !ok && err.contains("tls.key_file /nonexistent/key.pem cannot be read"),
        "{err}"
    );

    // Signing keys and calls only over a verified channel: a plaintext
    // peer on another host is refused.
    let (ok, err) = serve_team(
        dir.path(),
        &[
            secret,
            ("ALLOT_TLS__CERT_FILE", &cert),
            ("ALLOT_TLS__KEY_FILE", &key),
            ("ALLOT_TLS__CA_FILE", &ca),
            ("ALLOT_PEERS__IDENTITY", "http://identity.internal:50051"),
        ],
    );
    assert!(!ok, "fetched keys over plaintext from another host");
    assert!(
        err.contains("peers.identity") && err.contains("plaintext to another host"),
        "{err}"
    );
    assert!(
        !dir.path().join("team.db").exists(),
        "nothing was written before a refusal"
    );
}

fn allotctl(server: &str, ca_file: Option<&str>, args: &[&str]) -> (bool, String) {
    let path = Path::new(env!("CARGO_BIN_EXE_allot")).with_file_name("allotctl");
    let mut cmd = Command::new(path);
    cmd.args(args)
        .env_remove("ALLOT_CA_FILE")
        .env("ALLOT_SERVER", server)
        .env(
            "ALLOT_CREDENTIAL",
            format!("bootstrap-admin:{ADMIN_SECRET}"),
        );
    if let Some(ca) = ca_file {
        cmd.env("ALLOT_CA_FILE", ca);
    }
    let out = cmd.output().expect("run allotctl");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allotctl_says_what_to_fix_when_tls_does_not_fit() {
    let env = Env::deployed(&[]).await;
    let door = FrontDoor::start(&env);
    let d = env.deployment().expect("deployed");
    let ca = d.tls_dir.join("ca.pem").to_string_lossy().into_owned();
    let (ok, err) = allotctl(&door.url(), Some(&ca), &["team", "list"]);
    assert!(ok, "the deployment's CA is trusted: {err}");

    let dir = tempfile::tempdir().expect("temp dir");
    let stranger = Authority::create().expect("another CA");
    let wrong = write(&dir.path().join("wrong.pem"), &stranger.cert_pem);
    let (ok, err) = allotctl(&door.url(), Some(&wrong), &["team", "list"]);
    assert!(!ok, "trusted a certificate another CA signed");
    assert!(err.contains("--ca-file"), "{err}");

    let plaintext = door.url().replace("https://", "http://");
    let (ok, err) = allotctl(&plaintext, None, &["team", "list"]);
    assert!(!ok, "plaintext against a TLS server");
    assert!(err.contains("https://"), "{err}");

    // Past the front door, a service admits only callers that show a
    // certificate the deployment's CA signed.
    let (ok, err) = allotctl(&env.urls.team, Some(&ca), &["team", "list"]);
    assert!(
        !ok,
        "a service admitted a caller without a client certificate"
    );
    assert!(err.contains("use the front door's address"), "{err}");
    env.shutdown().await;
}

/// As deployed, each service connects to its database with a role of its
/// own, over TLS checked against the database server's CA
/// (`sslmode=verify-full`), and that role cannot reach another service's
/// database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_service_reaches_only_its_own_database_over_tls() {
    use sqlx::Connection;
    let env = Env::deployed(&[]).await;
    let d = env.deployment().expect("deployed");
    let url_of = |kind: allot::ServiceKind| {
        d.database_urls
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, u)| u.clone())
            .expect("a database per service")
    };
    let team = url_of(allot::ServiceKind::Team);
    let identity = url_of(allot::ServiceKind::Identity);
    let role = |url: &str| {
        url.trim_start_matches("postgres://")
            .split(':')
            .next()
            .unwrap_or_default()
            .to_owned()
    };
    let admin = allot_platform::testing::postgres_admin_url();
    let mut conn = sqlx::PgConnection::connect(&format!("{admin}/postgres"))
        .await
        .expect("connect as the superuser");
    let (with_tls, without): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE s.ssl), count(*) FILTER (WHERE NOT s.ssl) \
         FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) WHERE a.usename = $1",
    )
    .bind(role(&team))
    .fetch_one(&mut conn)
    .await
    .expect("the team service's connections");
    assert!(with_tls > 0, "team connects as its own role");
    if allot_platform::testing::postgres_ca().is_some() {
        assert_eq!(without, 0, "every connection of team's role is TLS");
        assert!(team.contains("sslmode=verify-full"), "{team}");
    }
    // Team's role, pointed at identity's database, is turned away.
    let (_, identity_db) = identity.split_once('@').expect("a host");
    let identity_db = identity_db.split('/').nth(1).expect("a database");
    let intruder = team.replacen(
        &format!("/{}", team.split('/').nth(3).expect("a database")),
        &format!("/{identity_db}"),
        1,
    );
    let refused = sqlx::PgConnection::connect(&intruder).await;
    let err = refused.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        err.contains("permission denied for database"),
        "team's role reached identity's database: {err}"
    );
    env.shutdown().await;
}
