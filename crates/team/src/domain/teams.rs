//! Teams and their plans (R-TEAM-1, R-TEAM-3).

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    Standard,
    Premium,
}

allot_platform::db_enum!(Plan {
    Standard = "STANDARD",
    Premium = "PREMIUM",
});

#[derive(Debug, Clone)]
pub struct Team {
    pub id: TeamId,
    pub display_name: String,
    pub owner: Option<AccountId>,
    pub plan: Plan,
    pub create_time: i64,
    /// Filled in by queries that read the primary admin.
    pub primary_admin: Option<AccountId>,
    pub member_count: i64,
}

/// Longest team or group name.
pub const MAX_TEAM_NAME: usize = 200;

/// A team or group name: not empty; duplicates are allowed.
pub fn parse_team_name(field: &str, input: &str) -> Result<String, FieldViolation> {
    parse_text(field, input, MAX_TEAM_NAME)
}

/// R-TEAM-1: the name of a team created automatically contains the first
/// primary admin's name.
pub fn default_team_name(given: &str, family: &str) -> String {
    format!("{}'s team", display_name(given, family))
}

/// R-TEAM-1: a person may create a team only when they already administer
/// one (or are an operator, with the `admin` scope); an owner's first team
/// is made by Allot itself when their first contract arrives.
pub fn may_create_team(caller: &Caller, administers_a_team: bool) -> Result<(), TeamError> {
    if caller.is_internal() || caller.has_scope(scopes::ADMIN) || administers_a_team {
        return Ok(());
    }
    Err(TeamError::PermissionDenied(
        "creating a team needs an admin role in a team you already belong to; \
         your first team is created with your first contract"
            .into(),
    ))
}

/// R-TEAM-3: a new contract goes to the newest team its owner administers;
/// an owner whose first team exists but who administers no team any more
/// has nowhere to receive it until an admin role is given back.
pub fn owner_administers_no_team(owner: &AccountId) -> TeamError {
    TeamError::Precondition {
        kind: "OWNER_ADMINISTERS_NO_TEAM",
        subject: owner.name(),
        message: "the contract's owner administers no team any more; make them an admin of \
                  a team first, then record the contract again"
            .into(),
    }
}
