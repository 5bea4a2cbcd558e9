//! Allot's benchmarks. Every figure is a ratio against a baseline measured
//! in the same run on the same machine, since the machine is shared.
//!
//!   bash tests/bench.sh [race|check|tls|assign|all]
//!
//! (which starts PostgreSQL and runs `cargo bench -p allot --bench allot`).
//!
//! - race: 64 callers assign 200 people to a pool with 10 free seats, 50
//!   rounds, on PostgreSQL and SQLite: exactly 10 must succeed each round.
//! - check: CheckEntitlement over real gRPC against a bare tonic server
//!   with a same-sized unary handler, both driven by h2load: throughput
//!   ratio (goal >= 0.6), and p99 latency at half the bare server's
//!   maximum rate (goal < 2 ms).
//! - assign: assignment throughput on PostgreSQL against `pgbench -N` with
//!   the same client count on the same server (goal >= 0.5).
//! - watch: commit-to-watcher latency under a steady write load (4 writers,
//!   100 commits per second), from the moment a write is sent until a
//!   Watch client holds its event, p50 and p99 on PostgreSQL and SQLite
//!   (goal p99 < 50 ms); the baseline is the write's own round trip.
//! - import: a CSV import of 5,000 people on PostgreSQL until every
//!   invitation email reached the SMTP server (goal < 10 s), the import
//!   step against a plain `COPY` of the same rows into a table on the same
//!   server (goal within 10x), and 100,000 rows: time and peak memory.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use allot_testkit as harness;

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use allot_platform::testing::{Backend, postgres_admin_url};
use allot_proto::entitlement as epb;
use allot_proto::entitlement::entitlement_service_server::{
    EntitlementService, EntitlementServiceServer,
};
use allot_proto::team as tpb;
use harness::{Clients, Env};
use prost::Message;
use tokio::sync::Mutex;

fn main() {
    let which: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let all = which.is_empty() || which.iter().any(|w| w == "all");
    let wants = |name: &str| all || which.iter().any(|w| w == name);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // Quiet servers: benchmarks print their own figures.
    harness::init_tracing_with(&std::env::var("ALLOT_TEST_LOG").unwrap_or_else(|_| "error".into()));
    let mut report = serde_json::Map::new();
    rt.block_on(async {
        if wants("race") {
            report.insert("race".into(), race().await);
        }
        if wants("check") {
            report.insert("check".into(), check().await);
        }
        if wants("tls") {
            report.insert("tls".into(), tls().await);
        }
        if wants("assign") {
            report.insert("assign".into(), assign().await);
        }
        if wants("watch") {
            report.insert("watch".into(), watch().await);
        }
        if wants("import") {
            report.insert("import".into(), import().await);
        }
    });
    let json = serde_json::Value::Object(report);
    let out =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-results.json");
    let _ = std::fs::write(
        &out,
        serde_json::to_string_pretty(&json).unwrap_or_default(),
    );
    println!("\nresults written to {}", out.display());
}

/// A shop: a product, a contract with `seats`, and clients.
struct Shop {
    env: Env,
    owner: harness::Person,
    team: String,
    commerce: Clients,
    catalog: Clients,
}

impl Shop {
    async fn open(backend: Backend) -> Shop {
        Self::open_with(backend, |_| {}).await
    }

    async fn open_with(backend: Backend, change: impl FnOnce(&mut allot_platform::Config)) -> Shop {
        let env = Env::in_process_with(backend, change).await;
        let catalog = env.service_account(&["catalog"]).await;
        let commerce = env.service_account(&["contracts"]).await;
        let owner = env.person("Owner").await;
        let team = env
            .internal()
            .await
            .team
            .ensure_owner_team(tpb::EnsureOwnerTeamRequest {
                owner: owner.account.clone(),
                always_create: false,
            })
            .await
            .expect("team")
            .into_inner()
            .name;
        Shop {
            env,
            owner,
            team,
            commerce,
            catalog,
        }
    }

