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
        session: None,
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
fn r_role_3_admin_roles_are_per_team_so_no_admin_reads_every_team() {
    let person = Caller {
        principal: allot_platform::auth::Principal::Account(AccountId::generate()),
        actor: None,
        scopes: vec![scopes::ADMIN.into()],
        expires_at: i64::MAX,
        session: None,
    };
    for role in [None, Some(Role::PrimaryAdmin), Some(Role::SecondaryAdmin)] {
        let refused = authorize(&person, role, TeamAction::ReadDirectory).unwrap_err();
        assert!(
            matches!(refused, TeamError::PermissionDenied(ref m) if m.contains("internal")),
            "{refused:?}"
        );
    }
    assert!(authorize(&Caller::system(), None, TeamAction::ReadDirectory).is_ok());
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

#[test]
fn r_role_7_a_member_search_is_trimmed_lowercased_and_bounded() {
    let f = MemberFilter::parse("query", GuestFilter::Exclude, "  Ada LOVE ").expect("ok");
    assert_eq!(f.text.as_deref(), Some("ada love"));
    assert_eq!(f.guests, GuestFilter::Exclude);
    let empty = MemberFilter::parse("query", GuestFilter::Include, "   ").expect("ok");
    assert_eq!(empty, MemberFilter::everyone());
    let long =
        MemberFilter::parse("query", GuestFilter::Include, &"x".repeat(101)).expect_err("too long");
    assert_eq!(long.field, "query");
    assert!(MemberFilter::parse("query", GuestFilter::Include, "a\u{0}b").is_err());
}
