//! The one place team decides who may do what (R-ROLE-2, R-ROLE-3).

use super::*;

/// What a caller asks to do in a team.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TeamAction {
    /// Team name and plan, own membership.
    ReadTeam,
    /// Rename the team.
    ManageTeam,
    /// Members, roles, invitations, groups; reports and exports (R-ROLE-2).
    ManageMembers,
    /// Member lists, groups.
    ReadMembers,
    /// Add a guest (collaboration products with the `guests` scope, R-ROLE-7).
    AddGuest,
    /// Every team's members at once: for Allot's own services only (their
    /// copies of the directory).
    ReadDirectory,
}

/// The one place team decides who may do what: from the caller's role in
/// the team the request touches (R-ROLE-2, R-ROLE-3). `role` is the
/// caller's role there, if they are a member.
pub fn authorize(caller: &Caller, role: Option<Role>, action: TeamAction) -> Result<(), TeamError> {
    if caller.is_internal() {
        return Ok(());
    }
    let admin = role.is_some_and(Role::is_admin);
    let allowed = match action {
        TeamAction::ReadTeam => role.is_some(),
        TeamAction::ManageTeam | TeamAction::ManageMembers | TeamAction::ReadMembers => admin,
        TeamAction::AddGuest => {
            admin || (caller.account().is_none() && caller.has_scope(scopes::GUESTS))
        }
        TeamAction::ReadDirectory => false,
    };
    if allowed {
        return Ok(());
    }
    Err(TeamError::PermissionDenied(match (action, role) {
        (TeamAction::ReadTeam, _) => "you are not a member of this team".into(),
        (TeamAction::ReadDirectory, _) => {
            "every team's members are for Allot's own services (internal scope)".into()
        }
        (TeamAction::AddGuest, _) => {
            "adding guests needs an admin role in this team or a service account with the `guests` scope".into()
        }
        (_, None) => "this needs an admin role in this team (primary, secondary or SSO admin); you are not a member".into(),
        (_, Some(_)) => "this needs an admin role in this team (primary, secondary or SSO admin); you are a user".into(),
    }))
}
