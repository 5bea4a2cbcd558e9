//! Credentials of service accounts: their scopes, names, and the internal
//! account no caller may touch.

use allot_platform::auth::{INTERNAL_SERVICE_ACCOUNT, Principal, scopes};
use allot_platform::error::FieldViolation;
use allot_platform::ids::ServiceAccountId;
use allot_platform::values::parse_text;

use crate::error::IdentityError;

/// Scopes a caller may give a credential. `internal` belongs to Allot's own
/// services and is never granted through the API.
pub fn parse_scopes(field: &str, requested: &[String]) -> Result<Vec<String>, FieldViolation> {
    let mut out: Vec<String> = Vec::new();
    for s in requested {
        let s = s.trim();
        if s == scopes::INTERNAL || !scopes::ALL.contains(&s) {
            return Err(FieldViolation::new(
                field,
                format!(
                    "unknown scope {}; known scopes: {}",
                    allot_platform::error::quote(s),
                    scopes::ALL
                        .iter()
                        .filter(|x| **x != scopes::INTERNAL)
                        .copied()
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        if !out.iter().any(|o| o == s) {
            out.push(s.to_owned());
        }
    }
    Ok(out)
}

pub fn parse_display_name(field: &str, input: &str) -> Result<String, FieldViolation> {
    parse_text(field, input, 200)
}

/// The service account Allot's own services use is managed by
/// configuration, never through the API.
pub fn protect_internal(id: &ServiceAccountId) -> Result<(), IdentityError> {
    if id.as_str() == INTERNAL_SERVICE_ACCOUNT {
        return Err(IdentityError::Precondition {
            kind: "RESERVED",
            subject: id.name(),
            message: "the service account Allot's services use is managed by configuration (auth.internal_secret)".into(),
        });
    }
    Ok(())
}

pub fn protect_internal_principal(p: &Principal) -> Result<(), IdentityError> {
    match p {
        Principal::ServiceAccount(id) => protect_internal(id),
        Principal::Account(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_checked_and_internal_is_never_granted() {
        assert_eq!(
            parse_scopes(
                "scopes",
                &["guests".into(), "guests".into(), "catalog".into()]
            )
            .unwrap(),
            ["guests", "catalog"]
        );
        assert!(parse_scopes("scopes", &["internal".into()]).is_err());
        assert!(parse_scopes("scopes", &["root".into()]).is_err());
    }
}
