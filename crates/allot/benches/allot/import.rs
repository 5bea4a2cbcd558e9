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

pub async fn import() -> serde_json::Value {
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
