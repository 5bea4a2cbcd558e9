//! CheckEntitlement against a bare tonic server, and over TLS against
//! plaintext.

use super::*;

// ---- check -----------------------------------------------------------------

/// The baseline: a bare tonic server answering CheckEntitlement with a
/// fixed response of the same size, no authentication, no lookup.
#[derive(Clone)]
pub struct Bare(epb::CheckEntitlementResponse);

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
pub struct Load {
    rps: f64,
    succeeded: u64,
    failed: u64,
    p50_ms: f64,
    p99_ms: f64,
}

pub fn grpc_body(msg: &impl Message) -> Vec<u8> {
    let payload = msg.encode_to_vec();
    let mut body = vec![0u8];
    body.extend_from_slice(&u32::try_from(payload.len()).unwrap_or(0).to_be_bytes());
    body.extend_from_slice(&payload);
    body
}

/// Drives `url` with h2load for `seconds`; `rps_per_client` limits the rate.
pub fn h2load(
    url: &str,
    body: &std::path::Path,
    token: Option<&str>,
    seconds: u32,
    rps_per_client: Option<u32>,
) -> Load {
    h2load_run(url, body, token, seconds, rps_per_client, 16, 10)
}

pub fn h2load_run(
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
pub struct CheckTarget {
    shop: Shop,
    url: String,
    token: String,
    body: tempfile::NamedTempFile,
    answer: epb::CheckEntitlementResponse,
}

pub const CHECK_PATH: &str = "/allot.entitlement.v1.EntitlementService/CheckEntitlement";

pub async fn check_target(shop: Shop) -> CheckTarget {
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

/// The check's throughput ratio before bulk writes (the lower of the
/// figures measured then, 0.69 to 0.76): it must not fall below it.
const CHECK_RATIO_BEFORE: f64 = 0.69;

pub async fn check() -> serde_json::Value {
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
    let p99_ratio = half_allot.p99_ms / half_bare.p99_ms;
    println!(
        "check   : bare tonic {bare_rps:.0} req/s, Allot CheckEntitlement {allot_rps:.0} req/s -> ratio {ratio:.2} (goal >= {CHECK_RATIO_BEFORE:.2}, the ratio before bulk writes): {}",
        met(ratio >= CHECK_RATIO_BEFORE)
    );
    println!(
        "check   : at half the bare maximum ({} req/s offered): Allot {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms; bare p99 {:.2} ms -> ratio {p99_ratio:.2} (goal <= 1.25): {}",
        per_client * 16,
        half_allot.rps,
        half_allot.p50_ms,
        half_allot.p99_ms,
        half_bare.p99_ms,
        met(p99_ratio <= 1.25)
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
        "p99_ratio": p99_ratio,
        "goals_met": ratio >= CHECK_RATIO_BEFORE && p99_ratio <= 1.25,
    })
}

// ---- tls -------------------------------------------------------------------

/// CheckEntitlement over TLS against the same over plaintext: two servers
/// on the same PostgreSQL, measured in turns.
pub async fn tls() -> serde_json::Value {
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
