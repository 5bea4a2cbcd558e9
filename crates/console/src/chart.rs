//! The seat usage chart (R-USE-2) as inline SVG: per day, the seats as a
//! line, the assigned seats as bars and the people who used the product
//! as darker bars inside them. Drawn here so the page needs no script and
//! passes the Content Security Policy (no inline styles: presentation
//! attributes and the stylesheet's classes only).

use std::fmt::Write;

/// One day of one product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Day {
    /// `YYYY-MM-DD`.
    pub date: String,
    pub seats: i32,
    pub assigned: i32,
    pub users: i32,
}

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 40.0;
const BOTTOM: f64 = 28.0;
const TOP: f64 = 12.0;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The chart of `days` (in date order) for the product named `title`.
pub fn usage_svg(title: &str, days: &[Day]) -> String {
    let top = days
        .iter()
        .map(|d| d.seats.max(d.assigned).max(d.users))
        .max()
        .unwrap_or(0)
        .max(1);
    let plot_h = HEIGHT - BOTTOM - TOP;
    let plot_w = WIDTH - LEFT - 8.0;
    let n = days.len().max(1) as f64;
    let slot = plot_w / n;
    let bar = (slot * 0.7).max(1.0);
    let y = |v: i32| TOP + plot_h - plot_h * f64::from(v) / f64::from(top);
    let mut svg = String::new();
    let label = format!(
        "{}: seats, assigned seats and people who used it, per day from {} to {}",
        title,
        days.first().map(|d| d.date.as_str()).unwrap_or(""),
        days.last().map(|d| d.date.as_str()).unwrap_or("")
    );
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg"><title>{}</title>"#,
        escape(&label),
        escape(&label)
    );
    // The scale: zero, half and the top.
    for v in [0, top / 2, top] {
        let yy = y(v);
        let _ = write!(
            svg,
            r#"<line class="grid" x1="{LEFT}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}"/><text class="axis" x="{:.1}" y="{:.1}" text-anchor="end">{v}</text>"#,
            WIDTH - 8.0,
            LEFT - 6.0,
            yy + 4.0
        );
    }
    let mut seats_line = String::new();
    for (i, d) in days.iter().enumerate() {
        let x = LEFT + slot * i as f64 + (slot - bar) / 2.0;
        let _ = write!(
            svg,
            r#"<rect class="assigned" x="{x:.1}" y="{:.1}" width="{bar:.1}" height="{:.1}"><title>{}: {} assigned</title></rect>"#,
            y(d.assigned),
            TOP + plot_h - y(d.assigned),
            escape(&d.date),
            d.assigned
        );
        let _ = write!(
            svg,
            r#"<rect class="used" x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}"><title>{}: {} used it</title></rect>"#,
            x + bar * 0.2,
            y(d.users),
            bar * 0.6,
            TOP + plot_h - y(d.users),
            escape(&d.date),
            d.users
        );
        let _ = write!(seats_line, "{:.1},{:.1} ", x + bar / 2.0, y(d.seats));
        let every = (days.len() / 6).max(1);
        if i % every == 0 {
            let _ = write!(
                svg,
                r#"<text class="axis" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                x + bar / 2.0,
                HEIGHT - 8.0,
                escape(d.date.get(5..).unwrap_or(&d.date))
            );
        }
    }
    let _ = write!(
        svg,
        r#"<polyline class="seats" fill="none" points="{}"/></svg>"#,
        seats_line.trim_end()
    );
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(date: &str, seats: i32, assigned: i32, users: i32) -> Day {
        Day {
            date: date.into(),
            seats,
            assigned,
            users,
        }
    }

    #[test]
    fn r_use_2_the_chart_draws_each_day_and_names_itself() {
        let svg = usage_svg(
            "CAD <Suite>",
            &[day("2026-12-01", 10, 4, 2), day("2026-12-02", 10, 6, 3)],
        );
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("CAD &lt;Suite&gt;"), "names are escaped");
        assert_eq!(svg.matches(r#"class="assigned""#).count(), 2);
        assert_eq!(svg.matches(r#"class="used""#).count(), 2);
        assert!(svg.contains("2026-12-02: 6 assigned"));
        assert!(svg.contains(r#"class="seats""#));
        assert!(!svg.contains("style="), "no inline styles under the CSP");
        // Taller bars for more assigned seats.
        let heights: Vec<f64> = svg
            .match_indices(r#"class="assigned""#)
            .map(|(i, _)| {
                let rest = &svg[i..];
                let h = rest.find("height=\"").expect("height") + 8;
                rest[h..rest[h..].find('"').expect("end") + h]
                    .parse()
                    .expect("number")
            })
            .collect();
        assert!(heights[1] > heights[0], "{heights:?}");
    }

    #[test]
    fn an_empty_report_draws_an_empty_chart() {
        let svg = usage_svg("Nothing", &[]);
        assert!(svg.ends_with("</svg>"));
    }
}
