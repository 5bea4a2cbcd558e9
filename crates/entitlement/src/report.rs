//! The seat usage report (R-USE-2): per product and day, seats, assigned
//! and distinct users. Pure: the figures come in, the rows go out.

use std::collections::{BTreeSet, HashMap};

use crate::service::UsageRow;

/// Builds the report for days `first..=last`. `history` has the pool's
/// figures on each day they changed, ordered by product and day; a day
/// without a change has the figures of the last change before it.
pub fn usage_rows(
    history: &[(String, i64, i32, i32)],
    users: &HashMap<(String, i64), i64>,
    first: i64,
    last: i64,
) -> Vec<UsageRow> {
    let products: BTreeSet<&str> = history
        .iter()
        .map(|h| h.0.as_str())
        .chain(users.keys().map(|k| k.0.as_str()))
        .collect();
    let mut rows = Vec::new();
    for product in products {
        let changes: Vec<&(String, i64, i32, i32)> =
            history.iter().filter(|h| h.0 == product).collect();
        let mut idx = 0;
        let (mut seats, mut assigned) = (0, 0);
        for day in first..=last {
            while idx < changes.len() && changes[idx].1 <= day {
                seats = changes[idx].2;
                assigned = changes[idx].3;
                idx += 1;
            }
            let used = users.get(&(product.to_owned(), day)).copied().unwrap_or(0);
            if seats == 0 && assigned == 0 && used == 0 && idx == 0 {
                continue;
            }
            rows.push(UsageRow {
                day,
                product: product.to_owned(),
                seats,
                assigned,
                users: used,
            });
        }
    }
    rows
}

/// The usage report as CSV: `date,product,seats,assigned,users`, one line
/// per day and product (R-USE-2).
pub fn usage_csv(rows: &[UsageRow]) -> Result<Vec<u8>, csv::Error> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(["date", "product", "seats", "assigned", "users"])?;
    for u in rows {
        let d = crate::grpc::day_to_date(u.day);
        out.write_record([
            format!("{:04}-{:02}-{:02}", d.year, d.month, d.day),
            u.product.clone(),
            u.seats.to_string(),
            u.assigned.to_string(),
            u.users.to_string(),
        ])?;
    }
    out.into_inner()
        .map_err(|e| csv::Error::from(std::io::Error::other(e.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_use_2_days_carry_the_last_change_and_count_distinct_users() {
        let history = vec![
            ("cad".to_owned(), 10, 5, 1),
            ("cad".to_owned(), 12, 5, 3),
            ("viz".to_owned(), 11, 2, 2),
        ];
        let users: HashMap<(String, i64), i64> =
            [(("cad".to_owned(), 12), 2), (("cad".to_owned(), 13), 1)].into();
        let rows = usage_rows(&history, &users, 11, 13);
        let cad: Vec<_> = rows
            .iter()
            .filter(|r| r.product == "cad")
            .map(|r| (r.day, r.seats, r.assigned, r.users))
            .collect();
        assert_eq!(cad, [(11, 5, 1, 0), (12, 5, 3, 2), (13, 5, 3, 1)]);
        let viz: Vec<_> = rows
            .iter()
            .filter(|r| r.product == "viz")
            .map(|r| (r.day, r.seats, r.assigned))
            .collect();
        assert_eq!(viz, [(11, 2, 2), (12, 2, 2), (13, 2, 2)]);
    }

    #[test]
    fn days_before_a_product_existed_are_left_out() {
        let history = vec![("cad".to_owned(), 20, 5, 0)];
        let rows = usage_rows(&history, &HashMap::new(), 18, 21);
        assert_eq!(rows.iter().map(|r| r.day).collect::<Vec<_>>(), [20, 21]);
    }
}
