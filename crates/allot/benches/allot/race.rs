//! The seat race (R-SEAT-1).

use super::*;

// ---- race ------------------------------------------------------------------

pub async fn race() -> serde_json::Value {
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
