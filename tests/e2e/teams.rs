//! Teams, roles, guests and groups over gRPC, on SQLite and PostgreSQL
//! (R-ROLE-1..8, R-TEAM-1, R-TEAM-2, R-TEAM-5, R-INV-4).

use std::time::Duration;

use allot_platform::testing::Backend;
use allot_proto::team as tpb;
use tonic::Code;
use tonic_types::StatusExt;

use crate::harness::{Clients, Env, Person, unique_email};

/// A team of its own, created by `owner` (its primary admin).
pub async fn new_team(owner: &mut Clients, name: &str) -> tpb::Team {
    owner
        .team
        .create_team(tpb::CreateTeamRequest {
            team: Some(tpb::Team {
                display_name: name.into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect("create team")
        .into_inner()
}

/// A first team for `founder`, made by Allot itself (R-TEAM-1: a person who
/// administers no team cannot create one; their first comes with a
/// contract, or from an operator).
pub async fn team_for(env: &Env, founder: &Person, name: &str) -> tpb::Team {
    env.internal()
        .await
        .team
        .create_team(tpb::CreateTeamRequest {
            team: Some(tpb::Team {
                display_name: name.into(),
                primary_admin: founder.account.clone(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect("a first team")
        .into_inner()
}

pub async fn add_account(
    by: &mut Clients,
    team: &str,
    account: &str,
    role: tpb::Role,
    guest: bool,
) -> Result<tpb::Member, tonic::Status> {
    by.team
        .add_member(tpb::AddMemberRequest {
            parent: team.into(),
            who: Some(tpb::add_member_request::Who::Account(account.into())),
            role: role as i32,
            guest,
            ..Default::default()
        })
        .await
        .map(tonic::Response::into_inner)
}

pub fn member_name(team: &str, account: &str) -> String {
    format!("{team}/members/{}", account.trim_start_matches("accounts/"))
}

pub async fn update_member(
    by: &mut Clients,
    team: &str,
    account: &str,
    role: Option<tpb::Role>,
    guest: Option<bool>,
) -> Result<tpb::Member, tonic::Status> {
    let mut paths = Vec::new();
    if role.is_some() {
        paths.push("role".to_owned());
    }
    if guest.is_some() {
        paths.push("guest".to_owned());
    }
    by.team
        .update_member(tpb::UpdateMemberRequest {
            member: Some(tpb::Member {
                name: member_name(team, account),
                role: role.map(|r| r as i32).unwrap_or_default(),
                guest: guest.unwrap_or_default(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask { paths }),
        })
        .await
        .map(tonic::Response::into_inner)
}

async fn members(by: &mut Clients, team: &str, guests: tpb::GuestFilter) -> Vec<tpb::Member> {
    by.team
        .list_members(tpb::ListMembersRequest {
            parent: team.into(),
            guests: guests as i32,
            page_size: 1000,
            ..Default::default()
        })
        .await
        .expect("list members")
        .into_inner()
        .members
}

async fn role_of(by: &mut Clients, team: &str, account: &str) -> i32 {
    by.team
        .get_member(tpb::GetMemberRequest {
            name: member_name(team, account),
        })
        .await
        .expect("member")
        .into_inner()
        .role
}

fn precondition_type(s: &tonic::Status) -> String {
    s.get_details_precondition_failure()
        .and_then(|p| p.violations.into_iter().next())
        .map(|v| v.r#type)
        .unwrap_or_default()
}

/// A team with a primary admin P and a plain user U.
struct Fixture {
    env: Env,
    team: tpb::Team,
    p: Person,
    u: Person,
}

async fn fixture(backend: Backend) -> Fixture {
    let env = Env::in_process(backend).await;
    let mut p = env.person("Pat").await;
    let u = env.person("Uma").await;
    let team = team_for(&env, &p, "Design").await;
    add_account(
        &mut p.clients,
        &team.name,
        &u.account,
        tpb::Role::User,
        false,
    )
    .await
    .expect("add U");
    Fixture { env, team, p, u }
}

async fn r_role_1_exactly_one_primary_admin(backend: Backend) {
    let Fixture {
        env,
        team,
        mut p,
        u,
    } = fixture(backend).await;
    assert_eq!(
        team.primary_admin, p.account,
        "the creator is the primary admin"
    );
    let err = update_member(
        &mut p.clients,
        &team.name,
        &p.account,
        Some(tpb::Role::SecondaryAdmin),
        None,
    )
    .await
    .expect_err("the primary admin cannot step down by role change");
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(precondition_type(&err), "ONE_PRIMARY_ADMIN");
    assert!(
        err.message().contains("TransferPrimaryAdmin"),
        "{}",
        err.message()
    );
    let err = update_member(
        &mut p.clients,
        &team.name,
        &u.account,
        Some(tpb::Role::PrimaryAdmin),
        None,
    )
    .await
    .expect_err("a second primary admin is refused");
    assert_eq!(err.code(), Code::FailedPrecondition);
    let primaries = members(&mut p.clients, &team.name, tpb::GuestFilter::Include)
        .await
        .into_iter()
        .filter(|m| m.role == tpb::Role::PrimaryAdmin as i32)
        .count();
    assert_eq!(primaries, 1);
    env.shutdown().await;
}
crate::on_both_backends!(r_role_1_exactly_one_primary_admin);

async fn r_role_2_only_admins_change_a_team(backend: Backend) {
    let Fixture {
        env,
        team,
        p: _p,
        mut u,
    } = fixture(backend).await;
    let newcomer = env.person("Nia").await;
    let err = add_account(
        &mut u.clients,
        &team.name,
        &newcomer.account,
        tpb::Role::User,
        false,
    )
    .await
    .expect_err("a user cannot add members");
    assert_eq!(err.code(), Code::PermissionDenied);
    assert!(
        err.message().contains("admin role"),
        "the denial names the missing role: {}",
        err.message()
    );
    let err = u
        .clients
        .team
        .list_members(tpb::ListMembersRequest {
            parent: team.name.clone(),
            ..Default::default()
        })
        .await
        .expect_err("a user cannot list the team");
    assert_eq!(err.code(), Code::PermissionDenied);
    // A user reads their own membership only.
    let me = u
        .clients
        .team
        .get_member(tpb::GetMemberRequest {
            name: member_name(&team.name, &u.account),
        })
        .await
        .expect("own membership")
        .into_inner();
    assert_eq!(me.role, tpb::Role::User as i32);

    // An admin of another team can do nothing here.
    let mut other = env.person("Omar").await;
    team_for(&env, &other, "Elsewhere").await;
    let err = add_account(
        &mut other.clients,
        &team.name,
        &newcomer.account,
        tpb::Role::User,
        false,
    )
    .await
    .expect_err("admin of team B in team A");
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = other
        .clients
        .team
        .update_team(tpb::UpdateTeamRequest {
            team: Some(tpb::Team {
                name: team.name.clone(),
                display_name: "Mine now".into(),
                ..Default::default()
            }),
            update_mask: None,
        })
        .await
        .expect_err("rename another team");
    assert_eq!(err.code(), Code::PermissionDenied);
    env.shutdown().await;
}
crate::on_both_backends!(r_role_2_only_admins_change_a_team);

async fn r_role_3_secondary_admins_appoint_secondary_admins(backend: Backend) {
    let Fixture {
        env,
        team,
        mut p,
        u,
    } = fixture(backend).await;
    let mut s = env.person("Sam").await;
    add_account(
        &mut p.clients,
        &team.name,
        &s.account,
        tpb::Role::User,
        false,
    )
    .await
    .expect("add S");
    // Appointed by the primary admin.
    update_member(
        &mut p.clients,
        &team.name,
        &s.account,
        Some(tpb::Role::SecondaryAdmin),
        None,
    )
    .await
    .expect("primary appoints a secondary admin");
    // A secondary admin appoints another, and sees every member.
    update_member(
        &mut s.clients,
        &team.name,
        &u.account,
        Some(tpb::Role::SecondaryAdmin),
        None,
    )
    .await
    .expect("secondary appoints a secondary admin");
    assert_eq!(
        role_of(&mut p.clients, &team.name, &u.account).await,
        tpb::Role::SecondaryAdmin as i32
    );
    let seen = members(&mut s.clients, &team.name, tpb::GuestFilter::Include).await;
    assert_eq!(seen.len(), 3);
    // Any number of them; and back to user.
    update_member(
        &mut s.clients,
        &team.name,
        &u.account,
        Some(tpb::Role::User),
        None,
    )
    .await
    .expect("back to user");
    env.shutdown().await;
}
crate::on_both_backends!(r_role_3_secondary_admins_appoint_secondary_admins);

async fn r_role_4_primary_admin_is_handed_over_atomically(backend: Backend) {
    let Fixture {
        env,
        team,
        mut p,
        u,
    } = fixture(backend).await;
    let mut s = env.person("Sam").await;
    add_account(
        &mut p.clients,
        &team.name,
        &s.account,
        tpb::Role::SecondaryAdmin,
        false,
    )
    .await
    .expect("add S");
    // A secondary admin hands the role to a user.
    let after = s
        .clients
        .team
        .transfer_primary_admin(tpb::TransferPrimaryAdminRequest {
            team: team.name.clone(),
            new_primary_admin: u.account.clone(),
        })
        .await
        .expect("secondary admin hands over")
        .into_inner();
    assert_eq!(after.primary_admin, u.account);
    assert_eq!(
        role_of(&mut s.clients, &team.name, &p.account).await,
        tpb::Role::SecondaryAdmin as i32,
        "the former primary admin becomes secondary"
    );
    assert_eq!(
        role_of(&mut s.clients, &team.name, &u.account).await,
        tpb::Role::PrimaryAdmin as i32
    );

    // Both role changes are in one commit of the event stream.
    let mut internal = env.internal().await;
    let mut stream = internal
        .team
        .watch(tpb::WatchRequest {
            team: team.name.clone(),
            ..Default::default()
        })
        .await
        .expect("watch")
        .into_inner();
    let mut updates = Vec::new();
    while let Ok(Some(item)) = tokio::time::timeout(Duration::from_secs(5), stream.message())
        .await
        .expect("stream")
    {
        if let Some(tpb::watch_response::Kind::Event(e)) = item.kind {
            if let Some(tpb::event::Payload::MemberUpdated(m)) = &e.payload {
                let member = m.member.clone().expect("member");
                if member.role == tpb::Role::PrimaryAdmin as i32
                    || m.previous_role == tpb::Role::PrimaryAdmin as i32
                {
                    updates.push((e.context.clone().expect("context"), member));
                }
            }
            if let Some(tpb::event::Payload::TeamUpdated(t)) = &e.payload
                && t.team
                    .as_ref()
                    .is_some_and(|t| t.primary_admin == u.account)
            {
                assert!(e.context.expect("context").last_in_commit);
                break;
            }
        }
    }
    assert_eq!(updates.len(), 2, "demotion and promotion: {updates:?}");
    assert!(
        !updates[0].0.last_in_commit && !updates[1].0.last_in_commit,
        "the team update closes the commit"
    );
    env.shutdown().await;
}
crate::on_both_backends!(r_role_4_primary_admin_is_handed_over_atomically);

/// R-ROLE-1 under concurrency: many admins hand the role to different
/// members at the same moment; afterwards exactly one primary admin.
async fn r_role_4_concurrent_handovers_leave_one_primary_admin(backend: Backend) {
    let Fixture {
        env,
        team,
        mut p,
        u: _u,
    } = fixture(backend).await;
    let mut admins = Vec::new();
    for i in 0..8 {
        let a = env.person(&format!("Admin{i}")).await;
        add_account(
            &mut p.clients,
            &team.name,
            &a.account,
            tpb::Role::SecondaryAdmin,
            false,
        )
        .await
        .expect("add");
        admins.push(a);
    }
    let mut tasks = Vec::new();
    for (i, a) in admins.iter().enumerate() {
        let mut clients = a.clients.clone();
        let target = admins[(i + 1) % admins.len()].account.clone();
        let team = team.name.clone();
        tasks.push(tokio::spawn(async move {
            clients
                .team
                .transfer_primary_admin(tpb::TransferPrimaryAdminRequest {
                    team,
                    new_primary_admin: target,
                })
                .await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.expect("task") {
            Ok(_) => ok += 1,
            Err(e) => assert_eq!(
                e.code(),
                Code::Unavailable,
                "only a busy database may refuse: {e:?}"
            ),
        }
    }
    assert!(ok >= 1);
    let all = members(&mut p.clients, &team.name, tpb::GuestFilter::Include).await;
    let primaries: Vec<_> = all
        .iter()
        .filter(|m| m.role == tpb::Role::PrimaryAdmin as i32)
        .collect();
    assert_eq!(
        primaries.len(),
        1,
        "exactly one primary admin after {ok} concurrent hand-overs"
    );
    let fresh = p
        .clients
        .team
        .get_team(tpb::GetTeamRequest {
            name: team.name.clone(),
        })
        .await
        .expect("team")
        .into_inner();
    assert_eq!(fresh.primary_admin, primaries[0].account);
    env.shutdown().await;
}
crate::on_both_backends!(r_role_4_concurrent_handovers_leave_one_primary_admin);

async fn r_role_5_sso_admin_only_on_premium_teams(backend: Backend) {
    let Fixture {
        env,
        team,
        mut p,
        u,
    } = fixture(backend).await;
    let err = update_member(
        &mut p.clients,
        &team.name,
        &u.account,
        Some(tpb::Role::SsoAdmin),
        None,
    )
    .await
    .expect_err("standard team");
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(precondition_type(&err), "SSO_ADMIN_NEEDS_PREMIUM");
    // The plan follows the team's subscriptions; Allot itself sets it.
    let err = p
        .clients
        .team
        .update_team(tpb::UpdateTeamRequest {
            team: Some(tpb::Team {
                name: team.name.clone(),
                plan: tpb::Plan::Premium as i32,
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["plan".into()],
            }),
        })
        .await
        .expect_err("admins cannot buy premium by editing the team");
    assert_eq!(err.code(), Code::PermissionDenied);
    env.internal()
        .await
        .team
        .update_team(tpb::UpdateTeamRequest {
            team: Some(tpb::Team {
                name: team.name.clone(),
                plan: tpb::Plan::Premium as i32,
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["plan".into()],
            }),
        })
        .await
        .expect("premium");
    let mut sso = u;
    update_member(
        &mut p.clients,
        &team.name,
        &sso.account,
        Some(tpb::Role::SsoAdmin),
        None,
    )
    .await
    .expect("premium team takes an SSO admin");
    // With a secondary admin's powers.
    let newcomer = env.person("Nia").await;
    add_account(
        &mut sso.clients,
        &team.name,
        &newcomer.account,
        tpb::Role::User,
        false,
    )
    .await
    .expect("SSO admin adds members");
    env.shutdown().await;
}
crate::on_both_backends!(r_role_5_sso_admin_only_on_premium_teams);

async fn r_role_6_admins_are_not_removed_nor_guests(backend: Backend) {
    let Fixture {
        env,
        team,
        mut p,
        u,
    } = fixture(backend).await;
    update_member(
        &mut p.clients,
        &team.name,
        &u.account,
        Some(tpb::Role::SecondaryAdmin),
        None,
    )
    .await
    .expect("appoint");
    let remove = |c: &mut Clients, name: String| {
        let mut c = c.clone();
        async move {
            c.team
                .remove_member(tpb::RemoveMemberRequest { name })
                .await
        }
    };
    let err = remove(&mut p.clients, member_name(&team.name, &u.account))
        .await
        .expect_err("admin removal");
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(precondition_type(&err), "ADMIN_CANNOT_BE_REMOVED");
    assert!(
        err.message().contains("change their role to user first"),
        "{}",
        err.message()
    );
    let err = remove(&mut p.clients, member_name(&team.name, &p.account))
        .await
        .expect_err("primary removal");
    assert_eq!(err.code(), Code::FailedPrecondition);
    let err = update_member(&mut p.clients, &team.name, &u.account, None, Some(true))
        .await
        .expect_err("admin as guest");
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(precondition_type(&err), "ADMIN_CANNOT_BE_GUEST");
    assert!(
        err.message().contains("take the admin role away first"),
        "{}",
        err.message()
    );
    // Once a user, they can be a guest, and removed.
    update_member(
        &mut p.clients,
        &team.name,
        &u.account,
        Some(tpb::Role::User),
        None,
    )
    .await
    .expect("demote");
    update_member(&mut p.clients, &team.name, &u.account, None, Some(true))
        .await
        .expect("guest");
    let err = update_member(
        &mut p.clients,
        &team.name,
        &u.account,
        Some(tpb::Role::SecondaryAdmin),
        None,
    )
    .await
    .expect_err("guest as admin");
    assert!(
        err.message().contains("remove the guest flag first"),
        "{}",
        err.message()
    );
    remove(&mut p.clients, member_name(&team.name, &u.account))
        .await
        .expect("removed");
    env.shutdown().await;
}
crate::on_both_backends!(r_role_6_admins_are_not_removed_nor_guests);

async fn r_role_7_guests_are_flagged_listed_and_added_by_collaboration_products(backend: Backend) {
    let Fixture {
        env,
        team,
        mut p,
        u,
    } = fixture(backend).await;
    update_member(&mut p.clients, &team.name, &u.account, None, Some(true))
        .await
        .expect("flag guest");
    let with = members(&mut p.clients, &team.name, tpb::GuestFilter::Include).await;
    let without = members(&mut p.clients, &team.name, tpb::GuestFilter::Exclude).await;
    let only = members(&mut p.clients, &team.name, tpb::GuestFilter::Only).await;
    assert_eq!(with.len(), 2);
    assert_eq!(
        without
            .iter()
            .map(|m| m.account.clone())
            .collect::<Vec<_>>(),
        [p.account.clone()]
    );
    assert_eq!(
        only.iter().map(|m| m.account.clone()).collect::<Vec<_>>(),
        std::slice::from_ref(&u.account)
    );
    update_member(&mut p.clients, &team.name, &u.account, None, Some(false))
        .await
        .expect("flag off");
    assert_eq!(
        members(&mut p.clients, &team.name, tpb::GuestFilter::Only)
            .await
            .len(),
        0
    );

    // A collaboration product adds a guest with the `guests` scope.
    let mut collab = env.service_account(&["guests"]).await;
    let email = unique_email("supplier");
    let guest = collab
        .team
        .add_member(tpb::AddMemberRequest {
            parent: team.name.clone(),
            who: Some(tpb::add_member_request::Who::Person(tpb::Person {
                given_name: "Sue".into(),
                family_name: "Plier".into(),
                email: email.clone(),
            })),
            role: tpb::Role::User as i32,
            guest: true,
            ..Default::default()
        })
        .await
        .expect("collaboration product adds a guest")
        .into_inner();
    assert!(guest.guest);
    env.mail_to(&email, 1).await;
    // ... but only guests, and not without the scope.
    let err = add_account(
        &mut collab,
        &team.name,
        &env.person("Vic").await.account,
        tpb::Role::User,
        false,
    )
    .await
    .expect_err("a non-guest");
    assert_eq!(err.code(), Code::PermissionDenied);
    let mut plain = env.service_account(&["catalog"]).await;
    let err = add_account(
        &mut plain,
        &team.name,
        &env.person("Wes").await.account,
        tpb::Role::User,
        true,
    )
    .await
    .expect_err("no guests scope");
    assert_eq!(err.code(), Code::PermissionDenied);
    env.shutdown().await;
}
crate::on_both_backends!(r_role_7_guests_are_flagged_listed_and_added_by_collaboration_products);

async fn r_team_1_an_owner_without_a_team_gets_one_named_after_them(backend: Backend) {
    let env = Env::in_process(backend).await;
    let owner = env.person("Olga").await;
    let mut internal = env.internal().await;
    let ensure = |mut c: Clients, owner: String| async move {
        c.team
            .ensure_owner_team(tpb::EnsureOwnerTeamRequest {
                owner,
                always_create: false,
            })
            .await
    };
    // Several contracts arriving at once create one team.
    let results =
        futures::future::join_all((0..4).map(|_| ensure(internal.clone(), owner.account.clone())))
            .await;
    let teams: Vec<tpb::Team> = results
        .into_iter()
        .map(|r| r.expect("ensure").into_inner())
        .collect();
    assert!(
        teams.iter().all(|t| t.name == teams[0].name),
        "one team: {teams:?}"
    );
    let team = &teams[0];
    assert_eq!(team.display_name, "Olga Tester's team");
    assert_eq!(team.primary_admin, owner.account);
    assert_eq!(team.owner, owner.account);
    // The owner's team is found again, not made anew.
    let again = ensure(internal.clone(), owner.account.clone())
        .await
        .expect("again")
        .into_inner();
    assert_eq!(again.name, team.name);
    // Only Allot itself places contracts.
    let err = ensure(owner.clients.clone(), owner.account.clone())
        .await
        .expect_err("not internal");
    assert_eq!(err.code(), Code::PermissionDenied);
    // Admins can create more teams and rename them.
    let mut o = owner.clients.clone();
    let more = new_team(&mut o, "Second").await;
    let renamed = o
        .team
        .update_team(tpb::UpdateTeamRequest {
            team: Some(tpb::Team {
                name: more.name.clone(),
                display_name: "Renamed".into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["display_name".into()],
            }),
        })
        .await
        .expect("rename")
        .into_inner();
    assert_eq!(renamed.display_name, "Renamed");
    internal
        .team
        .get_team(tpb::GetTeamRequest { name: more.name })
        .await
        .expect("exists");
    env.shutdown().await;
}
crate::on_both_backends!(r_team_1_an_owner_without_a_team_gets_one_named_after_them);

async fn r_team_1_people_who_administer_no_team_cannot_create_one(backend: Backend) {
    let env = Env::in_process(backend).await;
    let mut nobody = env.person("Nora").await;
    let err = nobody
        .clients
        .team
        .create_team(tpb::CreateTeamRequest {
            team: Some(tpb::Team {
                display_name: "Squat".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect_err("a user of one team administers none");
    assert_eq!(err.code(), Code::PermissionDenied);
    assert!(err.message().contains("admin role"), "{}", err.message());
    let mine = env
        .internal()
        .await
        .team
        .list_teams(tpb::ListTeamsRequest {
            member: nobody.account.clone(),
            ..Default::default()
        })
        .await
        .expect("teams")
        .into_inner()
        .teams;
    assert_eq!(mine.len(), 1, "nothing was created: {mine:?}");
    // Once they administer a team, they may create more.
    team_for(&env, &nobody, "First").await;
    let more = new_team(&mut nobody.clients, "Second").await;
    assert_eq!(more.primary_admin, nobody.account);
    env.shutdown().await;
}
crate::on_both_backends!(r_team_1_people_who_administer_no_team_cannot_create_one);

async fn r_team_2_joining_a_team_keeps_the_others(backend: Backend) {
    let Fixture {
        env,
        team,
        mut p,
        mut u,
    } = fixture(backend).await;
    let mut q = env.person("Quinn").await;
    let second = team_for(&env, &q, "Second").await;
    add_account(
        &mut q.clients,
        &second.name,
        &u.account,
        tpb::Role::User,
        false,
    )
    .await
    .expect("add to second");
    let teams: Vec<String> = u
        .clients
        .team
        .list_teams(tpb::ListTeamsRequest::default())
        .await
        .expect("list")
        .into_inner()
        .teams
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert!(
        teams.contains(&team.name) && teams.contains(&second.name),
        "{teams:?}"
    );
    assert_eq!(
        role_of(&mut p.clients, &team.name, &u.account).await,
        tpb::Role::User as i32
    );
    env.shutdown().await;
}
crate::on_both_backends!(r_team_2_joining_a_team_keeps_the_others);

async fn r_inv_4_a_semicolon_list_is_judged_address_by_address(backend: Backend) {
    let Fixture {
        env,
        team,
        mut p,
        u,
    } = fixture(backend).await;
    let ada = unique_email("ada");
    let grace = unique_email("grace");
    let r = p
        .clients
        .team
        .add_members(tpb::AddMembersRequest {
            parent: team.name.clone(),
            addresses: format!(
                "Ada Lovelace <{ada}>; {grace} ; not-an-address; {}",
                u.email
            ),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .results;
    let outcomes: Vec<i32> = r.iter().map(|x| x.outcome).collect();
    assert_eq!(
        outcomes,
        [
            tpb::AddMemberOutcome::Invited as i32,
            tpb::AddMemberOutcome::Invited as i32,
            tpb::AddMemberOutcome::Invalid as i32,
            tpb::AddMemberOutcome::AlreadyMember as i32,
        ]
    );
    assert_eq!(r[0].member.as_ref().expect("member").given_name, "Ada");
    assert_eq!(
        r[0].member.as_ref().expect("member").family_name,
        "Lovelace"
    );
    assert_eq!(r[2].violations[0].field, "addresses");
    assert!(r[2].violations[0].description.contains("not-an-address"));
    env.mail_to(&ada, 1).await;
    env.mail_to(&grace, 1).await;
    env.shutdown().await;
}
crate::on_both_backends!(r_inv_4_a_semicolon_list_is_judged_address_by_address);

async fn groups_are_created_renamed_filled_and_deleted(backend: Backend) {
    let Fixture {
        env,
        team,
        mut p,
        u,
    } = fixture(backend).await;
    let g = p
        .clients
        .team
        .create_group(tpb::CreateGroupRequest {
            parent: team.name.clone(),
            group: Some(tpb::Group {
                display_name: "Drafters".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect("create group")
        .into_inner();
    assert!(g.name.starts_with(&format!("{}/groups/", team.name)));
    let outsider = env.person("Xena").await;
    let err = p
        .clients
        .team
        .add_group_members(tpb::AddGroupMembersRequest {
            group: g.name.clone(),
            accounts: vec![outsider.account.clone()],
        })
        .await
        .expect_err("only team members join groups");
    assert_eq!(err.code(), Code::NotFound);
    let g2 = p
        .clients
        .team
        .add_group_members(tpb::AddGroupMembersRequest {
            group: g.name.clone(),
            accounts: vec![u.account.clone(), p.account.clone()],
        })
        .await
        .expect("add")
        .into_inner();
    assert_eq!(g2.member_count, 2);
    let renamed = p
        .clients
        .team
        .update_group(tpb::UpdateGroupRequest {
            group: Some(tpb::Group {
                name: g.name.clone(),
                display_name: "Designers".into(),
                ..Default::default()
            }),
            update_mask: None,
        })
        .await
        .expect("rename")
        .into_inner();
    assert_eq!(renamed.display_name, "Designers");
    p.clients
        .team
        .remove_group_members(tpb::RemoveGroupMembersRequest {
            group: g.name.clone(),
            accounts: vec![p.account.clone()],
        })
        .await
        .expect("remove");
    let listed = p
        .clients
        .team
        .list_group_members(tpb::ListGroupMembersRequest {
            group: g.name.clone(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .members;
    assert_eq!(
        listed.iter().map(|m| m.account.clone()).collect::<Vec<_>>(),
        std::slice::from_ref(&u.account)
    );
    // R-TEAM-5: a removed member leaves the team's groups too.
    p.clients
        .team
        .remove_member(tpb::RemoveMemberRequest {
            name: member_name(&team.name, &u.account),
        })
        .await
        .expect("remove member");
    let g3 = p
        .clients
        .team
        .get_group(tpb::GetGroupRequest {
            name: g.name.clone(),
        })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(g3.member_count, 0);
    p.clients
        .team
        .delete_group(tpb::DeleteGroupRequest {
            name: g.name.clone(),
        })
        .await
        .expect("delete");
    let err = p
        .clients
        .team
        .get_group(tpb::GetGroupRequest { name: g.name })
        .await
        .expect_err("gone");
    assert_eq!(err.code(), Code::NotFound);
    env.shutdown().await;
}
crate::on_both_backends!(groups_are_created_renamed_filled_and_deleted);

async fn team_bad_input(backend: Backend) {
    let Fixture {
        env,
        team,
        mut p,
        u: _u,
    } = fixture(backend).await;
    let err = p
        .clients
        .team
        .create_team(tpb::CreateTeamRequest {
            team: Some(tpb::Team {
                display_name: "   ".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect_err("empty name");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message().contains("team.display_name"),
        "{}",
        err.message()
    );
    // Duplicate names for one owner are allowed.
    let a = new_team(&mut p.clients, "Same").await;
    let b = new_team(&mut p.clients, "Same").await;
    assert_ne!(a.name, b.name);
    let err = p
        .clients
        .team
        .get_member(tpb::GetMemberRequest {
            name: member_name(&team.name, "accounts/nobody"),
        })
        .await
        .expect_err("unknown member");
    assert_eq!(err.code(), Code::NotFound);
    let err = p
        .clients
        .team
        .get_team(tpb::GetTeamRequest {
            name: "teams/nope".into(),
        })
        .await
        .expect_err("unknown team");
    assert_eq!(err.code(), Code::NotFound);
    let err = p
        .clients
        .team
        .get_team(tpb::GetTeamRequest {
            name: "nope".into(),
        })
        .await
        .expect_err("malformed");
    assert_eq!(err.code(), Code::InvalidArgument);
    env.shutdown().await;
}
crate::on_both_backends!(team_bad_input);

/// R-TEAM-3: an owner who no longer administers any team (their first team
/// handed over, their role taken away) gets a precise refusal saying what to
/// do, not an internal error, and no second team appears.
async fn r_team_3_an_owner_who_administers_no_team_is_told_what_to_do(backend: Backend) {
    let env = Env::in_process(backend).await;
    let owner = env.person("Otto").await;
    let heir = env.person("Hana").await;
    let internal = env.internal().await;
    let ensure = || {
        let mut c = internal.clone();
        let owner = owner.account.clone();
        async move {
            c.team
                .ensure_owner_team(tpb::EnsureOwnerTeamRequest {
                    owner,
                    always_create: false,
                })
                .await
        }
    };
    let team = ensure().await.expect("first team").into_inner();
    let mut o = owner.clients.clone();
    add_account(&mut o, &team.name, &heir.account, tpb::Role::User, false)
        .await
        .expect("heir");
    o.team
        .transfer_primary_admin(tpb::TransferPrimaryAdminRequest {
            team: team.name.clone(),
            new_primary_admin: heir.account.clone(),
        })
        .await
        .expect("hand over");
    let mut h = heir.clients.clone();
    update_member(
        &mut h,
        &team.name,
        &owner.account,
        Some(tpb::Role::User),
        None,
    )
    .await
    .expect("owner becomes a user");
    let err = ensure().await.expect_err("administers no team");
    assert_eq!(err.code(), Code::FailedPrecondition, "{}", err.message());
    assert_eq!(precondition_type(&err), "OWNER_ADMINISTERS_NO_TEAM");
    assert!(
        err.message().contains("make them an admin"),
        "{}",
        err.message()
    );
    // Given an admin role back, their contracts have a home again.
    update_member(
        &mut h,
        &team.name,
        &owner.account,
        Some(tpb::Role::SecondaryAdmin),
        None,
    )
    .await
    .expect("admin again");
    assert_eq!(ensure().await.expect("home").into_inner().name, team.name);
    env.shutdown().await;
}
crate::on_both_backends!(r_team_3_an_owner_who_administers_no_team_is_told_what_to_do);

/// R-INV-7: an admin resends only their own team's invitation. A person
/// invited into another team and then added here has no invitation of this
/// team: the resend is refused, and the other team's link keeps working.
async fn r_inv_7_admins_resend_only_their_own_teams_invitations(backend: Backend) {
    let Fixture { env, p, .. } = fixture(backend).await;
    // Vic is invited into the bootstrap team, which P does not administer.
    let vic = env.person("Vic").await;
    let bootstrap = env.first_team().await.name;
    let err = p
        .clients
        .clone()
        .team
        .resend_invitation(tpb::ResendInvitationRequest {
            name: member_name(&bootstrap, &vic.account),
        })
        .await
        .expect_err("the bootstrap team's invitation is not P's to resend");
    assert_eq!(err.code(), Code::PermissionDenied, "{}", err.message());
    // The other team's invitation was not voided: its link still works.
    let mail = env.mail_to(&vic.email, 1).await;
    let token = crate::harness::accept_token(&mail[0]);
    env.clients_with(None)
        .identity
        .accept_invitation(allot_proto::identity::AcceptInvitationRequest {
            token,
            ..Default::default()
        })
        .await
        .expect("the first invitation still accepts");
    env.shutdown().await;
}
crate::on_both_backends!(r_inv_7_admins_resend_only_their_own_teams_invitations);

/// R-INV-7: an admin revokes only their own team's invitations; a revoked
/// link no longer works and the person is off the team. Taking an invited
/// person off the team with RemoveMember voids their link the same way.
async fn r_inv_7_admins_revoke_only_their_own_teams_invitations(backend: Backend) {
    let Fixture { env, team, p, .. } = fixture(backend).await;
    let accept = |token: String| {
        let mut c = env.clients_with(None);
        async move {
            c.identity
                .accept_invitation(allot_proto::identity::AcceptInvitationRequest {
                    token,
                    ..Default::default()
                })
                .await
        }
    };
    // Vic is invited into the bootstrap team, which P does not administer.
    let vic = env.person("Vic").await;
    let bootstrap = env.first_team().await.name;
    let vic_member = member_name(&bootstrap, &vic.account);
    let vic_mail = env.mail_to(&vic.email, 1).await;
    let err = p
        .clients
        .clone()
        .team
        .revoke_invitation(tpb::RevokeInvitationRequest {
            name: vic_member.clone(),
        })
        .await
        .expect_err("not P's invitation to revoke");
    assert_eq!(err.code(), Code::PermissionDenied, "{}", err.message());
    let mut admin = env.admin().await;
    admin
        .team
        .revoke_invitation(tpb::RevokeInvitationRequest {
            name: vic_member.clone(),
        })
        .await
        .expect("the team's admin revokes it");
    let gone = admin
        .team
        .get_member(tpb::GetMemberRequest { name: vic_member })
        .await
        .expect_err("Vic is off the team");
    assert_eq!(gone.code(), Code::NotFound);
    let err = accept(crate::harness::accept_token(&vic_mail[0]))
        .await
        .expect_err("a revoked link");
    assert_eq!(err.code(), Code::FailedPrecondition, "{}", err.message());
    assert!(err.message().contains("withdrawn"), "{}", err.message());

    // Removing an invited member revokes the link too.
    let wes_email = unique_email("wes");
    let wes = crate::invitations::invite(
        &mut p.clients.clone(),
        &team.name,
        "Wes",
        "West",
        &wes_email,
    )
    .await;
    let mail = env.mail_to(&wes_email, 1).await;
    p.clients
        .clone()
        .team
        .remove_member(tpb::RemoveMemberRequest {
            name: wes.name.clone(),
        })
        .await
        .expect("P removes Wes before he accepts");
    let err = accept(crate::harness::accept_token(&mail[0]))
        .await
        .expect_err("the removed person's link");
    assert_eq!(err.code(), Code::FailedPrecondition, "{}", err.message());
    env.shutdown().await;
}
crate::on_both_backends!(r_inv_7_admins_revoke_only_their_own_teams_invitations);

/// R-INV-1: an admin who adds an existing account by its id invites it,
/// as by email: INVITED with an expiry and an invitation email for that
/// team, a member once the person accepts. A platform's service account
/// provisions directly (it acts for the organisation, not as one admin).
async fn r_inv_1_an_admin_adding_an_account_by_id_invites_it(backend: Backend) {
    let Fixture {
        env, team, p, u, ..
    } = fixture(backend).await;
    let member = |by: &Clients, team: &str, account: &str| {
        let (mut by, name) = (by.clone(), member_name(team, account));
        async move {
            by.team
                .get_member(tpb::GetMemberRequest { name })
                .await
                .expect("member")
                .into_inner()
        }
    };
    let m = member(&p.clients, &team.name, &u.account).await;
    assert_eq!(m.state, tpb::MemberState::Invited as i32);
    assert!(m.invitation_expire_time.is_some(), "with its expiry");
    let mails = env.mail_to(&u.email, 2).await;
    let design = mails
        .iter()
        .find(|m| m.decoded().contains("Design"))
        .expect("an invitation into Design");
    env.clients_with(None)
        .identity
        .accept_invitation(allot_proto::identity::AcceptInvitationRequest {
            token: crate::harness::accept_token(design),
            ..Default::default()
        })
        .await
        .expect("U accepts");
    crate::harness::eventually("U is a member of Design", || async {
        member(&p.clients, &team.name, &u.account).await.state == tpb::MemberState::Active as i32
    })
    .await;

    let platform = env.service_account(&["guests"]).await;
    let ops = team_for(&env, &p, "Ops").await;
    let added = add_account(
        &mut platform.clone(),
        &ops.name,
        &u.account,
        tpb::Role::User,
        true,
    )
    .await
    .expect("the platform adds a guest");
    assert_eq!(
        added.state,
        tpb::MemberState::Active as i32,
        "no invitation"
    );
    assert!(added.invitation.is_empty(), "{added:?}");
    env.shutdown().await;
}
crate::on_both_backends!(r_inv_1_an_admin_adding_an_account_by_id_invites_it);

/// R-INV-1: an outsider admin who adds an existing, active person by email
/// learns nothing: the answer holds what they typed and INVITED, exactly as
/// for an address without an account, and LookupAccount refuses both alike.
/// The person gets an invitation into that team, keeps their names, and is
/// a member there only once they accept.
async fn r_inv_1_an_outsider_inviting_an_existing_person_learns_nothing(backend: Backend) {
    let env = Env::in_process(backend).await;
    let mut admin = env.admin().await;
    let first = env.first_team().await.name;
    let kim_email = unique_email("kim.real");
    crate::invitations::invite(&mut admin, &first, "Kim", "Real", &kim_email).await;
    let first_mail = env.mail_to(&kim_email, 1).await;
    let kim = env
        .clients_with(None)
        .identity
        .accept_invitation(allot_proto::identity::AcceptInvitationRequest {
            token: crate::harness::accept_token(&first_mail[0]),
            ..Default::default()
        })
        .await
        .expect("Kim accepts")
        .into_inner()
        .account
        .expect("account");

    let mut eve = env.person("Eve").await;
    let eves = team_for(&env, &eve, "Eve's").await.name;
    let add = |email: String| {
        let mut c = eve.clients.clone();
        let team = eves.clone();
        async move {
            c.team
                .add_member(tpb::AddMemberRequest {
                    parent: team,
                    who: Some(tpb::add_member_request::Who::Person(tpb::Person {
                        given_name: "Typed".into(),
                        family_name: "Names".into(),
                        email,
                    })),
                    ..Default::default()
                })
                .await
                .expect("add by email")
                .into_inner()
        }
    };
    let known = add(kim_email.clone()).await;
    let unknown = add(unique_email("nobody.yet")).await;
    for m in [&known, &unknown] {
        assert_eq!(
            (m.given_name.as_str(), m.family_name.as_str(), m.state),
            ("Typed", "Names", tpb::MemberState::Invited as i32),
            "the answer shows only what was typed: {m:?}"
        );
        assert!(!m.invitation.is_empty(), "an invitation into Eve's team");
    }
    // No RPC tells Eve whether an address has an account.
    let lookup = |email: String| {
        let mut c = eve.clients.clone();
        async move {
            c.identity
                .lookup_account(allot_proto::identity::LookupAccountRequest { email })
                .await
                .expect_err("refused")
        }
    };
    let (a, b) = (
        lookup(kim_email.clone()).await,
        lookup(unique_email("nobody.else")).await,
    );
    assert_eq!((a.code(), a.message()), (b.code(), b.message()));
    assert_eq!(a.code(), Code::PermissionDenied);

    // Kim's account and first membership are untouched; Kim is invited.
    let account = admin
        .identity
        .get_account(allot_proto::identity::GetAccountRequest {
            name: kim.name.clone(),
        })
        .await
        .expect("account")
        .into_inner();
    assert_eq!(
        (account.given_name.as_str(), account.family_name.as_str()),
        ("Kim", "Real")
    );
    let mail = env.mail_to(&kim_email, 2).await;
    let invitation = mail
        .iter()
        .find(|m| m.decoded().contains("Eve's"))
        .expect("an invitation into Eve's team");
    assert!(invitation.decoded().contains("Kim"), "greets Kim by name");
    let in_eves = tpb::GetMemberRequest {
        name: member_name(&eves, &kim.name),
    };
    let state = eve
        .clients
        .team
        .get_member(in_eves.clone())
        .await
        .expect("member")
        .into_inner()
        .state;
    assert_eq!(state, tpb::MemberState::Invited as i32, "until Kim accepts");

    env.clients_with(None)
        .identity
        .accept_invitation(allot_proto::identity::AcceptInvitationRequest {
            token: crate::harness::accept_token(invitation),
            ..Default::default()
        })
        .await
        .expect("an existing person accepts, with no new password");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let m = eve
            .clients
            .team
            .get_member(in_eves.clone())
            .await
            .expect("member")
            .into_inner();
        if m.state == tpb::MemberState::Active as i32 {
            assert_eq!(m.given_name, "Kim", "after accepting, Kim's own names");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "Kim becomes active");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    env.shutdown().await;
}
crate::on_both_backends!(r_inv_1_an_outsider_inviting_an_existing_person_learns_nothing);

/// R-INV-1: a team sends at most its configured share of invitations an
/// hour; a list that would go over is refused whole with the figures and
/// invites nobody, and other teams are not held back.
async fn r_inv_1_a_team_sends_a_bounded_number_of_invitations_an_hour(backend: Backend) {
    use tonic_types::StatusExt;
    let env = Env::in_process_with(backend, |c| c.invitation.max_per_team_per_hour = 3).await;
    let admin = env.admin().await;
    let team = env.first_team().await.name;
    let list = |n: usize, tag: &str| {
        (0..n)
            .map(|i| unique_email(&format!("{tag}{i}")))
            .collect::<Vec<_>>()
            .join(";")
    };
    let add = |addresses: String, team: String| {
        let mut c = admin.team.clone();
        async move {
            c.add_members(tpb::AddMembersRequest {
                parent: team,
                addresses,
                ..Default::default()
            })
            .await
        }
    };
    add(list(2, "first"), team.clone())
        .await
        .expect("within the share");
    let count = |c: Clients, team: String| async move {
        c.team
            .clone()
            .list_members(tpb::ListMembersRequest {
                parent: team,
                page_size: 100,
                ..Default::default()
            })
            .await
            .expect("list")
            .into_inner()
            .members
            .len()
    };
    let before = count(admin.clone(), team.clone()).await;
    let err = add(list(2, "over"), team.clone())
        .await
        .expect_err("over the hourly share");
    assert_eq!(err.code(), Code::ResourceExhausted, "{}", err.message());
    let info = err.get_details_error_info().expect("ErrorInfo");
    assert_eq!(info.reason, "INVITATIONS_PER_HOUR");
    assert_eq!(info.metadata.get("limit").map(String::as_str), Some("3"));
    assert_eq!(
        info.metadata.get("sent_last_hour").map(String::as_str),
        Some("2")
    );
    assert_eq!(
        count(admin.clone(), team.clone()).await,
        before,
        "nobody was invited"
    );
    // Another team has its own share.
    let other = new_team(&mut admin.clone(), "Elsewhere").await.name;
    add(list(3, "other"), other)
        .await
        .expect("another team's share");
    env.shutdown().await;
}
crate::on_both_backends!(r_inv_1_a_team_sends_a_bounded_number_of_invitations_an_hour);

/// R-INV-1: resending counts against the hourly share too, so no admin
/// mails one address without end.
async fn r_inv_1_resent_invitations_count_against_the_hourly_share(backend: Backend) {
    use tonic_types::StatusExt;
    let env = Env::in_process_with(backend, |c| c.invitation.max_per_team_per_hour = 3).await;
    let mut admin = env.admin().await;
    let team = new_team(&mut admin.clone(), "Resends").await.name;
    let m =
        crate::invitations::invite(&mut admin, &team, "Rae", "Resent", &unique_email("rae")).await;
    let resend = |name: String| {
        let mut c = admin.team.clone();
        async move {
            c.resend_invitation(tpb::ResendInvitationRequest { name })
                .await
        }
    };
    for _ in 0..2 {
        resend(m.name.clone()).await.expect("within the share");
    }
    let err = resend(m.name.clone())
        .await
        .expect_err("a fourth email in the hour");
    assert_eq!(err.code(), Code::ResourceExhausted, "{}", err.message());
    let info = err.get_details_error_info().expect("ErrorInfo");
    assert_eq!(info.reason, "INVITATIONS_PER_HOUR");
    assert_eq!(
        info.metadata.get("sent_last_hour").map(String::as_str),
        Some("3")
    );
    env.shutdown().await;
}
crate::on_both_backends!(r_inv_1_resent_invitations_count_against_the_hourly_share);

/// R-ROLE-5: when a team loses its premium plan, its SSO admins become
/// secondary admins, each with a `member_updated` event.
async fn r_role_5_sso_admins_become_secondary_admins_when_premium_ends(backend: Backend) {
    let Fixture {
        env,
        team,
        mut p,
        u,
    } = fixture(backend).await;
    let set_plan = |plan: tpb::Plan| {
        let name = team.name.clone();
        let env = &env;
        async move {
            env.internal()
                .await
                .team
                .update_team(tpb::UpdateTeamRequest {
                    team: Some(tpb::Team {
                        name,
                        plan: plan as i32,
                        ..Default::default()
                    }),
                    update_mask: Some(prost_types::FieldMask {
                        paths: vec!["plan".into()],
                    }),
                })
                .await
                .expect("Allot sets the plan")
        }
    };
    set_plan(tpb::Plan::Premium).await;
    update_member(
        &mut p.clients,
        &team.name,
        &u.account,
        Some(tpb::Role::SsoAdmin),
        None,
    )
    .await
    .expect("an SSO admin on a premium team");
    set_plan(tpb::Plan::Standard).await;
    let m = p
        .clients
        .team
        .get_member(tpb::GetMemberRequest {
            name: member_name(&team.name, &u.account),
        })
        .await
        .expect("member")
        .into_inner();
    assert_eq!(m.role, tpb::Role::SecondaryAdmin as i32);
    let mut events = env
        .internal()
        .await
        .team
        .watch(tpb::WatchRequest {
            event_types: vec!["member_updated".into()],
            team: team.name.clone(),
            ..Default::default()
        })
        .await
        .expect("watch")
        .into_inner();
    let demoted = loop {
        let item = tokio::time::timeout(Duration::from_secs(30), events.message())
            .await
            .expect("the stream answers")
            .expect("no error")
            .expect("open");
        if let Some(tpb::watch_response::Kind::Event(e)) = item.kind
            && let Some(tpb::event::Payload::MemberUpdated(u)) = e.payload
            && u.previous_role == tpb::Role::SsoAdmin as i32
        {
            break u;
        }
    };
    assert_eq!(
        demoted.member.expect("member").role,
        tpb::Role::SecondaryAdmin as i32
    );
    env.shutdown().await;
}
crate::on_both_backends!(r_role_5_sso_admins_become_secondary_admins_when_premium_ends);
