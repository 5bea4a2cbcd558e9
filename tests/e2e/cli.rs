//! `allotctl` as an admin uses it, against a real server: import with the
//! outcome table, export, usage report as CSV and as a chart, seats under
//! the noun-verb name and the old flat one, watch.

use std::path::PathBuf;
use std::process::Command;

use allot_platform::testing::Backend;

use crate::entitlement::{Shop, assign, sign_in_contract};
use crate::harness::{ADMIN_SECRET, Env, FrontDoor, unique_email};

fn allotctl() -> PathBuf {
    let path = std::path::Path::new(env!("CARGO_BIN_EXE_allot")).with_file_name("allotctl");
    assert!(
        path.exists(),
        "{} is missing: build the workspace first (cargo build --workspace)",
        path.display()
    );
    path
}

/// Where allotctl finds Allot, and the CA it checks an `https://` server
/// against.
struct Ctl {
    server: String,
    ca_file: Option<PathBuf>,
}

impl Ctl {
    fn at(server: &str) -> Ctl {
        Ctl {
            server: server.to_owned(),
            ca_file: None,
        }
    }

    fn run(&self, args: &[&str]) -> (bool, String, String) {
        run_with(&self.server, self.ca_file.as_deref(), args)
    }
}

fn run_with(
    server: &str,
    ca_file: Option<&std::path::Path>,
    args: &[&str],
) -> (bool, String, String) {
    let mut cmd = Command::new(allotctl());
    if let Some(ca) = ca_file {
        cmd.env("ALLOT_CA_FILE", ca);
    }
    let out = cmd
        .args(args)
        .env("ALLOT_SERVER", server)
        .env(
            "ALLOT_CREDENTIAL",
            format!("bootstrap-admin:{ADMIN_SECRET}"),
        )
        .output()
        .expect("run allotctl");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allotctl_imports_exports_and_reports() {
    let shop = Shop::open(Backend::Sqlite).await;
    let server = Ctl::at(&shop.env.urls.team);
    allotctl_tour(shop, &server).await;
}

/// The same tour as deployed: every service in its own process on
/// PostgreSQL, and allotctl given only the front door's address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allotctl_works_through_the_front_door() {
    let shop = Shop::on(Env::deployed(&[]).await).await;
    let door = FrontDoor::start(&shop.env);
    let ctl = Ctl {
        server: door.url(),
        ca_file: shop.env.deployment().map(|d| d.tls_dir.join("ca.pem")),
    };
    allotctl_tour(shop, &ctl).await;
}

async fn allotctl_tour(shop: Shop, server: &Ctl) {
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
    let me = shop.env.first_team().await.primary_admin;
    let team = shop.buy(&me, sign_in_contract(), &[("cad", 3)]).await.team;
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
    // Watch: prints the stream and keeps the cursor for the next run.
    let cursor = dir.path().join("team.cursor");
    let watch = |extra: &[&str]| {
        let mut cmd = Command::new(allotctl());
        cmd.args(["--json", "watch", "team", "--cursor-file"])
            .arg(&cursor)
            .args(extra)
            .env("ALLOT_SERVER", &server.server)
            .env(
                "ALLOT_CREDENTIAL",
                format!("bootstrap-admin:{ADMIN_SECRET}"),
            )
            .stdout(std::process::Stdio::piped());
        if let Some(ca) = &server.ca_file {
            cmd.env("ALLOT_CA_FILE", ca);
        }
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
    shop.env.shutdown().await;
}
