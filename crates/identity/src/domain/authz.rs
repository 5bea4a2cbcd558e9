//! Who may do what in the identity service: the one place it is decided.

use allot_platform::auth::{Caller, scopes};
use allot_platform::ids::AccountId;

use crate::error::IdentityError;

/// What a caller asks to do in the identity service.
#[derive(Debug, Clone, Copy)]
pub enum Action<'a> {
    ReadAccount(&'a AccountId),
    UpdateAccount(&'a AccountId),
    ListAccounts,
    /// Creating and resending invitations: the team service does it after
    /// checking the caller is an admin of the team.
    ManageInvitations,
    ReadInvitations,
    IssueInvitationToken,
    /// The sessions that ended, which every service refuses (R-AUTH-2).
    ReadEndedSessions,
    /// A password reset link's token, for its email (R-AUTH-2).
    IssueResetToken,
    ManageServiceAccounts,
    /// Keys of an account (a person's own) or a service account.
    ManageKeys {
        owner_account: Option<&'a AccountId>,
    },
    Watch,
}

/// The one place identity decides who may do what.
pub fn authorize(caller: &Caller, action: Action<'_>) -> Result<(), IdentityError> {
    if caller.is_internal() {
        return Ok(());
    }
    let admin = caller.has_scope(scopes::ADMIN);
    let allowed = match action {
        Action::ReadAccount(id) => {
            admin || caller.has_scope(scopes::ACCOUNTS_READ) || caller.account() == Some(id)
        }
        Action::UpdateAccount(id) => admin || caller.account() == Some(id),
        Action::ListAccounts | Action::ReadInvitations => {
            admin || caller.has_scope(scopes::ACCOUNTS_READ)
        }
        Action::ManageInvitations | Action::ManageServiceAccounts => admin,
        Action::IssueInvitationToken | Action::ReadEndedSessions | Action::IssueResetToken => false,
        Action::ManageKeys { owner_account } => {
            admin
                || (owner_account.is_some()
                    && caller.account() == owner_account
                    && caller.actor.is_none())
        }
        Action::Watch => admin || caller.has_scope(scopes::EVENTS_READ),
    };
    if allowed {
        return Ok(());
    }
    let needed = match action {
        Action::ReadAccount(_) => "the account itself, or the `accounts.read` or `admin` scope",
        Action::UpdateAccount(_) => "the account itself, or the `admin` scope",
        Action::ListAccounts | Action::ReadInvitations => "the `accounts.read` or `admin` scope",
        Action::ManageInvitations => "the `admin` scope (team admins invite through TeamService)",
        Action::IssueInvitationToken | Action::ReadEndedSessions | Action::IssueResetToken => {
            "Allot's internal scope"
        }
        Action::ManageServiceAccounts => "the `admin` scope",
        Action::ManageKeys { .. } => "the key owner itself, or the `admin` scope",
        Action::Watch => "the `events.read` or `admin` scope",
    };
    Err(IdentityError::PermissionDenied(format!(
        "this needs {needed}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    use allot_platform::auth::Principal;
    #[test]
    fn people_read_only_their_own_account() {
        let me = AccountId::generate();
        let other = AccountId::generate();
        let caller = Caller {
            principal: Principal::Account(me.clone()),
            actor: None,
            scopes: vec![],
            expires_at: i64::MAX,
            session: None,
        };
        assert!(authorize(&caller, Action::ReadAccount(&me)).is_ok());
        assert!(matches!(
            authorize(&caller, Action::ReadAccount(&other)),
            Err(IdentityError::PermissionDenied(_))
        ));
        assert!(authorize(&caller, Action::ManageServiceAccounts).is_err());
        assert!(authorize(&Caller::system(), Action::IssueInvitationToken).is_ok());
    }
}
