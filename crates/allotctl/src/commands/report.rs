//! `allotctl report usage`: seats, assignments and use per product and day,
//! as a table, CSV or an SVG chart.

use allot_proto::entitlement::{self as epb};
use anyhow::{Context, bail};
use clap::Subcommand;

use crate::Global;
use crate::client::{connect, status_error, team_name};
use crate::output::print;

/// Reports for whoever pays.
#[derive(Debug, Subcommand)]
pub enum ReportCmd {
    /// Seats, assigned and distinct users per product and day.
    Usage {
        #[arg(long)]
        team: String,
        /// First day, `YYYY-MM-DD`.
        #[arg(long)]
        from: String,
        /// Last day, `YYYY-MM-DD` (inclusive).
        #[arg(long)]
        to: String,
        /// Print CSV instead of a table.
        #[arg(long)]
        csv: bool,
        /// Also draw seats, assigned and used per day for each product into
        /// this SVG file.
        #[arg(long)]
        chart: Option<std::path::PathBuf>,
    },
}

pub async fn run(g: &Global, cmd: ReportCmd) -> anyhow::Result<()> {
    match cmd {
        ReportCmd::Usage {
            team,
            from,
            to,
            csv,
            chart,
        } => usage(g, &team, &from, &to, csv, chart).await,
    }
}

fn parse_date(field: &str, s: &str) -> anyhow::Result<allot_proto::common::Date> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let d = time::Date::parse(s, &fmt).with_context(|| format!("--{field} must be YYYY-MM-DD"))?;
    Ok(allot_proto::common::Date {
        year: d.year(),
        month: i32::from(u8::from(d.month())),
        day: i32::from(d.day()),
    })
}

fn date_text(d: Option<&allot_proto::common::Date>) -> String {
    d.map(|d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day))
        .unwrap_or_default()
}

async fn usage(
    g: &Global,
    team: &str,
    from: &str,
    to: &str,
    as_csv: bool,
    chart: Option<std::path::PathBuf>,
) -> anyhow::Result<()> {
    let mut c = connect(g, true).await?;
    let (start, end) = (parse_date("from", from)?, parse_date("to", to)?);
    let report = c
        .entitlement
        .get_usage_report(epb::GetUsageReportRequest {
            parent: team_name(team),
            start_date: Some(start),
            end_date: Some(end),
        })
        .await
        .map_err(status_error)?
        .into_inner();
    if let Some(path) = &chart {
        draw_usage_chart(path, &report)?;
        eprintln!("drew {}", path.display());
    }
    if as_csv {
        let mut out = csv::Writer::from_writer(std::io::stdout());
        out.write_record(["date", "product", "seats", "assigned", "users"])?;
        for r in &report.rows {
            out.write_record([
                date_text(r.date.as_ref()),
                r.product.trim_start_matches("products/").to_owned(),
                r.seats.to_string(),
                r.assigned.to_string(),
                r.users.to_string(),
            ])?;
        }
        out.flush()?;
        return Ok(());
    }
    let rows: Vec<serde_json::Value> = report
        .rows
        .iter()
        .map(|r| {
            serde_json::json!({
                "date": date_text(r.date.as_ref()),
                "product": r.product.trim_start_matches("products/"),
                "seats": r.seats, "assigned": r.assigned, "users": r.users,
            })
        })
        .collect();
    print(g.json, &rows, |rows| {
        let mut text = format!(
            "{:<10}  {:<24} {:>6} {:>9} {:>6}",
            "date", "product", "seats", "assigned", "users"
        );
        for r in rows {
            text.push_str(&format!(
                "\n{:<10}  {:<24} {:>6} {:>9} {:>6}",
                r["date"].as_str().unwrap_or_default(),
                r["product"].as_str().unwrap_or_default(),
                r["seats"].to_string(),
                r["assigned"].to_string(),
                r["users"].to_string()
            ));
        }
        text
    })
}

/// A line of the usage chart: its label, colour and value.
type Series = (
    &'static str,
    plotters::style::RGBColor,
    fn(&epb::UsageRow) -> i32,
);

/// One panel per product: seats, assigned and users per day.
fn draw_usage_chart(path: &std::path::Path, report: &epb::UsageReport) -> anyhow::Result<()> {
    use plotters::prelude::*;
    let mut products: Vec<&str> = report.rows.iter().map(|r| r.product.as_str()).collect();
    products.sort_unstable();
    products.dedup();
    if products.is_empty() {
        bail!("the report has no rows to draw");
    }
    let mut days: Vec<String> = report
        .rows
        .iter()
        .map(|r| date_text(r.date.as_ref()))
        .collect();
    days.sort_unstable();
    days.dedup();
    let height = u32::try_from(products.len()).unwrap_or(1) * 300;
    let root = SVGBackend::new(path, (900, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let panels = root.split_evenly((products.len(), 1));
    for (panel, product) in panels.iter().zip(&products) {
        let rows: Vec<&epb::UsageRow> = report
            .rows
            .iter()
            .filter(|r| r.product == *product)
            .collect();
        let top = rows
            .iter()
            .map(|r| r.seats.max(r.assigned).max(r.users))
            .max()
            .unwrap_or(1)
            .max(1);
        let x_of = |r: &epb::UsageRow| {
            let d = date_text(r.date.as_ref());
            i32::try_from(days.iter().position(|x| *x == d).unwrap_or(0)).unwrap_or(0)
        };
        let n = i32::try_from(days.len()).unwrap_or(1);
        let mut chart = ChartBuilder::on(panel)
            .caption(product.trim_start_matches("products/"), ("sans-serif", 20))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(40)
            .build_cartesian_2d(0..(n - 1).max(1), 0..top + top / 10 + 1)?;
        let labels = days.clone();
        chart
            .configure_mesh()
            .x_labels(days.len().min(10))
            .x_label_formatter(&|i| {
                labels
                    .get(usize::try_from(*i).unwrap_or(0))
                    .cloned()
                    .unwrap_or_default()
            })
            .draw()?;
        let series: [Series; 3] = [
            ("seats", BLUE, |r| r.seats),
            ("assigned", GREEN, |r| r.assigned),
            ("used", RED, |r| r.users),
        ];
        for (label, color, value) in series {
            chart
                .draw_series(LineSeries::new(
                    rows.iter().map(|r| (x_of(r), value(r))),
                    color.stroke_width(2),
                ))?
                .label(label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color));
        }
        chart
            .configure_series_labels()
            .border_style(BLACK)
            .background_style(WHITE.mix(0.8))
            .draw()?;
    }
    root.present()?;
    Ok(())
}
