//! R-INV-5: importing people from a CSV file as a long-running operation.
//!
//! The file is checked whole before anything is written (UTF-8, CSV, an
//! email column, the row cap); then an operation row holds the file and
//! its progress, and a worker adds the rows in batches. Each batch adds
//! its members, records each row's outcome and advances the progress in
//! one transaction, so a restarted server resumes after the last batch and
//! a re-run file creates nothing twice (people already in the team come out
//! as already members).

use allot_platform::csvfile::{self, Column};
use allot_platform::error::FieldViolation;
use allot_platform::values::Email;

use allot_platform::values::parse_person_name;

use crate::domain::{ListedAddress, NewPerson, names_from_address};
use crate::error::TeamError;

/// One row of an import file, before it is judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRow {
    /// The line number in the file, the header being line 1.
    pub line: u32,
    pub email: String,
    pub given_name: String,
    pub family_name: String,
    /// Groups to put the person in, by display name.
    pub groups: Vec<String>,
    /// Products to give the person, by id or display name.
    pub products: Vec<String>,
}

impl ImportRow {
    /// The row as an entry of the member list, valid or with its reason.
    pub fn to_listed(&self) -> ListedAddress {
        let parsed = (|| {
            let email = Email::parse("email", &self.email)?;
            let (given, family) =
                if self.given_name.trim().is_empty() && self.family_name.trim().is_empty() {
                    names_from_address(email.as_str())
                } else {
                    (self.given_name.clone(), self.family_name.clone())
                };
            let given_name = parse_person_name("first name", &given)?;
            let family_name = if family.trim().is_empty() {
                String::new()
            } else {
                parse_person_name("last name", &family)?
            };
            for g in &self.groups {
                crate::domain::parse_team_name("group", g)?;
            }
            Ok::<_, FieldViolation>(NewPerson {
                given_name,
                family_name,
                email,
            })
        })();
        ListedAddress {
            input: self.email.clone(),
            parsed,
        }
    }
}

const COLUMNS: &[Column] = &[
    csvfile::EMAIL,
    csvfile::GIVEN_NAME,
    csvfile::FAMILY_NAME,
    Column {
        key: "groups",
        names: &["group", "groups"],
        required: false,
    },
    Column {
        key: "products",
        names: &["product", "products"],
        required: false,
    },
];

/// A cell holding several values separated by `;`.
fn list(cell: &str) -> Vec<String> {
    cell.split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Reads a whole import file; refuses it before anything is written when
/// it is not UTF-8, not CSV, has no email column or too many rows.
pub fn parse_members_csv(bytes: &[u8], max_rows: usize) -> Result<Vec<ImportRow>, TeamError> {
    let rows =
        csvfile::read("csv", bytes, COLUMNS, max_rows).map_err(|v| TeamError::Invalid(vec![v]))?;
    Ok(rows
        .into_iter()
        .map(|r| ImportRow {
            line: r.line,
            email: r.get("email").to_owned(),
            given_name: r.get("given").to_owned(),
            family_name: r.get("family").to_owned(),
            groups: list(r.get("groups")),
            products: list(r.get("products")),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_inv_5_names_and_emails_from_their_columns() {
        let file =
            "\u{feff}Last Name,E-mail,First Name\r\n\"Lovelace, Countess\",ada@example.com,Ada\r\n";
        let rows = parse_members_csv(file.as_bytes(), 10).expect("parses");
        assert_eq!(
            rows,
            vec![ImportRow {
                line: 2,
                email: "ada@example.com".into(),
                given_name: "Ada".into(),
                family_name: "Lovelace, Countess".into(),
                groups: vec![],
                products: vec![],
            }]
        );
        let no_email = parse_members_csv(b"name,phone\nAda,1\n", 10).expect_err("no email");
        assert!(no_email.to_string().contains("no email column"));
    }

    #[test]
    fn r_inv_5_rows_are_judged_alone() {
        let rows = parse_members_csv(
            b"email,first name,last name\nnot-an-address,A,B\nann.lee@example.com,,\n",
            10,
        )
        .expect("parses");
        assert!(rows[0].to_listed().parsed.is_err());
        let ok = rows[1].to_listed().parsed.expect("valid");
        assert_eq!(
            (ok.given_name.as_str(), ok.family_name.as_str()),
            ("Ann", "Lee")
        );
    }
}

/// What became of one imported row. The numbers are stored with each row
/// and are those of the API's `AddMemberOutcome`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum ImportOutcome {
    Invited = 1,
    Added = 2,
    AlreadyMember = 3,
    Invalid = 4,
}

impl ImportOutcome {
    pub const ALL: [ImportOutcome; 4] = [
        ImportOutcome::Invited,
        ImportOutcome::Added,
        ImportOutcome::AlreadyMember,
        ImportOutcome::Invalid,
    ];

    /// The stored number.
    pub fn code(self) -> i32 {
        self as i32
    }
}

/// Answers list every row of files up to this many rows; of larger files
/// only the rows that were not imported (the rest are read in pages).
pub const ALL_ROWS_UP_TO: i64 = 5000;

/// How many rows had each outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportCounts {
    pub invited: i32,
    pub added: i32,
    pub already_member: i32,
    pub invalid: i32,
}

impl ImportCounts {
    /// From stored counts by outcome number.
    pub fn from_codes(counts: &std::collections::HashMap<i32, i32>) -> ImportCounts {
        let n = |o: ImportOutcome| counts.get(&o.code()).copied().unwrap_or_default();
        ImportCounts {
            invited: n(ImportOutcome::Invited),
            added: n(ImportOutcome::Added),
            already_member: n(ImportOutcome::AlreadyMember),
            invalid: n(ImportOutcome::Invalid),
        }
    }

    /// R-INV-5: the summary the admin is told when the import finishes.
    pub fn summary(&self, validate_only: bool) -> String {
        let c = self;
        if validate_only {
            format!(
                "Dry run: {} would be invited, {} added, {} are already members, {} invalid.",
                c.invited, c.added, c.already_member, c.invalid
            )
        } else {
            format!(
                "{} invited, {} added, {} already members, {} invalid.",
                c.invited, c.added, c.already_member, c.invalid
            )
        }
    }
}
