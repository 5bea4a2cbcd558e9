//! R-USE-3: the member export. Its columns, optionally each member's
//! products and last use, and every cell neutralised so no spreadsheet runs
//! it as a formula.

use allot_platform::csvfile::neutralise;

use super::Member;

/// One product a member holds in the team: its id and, when it was ever
/// launched, its last use as RFC 3339.
pub type HeldProduct = (String, Option<String>);

/// The export's header row.
pub fn export_header(with_products: bool) -> Vec<&'static str> {
    let mut header = vec![
        "email",
        "first name",
        "last name",
        "role",
        "guest",
        "state",
        "joined",
    ];
    if with_products {
        header.extend(["products", "last used"]);
    }
    header
}

/// One member's row; `held` is `Some` when products are exported.
pub fn export_record(m: &Member, held: Option<&[HeldProduct]>) -> Vec<String> {
    let mut record = vec![
        neutralise(m.email.as_str()),
        neutralise(&m.given_name),
        neutralise(&m.family_name),
        m.role.as_db().to_lowercase(),
        m.guest.to_string(),
        m.state.as_db().to_lowercase(),
        rfc3339(allot_platform::clock::timestamp(m.create_time).seconds),
    ];
    if let Some(held) = held {
        let products: Vec<&str> = held.iter().map(|(p, _)| p.as_str()).collect();
        let uses: Vec<String> = held
            .iter()
            .map(|(p, t)| format!("{p} {}", t.as_deref().unwrap_or("never")))
            .collect();
        record.push(neutralise(&products.join(";")));
        record.push(neutralise(&uses.join(";")));
    }
    record
}

/// A timestamp as RFC 3339, empty when it is not one.
pub fn rfc3339(seconds: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}