    async fn product(&self, id: &str, seats: i32) {
        self.catalog
            .clone()
            .entitlement
            .create_product(epb::CreateProductRequest {
                product_id: id.into(),
                product: Some(epb::Product {
                    display_name: id.into(),
                    items: vec![epb::Item {
                        id: "desktop".into(),
                        display_name: "Desktop".into(),
                        kind: epb::ItemKind::Application as i32,
                    }],
                    ..Default::default()
                }),
            })
            .await
            .expect("product");
        self.commerce
            .clone()
            .entitlement
            .create_contract(epb::CreateContractRequest {
                contract: Some(epb::Contract {
                    owner: self.owner.account.clone(),
                    activation_type: epb::ActivationType::SignIn as i32,
                    ..Default::default()
                }),
                subscriptions: vec![epb::Subscription {
                    product: format!("products/{id}"),
                    seats,
                    ..Default::default()
                }],
                request_id: String::new(),
            })
            .await
            .expect("contract");
    }

    /// `count` members of the owner's team, added in one list.
    async fn members(&self, count: usize) -> Vec<String> {
        let addresses: Vec<String> = (0..count)
            .map(|i| harness::unique_email(&format!("m{i}")))
            .collect();
        self.owner
            .clients
            .clone()
            .team
            .add_members(tpb::AddMembersRequest {
                parent: self.team.clone(),
                addresses: addresses.join(";"),
                ..Default::default()
            })
            .await
            .expect("members")
            .into_inner()
            .results
            .into_iter()
            .map(|r| r.member.expect("member").account)
            .collect()
    }
}

async fn assign_one(
    c: &Clients,
    team: &str,
    account: &str,
    product: &str,
) -> Result<String, tonic::Status> {
    c.clone()
        .entitlement
        .assign_products(epb::AssignProductsRequest {
            parent: team.into(),
            account: account.into(),
            products: vec![epb::ProductSelection {
                product: format!("products/{product}"),
                items: vec![],
            }],
            ..Default::default()
        })
        .await
        .map(|r| {
            r.into_inner().results[0]
                .assignment
                .clone()
                .expect("assignment")
                .name
        })
}

// ---- race ------------------------------------------------------------------

async fn race() -> serde_json::Value {
    let mut out = serde_json::Map::new();
    for (backend, name) in [(Backend::Postgres, "postgres"), (Backend::Sqlite, "sqlite")] {
        let shop = Shop::open(backend).await;
        let people = shop.members(200).await;
        let admin = shop.owner.clients.clone();
        let mut winners = Vec::new();
        let started = Instant::now();
        for round in 0..50 {
            let product = format!("race{round}");
            // The owner's own seat (R-SEAT-6) takes one of the 11.
            shop.product(&product, 11).await;
            let queue = Arc::new(Mutex::new(people.clone()));
            let mut tasks = Vec::new();
            for _ in 0..64 {
                let (queue, admin, team, product) = (
                    queue.clone(),
                    admin.clone(),
                    shop.team.clone(),
                    product.clone(),
                );
                tasks.push(tokio::spawn(async move {
                    let mut ok = 0;
                    while let Some(account) = { queue.lock().await.pop() } {
                        match assign_one(&admin, &team, &account, &product).await {
                            Ok(_) => ok += 1,
                            Err(e) if e.code() == tonic::Code::ResourceExhausted => {}
                            Err(e) => panic!("unexpected {e:?}"),
                        }
                    }
                    ok
                }));
            }
            let mut ok = 0;
            for t in tasks {
                ok += t.await.expect("task");
            }
            winners.push(ok);
        }
        let secs = started.elapsed().as_secs_f64();
        let exact = winners.iter().all(|w| *w == 10);
        println!(
            "race {name:<8}: 50 rounds x 200 people x 64 callers for 10 free seats: winners per round min {} max {} -> {} ({:.1} s)",
            winners.iter().min().unwrap_or(&0),
            winners.iter().max().unwrap_or(&0),
            if exact {
                "exactly 10 every round"
            } else {
                "OVERSUBSCRIBED OR SHORT"
            },
            secs
        );
        assert!(exact, "{name}: {winners:?}");
        out.insert(name.into(), serde_json::json!({ "rounds": 50, "winners_each_round": 10, "exact": exact, "seconds": secs }));
        shop.env.shutdown().await;
    }
    serde_json::Value::Object(out)
}

