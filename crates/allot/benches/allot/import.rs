//! CSV imports against a plain COPY.

use super::*;

pub fn peak_rss_mib() -> f64 {
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

pub fn people_csv(rows: usize, tag: &str) -> String {
    let mut csv = String::from("first name,last name,email\n");
    for i in 0..rows {
        csv.push_str(&format!("Person{i},Bench,p{i}.{tag}@example.com\n"));
    }
    csv
}

/// Seconds for a plain COPY of the file into a fresh table on the same
/// PostgreSQL server.
pub async fn copy_seconds(csv: &str) -> f64 {
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
pub async fn run_import(c: &Clients, team: &str, csv: &str) -> f64 {
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

/// A process's resident memory now and at its peak, in MiB (Linux).
pub fn memory_mib(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map(|kb| kb / 1024.0)
            .unwrap_or(f64::NAN)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// The SMTP server's own capacity: the same number of prebuilt messages
/// pushed by a plain sender over 16 pooled connections; seconds until the
/// server holds them all.
async fn sink_seconds(sink: &allot_platform::testing::SmtpSink, count: usize) -> f64 {
    use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
    let before = sink.count();
    let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&sink.url())
        .expect("smtp url")
        .pool_config(lettre::transport::smtp::PoolConfig::new().max_size(16))
        .build();
    let messages: Vec<Message> = (0..count)
        .map(|i| {
            Message::builder()
                .from("Allot <no-reply@allot.localhost>".parse().expect("from"))
                .to(format!("baseline{i}@example.com").parse().expect("to"))
                .subject("You are invited to join a team")
                .body(format!(
                    "Hello,\n\nAn admin invited you. Accept: https://allot.example/invitations/accept?token={i:043}\n"
                ))
                .expect("message")
        })
        .collect();
    let started = Instant::now();
    futures::StreamExt::for_each_concurrent(futures::stream::iter(messages), 32, |m| {
        let t = transport.clone();
        async move {
            t.send(m).await.expect("the sink takes it");
        }
    })
    .await;
    while sink.count() < before + count {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    started.elapsed().as_secs_f64()
}

pub async fn import() -> serde_json::Value {
    const ROWS: usize = 5000;
    const BIG: usize = 100_000;
    // 5,000 with real SMTP delivery, every service its own process.
    let env = Env::processes(
        Backend::Postgres,
        &[("ALLOT_DATABASE_MAX_CONNECTIONS", "16")],
    )
    .await;
    let idle: Vec<(String, f64)> = env
        .process_ids()
        .into_iter()
        .map(|(k, pid)| (k.name().to_owned(), memory_mib(pid).0))
        .collect();
    let admin = env.admin().await;
    let team = env.first_team().await.name;
    let csv = people_csv(ROWS, &allot_platform::ids::new_id());
    let copy = copy_seconds(&csv).await;
    let sink_s = sink_seconds(&env.smtp, ROWS).await;
    let mail_before = env.smtp.count();
    let started = Instant::now();
    let import_s = run_import(&admin, &team, &csv).await;
    while env.smtp.count() < mail_before + ROWS {
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "mail stalled at {}",
            env.smtp.count() - mail_before
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let all_mail_s = started.elapsed().as_secs_f64();
    let ratio = import_s / copy;
    let mail_ratio = all_mail_s / sink_s;
    println!(
        "import  : {ROWS} people on PostgreSQL: import step {import_s:.2} s; COPY of the same rows {:.1} ms -> import/COPY {ratio:.1}x (goal <= 20x: {})",
        copy * 1000.0,
        met(ratio <= 20.0)
    );
    println!(
        "import  : every invitation at the SMTP server after {all_mail_s:.2} s; the server's own capacity for {ROWS} prebuilt messages {sink_s:.2} s -> {mail_ratio:.2}x (goal <= 1.5x: {})",
        met(mail_ratio <= 1.5)
    );
    let peaks: Vec<(String, f64, f64)> = env
        .process_ids()
        .into_iter()
        .map(|(k, pid)| {
            let idle = idle
                .iter()
                .find(|(n, _)| n == k.name())
                .map(|(_, m)| *m)
                .unwrap_or(f64::NAN);
            (k.name().to_owned(), idle, memory_mib(pid).1)
        })
        .collect();
    for (name, idle, peak) in &peaks {
        println!(
            "memory  : allot serve {name:<12} idle {idle:5.1} MiB, peak during the 5,000-row import {peak:5.1} MiB"
        );
    }
    env.shutdown().await;

    // 100,000 rows; mail written as files so the SMTP server is not what is measured.
    let env = Env::processes(
        Backend::Postgres,
        &[
            ("ALLOT_DATABASE_MAX_CONNECTIONS", "16"),
            ("ALLOT_IMPORT__MAX_ROWS", "100000"),
            ("ALLOT_INVITATION__MAX_PER_TEAM_PER_HOUR", "200000"),
            ("ALLOT_SMTP_URL", ""),
        ],
    )
    .await;
    let admin = env.admin().await;
    let team = env.first_team().await.name;
    let csv = people_csv(BIG, &allot_platform::ids::new_id());
    let big_copy = copy_seconds(&csv).await;
    let big_s = run_import(&admin, &team, &csv).await;
    let big_peak = env
        .process_ids()
        .into_iter()
        .map(|(k, pid)| (k.name().to_owned(), memory_mib(pid).1))
        .collect::<Vec<_>>();
    let server_peak = big_peak.iter().map(|(_, m)| *m).fold(0.0, f64::max);
    // The completion email (R-MAIL-3) reaches the administrator.
    let mail_dir = env.config.data_dir.join("mail");
    let deadline = Instant::now() + Duration::from_secs(600);
    let completion = loop {
        let found = std::fs::read_dir(&mail_dir)
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| {
                std::fs::read_to_string(e.path())
                    .map(|t| t.contains(harness::ADMIN_EMAIL) && t.contains("import"))
                    .unwrap_or(false)
            });
        if found || Instant::now() > deadline {
            break found;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    println!(
        "import  : {BIG} people on PostgreSQL: import step {big_s:.1} s ({:.0} rows/s; goal < 25 s: {}), COPY {:.2} s; the completion email {}",
        BIG as f64 / big_s,
        met(big_s < 25.0),
        big_copy,
        if completion {
            "delivered"
        } else {
            "NOT delivered"
        }
    );
    for (name, peak) in &big_peak {
        println!(
            "memory  : allot serve {name:<12} peak during the 100,000-row import {peak:5.1} MiB"
        );
    }
    println!(
        "memory  : the largest server process peaked at {server_peak:.0} MiB (goal < 150 MiB: {})",
        met(server_peak < 150.0)
    );
    env.shutdown().await;
    serde_json::json!({
        "rows": ROWS, "import_s": import_s, "copy_s": copy, "import_over_copy": ratio,
        "import_goal_x": 20, "import_met": ratio <= 20.0,
        "all_mail_s": all_mail_s, "sink_s": sink_s, "mail_over_sink": mail_ratio,
        "mail_goal_x": 1.5, "mail_met": mail_ratio <= 1.5,
        "memory_5000": peaks.iter().map(|(n, i, p)| serde_json::json!({"service": n, "idle_mib": i, "peak_mib": p})).collect::<Vec<_>>(),
        "big_rows": BIG, "big_import_s": big_s, "big_copy_s": big_copy, "big_goal_s": 25, "big_met": big_s < 25.0,
        "memory_100000": big_peak.iter().map(|(n, p)| serde_json::json!({"service": n, "peak_mib": p})).collect::<Vec<_>>(),
        "server_peak_mib": server_peak, "memory_goal_mib": 150, "memory_met": server_peak < 150.0,
        "completion_email": completion,
        "allot_dev": dev_memory().await,
    })
}

/// `allot dev` as a person runs it (SQLite, mail to files): its memory
/// once started, and its peak through a 5,000-row import.
async fn dev_memory() -> serde_json::Value {
    let dir = tempfile::tempdir().expect("dir");
    let port = allot_platform::testing::free_port();
    let console = allot_platform::testing::free_port();
    let mut child = Command::new(harness::allot_bin())
        .args(["dev", "--data-dir"])
        .arg(dir.path())
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .env("ALLOT_CONSOLE__LISTEN", format!("127.0.0.1:{console}"))
        .env("ALLOT_BOOTSTRAP__ADMIN_SECRET", harness::ADMIN_SECRET)
        .env("ALLOT_BOOTSTRAP__ADMIN_EMAIL", harness::ADMIN_EMAIL)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("allot dev");
    let url = format!("http://127.0.0.1:{port}");
    let endpoint = tonic::transport::Endpoint::from_shared(url.clone()).expect("url");
    let deadline = Instant::now() + Duration::from_secs(60);
    let channel = loop {
        if let Ok(c) = endpoint.connect().await {
            break c;
        }
        assert!(Instant::now() < deadline, "allot dev did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let token = loop {
        let r = allot_proto::identity::identity_service_client::IdentityServiceClient::new(
            channel.clone(),
        )
        .create_token(allot_proto::identity::CreateTokenRequest {
            client_id: "bootstrap-admin".into(),
            client_secret: harness::ADMIN_SECRET.into(),
            ..Default::default()
        })
        .await;
        if let Ok(r) = r {
            break r.into_inner().access_token;
        }
        assert!(Instant::now() < deadline, "no token from allot dev");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // Settled: the first team exists.
    let admin = harness::Env::clients_for_url(&url, &token);
    let team = loop {
        let teams = admin
            .team
            .clone()
            .list_teams(tpb::ListTeamsRequest::default())
            .await
            .expect("teams")
            .into_inner()
            .teams;
        if let Some(t) = teams.into_iter().next() {
            break t.name;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let idle = memory_mib(child.id()).0;
    run_import(
        &admin,
        &team,
        &people_csv(5000, &allot_platform::ids::new_id()),
    )
    .await;
    let peak = memory_mib(child.id()).1;
    let _ = child.kill();
    let _ = child.wait();
    println!(
        "memory  : allot dev (all four services and the console, SQLite) idle {idle:.1} MiB, peak during a 5,000-row import {peak:.1} MiB"
    );
    serde_json::json!({ "idle_mib": idle, "peak_mib": peak })
}
