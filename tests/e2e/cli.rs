//! `allotctl` as an admin uses it, against a real server: import with the
//! outcome table, export, usage report as CSV and as a chart, seats under
//! the noun-verb name and the old flat one, watch.

use std::path::PathBuf;
use std::process::Command;

use allot_platform::testing::Backend;

use crate::entitlement::{Shop, assign};
use crate::harness::{ADMIN_EMAIL, ADMIN_SECRET, Env, FrontDoor, accept_token, unique_email};

fn allotctl() -> PathBuf {
    let path = std::path::Path::new(env!("CARGO_BIN_EXE_allot")).with_file_name("allotctl");
    assert!(
        path.exists(),
        "{} is missing: build the workspace first (cargo build --workspace)",
        path.display()
    );
    path
}

/// How allotctl finds Allot: the server (and the CA it checks an
/// `https://` one against) and credential in the environment, or only a
/// context file `allotctl login` wrote.
enum Ctl {
    Env {
        server: String,
        ca_file: Option<PathBuf>,
    },
    Context(PathBuf),
}

impl Ctl {
    fn at(server: &str) -> Ctl {
        Ctl::Env {
            server: server.to_owned(),
            ca_file: None,
        }
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(allotctl());
        cmd.env_remove("ALLOT_SERVER")
            .env_remove("ALLOT_CREDENTIAL")
            .env_remove("ALLOT_CA_FILE")
            .env_remove("ALLOT_CONTEXT");
        match self {
            Ctl::Env { server, ca_file } => {
                if let Some(ca) = ca_file {
                    cmd.env("ALLOT_CA_FILE", ca);
                }
                cmd.env("ALLOT_SERVER", server)
                    .env(
                        "ALLOT_CREDENTIAL",
                        format!("bootstrap-admin:{ADMIN_SECRET}"),
                    )
                    // No context file: the environment alone.
                    .env("ALLOTCTL_CONFIG", "/nonexistent/allotctl.json");
            }
            Ctl::Context(file) => {
                cmd.env("ALLOTCTL_CONFIG", file);
            }
        }
        cmd
    }

    fn run(&self, args: &[&str]) -> (bool, String, String) {
        let out = self.command().args(args).output().expect("run allotctl");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Runs `args` expecting a refusal: its exit code and its JSON error.
    fn refused(&self, args: &[&str]) -> (i32, serde_json::Value) {
        let out = self
            .command()
            .arg("--json")
            .args(args)
            .output()
            .expect("run allotctl");
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        let v = serde_json::from_str(err.trim()).unwrap_or_else(|_| panic!("a JSON error: {err}"));
        (out.status.code().unwrap_or_default(), v)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allotctl_imports_exports_and_reports() {
    let shop = Shop::open(Backend::Sqlite).await;
    let server = Ctl::at(&shop.env.urls.team);
    let shop = allotctl_tour(shop, &server).await;
    shop.env.shutdown().await;
}

/// The same tour as deployed: every service in its own process on
/// PostgreSQL, and allotctl given only the front door's address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allotctl_works_through_the_front_door() {
    let shop = Shop::on(Env::deployed(&[]).await).await;
    let door = FrontDoor::start(&shop.env);
    let dir = tempfile::tempdir().expect("dir");
    // Sign in once: the server, CA and credential are kept in a file only
    // its owner reads; every later command needs nothing else.
    let config = dir.path().join("allotctl.json");
    let ca = shop.env.deployment().map(|d| d.tls_dir.join("ca.pem"));
    let mut login = Ctl::Env {
        server: door.url(),
        ca_file: ca,
    }
    .command();
    let out = login
        .env("ALLOTCTL_CONFIG", &config)
        .args(["login", "--name", "deployed"])
        .output()
        .expect("run allotctl login");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&config)
        .expect("the context file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "only its owner reads the context file");
    let stored: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&config).expect("read")).expect("JSON");
    assert_eq!(stored["current"], "deployed");
    let token = stored["contexts"]["deployed"]["token"].clone();
    assert!(token.is_string(), "the token is kept: {stored}");
    let ctl = Ctl::Context(config.clone());
    let (ok, _, err) = ctl.run(&["team", "list"]);
    assert!(ok, "{err}");
    let again: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&config).expect("read")).expect("JSON");
    assert_eq!(
        again["contexts"]["deployed"]["token"], token,
        "the token is used again"
    );
    let shop = allotctl_tour(shop, &ctl).await;

    // /metrics of each process shows the tour: calls counted, a seat
    // taken, mail sent, every consumer back at its source's head.
    use crate::deployment::{sample, scrape};
    use allot::ServiceKind::{Entitlement, Identity, Notification, Team};
    shop.env.settled().await;
    let metrics = |k| scrape(shop.env.metrics_addr_of(k));
    let entitlement = metrics(Entitlement).await;
    let calls = sample(
        &entitlement,
        "rpc_server_requests_total{rpc_method=\"/allot.entitlement.v1.EntitlementService/AssignProducts\",rpc_grpc_status_code=\"0\"}",
    );
    assert!(
        calls.is_some_and(|n| n >= 1.0),
        "assignments counted:\n{entitlement}"
    );
    let team_id = shop.env.first_team().await.name;
    let team_id = team_id.trim_start_matches("teams/");
    let assigned = sample(
        &entitlement,
        &format!(
            "allot_pool_assigned{{service=\"entitlement\",team=\"{team_id}\",product=\"cad\"}}"
        ),
    );
    assert!(
        assigned.is_some_and(|n| n >= 3.0),
        "seats taken:\n{entitlement}"
    );
    let notification = metrics(Notification).await;
    let sent = sample(
        &notification,
        "allot_mail_deliveries{service=\"notification\",state=\"SENT\"}",
    );
    assert!(sent.is_some_and(|n| n >= 2.0), "mail sent:\n{notification}");
    let team = metrics(Team).await;
    let identity = metrics(Identity).await;
    for (source, text, consumer, reader) in [
        (
            &entitlement,
            "entitlement",
            "notification.entitlement-events",
            &notification,
        ),
        (&identity, "identity", "team.identity-events", &team),
        (&team, "team", "entitlement.team-events", &entitlement),
    ] {
        let head = sample(source, &format!("allot_outbox_head{{service=\"{text}\"}}"))
            .unwrap_or_else(|| panic!("{text}'s head:\n{source}"));
        let service = consumer.split('.').next().unwrap_or_default();
        let read = sample(
            reader,
            &format!("allot_consumer_position{{service=\"{service}\",consumer=\"{consumer}\"}}"),
        )
        .unwrap_or_else(|| panic!("{consumer}'s position:\n{reader}"));
        assert_eq!(read, head, "{consumer} has no lag once settled");
    }

    // The events reached NATS, which admits only Allot's user.
    let d = shop.env.deployment().expect("deployed");
    let stranger = async_nats::connect(d.nats.url()).await;
    assert!(
        stranger.is_err(),
        "NATS admitted a client without credentials"
    );
    let (options, addr) =
        allot_platform::relay::connect_options(&d.nats_url).expect("the NATS URL");
    let js = async_nats::jetstream::new(
        options
            .connect(addr)
            .await
            .expect("connect to NATS as allot"),
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let published = match js.get_stream("ALLOT").await {
            Ok(mut stream) => stream.info().await.map(|i| i.state.messages).unwrap_or(0),
            Err(_) => 0,
        };
        if published > 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no event reached JetStream:\n{}",
            shop.env.logs()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    shop.env.shutdown().await;
}

