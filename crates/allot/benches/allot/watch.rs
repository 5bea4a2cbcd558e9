//! Commit-to-watcher latency.

use super::*;

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

pub async fn watch() -> serde_json::Value {
    let mut out = serde_json::Map::new();
    for backend in [Backend::Postgres, Backend::Sqlite] {
        out.insert(
            format!("{backend:?}").to_lowercase(),
            watch_on(backend).await,
        );
    }
    serde_json::Value::Object(out)
}

pub async fn watch_on(backend: Backend) -> serde_json::Value {
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
