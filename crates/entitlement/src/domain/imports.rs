//! R-SEAT-3 by CSV: the assignment file's rows, what became of each, and
//! the summary its creator is told.

use allot_platform::csvfile::{self, Column};
use allot_platform::values::Email;

use crate::error::EntitlementError;

const COLUMNS: &[Column] = &[
    csvfile::EMAIL,
    Column {
        key: "product",
        names: &["product", "product id", "products"],
        required: true,
    },
    Column {
        key: "items",
        names: &["items", "item", "services"],
        required: false,
    },
    csvfile::GIVEN_NAME,
    csvfile::FAMILY_NAME,
];

/// One row of an assignment file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentRow {
    pub line: u32,
    pub email: String,
    pub product: String,
    /// Empty: all items.
    pub items: Vec<String>,
    pub given_name: String,
    pub family_name: String,
}

/// Reads a whole assignment file, refusing it before anything is written.
pub fn parse_assignments_csv(
    bytes: &[u8],
    max_rows: usize,
) -> Result<Vec<AssignmentRow>, EntitlementError> {
    let rows = csvfile::read("csv", bytes, COLUMNS, max_rows)
        .map_err(|v| EntitlementError::Invalid(vec![v]))?;
    Ok(rows
        .into_iter()
        .map(|r| AssignmentRow {
            line: r.line,
            email: r.get("email").to_owned(),
            product: r.get("product").to_owned(),
            items: r
                .get("items")
                .split([';', ','])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            given_name: r.get("given").to_owned(),
            family_name: r.get("family").to_owned(),
        })
        .collect())
}

/// A `Name <email>` entry for team's AddMembers, without the characters
/// that separate entries.
pub fn address(row: &AssignmentRow, email: &Email) -> String {
    let name: String = format!("{} {}", row.given_name, row.family_name)
        .chars()
        .filter(|c| !matches!(c, ';' | '<' | '>' | ',' | '"' | '\n' | '\r'))
        .collect();
    let name = name.trim();
    if name.is_empty() {
        email.as_str().to_owned()
    } else {
        format!("{name} <{}>", email.as_str())
    }
}

/// What became of one row. The numbers are stored with each row and are
/// those of the API's `AssignOutcome` (an invalid row is stored as its
/// UNSPECIFIED).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum ImportOutcome {
    Invalid = 0,
    Assigned = 1,
    AlreadyAssigned = 2,
    NoSeat = 3,
    Refused = 4,
}

impl ImportOutcome {
    /// The stored number.
    pub const fn code(self) -> i32 {
        self as i32
    }

    /// Whether a row with this stored number ended with its seat held.
    pub fn is_success(code: i32) -> bool {
        code == ImportOutcome::Assigned.code() || code == ImportOutcome::AlreadyAssigned.code()
    }
}

/// Answers list every row of files up to this many rows; of larger files
/// only the rows that were not assigned (the rest are read in pages).
pub const ALL_ROWS_UP_TO: i64 = 5000;

/// How many rows had each outcome, and how many people were invited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportCounts {
    pub assigned: i32,
    pub already_assigned: i32,
    /// No free seat, or refused by another rule.
    pub no_seat: i32,
    pub invalid: i32,
    pub invited: i32,
}

impl ImportCounts {
    /// From stored counts by outcome number and the people invited.
    pub fn from_codes(counts: &std::collections::HashMap<i32, i32>, invited: i32) -> ImportCounts {
        let n = |o: ImportOutcome| counts.get(&o.code()).copied().unwrap_or_default();
        ImportCounts {
            assigned: n(ImportOutcome::Assigned),
            already_assigned: n(ImportOutcome::AlreadyAssigned),
            no_seat: n(ImportOutcome::NoSeat) + n(ImportOutcome::Refused),
            invalid: n(ImportOutcome::Invalid),
            invited,
        }
    }

    /// R-MAIL-3: the summary the creator is told when the import finishes.
    pub fn summary(&self, validate_only: bool) -> String {
        let verb = if validate_only {
            "Dry run: would assign"
        } else {
            "Assigned"
        };
        format!(
            "{verb} {}, {} already assigned, {} without a seat, {} invalid; {} people invited.",
            self.assigned, self.already_assigned, self.no_seat, self.invalid, self.invited
        )
    }
}