async fn allotctl_tour(shop: Shop, server: &Ctl) -> Shop {
    let admin_team = shop.env.first_team().await.name;
    let dir = tempfile::tempdir().expect("dir");

    // Import: the outcome of each row, then the counts.
    let (a, b) = (unique_email("cli.a"), unique_email("cli.b"));
    let file = dir.path().join("users.csv");
    std::fs::write(
        &file,
        format!("email,first name,last name\n{a},Ann,A\nnope,B,B\n{b},Bea,B\n"),
    )
    .expect("write");
    let file_arg = file.to_string_lossy().into_owned();
    let (ok, out, err) = server.run(&["--json", "import", &file_arg, "--team", &admin_team]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(v["invited"], 2);
    assert_eq!(v["invalid"], 1);
    assert_eq!(v["rows"][1]["line"], 3);
    assert_eq!(v["rows"][1]["outcome"], "invalid");
    let (ok, text, err) = server.run(&["import", "--show", v["operation"].as_str().expect("name")]);
    assert!(ok, "{err}");
    assert!(
        text.contains("2 invited, 0 added, 0 already members, 1 invalid"),
        "{text}"
    );

    // Export: a CSV file.
    let out_file = dir.path().join("export.csv");
    let out_arg = out_file.to_string_lossy().into_owned();
    let (ok, _, err) = server.run(&["export", "users", "--team", &admin_team, "-o", &out_arg]);
    assert!(ok, "{err}");
    let csv = std::fs::read_to_string(&out_file).expect("export file");
    assert!(csv.starts_with("email,first name,last name"));
    assert!(csv.to_lowercase().contains(&a.to_lowercase()));

    // Usage report over a team with seats: CSV and a chart.
    // The operator running allotctl is the admin of their first team.
    shop.product("cad").await;
    let (ok, out, err) = server.run(&[
        "--json",
        "contract",
        "create",
        "--owner",
        ADMIN_EMAIL,
        "--seats",
        "cad=3",
    ]);
    assert!(ok, "{err}");
    let bought: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let team = bought["team"]
        .as_str()
        .expect("the contract's team")
        .to_owned();
    assert_eq!(team, admin_team);
    let admin = shop.env.admin().await;
    // People made by the harness join the first team.
    let ann = shop.env.person("Ann").await;
    assign(&admin, &team, &ann.account, "cad", &[])
        .await
        .expect("assign");
    let today = time::OffsetDateTime::now_utc().date();
    let day = format!(
        "{:04}-{:02}-{:02}",
        today.year(),
        u8::from(today.month()),
        today.day()
    );
    let chart = dir.path().join("usage.svg");
    let chart_arg = chart.to_string_lossy().into_owned();
    let (ok, out, err) = server.run(&[
        "report", "usage", "--team", &team, "--from", &day, "--to", &day, "--csv", "--chart",
        &chart_arg,
    ]);
    assert!(ok, "{err}");
    assert_eq!(
        out,
        format!("date,product,seats,assigned,users\n{day},cad,3,2,0\n")
    );
    let svg = std::fs::read_to_string(&chart).expect("chart");
    assert!(svg.starts_with("<svg"), "an SVG file");
    for word in ["cad", "seats", "assigned", "used"] {
        assert!(svg.contains(word), "the chart shows {word}");
    }
    let (ok, _, err) = server.run(&[
        "report",
        "usage",
        "--team",
        &team,
        "--from",
        "22/11/2026",
        "--to",
        &day,
    ]);
    assert!(!ok);
    assert!(err.contains("YYYY-MM-DD"), "{err}");

    // Noun-verb commands, and the flat names of earlier versions still
    // working as aliases of them (`pools` is `seat list`, `teams` is
    // `team list`).
    let (ok, seats, err) = server.run(&["--json", "seat", "list", "--team", &team]);
    assert!(ok, "{err}");
    let pools: serde_json::Value = serde_json::from_str(&seats).expect("JSON");
    assert_eq!(pools[0]["product"], "products/cad");
    assert_eq!(pools[0]["seats"], 3);
    assert_eq!(pools[0]["assigned"], 2);
    let (ok, old, err) = server.run(&["--json", "pools", "--team", &team]);
    assert!(ok, "{err}");
    assert_eq!(old, seats, "`pools` prints what `seat list` prints");
    let (ok, teams, err) = server.run(&["--json", "team", "list"]);
    assert!(ok, "{err}");
    assert!(teams.contains(&team), "{teams}");
    let (ok, old, err) = server.run(&["--json", "teams"]);
    assert!(ok, "{err}");
    assert_eq!(old, teams, "`teams` prints what `team list` prints");
    // Invite, accept with the emailed token, assign, check.
    let ivy = unique_email("cli.ivy");
    let (ok, _, err) = server.run(&[
        "invitation",
        "send",
        "--team",
        &team,
        "--first-name",
        "Ivy",
        "--last-name",
        "Lane",
        "--email",
        &ivy,
    ]);
    assert!(ok, "{err}");
    let mail = shop.env.mail_to(&ivy, 1).await;
    let (ok, _, err) = server.run(&["invitation", "accept", &accept_token(&mail[0])]);
    assert!(ok, "{err}");
    let (ok, _, err) = server.run(&[
        "seat",
        "assign",
        "--team",
        &team,
        "--email",
        &ivy,
        "--product",
        "cad",
    ]);
    assert!(ok, "{err}");
    let (ok, out, err) = server.run(&[
        "--json",
        "seat",
        "check",
        "--email",
        &ivy,
        "--product",
        "cad",
    ]);
    assert!(ok, "{err}");
    let check: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(check["allowed"], true, "{check}");
    // A refusal: its code and message as JSON on stderr, and an exit code
    // by its kind (4 not allowed, 5 not found).
    let (code, error) = server.refused(&["seat", "list", "--team", "teams/nonexistent"]);
    assert!(
        [4, 5].contains(&code) && error["error"]["exit_code"] == code,
        "another team: exit {code}, {error}"
    );
    assert!(error["error"]["code"].is_string(), "{error}");

    // Watch: prints the stream and keeps the cursor for the next run.
    let cursor = dir.path().join("team.cursor");
    let watch = |extra: &[&str]| {
        let mut cmd = server.command();
        cmd.args(["--json", "watch", "team", "--cursor-file"])
            .arg(&cursor)
            .args(extra)
            .stdout(std::process::Stdio::piped());
        cmd.spawn().expect("run allotctl watch")
    };
    let read_for = |mut child: std::process::Child, wait: std::time::Duration| {
        std::thread::sleep(wait);
        let _ = child.kill();
        let out = child.wait_with_output().expect("output");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let first = read_for(watch(&[]), std::time::Duration::from_secs(2));
    let kinds: Vec<String> = first
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| v["kind"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(kinds.iter().any(|k| k == "team_created"), "{first}");
    assert!(kinds.iter().any(|k| k == "member_added"), "{first}");
    let saved: i64 = std::fs::read_to_string(&cursor)
        .expect("the cursor was saved")
        .trim()
        .parse()
        .expect("a numeric cursor");
    assert!(saved > 0);
    let mut admin = shop.env.admin().await;
    admin
        .team
        .create_group(allot_proto::team::CreateGroupRequest {
            parent: team.clone(),
            group: Some(allot_proto::team::Group {
                display_name: "Watched".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect("group");
    let second = read_for(watch(&[]), std::time::Duration::from_secs(2));
    let events: Vec<serde_json::Value> = second
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["kind"] != "checkpoint")
        .collect();
    assert_eq!(
        events.len(),
        1,
        "only what came after the saved cursor: {second}"
    );
    assert_eq!(events[0]["kind"], "group_created");
    shop
}
