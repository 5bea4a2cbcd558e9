//! Inviting people: address lists and who invites whom (R-INV-1, R-INV-4).

use super::*;

/// One entry of a pasted address list.
#[derive(Debug, Clone)]
pub struct ListedAddress {
    /// The entry as given.
    pub input: String,
    pub parsed: Result<NewPerson, FieldViolation>,
}

/// R-INV-4: addresses separated by semicolons (or line breaks), each either
/// `email` or `Name <email>` as mail clients paste them. Every entry is
/// judged on its own. Without a name, names are taken from the address
/// (`ada.lovelace@…` becomes Ada Lovelace); the person can correct them.
pub fn parse_address_list(input: &str) -> Vec<ListedAddress> {
    input
        .split([';', '\n', '\r'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|entry| ListedAddress {
            input: entry.to_owned(),
            parsed: parse_listed(entry),
        })
        .collect()
}

pub(super) fn parse_listed(entry: &str) -> Result<NewPerson, FieldViolation> {
    let (name, address) = match (entry.rfind('<'), entry.ends_with('>')) {
        (Some(open), true) => (
            entry[..open].trim().trim_matches('"').trim(),
            &entry[open + 1..entry.len() - 1],
        ),
        _ => ("", entry),
    };
    let email = Email::parse("addresses", address)
        .map_err(|e| FieldViolation::new("addresses", format!("{} {}", quote(entry), e.reason)))?;
    let (given, family) = if name.is_empty() {
        names_from_address(email.as_str())
    } else if let Some((family, given)) = name.split_once(',') {
        // "Lovelace, Ada"
        (given.trim().to_owned(), family.trim().to_owned())
    } else {
        match name.rsplit_once(' ') {
            Some((g, f)) => (g.trim().to_owned(), f.trim().to_owned()),
            None => (name.to_owned(), String::new()),
        }
    };
    let given = parse_person_name("addresses", &given).map_err(|e| {
        FieldViolation::new("addresses", format!("{}: name {}", quote(entry), e.reason))
    })?;
    Ok(NewPerson {
        given_name: given,
        family_name: family,
        email,
    })
}

pub(crate) fn names_from_address(email: &str) -> (String, String) {
    let local = email.split('@').next().unwrap_or_default();
    let local = local.split('+').next().unwrap_or_default();
    let mut parts = local
        .split(['.', '_', '-'])
        .filter(|p| !p.is_empty())
        .map(capitalize);
    let given = parts.next().unwrap_or_else(|| local.to_owned());
    let family = parts.collect::<Vec<_>>().join(" ");
    (given, family)
}

pub(super) fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// R-INV-1: a person who adds an existing account to a team (by its id)
/// invites it, exactly as by email: the account is a member once its owner
/// accepts. Platforms (service accounts, Allot's own services) provision
/// people directly: they act for the organisation, not as one admin.
pub fn adding_an_account_invites(caller: &Caller) -> bool {
    caller.account().is_some() && !caller.is_internal()
}
