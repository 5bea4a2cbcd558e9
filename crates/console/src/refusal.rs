//! An API refusal in words an admin understands: a sentence for the page,
//! and for each form field it concerns, the reason beside that field.

use serde::Serialize;
use tonic::{Code, Status};
use tonic_types::StatusExt;

/// A refusal as a page shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Refusal {
    /// One sentence for the top of the form.
    pub message: String,
    /// `(form field, reason)`, for the fields the page has.
    pub fields: Vec<(String, String)>,
    /// The session is gone: the person signs in again.
    #[serde(skip)]
    pub signed_out: bool,
    /// Not an admin of this team (or not allowed this action).
    #[serde(skip)]
    pub denied: bool,
    #[serde(skip)]
    pub not_found: bool,
}

impl Refusal {
    pub fn new(message: impl Into<String>) -> Refusal {
        Refusal {
            message: message.into(),
            fields: Vec::new(),
            signed_out: false,
            denied: false,
            not_found: false,
        }
    }

    /// One field's reason, if the refusal names it.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(f, _)| f == name)
            .map(|(_, r)| r.as_str())
    }

    /// `status` in words, its field violations moved to the form fields
    /// `fields` maps them to (`(api field, form field)`; an API field
    /// ending in `.` matches every field under it).
    pub fn from_status(status: &Status, fields: &[(&str, &str)]) -> Refusal {
        let mut r = Refusal::new(headline(status));
        match status.code() {
            Code::Unauthenticated => r.signed_out = true,
            Code::PermissionDenied => r.denied = true,
            Code::NotFound => r.not_found = true,
            _ => {}
        }
        if let Some(bad) = status.get_details_bad_request() {
            let mut unplaced = Vec::new();
            for v in bad.field_violations {
                let placed = fields.iter().find(|(api, _)| {
                    v.field == *api || (api.ends_with('.') && v.field.starts_with(api))
                });
                let reason = sentence(&v.description);
                match placed {
                    Some((_, form)) if r.field(form).is_none() => {
                        r.fields.push(((*form).to_owned(), reason));
                    }
                    _ => unplaced.push(format!("{}: {}", v.field, v.description)),
                }
            }
            r.message = if unplaced.is_empty() {
                "Please correct the marked fields.".into()
            } else {
                format!("Please correct this: {}.", unplaced.join("; "))
            };
        }
        r
    }
}

impl From<Status> for Refusal {
    fn from(s: Status) -> Refusal {
        Refusal::from_status(&s, &[])
    }
}

/// "is not a valid email" → "Is not a valid email."
fn sentence(reason: &str) -> String {
    let mut chars = reason.trim().chars();
    let Some(first) = chars.next() else {
        return String::new();
    };
    let mut s: String = first.to_uppercase().chain(chars).collect();
    if !s.ends_with(['.', '!', '?']) {
        s.push('.');
    }
    s
}

/// The sentence for the top of the page. The services already say what
/// to do for refusals a person can act on (a full pool says how many
/// seats; a move says how many to free first); the rest get plain words.
fn headline(status: &Status) -> String {
    let said = sentence(status.message());
    match status.code() {
        Code::InvalidArgument => "Please correct the marked fields.".into(),
        Code::FailedPrecondition | Code::ResourceExhausted | Code::AlreadyExists => said,
        Code::PermissionDenied => format!("You are not allowed to do this here. {said}"),
        Code::NotFound => format!("Not found. {said}"),
        Code::Unauthenticated => "Your session ended. Sign in again.".into(),
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => {
            "Allot is not answering right now. Nothing was changed; try again in a moment.".into()
        }
        _ => "Something went wrong on Allot's side. Try again; if it keeps happening, tell your operator.".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_violations_go_beside_their_fields() {
        let status = allot_platform::error::invalid_argument(&[
            allot_platform::error::FieldViolation::new(
                "person.email",
                "is not a valid email address",
            ),
            allot_platform::error::FieldViolation::new("role", "is unknown"),
        ]);
        let r = Refusal::from_status(&status, &[("person.", "email_field"), ("x", "y")]);
        assert_eq!(
            r.field("email_field"),
            Some("Is not a valid email address.")
        );
        assert!(r.message.contains("role: is unknown"), "{}", r.message);
    }

    #[test]
    fn refusals_the_services_explain_keep_their_words() {
        let status = allot_platform::error::failed_precondition(
            "SEATS_ASSIGNED",
            "subscriptions/x",
            "moving it would leave the team with 5 assignments for 1 seats; unassign 4 seats of this product first",
        );
        let r = Refusal::from(status);
        assert!(
            r.message.starts_with("Moving it would leave"),
            "{}",
            r.message
        );
        assert!(r.message.contains("unassign 4 seats"));
        let down = Refusal::from(Status::unavailable("x"));
        assert!(down.message.contains("not answering"));
        let gone = Refusal::from(Status::unauthenticated("token expired"));
        assert!(gone.signed_out);
    }
}
