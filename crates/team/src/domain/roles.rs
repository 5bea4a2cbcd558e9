//! Admin roles and the classic contract roles (R-ROLE-*, R-CLS-1, R-CLS-6).

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    PrimaryAdmin,
    SecondaryAdmin,
    /// Powers of a secondary admin; only on premium teams (R-ROLE-5).
    SsoAdmin,
    User,
}

allot_platform::db_enum!(Role {
    PrimaryAdmin = "PRIMARY_ADMIN",
    SecondaryAdmin = "SECONDARY_ADMIN",
    SsoAdmin = "SSO_ADMIN",
    User = "USER",
});

impl Role {
    /// Any of the admin roles (R-ROLE-2, R-ROLE-5).
    pub fn is_admin(self) -> bool {
        !matches!(self, Role::User)
    }
}

/// R-ROLE-1, R-ROLE-5, R-ROLE-6: whether a member may take `role` and the
/// guest flag `guest` (either may be unchanged). `current` is `None` for a
/// person being added.
pub fn check_role_change(
    plan: Plan,
    subject: &str,
    current: Option<(Role, bool)>,
    role: Role,
    guest: bool,
) -> Result<(), TeamError> {
    let (old_role, old_guest) = current.unwrap_or((Role::User, false));
    if old_role == Role::PrimaryAdmin && role != Role::PrimaryAdmin {
        return Err(precondition(
            "ONE_PRIMARY_ADMIN",
            subject,
            "this member is the primary admin; hand the role to another member with TransferPrimaryAdmin first",
        ));
    }
    if role == Role::PrimaryAdmin && old_role != Role::PrimaryAdmin {
        return Err(precondition(
            "ONE_PRIMARY_ADMIN",
            subject,
            "a team has exactly one primary admin; hand the role over with TransferPrimaryAdmin",
        ));
    }
    if role.is_admin() && guest {
        let message = match (old_role.is_admin(), old_guest) {
            (true, false) => "admins cannot be guests; take the admin role away first",
            (false, true) => "guests cannot be admins; remove the guest flag first",
            _ => {
                "admins cannot be guests; give the member the user role or leave the guest flag off"
            }
        };
        return Err(precondition("ADMIN_CANNOT_BE_GUEST", subject, message));
    }
    if role == Role::SsoAdmin && old_role != Role::SsoAdmin && plan != Plan::Premium {
        return Err(precondition(
            "SSO_ADMIN_NEEDS_PREMIUM",
            subject,
            "the SSO admin role exists only on teams with a premium plan",
        ));
    }
    Ok(())
}

/// R-ROLE-6: an admin stays in the team until the admin role is taken away.
pub fn check_removal(member: &Member, subject: &str) -> Result<(), TeamError> {
    if member.role.is_admin() {
        return Err(precondition(
            "ADMIN_CANNOT_BE_REMOVED",
            subject,
            match member.role {
                Role::PrimaryAdmin => {
                    "the primary admin cannot be removed; hand the role to another member with TransferPrimaryAdmin, then change their role to user"
                }
                _ => "admins cannot be removed; change their role to user first",
            },
        ));
    }
    Ok(())
}

/// R-ROLE-4: the primary admin role goes to a member who is not a guest.
pub fn check_transfer(new_primary: &Member, subject: &str) -> Result<(), TeamError> {
    if new_primary.guest {
        return Err(precondition(
            "ADMIN_CANNOT_BE_GUEST",
            subject,
            "guests cannot be admins; remove the guest flag first",
        ));
    }
    Ok(())
}

/// R-ROLE-5: the role a member keeps when the team loses its premium plan:
/// SSO admins become secondary admins; other roles stay.
pub fn role_after_losing_premium(current: Role) -> Option<Role> {
    (current == Role::SsoAdmin).then_some(Role::SecondaryAdmin)
}

/// R-CLS-1: the role a member gets on becoming a contract's manager: a
/// plain user becomes a secondary admin; admins keep their role.
pub fn role_of_new_contract_manager(current: Role) -> Option<Role> {
    (current == Role::User).then_some(Role::SecondaryAdmin)
}

/// R-CLS-6: the contract manager and the software coordinator of a
/// classic contract held by the team stay until their role passes on.
/// `held`: the contract whose role the member holds, and whether they are
/// its manager (else its coordinator).
pub fn check_no_contract_role(
    held: Option<(String, bool)>,
    subject: &str,
) -> Result<(), TeamError> {
    let Some((contract, is_manager)) = held else {
        return Ok(());
    };
    let role = if is_manager {
        "contract manager"
    } else {
        "software coordinator"
    };
    Err(TeamError::Precondition {
        kind: "CONTRACT_ROLE",
        subject: subject.to_owned(),
        message: format!(
            "this member is the {role} of {contract}; pass that role to someone else first"
        ),
    })
}
