//! Bulk work in the browser (R-INV-5): the admin imports a CSV file of
//! people, watches its progress, and reads each row's outcome with its
//! line number; bad rows do not stop the good ones.

use allot_platform::testing::Backend;
use allot_proto::team as tpb;

use super::{admin_signs_in, assert_accessible, first_team_id};
use crate::harness::{Browser, Env};

/// R-INV-5: 1,500 rows, two of them bad: the import page shows the job's
/// progress while it runs (moved by its event stream), then the outcome
/// of every row; the bad ones say why, with their line numbers.
async fn r_inv_5_console_import_shows_progress_and_each_rows_outcome(backend: Backend) {
    let env = Env::with_console(backend).await;
    let team = first_team_id(&env).await;
    let run = allot_platform::ids::new_id().to_lowercase();
    let mut csv = String::from("email,first name,last name\n");
    for i in 0..1500 {
        match i {
            1 => csv.push_str("not-an-address,Bad,Row\n"),
            8 => csv.push_str(&format!("two@@{run}.example.com,Double,At\n")),
            _ => csv.push_str(&format!("p{i}.{run}@example.com,Person,Number{i}\n")),
        }
    }
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("people.csv");
    std::fs::write(&file, &csv).expect("write the file");

    let b = Browser::start("r_inv_5_import").await;
    admin_signs_in(&b, &env).await;
    b.open(&format!("{}/teams/{team}/users", env.console_url()))
        .await;
    b.choose_file("#import-file", &file).await;
    b.click("#import-members button[type=submit]").await;
    b.wait_path(&format!("/teams/{team}/imports/members/"))
        .await;
    // While it runs, the bar moves by itself; record what it showed.
    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let now = b
            .client()
            .execute(
                "const bar = document.querySelector('progress'); return bar ? [bar.value, bar.max] : null;",
                vec![],
            )
            .await
            .expect("read the bar");
        match now.as_array() {
            Some(v) => {
                let value = v[0].as_f64().unwrap_or(0.0);
                if seen.is_empty() {
                    b.shot("import-running").await;
                    assert_accessible(&b).await;
                }
                seen.push(value);
            }
            None if b.text().await.contains("Done: all") => break,
            None => {}
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the import never finished"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(!seen.is_empty(), "the page showed the import running");
    assert!(
        seen.windows(2).all(|w| w[0] <= w[1]),
        "the bar only moves forward: {seen:?}"
    );
    let page = b.wait_text("Done: all 1,500 rows handled").await;
    b.shot("import-done").await;
    assert_accessible(&b).await;
    assert!(page.contains("1498 invited"), "{page}");
    assert!(page.contains("2 invalid"), "{page}");
    let rows = super::squash(&b.text_of("table.rows").await);
    assert!(rows.contains("3 not-an-address invalid"), "line 3: {rows}");
    assert!(
        rows.contains(&format!("10 two@@{run}.example.com invalid")),
        "line 10: {rows}"
    );
    assert!(rows.contains("2 p0."), "{rows}");
    // Every good row made a member.
    let members = env
        .admin()
        .await
        .team
        .list_members(tpb::ListMembersRequest {
            parent: format!("teams/{team}"),
            query: run.clone(),
            ..Default::default()
        })
        .await
        .expect("members")
        .into_inner();
    assert_eq!(members.total_size, 1498);
    b.close().await;
    env.shutdown().await;
}
crate::on_both_backends!(r_inv_5_console_import_shows_progress_and_each_rows_outcome);
