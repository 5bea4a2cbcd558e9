//! Printing: pretty JSON for scripts (`--json`), text lines and fixed-width
//! tables for people, and the views several commands share.

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

/// One row of the member table: email, name, role, state.
pub fn member_line(m: &MemberView) -> String {
    let guest = if m.guest { " guest" } else { "" };
    format!(
        "{:<36} {:<24} {:<16} {}{guest}",
        m.email,
        format!("{} {}", m.given_name, m.family_name).trim(),
        m.role,
        m.state
    )
}

/// The member table, one row each.
pub fn member_table(members: &[MemberView]) -> String {
    lines(members.iter().map(member_line))
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
        assert_eq!(
            member_line(&v),
            format!(
                "{:<36} {:<24} {:<16} INVITED guest",
                "ada@example.com", "Ada Lovelace", "USER"
            )
        );
        assert_eq!(short("products/cad", "products/"), "cad");
        assert_eq!(short("cad", "products/"), "cad");
        assert_eq!(lines(["a".to_owned(), "b".to_owned()]), "a\nb");
    }
}
