//! Reporting > Seat Usage (R-USE-2): per product and day, seats, assigned
//! and the people who used it, as a chart and a table, and the CSV export.

use allot_proto::common::Date;
use allot_proto::entitlement as epb;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use futures::StreamExt;
use minijinja::{Value, context};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::user::catalog;
use super::{S, TeamPage, acting, fail, id_ok, not_found};
use crate::chart::{Day, usage_svg};
use crate::render::{download, page};
use crate::session::Visit;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_use_2_the_chart_has_every_day_of_the_range() {
        let from = parse_day("2026-11-29").expect("day");
        let to = parse_day("2026-12-02").expect("day");
        let days = every_day(
            from,
            to,
            vec![Day {
                date: "2026-12-01".into(),
                seats: 3,
                assigned: 2,
                users: 1,
            }],
        );
        let dates: Vec<&str> = days.iter().map(|d| d.date.as_str()).collect();
        assert_eq!(
            dates,
            ["2026-11-29", "2026-11-30", "2026-12-01", "2026-12-02"]
        );
        assert_eq!(days[2].assigned, 2);
        assert_eq!(days[0].seats, 0);
    }
}

#[derive(Deserialize, Default)]
pub struct Range {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

fn parse_day(s: &str) -> Option<time::Date> {
    time::Date::parse(
        s.trim(),
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()
}

fn text(d: time::Date) -> String {
    d.format(time::macros::format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

fn pb(d: time::Date) -> Date {
    Date {
        year: d.year(),
        month: i32::from(u8::from(d.month())),
        day: i32::from(d.day()),
    }
}

/// The range asked for, else the last 30 days; `None` when a date does
/// not read.
fn range(r: &Range) -> Option<(time::Date, time::Date)> {
    let today = OffsetDateTime::now_utc().date();
    let to = if r.to.trim().is_empty() {
        today
    } else {
        parse_day(&r.to)?
    };
    let from = if r.from.trim().is_empty() {
        to - time::Duration::days(29)
    } else {
        parse_day(&r.from)?
    };
    Some((from, to))
}

/// Every day of the range, those without a row at zero, so the chart's
/// days stand where they belong.
fn every_day(from: time::Date, to: time::Date, known: Vec<Day>) -> Vec<Day> {
    let mut out = Vec::new();
    let mut day = from;
    while day <= to && out.len() < 1000 {
        let date = text(day);
        out.push(
            known
                .iter()
                .find(|d| d.date == date)
                .cloned()
                .unwrap_or(Day {
                    date,
                    seats: 0,
                    assigned: 0,
                    users: 0,
                }),
        );
        match day.next_day() {
            Some(next) => day = next,
            None => break,
        }
    }
    out
}

#[derive(Serialize)]
struct ProductChart {
    name: String,
    svg: Value,
    days: Vec<(String, i32, i32, i32)>,
}

pub async fn show(
    State(shared): S,
    visit: Visit,
    Path(team): Path<String>,
    Query(r): Query<Range>,
) -> Response {
    let mut t = match TeamPage::open(&shared, visit, &team, "Seat usage", "reports", true).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let Some((from, to)) = range(&r) else {
        let chrome = t.chrome.clone();
        return page(
            &t.visit,
            &chrome,
            "reports.html",
            context! {
                from => r.from, to => r.to, charts => Vec::<ProductChart>::new(),
                range_error => "Dates are written as YYYY-MM-DD, for example 2026-11-30.",
            },
        );
    };
    let (report, products) = tokio::join!(
        async {
            t.calls
                .entitlement
                .clone()
                .get_usage_report(epb::GetUsageReportRequest {
                    parent: t.name.clone(),
                    start_date: Some(pb(from)),
                    end_date: Some(pb(to)),
                })
                .await
        },
        catalog(&t.calls),
    );
    let (rows, products) = match (report, products) {
        (Ok(r), Ok(p)) => (r.into_inner().rows, p),
        (Err(s), _) if s.code() == tonic::Code::InvalidArgument => {
            let why = crate::refusal::Refusal::from(s).message;
            return page(
                &t.visit,
                &t.chrome,
                "reports.html",
                context! {
                    from => text(from), to => text(to), charts => Vec::<ProductChart>::new(),
                    range_error => why,
                },
            );
        }
        (Err(s), _) | (_, Err(s)) => return fail(&s),
    };
    let mut by_product: std::collections::BTreeMap<String, Vec<Day>> = Default::default();
    for row in rows {
        let date = row
            .date
            .map(|d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day))
            .unwrap_or_default();
        by_product.entry(row.product).or_default().push(Day {
            date,
            seats: row.seats,
            assigned: row.assigned,
            users: row.users,
        });
    }
    let charts: Vec<ProductChart> = by_product
        .into_iter()
        .map(|(product, days)| {
            let days = every_day(from, to, days);
            let name = products
                .get(&product)
                .map(|p| p.display_name.clone())
                .unwrap_or(product);
            ProductChart {
                svg: Value::from_safe_string(usage_svg(&name, &days)),
                days: days
                    .iter()
                    .map(|d| (d.date.clone(), d.seats, d.assigned, d.users))
                    .collect(),
                name,
            }
        })
        .collect();
    t.chrome.title = format!("Seat usage · {}", t.team.display_name);
    page(
        &t.visit,
        &t.chrome,
        "reports.html",
        context! { from => text(from), to => text(to), charts => charts },
    )
}

pub async fn usage_csv(
    State(shared): S,
    visit: Visit,
    Path(team): Path<String>,
    Query(r): Query<Range>,
) -> Response {
    let (_, mut calls) = match acting(&shared, &visit) {
        Ok(a) => a,
        Err(to) => return to,
    };
    let (true, Some((from, to))) = (id_ok(&team), range(&r)) else {
        return not_found();
    };
    let stream = calls
        .entitlement
        .export_usage_report(epb::ExportUsageReportRequest {
            parent: format!("teams/{team}"),
            start_date: Some(pb(from)),
            end_date: Some(pb(to)),
        })
        .await;
    let mut stream = match stream {
        Ok(s) => s.into_inner(),
        Err(s) => return fail(&s),
    };
    let mut csv = Vec::new();
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(c) => csv.extend_from_slice(&c.chunk),
            Err(s) => return fail(&s),
        }
    }
    download(
        &format!("seat-usage-{}-{}.csv", text(from), text(to)),
        "text/csv; charset=utf-8",
        csv,
    )
}
