//! Members: a person in a team, their state and how admins see it.

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberState {
    Invited,
    Active,
}

allot_platform::db_enum!(MemberState {
    Invited = "INVITED",
    Active = "ACTIVE",
});

/// A person's place in one team. R-TEAM-2: memberships are per team, so
/// adding a person to a team never touches their other teams. R-INV-6: a
/// membership gives no product; only an assignment in entitlement does.
#[derive(Debug, Clone)]
pub struct Member {
    pub team: TeamId,
    pub account: AccountId,
    pub email: Email,
    pub given_name: String,
    pub family_name: String,
    pub role: Role,
    pub guest: bool,
    pub state: MemberState,
    pub invitation: Option<String>,
    /// When the pending invitation expires.
    pub invitation_expire_time: Option<i64>,
    pub create_time: i64,
}

/// How admins see a member (R-INV-7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberStatus {
    Invited,
    /// Invited, and the invitation is past its expiry: resend it.
    InvitationExpired,
    Active,
}

impl Member {
    /// R-INV-7: INVITED (with the expiry), INVITATION_EXPIRED, or ACTIVE.
    pub fn status(&self, now_micros: i64) -> MemberStatus {
        match (self.state, self.invitation_expire_time) {
            (MemberState::Active, _) => MemberStatus::Active,
            (MemberState::Invited, Some(expiry)) if expiry <= now_micros => {
                MemberStatus::InvitationExpired
            }
            (MemberState::Invited, _) => MemberStatus::Invited,
        }
    }

    pub fn display_name(&self) -> String {
        display_name(&self.given_name, &self.family_name)
    }
}

pub fn display_name(given: &str, family: &str) -> String {
    format!("{given} {family}").trim().to_owned()
}

/// Which members a list includes (R-ROLE-7: lists can include or hide
/// guests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuestFilter {
    Include,
    Exclude,
    Only,
}

/// The most characters an admin's member search may have.
pub const MAX_SEARCH_CHARS: usize = 100;

/// The members an admin asks to see: with or without guests, and those
/// whose email or name contains a text, compared case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberFilter {
    pub guests: GuestFilter,
    /// Lower-cased; `None` shows everyone.
    pub text: Option<String>,
}

impl MemberFilter {
    pub fn parse(field: &str, guests: GuestFilter, text: &str) -> Result<Self, FieldViolation> {
        let text = text.trim();
        if text.chars().count() > MAX_SEARCH_CHARS {
            return Err(FieldViolation::new(
                field,
                format!("is longer than {MAX_SEARCH_CHARS} characters"),
            ));
        }
        if text.chars().any(char::is_control) {
            return Err(FieldViolation::new(
                field,
                "must not contain control characters",
            ));
        }
        Ok(MemberFilter {
            guests,
            text: (!text.is_empty()).then(|| text.to_lowercase()),
        })
    }

    /// Everyone, guests too.
    pub fn everyone() -> Self {
        MemberFilter {
            guests: GuestFilter::Include,
            text: None,
        }
    }
}

/// A person to add by email with their names (R-INV-1).
#[derive(Debug, Clone)]
pub struct NewPerson {
    pub given_name: String,
    pub family_name: String,
    pub email: Email,
}

impl NewPerson {
    pub fn parse(
        prefix: &str,
        given: &str,
        family: &str,
        email: &str,
    ) -> Result<NewPerson, Vec<FieldViolation>> {
        let f = |name: &str| format!("{prefix}{name}");
        let g = parse_person_name(&f("given_name"), given);
        let fa = parse_person_name(&f("family_name"), family);
        let e = Email::parse(&f("email"), email);
        match (g, fa, e) {
            (Ok(given_name), Ok(family_name), Ok(email)) => Ok(NewPerson {
                given_name,
                family_name,
                email,
            }),
            (g, fa, e) => Err([g.err(), fa.err(), e.err()].into_iter().flatten().collect()),
        }
    }
}