// ---- check -----------------------------------------------------------------

/// The baseline: a bare tonic server answering CheckEntitlement with a
/// fixed response of the same size, no authentication, no lookup.
#[derive(Clone)]
struct Bare(epb::CheckEntitlementResponse);

#[tonic::async_trait]
impl EntitlementService for Bare {
    async fn check_entitlement(
        &self,
        _req: tonic::Request<epb::CheckEntitlementRequest>,
    ) -> Result<tonic::Response<epb::CheckEntitlementResponse>, tonic::Status> {
        Ok(tonic::Response::new(self.0.clone()))
    }
}

/// What h2load measured.
#[derive(Debug, Clone, Copy)]
struct Load {
    rps: f64,
    succeeded: u64,
    failed: u64,
    p50_ms: f64,
    p99_ms: f64,
}

fn grpc_body(msg: &impl Message) -> Vec<u8> {
    let payload = msg.encode_to_vec();
    let mut body = vec![0u8];
    body.extend_from_slice(&u32::try_from(payload.len()).unwrap_or(0).to_be_bytes());
    body.extend_from_slice(&payload);
    body
}

/// Drives `url` with h2load for `seconds`; `rps_per_client` limits the rate.
fn h2load(
    url: &str,
    body: &std::path::Path,
    token: Option<&str>,
    seconds: u32,
    rps_per_client: Option<u32>,
) -> Load {
    h2load_run(url, body, token, seconds, rps_per_client, 16, 10)
}

