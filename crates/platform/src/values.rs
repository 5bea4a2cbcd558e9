//! Values parsed once at the edge and trusted after: an email address that
//! compares case-insensitively, a person's name, a display name.

use std::fmt;

use email_address::{EmailAddress, Options};

use crate::error::FieldViolation;

/// An email address as given, compared and looked up case-insensitively.
#[derive(Debug, Clone)]
pub struct Email {
    original: String,
    key: String,
}

pub const MAX_EMAIL_LEN: usize = 254;

impl Email {
    /// Parses `input` (surrounding spaces ignored) for request field `field`.
    pub fn parse(field: &str, input: &str) -> Result<Email, FieldViolation> {
        let s = input.trim();
        if s.is_empty() {
            return Err(FieldViolation::new(field, "is required"));
        }
        if s.len() > MAX_EMAIL_LEN {
            return Err(FieldViolation::new(
                field,
                format!("is longer than {MAX_EMAIL_LEN} characters"),
            ));
        }
        let options = Options::default()
            .without_display_text()
            .without_domain_literal()
            .with_required_tld();
        EmailAddress::parse_with_options(s, options).map_err(|e| {
            FieldViolation::new(field, format!("is not a valid email address ({e})"))
        })?;
        Ok(Email {
            original: s.to_owned(),
            key: s.to_lowercase(),
        })
    }

    /// A stored address, trusted as written.
    pub fn from_db(original: String) -> Email {
        let key = original.to_lowercase();
        Email { original, key }
    }

    /// The address as first given, for display and sending.
    pub fn as_str(&self) -> &str {
        &self.original
    }

    /// The lower-case form: what uniqueness and look-ups use.
    pub fn key(&self) -> &str {
        &self.key
    }
}

impl PartialEq for Email {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for Email {}

impl std::hash::Hash for Email {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.key.hash(state);
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}

/// Trimmed text of 1..=`max` characters without control characters: names
/// of people, teams and groups.
pub fn parse_text(field: &str, input: &str, max: usize) -> Result<String, FieldViolation> {
    let s = input.trim();
    if s.is_empty() {
        return Err(FieldViolation::new(field, "must not be empty"));
    }
    if s.chars().count() > max {
        return Err(FieldViolation::new(
            field,
            format!("is longer than {max} characters"),
        ));
    }
    if s.chars().any(char::is_control) {
        return Err(FieldViolation::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(s.to_owned())
}

/// Longest given or family name.
pub const MAX_NAME_LEN: usize = 100;

/// A person's given or family name.
pub fn parse_person_name(field: &str, input: &str) -> Result<String, FieldViolation> {
    parse_text(field, input, MAX_NAME_LEN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_compare_case_insensitively_and_keep_their_spelling() {
        let a = Email::parse("email", " Ada.Lovelace@Example.COM ").unwrap();
        let b = Email::parse("email", "ada.lovelace@example.com").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.as_str(), "Ada.Lovelace@Example.COM");
        assert_eq!(a.key(), "ada.lovelace@example.com");
    }

    #[test]
    fn malformed_emails_name_the_field() {
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "Ada <ada@example.com>",
        ] {
            let err = Email::parse("invitees[0].email", bad).unwrap_err();
            assert_eq!(err.field, "invitees[0].email", "{bad:?}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(
            Email::parse("email", &long)
                .unwrap_err()
                .reason
                .contains("254")
        );
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(parse_person_name("given_name", "  Ada ").unwrap(), "Ada");
        assert!(parse_person_name("given_name", "   ").is_err());
        assert!(parse_person_name("given_name", &"x".repeat(101)).is_err());
        assert!(parse_person_name("given_name", "Ada\u{0}").is_err());
        assert!(parse_person_name("given_name", "Zoë").is_ok());
    }
}
