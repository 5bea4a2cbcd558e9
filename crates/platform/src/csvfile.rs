//! Reading the CSV files admins upload and writing the ones they download:
//! header-based columns in any order, a byte-order mark, CRLF and quoted
//! fields tolerated, the whole file refused before anything is written when
//! it is not UTF-8, not CSV, lacks a required column or has too many rows;
//! and exported cells that no spreadsheet runs as formulas.

use std::collections::HashMap;

use crate::error::FieldViolation;

/// A column a file may have: its key and the header names that mean it
/// (compared without case, spaces or punctuation).
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub key: &'static str,
    pub names: &'static [&'static str],
    pub required: bool,
}

/// The email address column of people files (required).
pub const EMAIL: Column = Column {
    key: "email",
    names: &["email", "e-mail", "email address", "mail", "user name"],
    required: true,
};

/// A person's given name (key `given`).
pub const GIVEN_NAME: Column = Column {
    key: "given",
    names: &["first name", "given name", "forename", "first"],
    required: false,
};

/// A person's family name (key `family`).
pub const FAMILY_NAME: Column = Column {
    key: "family",
    names: &["last name", "family name", "surname", "last"],
    required: false,
};

/// One data row: its line in the file (the header is line 1) and its cells
/// by column key (missing cells are empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub line: u32,
    cells: HashMap<&'static str, String>,
}

impl Row {
    pub fn get(&self, key: &str) -> &str {
        self.cells.get(key).map_or("", String::as_str)
    }
}

fn normalise(header: &str) -> String {
    header
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase()
}

fn invalid(field: &str, reason: impl Into<String>) -> FieldViolation {
    FieldViolation::new(field, reason)
}

/// Reads a whole uploaded file. Errors name `field` and say what is wrong.
pub fn read(
    field: &str,
    bytes: &[u8],
    columns: &[Column],
    max_rows: usize,
) -> Result<Vec<Row>, FieldViolation> {
    if bytes.is_empty() {
        return Err(invalid(field, "the file is empty; it needs a header row"));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        invalid(
            field,
            format!(
                "the file is not UTF-8 (byte {} is not valid); save it as CSV UTF-8",
                e.valid_up_to()
            ),
        )
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.contains('\0') {
        return Err(invalid(
            field,
            "the file is not CSV text (it contains NUL bytes)",
        ));
    }
    // Windows line ends as plain ones, so line numbers count as people do.
    let text = text.replace("\r\n", "\n");
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| invalid(field, format!("the file is not CSV: {e}")))?
        .clone();
    let mut index: Vec<(&'static str, usize)> = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        let h = normalise(h);
        if let Some(c) = columns
            .iter()
            .find(|c| c.names.iter().any(|n| normalise(n) == h))
            && !index.iter().any(|(k, _)| *k == c.key)
        {
            index.push((c.key, i));
        }
    }
    for c in columns.iter().filter(|c| c.required) {
        if !index.iter().any(|(k, _)| *k == c.key) {
            let wanted: Vec<&str> = columns.iter().map(|c| c.names[0]).collect();
            return Err(invalid(
                field,
                format!(
                    "no {} column: the header row names {}; the columns are {wanted:?}",
                    c.names[0],
                    crate::error::quote(&headers.iter().collect::<Vec<_>>().join(","))
                ),
            ));
        }
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| invalid(field, format!("the file is not CSV: {e}")))?;
        if record.iter().all(str::is_empty) {
            continue;
        }
        if rows.len() == max_rows {
            return Err(invalid(
                field,
                format!(
                    "the file has more than {max_rows} rows, the most one import takes; split it"
                ),
            ));
        }
        let line = record
            .position()
            .map(|p| u32::try_from(p.line()).unwrap_or(u32::MAX))
            .unwrap_or_default();
        let cells = index
            .iter()
            .map(|(k, i)| (*k, record.get(*i).unwrap_or_default().to_owned()))
            .collect();
        rows.push(Row { line, cells });
    }
    if rows.is_empty() {
        return Err(invalid(field, "the file has a header but no rows"));
    }
    Ok(rows)
}

/// Makes a cell safe to open in a spreadsheet: a leading `=`, `+`, `-`,
/// `@`, tab or carriage return would start a formula, so it gets a `'`.
pub fn neutralise(value: &str) -> String {
    match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{value}"),
        _ => value.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLUMNS: &[Column] = &[
        Column {
            key: "email",
            names: &["email", "e-mail", "email address"],
            required: true,
        },
        Column {
            key: "given",
            names: &["first name", "given name"],
            required: false,
        },
    ];

    fn reason(v: FieldViolation) -> String {
        v.to_string()
    }

    #[test]
    fn headers_in_any_order_with_bom_crlf_and_quotes() {
        let file = "\u{feff}Given Name,E-Mail\r\n\"Ada, Countess\",ada@example.com\r\nGrace,grace@example.com\r\n";
        let rows = read("csv", file.as_bytes(), COLUMNS, 10).expect("reads");
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (rows[0].line, rows[0].get("email"), rows[0].get("given")),
            (2, "ada@example.com", "Ada, Countess")
        );
        assert_eq!(rows[1].line, 3);
    }

    #[test]
    fn line_numbers_count_line_breaks_inside_quotes() {
        let file = "email,first name\n\"x@example.com\",\"two\nlines\"\ny@example.com,Y\n";
        let rows = read("csv", file.as_bytes(), COLUMNS, 10).expect("reads");
        assert_eq!(rows[1].line, 4);
    }

    #[test]
    fn bad_files_are_refused_whole() {
        assert!(
            reason(read("csv", b"name,phone\nAda,1\n", COLUMNS, 10).expect_err("no email"))
                .contains("no email column")
        );
        assert!(
            reason(read("csv", b"email\nb\xe9a@example.com\n", COLUMNS, 10).expect_err("latin-1"))
                .contains("not UTF-8")
        );
        assert!(
            reason(read("csv", b"email\na@x.io\nb@x.io\nc@x.io\n", COLUMNS, 2).expect_err("cap"))
                .contains("more than 2 rows")
        );
        assert!(
            reason(read("csv", b"PK\x03\x04\0\0\x08", COLUMNS, 10).expect_err("zip"))
                .contains("not CSV")
        );
        assert!(read("csv", b"", COLUMNS, 10).is_err());
        assert!(
            reason(read("csv", b"email\n", COLUMNS, 10).expect_err("no rows")).contains("no rows")
        );
    }

    #[test]
    fn exported_cells_never_start_a_formula() {
        for bad in ["=1+1", "+1", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert!(neutralise(bad).starts_with('\''), "{bad:?}");
        }
        assert_eq!(neutralise("Ada"), "Ada");
        assert_eq!(neutralise(""), "");
    }
}
