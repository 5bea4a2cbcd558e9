//! The rules of teams, roles and memberships. Pure: no database, no gRPC.

use allot_platform::auth::{Caller, scopes};
use allot_platform::error::{FieldViolation, quote};
use allot_platform::ids::{AccountId, GroupId, TeamId};
use allot_platform::values::{Email, parse_person_name, parse_text};

use crate::error::TeamError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    PrimaryAdmin,
    SecondaryAdmin,
    /// Powers of a secondary admin; only on premium teams (R-ROLE-5).
    SsoAdmin,
    User,
}

impl Role {
    pub fn as_db(self) -> &'static str {
        match self {
            Role::PrimaryAdmin => "PRIMARY_ADMIN",
            Role::SecondaryAdmin => "SECONDARY_ADMIN",
            Role::SsoAdmin => "SSO_ADMIN",
            Role::User => "USER",
        }
    }

    pub fn from_db(s: &str) -> Role {
        match s {
            "PRIMARY_ADMIN" => Role::PrimaryAdmin,
            "SECONDARY_ADMIN" => Role::SecondaryAdmin,
            "SSO_ADMIN" => Role::SsoAdmin,
            _ => Role::User,
        }
    }

    /// Any of the admin roles (R-ROLE-2, R-ROLE-5).
    pub fn is_admin(self) -> bool {
        !matches!(self, Role::User)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    Standard,
    Premium,
}

