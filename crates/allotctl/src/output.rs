//! Printing: pretty JSON for scripts (`--json`), text lines and tables for
//! people (comfy-table, borderless like kubectl's), and the views several
//! commands share.

use allot_proto::team::{self as tpb};
use serde::Serialize;

/// Prints `value` as pretty JSON with `--json`, else the text made from it.
pub fn print<T: Serialize>(
    json: bool,
    value: &T,
    text: impl FnOnce(&T) -> String,
) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(value)?);
    } else {
        println!("{}", text(value));
    }
    Ok(())
}

/// Prints `value` as one line of compact JSON (for streams).
pub fn print_json_line<T: Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(value)?);
    Ok(())
}

/// A table with a header row and no borders, columns as wide as their
/// widest cell.
pub fn table(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::NOTHING)
        .set_content_arrangement(comfy_table::ContentArrangement::Disabled)
        .set_header(header.iter().copied());
    for row in rows {
        t.add_row(row);
    }
    t.to_string()
        .lines()
        .map(|l| l.trim_end().trim_start_matches(' '))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Lines joined into one text, one per row.
pub fn lines(rows: impl IntoIterator<Item = String>) -> String {
    rows.into_iter().collect::<Vec<_>>().join("\n")
}

/// `name` without `prefix` (`products/cad` → `cad`).
pub fn short<'a>(name: &'a str, prefix: &str) -> &'a str {
    name.strip_prefix(prefix).unwrap_or(name)
}

/// A member as printed by `member list`, `group members` and invitations.
#[derive(Serialize)]
pub struct MemberView {
    pub name: String,
    pub email: String,
    pub given_name: String,
    pub family_name: String,
    pub role: String,
    pub guest: bool,
    pub state: String,
}

impl From<&tpb::Member> for MemberView {
    fn from(m: &tpb::Member) -> Self {
        MemberView {
            name: m.name.clone(),
            email: m.email.clone(),
            given_name: m.given_name.clone(),
            family_name: m.family_name.clone(),
            role: tpb::Role::try_from(m.role)
                .map(|r| r.as_str_name().trim_start_matches("ROLE_").to_owned())
                .unwrap_or_default(),
            guest: m.guest,
            state: tpb::MemberState::try_from(m.state)
                .map(|s| {
                    s.as_str_name()
                        .trim_start_matches("MEMBER_STATE_")
                        .to_owned()
                })
                .unwrap_or_default(),
        }
    }
}

/// The member table: email, name, role, state (and guest).
pub fn member_table(members: &[MemberView]) -> String {
    table(
        &["EMAIL", "NAME", "ROLE", "STATE"],
        members.iter().map(|m| {
            let guest = if m.guest { " guest" } else { "" };
            vec![
                m.email.clone(),
                format!("{} {}", m.given_name, m.family_name)
                    .trim()
                    .to_owned(),
                m.role.clone(),
                format!("{}{guest}", m.state),
            ]
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_print_in_columns() {
        let m = tpb::Member {
            email: "ada@example.com".into(),
            given_name: "Ada".into(),
            family_name: "Lovelace".into(),
            role: tpb::Role::User as i32,
            guest: true,
            state: tpb::MemberState::Invited as i32,
            ..Default::default()
        };
        let v = MemberView::from(&m);
        assert_eq!(v.role, "USER");
        assert_eq!(v.state, "INVITED");
        let t = member_table(&[v]);
        let rows: Vec<&str> = t.lines().collect();
        assert!(rows[0].starts_with("EMAIL"), "{t}");
        assert!(rows[1].starts_with("ada@example.com"), "{t}");
        assert!(rows[1].contains("Ada Lovelace"), "{t}");
        assert!(rows[1].ends_with("INVITED guest"), "{t}");
        let header_role = rows[0].find("ROLE");
        assert_eq!(header_role, rows[1].find("USER"), "columns line up:\n{t}");
        assert_eq!(short("products/cad", "products/"), "cad");
        assert_eq!(short("cad", "products/"), "cad");
        assert_eq!(lines(["a".to_owned(), "b".to_owned()]), "a\nb");
    }
}
