//! Reporting > Seat Usage in the browser (R-USE-2): the chart of seats,
//! assigned seats and people who used a product per day, its figures,
//! and the CSV download.

use allot_platform::testing::Backend;
use allot_proto::entitlement as epb;

use super::{admin_account, admin_buys, admin_signs_in, assert_accessible, first_team_id};
use crate::entitlement::Shop;
use crate::harness::{Browser, Env};

/// R-USE-2: after a launch is recorded, the report shows the product's
/// chart and today's figures (seats, assigned, one user), and the CSV the
/// browser downloads has the same row.
async fn r_use_2_console_shows_the_usage_chart_and_downloads_the_csv(backend: Backend) {
    let shop = Shop::on(Env::with_console(backend).await).await;
    let env = &shop.env;
    admin_buys(&shop, "rep", 4).await;
    let team = first_team_id(env).await;
    // The administrator holds a seat (R-SEAT-6) and launches the product.
    let launch = env
        .admin()
        .await
        .entitlement
        .check_entitlement(epb::CheckEntitlementRequest {
            account: admin_account(env).await,
            product: "products/rep".into(),
            record_usage: true,
        })
        .await
        .expect("check")
        .into_inner();
    assert!(launch.allowed);

    let b = Browser::start("r_use_2_reports").await;
    admin_signs_in(&b, env).await;
    b.open(&format!("{}/teams/{team}/reports", env.console_url()))
        .await;
    b.wait_text("Product rep").await;
    assert_eq!(b.count("svg.chart").await, 1, "one chart per product");
    let label = b
        .client()
        .execute(
            "return document.querySelector('svg.chart').getAttribute('aria-label');",
            vec![],
        )
        .await
        .expect("label");
    assert!(
        label.as_str().unwrap_or_default().contains("Product rep"),
        "{label:?} in {}",
        b.client().source().await.unwrap_or_default()
    );
    b.shot("reports").await;
    assert_accessible(&b).await;
    let today = time::OffsetDateTime::now_utc().date();
    let today = format!(
        "{:04}-{:02}-{:02}",
        today.year(),
        u8::from(today.month()),
        today.day()
    );
    b.click(".chart-box details summary").await;
    let figures = super::squash(&b.text_of(".chart-box details table").await);
    assert!(figures.contains(&format!("{today} 4 1 1")), "{figures}");

    b.click("a.button[href*='usage.csv']").await;
    let csv = String::from_utf8(b.downloaded("seat-usage-").await).expect("utf-8");
    let line = csv
        .lines()
        .find(|l| l.contains(&today))
        .unwrap_or_else(|| panic!("no row for today: {csv}"));
    assert!(line.contains("rep"), "{line}");

    // A date that does not read is refused beside the range.
    b.open(&format!(
        "{}/teams/{team}/reports?from=yesterday",
        env.console_url()
    ))
    .await;
    b.wait_text("Dates are written as YYYY-MM-DD").await;
    b.close().await;
    shop.env.shutdown().await;
}
crate::on_both_backends!(r_use_2_console_shows_the_usage_chart_and_downloads_the_csv);
