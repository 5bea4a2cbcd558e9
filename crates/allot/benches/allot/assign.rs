//! Assignment throughput against `pgbench -N`.

use super::*;

// ---- assign ------------------------------------------------------------------

pub const CLIENTS: usize = 8;

/// pgbench -N with `CLIENTS` clients on a fresh database of the same server.
pub fn pgbench(seconds: u32) -> f64 {
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

pub async fn assign() -> serde_json::Value {
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
        "assign  : pgbench -N {pg_tps:.0} tps, Allot assign/unassign over gRPC {tps:.0} tps ({CLIENTS} clients each) -> ratio {ratio:.2} (goal >= 0.50: {}); rounds pgbench {pg:.0?} Allot {allot:.0?}",
        met(ratio >= 0.5)
    );
    // A department at once: 1,000 people, one call by product.
    const DEPARTMENT: usize = 1000;
    let everyone = shop.members(DEPARTMENT).await;
    shop.product("dept", i32::try_from(DEPARTMENT).unwrap_or(i32::MAX) + 1)
        .await;
    let started = Instant::now();
    let results = shop
        .owner
        .clients
        .clone()
        .entitlement
        .assign_users(epb::AssignUsersRequest {
            parent: shop.team.clone(),
            product: "products/dept".into(),
            accounts: everyone,
            ..Default::default()
        })
        .await
        .expect("assign a department")
        .into_inner()
        .results;
    let department_s = started.elapsed().as_secs_f64();
    let assigned = results
        .iter()
        .filter(|r| r.outcome == epb::AssignOutcome::Assigned as i32)
        .count();
    assert_eq!(assigned, DEPARTMENT, "everyone got a seat");
    println!(
        "assign  : {DEPARTMENT} people by product in one call: {:.0} ms (goal < 1,000 ms: {})",
        department_s * 1000.0,
        met(department_s < 1.0)
    );
    shop.env.shutdown().await;
    serde_json::json!({
        "clients": CLIENTS, "pgbench_tps": pg_tps, "allot_tps": tps, "ratio": ratio,
        "ratio_goal": 0.5, "ratio_met": ratio >= 0.5,
        "department": DEPARTMENT, "department_ms": department_s * 1000.0,
        "department_goal_ms": 1000, "department_met": department_s < 1.0,
    })
}

/// How a goal reads in the report.
pub fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT met" }
}

/// `CLIENTS` clients assign and unassign their own seat for `length`;
/// returns the changes per second.
pub async fn assign_round(shop: &Shop, people: &[String], length: Duration) -> f64 {
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