fn h2load_run(
    url: &str,
    body: &std::path::Path,
    token: Option<&str>,
    seconds: u32,
    rps_per_client: Option<u32>,
    clients: u32,
    streams: u32,
) -> Load {
    let log = tempfile::NamedTempFile::new().expect("log file");
    let mut cmd = Command::new("h2load");
    cmd.args([
        "-c",
        &clients.to_string(),
        "-m",
        &streams.to_string(),
        "-t",
        "1",
        "-D",
        &seconds.to_string(),
    ])
    .args(["-H", "content-type: application/grpc", "-H", "te: trailers"])
    .arg("-d")
    .arg(body)
    .arg(format!("--log-file={}", log.path().display()));
    if let Some(t) = token {
        cmd.args(["-H", &format!("authorization: Bearer {t}")]);
    }
    if let Some(r) = rps_per_client {
        cmd.arg(format!("--rps={r}"));
    }
    let out = cmd
        .arg(url)
        .output()
        .expect("h2load (apt-get install nghttp2-client)");
    let text = String::from_utf8_lossy(&out.stdout);
    let rps = text
        .lines()
        .find(|l| l.starts_with("finished in"))
        .and_then(|l| l.split(", ").nth(1))
        .and_then(|s| s.trim_end_matches(" req/s").parse::<f64>().ok())
        .unwrap_or_else(|| {
            panic!(
                "h2load said:\n{text}{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let count = |label: &str| -> u64 {
        text.lines()
            .find(|l| l.starts_with("requests:"))
            .and_then(|l| l.split(", ").find(|p| p.ends_with(label)))
            .and_then(|p| p.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    let mut latencies: Vec<u64> = std::fs::read_to_string(log.path())
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            (cols.get(1) == Some(&"200"))
                .then(|| cols.get(2)?.parse().ok())
                .flatten()
        })
        .collect();
    latencies.sort_unstable();
    let pct = |p: f64| -> f64 {
        if latencies.is_empty() {
            return f64::NAN;
        }
        let i = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies[i] as f64 / 1000.0
    };
    Load {
        rps,
        succeeded: count("succeeded"),
        failed: count("failed"),
        p50_ms: pct(0.5),
        p99_ms: pct(0.99),
    }
}

/// What a CheckEntitlement load needs: a server with a person entitled to
/// a product, a token that may check, and the request as a gRPC body.
struct CheckTarget {
    shop: Shop,
    url: String,
    token: String,
    body: tempfile::NamedTempFile,
    answer: epb::CheckEntitlementResponse,
}

const CHECK_PATH: &str = "/allot.entitlement.v1.EntitlementService/CheckEntitlement";

async fn check_target(shop: Shop) -> CheckTarget {
    shop.product("cad", 100).await;
    let ann = shop.members(1).await.remove(0);
    assign_one(&shop.owner.clients, &shop.team, &ann, "cad")
        .await
        .expect("assign");
    let launcher = shop.env.service_account(&["entitlements.check"]).await;
    let request = epb::CheckEntitlementRequest {
        account: ann.clone(),
        product: "products/cad".into(),
        record_usage: false,
    };
    // One real call first: h2load counts HTTP 200 as success even when the
    // gRPC status is an error, so the exact request must be known good.
    let answer = launcher
        .clone()
        .entitlement
        .check_entitlement(request.clone())
        .await
        .expect("check")
        .into_inner();
    assert!(answer.allowed, "the benchmark's person must be entitled");
    let token = shop.env.token_for_scopes(&["entitlements.check"]).await;
    let mut probe = shop.env.clients_with(Some(&token)).entitlement;
    assert!(
        probe
            .check_entitlement(request.clone())
            .await
            .expect("token works")
            .into_inner()
            .allowed
    );
    let body = tempfile::NamedTempFile::new().expect("body");
    std::fs::write(body.path(), grpc_body(&request)).expect("write body");
    let url = format!("{}{CHECK_PATH}", shop.env.urls.entitlement);
    CheckTarget {
        shop,
        url,
        token,
        body,
        answer,
    }
}

async fn check() -> serde_json::Value {
    let target = check_target(Shop::open(Backend::Postgres).await).await;
    let CheckTarget {
        shop,
        url: allot_url,
        token,
        body,
        answer,
    } = target;
    let bare_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let bare_addr = bare_listener.local_addr().expect("addr");
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(EntitlementServiceServer::new(Bare(answer.clone())))
            .serve_with_incoming(
                tonic::transport::server::TcpIncoming::from(bare_listener).with_nodelay(Some(true)),
            ),
    );
    let bare_url = format!("http://{bare_addr}{CHECK_PATH}");

    // Warm both, then alternate to even out the machine's noise.
    h2load(&bare_url, body.path(), None, 2, None);
    h2load(&allot_url, body.path(), Some(&token), 2, None);
    let mut bare = Vec::new();
    let mut allot = Vec::new();
    for _ in 0..2 {
        bare.push(h2load(&bare_url, body.path(), None, 8, None));
        allot.push(h2load(&allot_url, body.path(), Some(&token), 8, None));
    }
    let mean = |v: &[Load]| v.iter().map(|l| l.rps).sum::<f64>() / v.len() as f64;
    let (bare_rps, allot_rps) = (mean(&bare), mean(&allot));
    let failed: u64 = allot.iter().chain(&bare).map(|l| l.failed).sum();
    assert_eq!(failed, 0, "h2load saw failed requests");
    // Latency at half the bare server's maximum rate: 16 clients share it.
    let per_client = ((bare_rps / 2.0) / 16.0).round().max(1.0) as u32;
    let half_allot = h2load(&allot_url, body.path(), Some(&token), 10, Some(per_client));
    let half_bare = h2load(&bare_url, body.path(), None, 10, Some(per_client));
    if std::env::var("ALLOT_BENCH_EXPLORE").is_ok() {
        for (c, m) in [(16u32, 1u32), (32, 1), (64, 1), (8, 4)] {
            let rate = ((bare_rps / 2.0) / f64::from(c)).round().max(1.0) as u32;
            let a = h2load_run(&allot_url, body.path(), Some(&token), 8, Some(rate), c, m);
            let b = h2load_run(&bare_url, body.path(), None, 8, Some(rate), c, m);
            println!(
                "explore c={c} m={m}: allot {:.0} req/s p50 {:.2} p99 {:.2} | bare {:.0} req/s p50 {:.2} p99 {:.2}",
                a.rps, a.p50_ms, a.p99_ms, b.rps, b.p50_ms, b.p99_ms
            );
        }
    }
    let ratio = allot_rps / bare_rps;
    println!(
        "check   : bare tonic {bare_rps:.0} req/s, Allot CheckEntitlement {allot_rps:.0} req/s -> ratio {ratio:.2} (goal >= 0.60)"
    );
    println!(
        "check   : at half the bare maximum ({} req/s offered): Allot {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms (goal < 2 ms); bare p99 {:.2} ms",
        per_client * 16,
        half_allot.rps,
        half_allot.p50_ms,
        half_allot.p99_ms,
        half_bare.p99_ms
    );
    shop.env.shutdown().await;
    serde_json::json!({
        "bare_rps": bare_rps,
        "allot_rps": allot_rps,
        "ratio": ratio,
        "half_rate_offered": per_client * 16,
        "half_rate_achieved": half_allot.rps,
        "p50_ms": half_allot.p50_ms,
        "p99_ms": half_allot.p99_ms,
        "bare_p99_ms": half_bare.p99_ms,
    })
}

// ---- tls -------------------------------------------------------------------

/// CheckEntitlement over TLS against the same over plaintext: two servers
/// on the same PostgreSQL, measured in turns.
async fn tls() -> serde_json::Value {
    let certs = tempfile::tempdir().expect("temp dir");
    allot::certs::write(certs.path(), &["allot".to_owned()], &[], false).expect("allot certs");
    let dir = certs.path().to_path_buf();
    let plain = check_target(Shop::open(Backend::Postgres).await).await;
    let secure = check_target(
        Shop::open_with(Backend::Postgres, move |c| {
            c.tls.cert_file = Some(dir.join("allot/cert.pem"));
            c.tls.key_file = Some(dir.join("allot/key.pem"));
            c.tls.ca_file = Some(dir.join("ca.pem"));
        })
        .await,
    )
    .await;
    assert!(secure.url.starts_with("https://"), "{}", secure.url);
    let run =
        |t: &CheckTarget, seconds| h2load(&t.url, t.body.path(), Some(&t.token), seconds, None);
    run(&plain, 2);
    run(&secure, 2);
    let (mut p, mut s) = (Vec::new(), Vec::new());
    for _ in 0..2 {
        p.push(run(&plain, 8));
        s.push(run(&secure, 8));
    }
    let failed: u64 = p.iter().chain(&s).map(|l| l.failed).sum();
    assert_eq!(failed, 0, "h2load saw failed requests");
    let mean = |v: &[Load]| v.iter().map(|l| l.rps).sum::<f64>() / v.len() as f64;
    let (plain_rps, tls_rps) = (mean(&p), mean(&s));
    let ratio = tls_rps / plain_rps;
    println!(
        "tls     : CheckEntitlement plaintext {plain_rps:.0} req/s, over TLS {tls_rps:.0} req/s -> ratio {ratio:.2} (reported; TLS costs what it costs)"
    );
    plain.shop.env.shutdown().await;
    secure.shop.env.shutdown().await;
    serde_json::json!({ "plaintext_rps": plain_rps, "tls_rps": tls_rps, "ratio": ratio })
}

// ---- assign ------------------------------------------------------------------

const CLIENTS: usize = 8;

/// pgbench -N with `CLIENTS` clients on a fresh database of the same server.
fn pgbench(seconds: u32) -> f64 {
    let admin = postgres_admin_url();
    let db = format!("pgbench_{}", allot_platform::ids::new_id());
    let psql = |sql: &str| {
        let ok = Command::new("psql")
            .args([&format!("{admin}/postgres"), "-q", "-c", sql])
            .status()
            .expect("psql")
            .success();
        assert!(ok, "psql {sql}");
    };
    psql(&format!("CREATE DATABASE {db}"));
    let url = format!("{admin}/{db}");
    let init = Command::new("pgbench")
        .args(["-i", "-q", "-s", "10", &url])
        .output()
        .expect("pgbench -i");
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let out = Command::new("pgbench")
        .args([
            "-N",
            "-c",
            &CLIENTS.to_string(),
            "-j",
            "2",
            "-T",
            &seconds.to_string(),
            "-M",
            "prepared",
            &url,
        ])
        .output()
        .expect("pgbench");
    let text = String::from_utf8_lossy(&out.stdout);
    psql(&format!("DROP DATABASE {db}"));
    text.lines()
        .find(|l| l.starts_with("tps ="))
        .and_then(|l| l.split_whitespace().nth(2))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| {
            panic!(
                "pgbench said:\n{text}{}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
}

async fn assign() -> serde_json::Value {
    // A pool as large as a production one, and mail written to files: a
    // Python SMTP server on the same two cores would take the CPU the
    // assignments need (the emails are still written, one per assignment).
    let shop = Shop::open_with(Backend::Postgres, |c| {
        c.database_max_connections = 32;
        c.smtp_url = None;
    })
    .await;
    let people = shop.members(CLIENTS).await;
    for i in 0..CLIENTS {
        // Two seats: the owner's and one to take and give back.
        shop.product(&format!("tp{i}"), 2).await;
    }
    // Alternate the baseline and Allot so both see the same machine.
    let mut pg = Vec::new();
    let mut allot = Vec::new();
    for _ in 0..2 {
        pg.push(pgbench(8));
        allot.push(assign_round(&shop, &people, Duration::from_secs(8)).await);
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (pg_tps, tps) = (mean(&pg), mean(&allot));
    let ratio = tps / pg_tps;
    println!(
        "assign  : pgbench -N {pg_tps:.0} tps, Allot assign/unassign over gRPC {tps:.0} tps ({CLIENTS} clients each) -> ratio {ratio:.2} (goal >= 0.50); rounds pgbench {pg:.0?} Allot {allot:.0?}"
    );
    shop.env.shutdown().await;
    serde_json::json!({ "clients": CLIENTS, "pgbench_tps": pg_tps, "allot_tps": tps, "ratio": ratio })
}

/// `CLIENTS` clients assign and unassign their own seat for `length`;
/// returns the changes per second.
async fn assign_round(shop: &Shop, people: &[String], length: Duration) -> f64 {
    let admin = shop.owner.clients.clone();
    let deadline = Instant::now() + length;
    let mut tasks = Vec::new();
    for (i, person) in people.iter().cloned().enumerate() {
        let (admin, team) = (admin.clone(), shop.team.clone());
        tasks.push(tokio::spawn(async move {
            let product = format!("tp{i}");
            let mut ops = 0u64;
            while Instant::now() < deadline {
                let name = assign_one(&admin, &team, &person, &product)
                    .await
                    .expect("assign");
                admin
                    .clone()
                    .entitlement
                    .delete_assignment(epb::DeleteAssignmentRequest { name })
                    .await
                    .expect("unassign");
                ops += 2;
            }
            ops
        }));
    }
    let started = Instant::now();
    let mut ops = 0;
    for t in tasks {
        ops += t.await.expect("task");
    }
    ops as f64 / started.elapsed().as_secs_f64()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn watch() -> serde_json::Value {
    let mut out = serde_json::Map::new();
    for backend in [Backend::Postgres, Backend::Sqlite] {
        out.insert(
            format!("{backend:?}").to_lowercase(),
            watch_on(backend).await,
        );
    }
    serde_json::Value::Object(out)
}

async fn watch_on(backend: Backend) -> serde_json::Value {
    use std::collections::HashMap;
    use tokio_stream::StreamExt;
    const WRITERS: usize = 4;
    const PER_WRITER_HZ: u64 = 25;
    const LENGTH: Duration = Duration::from_secs(10);
    let env = Env::in_process_with(backend, |c| c.smtp_url = None).await;
    let admin = env.admin().await;
    let reader = env.service_account(&["events.read"]).await;
    let team = env.first_team().await.name;
    let mut stream = reader
        .team
        .clone()
        .watch(tpb::WatchRequest {
            start_at_now: true,
            event_types: vec!["group_created".into()],
            ..Default::default()
        })
        .await
        .expect("watch")
        .into_inner();
    let seen: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let seen2 = seen.clone();
    let watcher = tokio::spawn(async move {
        while let Some(Ok(item)) = stream.next().await {
            if let Some(tpb::watch_response::Kind::Event(e)) = item.kind
                && let Some(tpb::event::Payload::GroupCreated(g)) = e.payload
            {
                let name = g.group.map(|g| g.display_name).unwrap_or_default();
                seen2.lock().await.insert(name, Instant::now());
            }
        }
    });
    let deadline = Instant::now() + LENGTH;
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let (mut c, team) = (admin.clone(), team.clone());
        writers.push(tokio::spawn(async move {
            let mut sent = Vec::new();
            let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / PER_WRITER_HZ));
            let mut i = 0;
            while Instant::now() < deadline {
                tick.tick().await;
                let name = format!("lat{w}-{i}");
                i += 1;
                let t0 = Instant::now();
                c.team
                    .create_group(tpb::CreateGroupRequest {
                        parent: team.clone(),
                        group: Some(tpb::Group {
                            display_name: name.clone(),
                            ..Default::default()
                        }),
                        ..Default::default()
                    })
                    .await
                    .expect("create group");
                sent.push((name, t0, t0.elapsed()));
            }
            sent
        }));
    }
    let mut sent = Vec::new();
    for w in writers {
        sent.extend(w.await.expect("writer"));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    watcher.abort();
    let seen = seen.lock().await;
    let mut latency: Vec<f64> = Vec::new();
    let mut round_trip: Vec<f64> = Vec::new();
    let mut missing = 0;
    for (name, t0, rt) in &sent {
        round_trip.push(rt.as_secs_f64() * 1000.0);
        match seen.get(name) {
            Some(t) => latency.push(t.duration_since(*t0).as_secs_f64() * 1000.0),
            None => missing += 1,
        }
    }
    latency.sort_by(f64::total_cmp);
    round_trip.sort_by(f64::total_cmp);
    let (p50, p99) = (percentile(&latency, 0.5), percentile(&latency, 0.99));
    let (w50, w99) = (percentile(&round_trip, 0.5), percentile(&round_trip, 0.99));
    println!(
        "watch   : {backend:?}: {} commits at {} per second; send-to-watcher p50 {p50:.1} ms p99 {p99:.1} ms (goal p99 < 50 ms); the write's own round trip p50 {w50:.1} ms p99 {w99:.1} ms; ratio p99 {:.2}; missing {missing}",
        sent.len(),
        WRITERS as u64 * PER_WRITER_HZ,
        p99 / w99
    );
    assert_eq!(missing, 0, "the watcher saw every commit");
    drop(seen);
    env.shutdown().await;
    serde_json::json!({
        "commits": sent.len(),
        "rate_per_s": WRITERS as u64 * PER_WRITER_HZ,
        "latency_p50_ms": p50, "latency_p99_ms": p99,
        "write_p50_ms": w50, "write_p99_ms": w99,
    })
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn people_csv(rows: usize, tag: &str) -> String {
    let mut csv = String::from("first name,last name,email\n");
    for i in 0..rows {
        csv.push_str(&format!("Person{i},Bench,p{i}.{tag}@example.com\n"));
    }
    csv
}

/// Seconds for a plain COPY of the file into a fresh table on the same
/// PostgreSQL server.
async fn copy_seconds(csv: &str) -> f64 {
    use sqlx::Connection;
    let url = format!("{}/postgres", postgres_admin_url());
    let mut conn = sqlx::postgres::PgConnection::connect(&url)
        .await
        .expect("connect");
    let table = format!("bench_copy_{}", allot_platform::ids::new_id());
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE TABLE {table} (first_name TEXT, last_name TEXT, email TEXT)"
    )))
    .execute(&mut conn)
    .await
    .expect("create");
    let started = Instant::now();
    let mut copy = conn
        .copy_in_raw(&format!(
            "COPY {table} FROM STDIN WITH (FORMAT csv, HEADER)"
        ))
        .await
        .expect("copy");
    copy.send(csv.as_bytes()).await.expect("send");
    copy.finish().await.expect("finish");
    let took = started.elapsed().as_secs_f64();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP TABLE {table}")))
        .execute(&mut conn)
        .await
        .expect("drop");
    took
}

/// Starts an import and follows it until done; returns the seconds.
async fn run_import(c: &Clients, team: &str, csv: &str) -> f64 {
    use tokio_stream::StreamExt;
    let started = Instant::now();
    let op = c
        .team
        .clone()
        .import_members(tpb::ImportMembersRequest {
            parent: team.into(),
            csv: csv.as_bytes().to_vec(),
            validate_only: false,
            ..Default::default()
        })
        .await
        .expect("import starts")
        .into_inner();
    let mut stream = c
        .team
        .clone()
        .watch_operation(tpb::WatchOperationRequest { name: op.name })
        .await
        .expect("watch")
        .into_inner();
    while let Some(op) = stream.next().await {
        let op = op.expect("progress");
        if op.done {
            assert!(
                matches!(
                    op.result,
                    Some(allot_proto::common::operation::Result::Response(_))
                ),
                "the import succeeded: {:?}",
                op.result
            );
            break;
        }
    }
    started.elapsed().as_secs_f64()
}

async fn import() -> serde_json::Value {
    const ROWS: usize = 5000;
    const BIG: usize = 100_000;
    // 5,000 with real SMTP delivery.
    let env = Env::in_process_with(Backend::Postgres, |c| c.database_max_connections = 16).await;
    let admin = env.admin().await;
    let team = env.first_team().await.name;
    let csv = people_csv(ROWS, &allot_platform::ids::new_id());
    let copy = copy_seconds(&csv).await;
    let started = Instant::now();
    let import_s = run_import(&admin, &team, &csv).await;
    while env.smtp.count() < ROWS {
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "mail stalled at {}",
            env.smtp.count()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let all_mail_s = started.elapsed().as_secs_f64();
    let ratio = import_s / copy;
    println!(
        "import  : {ROWS} people on PostgreSQL: import step {import_s:.2} s, every invitation at the SMTP server after {all_mail_s:.2} s (goal < 10 s); COPY of the same rows {:.1} ms -> import/COPY {ratio:.0}x (goal <= 10x)",
        copy * 1000.0
    );
    env.shutdown().await;

    // 100,000 rows; mail written as files so the SMTP server is not what is measured.
    let env = Env::in_process_with(Backend::Postgres, |c| {
        c.database_max_connections = 16;
        c.import.max_rows = BIG;
        c.smtp_url = None;
    })
    .await;
    let admin = env.admin().await;
    let team = env.first_team().await.name;
    let csv = people_csv(BIG, &allot_platform::ids::new_id());
    let big_copy = copy_seconds(&csv).await;
    let rss_before = peak_rss_mib();
    let big_s = run_import(&admin, &team, &csv).await;
    let rss = peak_rss_mib();
    println!(
        "import  : {BIG} people on PostgreSQL: import step {big_s:.1} s ({:.0} rows/s), COPY {:.2} s; peak RSS of the process (server and client) {rss:.0} MiB (before the import {rss_before:.0} MiB)",
        BIG as f64 / big_s,
        big_copy
    );
    env.shutdown().await;
    serde_json::json!({
        "rows": ROWS, "import_s": import_s, "all_mail_s": all_mail_s, "copy_s": copy, "import_over_copy": ratio,
        "big_rows": BIG, "big_import_s": big_s, "big_copy_s": big_copy, "peak_rss_mib": rss,
    })
}