impl Plan {
    pub fn as_db(self) -> &'static str {
        match self {
            Plan::Standard => "STANDARD",
            Plan::Premium => "PREMIUM",
        }
    }

    pub fn from_db(s: &str) -> Plan {
        if s == "PREMIUM" {
            Plan::Premium
        } else {
            Plan::Standard
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberState {
    Invited,
    Active,
}

impl MemberState {
    pub fn as_db(self) -> &'static str {
        match self {
            MemberState::Invited => "INVITED",
            MemberState::Active => "ACTIVE",
        }
    }

    pub fn from_db(s: &str) -> MemberState {
        if s == "ACTIVE" {
            MemberState::Active
        } else {
            MemberState::Invited
        }
    }
}

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

#[derive(Debug, Clone)]
pub struct Group {
    pub id: GroupId,
    pub team: TeamId,
    pub display_name: String,
    pub create_time: i64,
    pub member_count: i64,
}

impl Group {
    /// `teams/{team}/groups/{group}`.
    pub fn name(&self) -> String {
        format!("{}/groups/{}", self.team.name(), self.id)
    }
}

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

fn parse_listed(entry: &str) -> Result<NewPerson, FieldViolation> {
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

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

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

/// R-INV-1: a person who adds an existing account to a team (by its id)
/// invites it, exactly as by email: the account is a member once its owner
/// accepts. Platforms (service accounts, Allot's own services) provision
/// people directly: they act for the organisation, not as one admin.
pub fn adding_an_account_invites(caller: &Caller) -> bool {
    caller.account().is_some() && !caller.is_internal()
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
    };
    if allowed {
        return Ok(());
    }
    Err(TeamError::PermissionDenied(match (action, role) {
        (TeamAction::ReadTeam, _) => "you are not a member of this team".into(),
        (TeamAction::AddGuest, _) => {
            "adding guests needs an admin role in this team or a service account with the `guests` scope".into()
        }
        (_, None) => "this needs an admin role in this team (primary, secondary or SSO admin); you are not a member".into(),
        (_, Some(_)) => "this needs an admin role in this team (primary, secondary or SSO admin); you are a user".into(),
    }))
}

fn precondition(kind: &'static str, subject: &str, message: impl Into<String>) -> TeamError {
    TeamError::Precondition {
        kind,
        subject: subject.to_owned(),
        message: message.into(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_role_5_sso_admins_become_secondary_admins_without_premium() {
        assert_eq!(
            role_after_losing_premium(Role::SsoAdmin),
            Some(Role::SecondaryAdmin)
        );
        for r in [Role::PrimaryAdmin, Role::SecondaryAdmin, Role::User] {
            assert_eq!(role_after_losing_premium(r), None);
        }
    }

    #[test]
    fn r_inv_4_semicolon_lists_with_names_as_mail_clients_paste_them() {
        let list = parse_address_list(
            "Ada Lovelace <ada@example.com>; grace.hopper@example.com;\"Turing, Alan\" <alan@example.com>; not-an-address ;; ",
        );
        assert_eq!(list.len(), 4);
        let ada = list[0].parsed.as_ref().unwrap();
        assert_eq!(
            (ada.given_name.as_str(), ada.family_name.as_str()),
            ("Ada", "Lovelace")
        );
        assert_eq!(ada.email.as_str(), "ada@example.com");
        let grace = list[1].parsed.as_ref().unwrap();
        assert_eq!(
            (grace.given_name.as_str(), grace.family_name.as_str()),
            ("Grace", "Hopper")
        );
        let alan = list[2].parsed.as_ref().unwrap();
        assert_eq!(
            (alan.given_name.as_str(), alan.family_name.as_str()),
            ("Alan", "Turing")
        );
        let bad = list[3].parsed.as_ref().unwrap_err();
        assert_eq!(bad.field, "addresses");
        assert!(bad.reason.contains("not-an-address"));
    }

    #[test]
    fn r_team_1_default_name_contains_the_admins_name() {
        assert_eq!(default_team_name("Ada", "Lovelace"), "Ada Lovelace's team");
        assert_eq!(default_team_name("Ada", ""), "Ada's team");
    }

    #[test]
    fn team_names_must_not_be_empty() {
        assert!(parse_team_name("team.display_name", "  ").is_err());
        assert_eq!(
            parse_team_name("team.display_name", " Design ").unwrap(),
            "Design"
        );
    }

    #[test]
    fn r_role_2_only_admins_manage_members() {
        let person = Caller {
            principal: allot_platform::auth::Principal::Account(AccountId::generate()),
            actor: None,
            scopes: vec![],
            expires_at: i64::MAX,
        };
        for role in [Role::PrimaryAdmin, Role::SecondaryAdmin, Role::SsoAdmin] {
            assert!(authorize(&person, Some(role), TeamAction::ManageMembers).is_ok());
        }
        assert!(authorize(&person, Some(Role::User), TeamAction::ManageMembers).is_err());
        assert!(authorize(&person, None, TeamAction::ManageMembers).is_err());
        assert!(authorize(&person, Some(Role::User), TeamAction::ReadTeam).is_ok());
        assert!(authorize(&person, None, TeamAction::ReadTeam).is_err());
    }

    #[test]
    fn r_role_1_the_primary_admin_role_only_moves_by_transfer() {
        let s = "teams/t/members/a";
        assert!(
            check_role_change(
                Plan::Standard,
                s,
                Some((Role::PrimaryAdmin, false)),
                Role::SecondaryAdmin,
                false
            )
            .is_err()
        );
        assert!(
            check_role_change(
                Plan::Standard,
                s,
                Some((Role::User, false)),
                Role::PrimaryAdmin,
                false
            )
            .is_err()
        );
        assert!(check_role_change(Plan::Standard, s, None, Role::PrimaryAdmin, false).is_err());
        assert!(
            check_role_change(
                Plan::Standard,
                s,
                Some((Role::PrimaryAdmin, false)),
                Role::PrimaryAdmin,
                false
            )
            .is_ok()
        );
    }

    #[test]
    fn r_role_3_users_and_secondary_admins_change_places() {
        let s = "teams/t/members/a";
        assert!(
            check_role_change(
                Plan::Standard,
                s,
                Some((Role::User, false)),
                Role::SecondaryAdmin,
                false
            )
            .is_ok()
        );
        assert!(
            check_role_change(
                Plan::Standard,
                s,
                Some((Role::SecondaryAdmin, false)),
                Role::User,
                false
            )
            .is_ok()
        );
    }

    #[test]
    fn r_role_5_sso_admin_only_on_premium() {
        let s = "teams/t/members/a";
        let err = check_role_change(
            Plan::Standard,
            s,
            Some((Role::User, false)),
            Role::SsoAdmin,
            false,
        )
        .unwrap_err();
        assert!(matches!(
            err,
            TeamError::Precondition {
                kind: "SSO_ADMIN_NEEDS_PREMIUM",
                ..
            }
        ));
        assert!(
            check_role_change(
                Plan::Premium,
                s,
                Some((Role::User, false)),
                Role::SsoAdmin,
                false
            )
            .is_ok()
        );
    }

    #[test]
    fn r_role_6_admins_cannot_be_guests() {
        let s = "teams/t/members/a";
        for (current, role, guest, says) in [
            (
                Some((Role::SecondaryAdmin, false)),
                Role::SecondaryAdmin,
                true,
                "take the admin role away first",
            ),
            (
                Some((Role::User, true)),
                Role::SecondaryAdmin,
                true,
                "remove the guest flag first",
            ),
            (None, Role::SecondaryAdmin, true, "admins cannot be guests"),
        ] {
            match check_role_change(Plan::Premium, s, current, role, guest) {
                Err(TeamError::Precondition { kind, message, .. }) => {
                    assert_eq!(kind, "ADMIN_CANNOT_BE_GUEST");
                    assert!(message.contains(says), "{message}");
                }
                other => panic!("expected a refusal, got {other:?}"),
            }
        }
        assert!(
            check_role_change(
                Plan::Standard,
                s,
                Some((Role::User, false)),
                Role::User,
                true
            )
            .is_ok()
        );
    }
}
