//! R-INV-5: importing people from a CSV file as a long-running operation.
//!
//! The file is checked whole before anything is written (UTF-8, CSV, an
//! email column, the row cap); then an operation row holds the file and
//! its progress, and a worker adds the rows in batches. Each batch adds
//! its members, records each row's outcome and advances the progress in
//! one transaction, so a restarted server resumes after the last batch and
//! a re-run file creates nothing twice (people already in the team come out
//! as already members).

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

fn invalid(reason: impl Into<String>) -> TeamError {
    TeamError::invalid("csv", reason)
}

/// Which column holds what, by header name, in any order.
#[derive(Debug, Default)]
struct Columns {
    email: Option<usize>,
    given: Option<usize>,
    family: Option<usize>,
}

fn column_kind(header: &str) -> Option<&'static str> {
    let key: String = header
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase();
    match key.as_str() {
        "email" | "emailaddress" | "mail" | "username" => Some("email"),
        "firstname" | "givenname" | "first" | "forename" => Some("given"),
        "lastname" | "familyname" | "last" | "surname" => Some("family"),
        _ => None,
    }
}

/// Reads a whole import file; refuses it before anything is written when
/// it is not UTF-8, not CSV, has no email column or too many rows.
pub fn parse_members_csv(bytes: &[u8], max_rows: usize) -> Result<Vec<ImportRow>, TeamError> {
    if bytes.is_empty() {
        return Err(invalid(
            "the file is empty; it needs a header row naming an email column",
        ));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        invalid(format!(
            "the file is not UTF-8 (byte {} is not valid); save it as CSV UTF-8",
            e.valid_up_to()
        ))
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.contains('\0') {
        return Err(invalid("the file is not CSV text (it contains NUL bytes)"));
    }
    // Windows line ends as plain ones, so line numbers count as people do.
    let text = text.replace("\r\n", "\n");
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| invalid(format!("the file is not CSV: {e}")))?
        .clone();
    let mut cols = Columns::default();
    for (i, h) in headers.iter().enumerate() {
        match column_kind(h) {
            Some("email") if cols.email.is_none() => cols.email = Some(i),
            Some("given") if cols.given.is_none() => cols.given = Some(i),
            Some("family") if cols.family.is_none() => cols.family = Some(i),
            _ => {}
        }
    }
    let Some(email_col) = cols.email else {
        return Err(invalid(format!(
            "no email column: the header row names {:?}; it needs `email` (and optionally `first name`, `last name`)",
            headers.iter().collect::<Vec<_>>()
        )));
    };
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| invalid(format!("the file is not CSV: {e}")))?;
        if record.iter().all(str::is_empty) {
            continue;
        }
        if rows.len() == max_rows {
            return Err(invalid(format!(
                "the file has more than {max_rows} rows, the most one import takes; split it"
            )));
        }
        let line = record
            .position()
            .map(|p| u32::try_from(p.line()).unwrap_or(u32::MAX))
            .unwrap_or_default();
        let cell = |c: Option<usize>| c.and_then(|i| record.get(i)).unwrap_or_default().to_owned();
        rows.push(ImportRow {
            line,
            email: cell(Some(email_col)),
            given_name: cell(cols.given),
            family_name: cell(cols.family),
        });
    }
    if rows.is_empty() {
        return Err(invalid("the file has a header but no rows"));
    }
    Ok(rows)
}

/// Makes a cell safe to open in a spreadsheet: a leading `=`, `+`, `-`,
/// `@`, tab or carriage return would start a formula, so it gets a `'`.
pub fn neutralise_cell(value: &str) -> String {
    match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{value}"),
        _ => value.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(e: TeamError) -> String {
        format!("{e}")
    }

    #[test]
    fn r_inv_5_header_order_bom_crlf_and_quotes() {
        let file = "\u{feff}Last Name,E-mail,First Name\r\n\"Lovelace, Countess\",ada@example.com,Ada\r\nHopper,grace@example.com,\"Grace\"\r\n";
        let rows = parse_members_csv(file.as_bytes(), 10).expect("parses");
        assert_eq!(
            rows,
            vec![
                ImportRow {
                    line: 2,
                    email: "ada@example.com".into(),
                    given_name: "Ada".into(),
                    family_name: "Lovelace, Countess".into(),
                },
                ImportRow {
                    line: 3,
                    email: "grace@example.com".into(),
                    given_name: "Grace".into(),
                    family_name: "Hopper".into(),
                },
            ]
        );
    }

    #[test]
    fn r_inv_5_line_numbers_count_quoted_line_breaks() {
        let file = "email,first name\n\"x@example.com\",\"two\nlines\"\ny@example.com,Y\n";
        let rows = parse_members_csv(file.as_bytes(), 10).expect("parses");
        assert_eq!(rows[1].line, 4);
    }

    #[test]
    fn r_inv_5_bad_files_are_refused_whole() {
        let no_email = parse_members_csv(b"name,phone\nAda,1\n", 10).expect_err("no email");
        assert!(code(no_email).contains("no email column"));
        let latin1 = parse_members_csv(b"email\nb\xe9a@example.com\n", 10).expect_err("latin-1");
        assert!(code(latin1).contains("not UTF-8"));
        let over = parse_members_csv(b"email\na@x.io\nb@x.io\nc@x.io\n", 2).expect_err("cap");
        assert!(code(over).contains("more than 2 rows"));
        let binary = parse_members_csv(b"PK\x03\x04\0\0\x08", 10).expect_err("zip");
        assert!(code(binary).contains("not"));
        assert!(parse_members_csv(b"", 10).is_err());
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

    #[test]
    fn exported_cells_never_start_a_formula() {
        for bad in ["=1+1", "+1", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert!(neutralise_cell(bad).starts_with('\''), "{bad:?}");
        }
        assert_eq!(neutralise_cell("Ada"), "Ada");
        assert_eq!(neutralise_cell(""), "");
    }
}
