//! Typed identifiers. Each is parsed once, at the edge, from its resource
//! name (`accounts/{id}`); a string that means an id never travels further.

use crate::error::FieldViolation;

/// A fresh id: a UUIDv7 in lower-case hex, so ids sort by creation time.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

/// Checks one id segment of a resource name: lowercase letters, digits,
/// `-` and `_`, at most 64.
pub fn valid_segment(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// Splits `collection/{id}` into its id.
pub fn parse_simple(field: &str, name: &str, collection: &str) -> Result<String, FieldViolation> {
    match name.split_once('/') {
        Some((c, id)) if c == collection && valid_segment(id) => Ok(id.to_owned()),
        _ if name.is_empty() => Err(FieldViolation::new(field, "is required")),
        _ => Err(FieldViolation::new(
            field,
            format!(
                "must be a resource name of the form {collection}/{{id}}, got {}",
                crate::error::quote(name)
            ),
        )),
    }
}

/// Splits `parent/{p}/collection/{c}` into its two ids.
pub fn parse_nested(
    field: &str,
    name: &str,
    parent: &str,
    collection: &str,
) -> Result<(String, String), FieldViolation> {
    let parts: Vec<&str> = name.split('/').collect();
    match parts.as_slice() {
        [p, pid, c, cid]
            if *p == parent && *c == collection && valid_segment(pid) && valid_segment(cid) =>
        {
            Ok(((*pid).to_owned(), (*cid).to_owned()))
        }
        _ if name.is_empty() => Err(FieldViolation::new(field, "is required")),
        _ => Err(FieldViolation::new(
            field,
            format!(
                "must be a resource name of the form {parent}/{{id}}/{collection}/{{id}}, got {}",
                crate::error::quote(name)
            ),
        )),
    }
}

macro_rules! resource_id {
    ($(#[$doc:meta])* $name:ident, $collection:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            pub const COLLECTION: &'static str = $collection;

            /// A new, unique id.
            pub fn generate() -> Self {
                $name(new_id())
            }

            /// An id read back from storage, trusted as written.
            pub fn from_db(id: String) -> Self {
                $name(id)
            }

            /// Parses `collection/{id}` from request field `field`.
            pub fn parse(field: &str, name: &str) -> Result<Self, FieldViolation> {
                parse_simple(field, name, $collection).map($name)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// `collection/{id}`.
            pub fn name(&self) -> String {
                format!("{}/{}", $collection, self.0)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

resource_id!(
    /// A person.
    AccountId, "accounts");
resource_id!(
    /// A non-human caller.
    ServiceAccountId, "serviceAccounts");
resource_id!(
    /// A team.
    TeamId, "teams");
resource_id!(
    /// A group of a team; its name is `teams/{team}/groups/{id}`.
    GroupId, "groups");
resource_id!(
    /// An invitation.
    InvitationId, "invitations");
resource_id!(
    /// A product of the catalog; the id is chosen by the catalog manager.
    ProductId, "products");
resource_id!(
    /// A contract.
    ContractId, "contracts");
resource_id!(
    /// A subscription.
    SubscriptionId, "subscriptions");
resource_id!(
    /// A bulk job.
    OperationId, "operations");
resource_id!(
    /// A person's seat of one product in one team; its name is
    /// `teams/{team}/assignments/{id}`.
    AssignmentId, "assignments");
resource_id!(
    /// A group's product in one team, which seats every member (R-SEAT-5);
    /// its name is `teams/{team}/groupAssignments/{id}`.
    GroupAssignmentId, "groupAssignments");
resource_id!(
    /// An email delivery.
    DeliveryId, "deliveries");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_resource_names() {
        let id = AccountId::generate();
        assert_eq!(AccountId::parse("account", &id.name()), Ok(id));
        let err = AccountId::parse("account", "teams/abc").err();
        assert_eq!(err.map(|e| e.field), Some("account".to_owned()));
        assert!(AccountId::parse("account", "").is_err());
        assert!(AccountId::parse("account", "accounts/").is_err());
        assert!(AccountId::parse("account", "accounts/a/b").is_err());
        assert!(AccountId::parse("account", "accounts/ABC").is_err());
    }

    #[test]
    fn parses_nested_names() {
        assert_eq!(
            parse_nested("name", "teams/t1/members/a1", "teams", "members"),
            Ok(("t1".to_owned(), "a1".to_owned()))
        );
        assert!(parse_nested("name", "teams/t1/groups/a1", "teams", "members").is_err());
    }

    #[test]
    fn generated_ids_sort_by_creation() {
        let a = AccountId::generate();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = AccountId::generate();
        assert!(a < b);
    }
}
