//! The team service's rows of the authorization table.

use super::*;

pub fn team_cases() -> Vec<Case> {
    vec![
        Case {
            rpc: "TeamService.CreateTeam",
            scope: None,
            // R-TEAM-1: people who administer some team (here A or B).
            allowed: &[
                Who::PrimaryAdmin,
                Who::SecondaryAdmin,
                Who::SsoAdmin,
                Who::AdminOfAnotherTeam,
            ],
            allowed_code: Code::Ok,
            call: call!(|_w, c| ok(c
                .team
                .create_team(tpb::CreateTeamRequest {
                    team: Some(tpb::Team {
                        display_name: "New".into(),
                        ..Default::default()
                    }),
                    ..Default::default()
                })
                .await)),
        },
        Case {
            rpc: "TeamService.UpdateTeam",
            scope: None,
            allowed: TEAM_ADMINS,
            allowed_code: Code::Ok,
            call: call!(|w, c| ok(c
                .team
                .update_team(tpb::UpdateTeamRequest {
                    team: Some(tpb::Team {
                        name: w.team.clone(),
                        display_name: "Team A".into(),
                        ..Default::default()
                    }),
                    update_mask: None,
                })
                .await)),
        },
        Case {
            // Every team's members: for Allot's own services only, so no
            // admin of one team reads another's (R-ROLE-3).
            rpc: "TeamService.ListAllMembers",
            scope: None,
            allowed: &[],
            allowed_code: Code::Ok,
            call: call!(|_w, c| ok(c
                .team
                .list_all_members(tpb::ListAllMembersRequest {
                    page_size: 10,
                    page_token: String::new(),
                })
                .await)),
        },
        Case {
            rpc: "TeamService.EnsureOwnerTeam",
            scope: None,
            allowed: &[],
            allowed_code: Code::Ok,
            call: call!(|w, c| ok(c
                .team
                .ensure_owner_team(tpb::EnsureOwnerTeamRequest {
                    owner: w.user.account.clone(),
                    always_create: false
                })
                .await)),
        },
        Case {
            rpc: "TeamService.AddMember",
            scope: None,
            allowed: TEAM_ADMINS,
            allowed_code: Code::Ok,
            call: call!(|w, c| ok(c
                .team
                .add_member(tpb::AddMemberRequest {
                    parent: w.team.clone(),
                    who: Some(tpb::add_member_request::Who::Person(tpb::Person {
                        given_name: "New".into(),
                        family_name: "Person".into(),
                        email: unique_email("new"),
                    })),
                    ..Default::default()
                })
                .await)),
        },
        Case {
            rpc: "TeamService.AddMember (guest)",
            scope: Some("guests"),
            allowed: &[
                Who::PrimaryAdmin,
                Who::SecondaryAdmin,
                Who::SsoAdmin,
                Who::ServiceAccountWithScope,
            ],
            allowed_code: Code::Ok,
            call: call!(|w, c| ok(c
                .team
                .add_member(tpb::AddMemberRequest {
                    parent: w.team.clone(),
                    who: Some(tpb::add_member_request::Who::Person(tpb::Person {
                        given_name: "New".into(),
                        family_name: "Guest".into(),
                        email: unique_email("guest"),
                    })),
                    guest: true,
                    ..Default::default()
                })
                .await)),
        },
        Case {
            rpc: "TeamService.AddMembers",
            scope: None,
            allowed: TEAM_ADMINS,
            allowed_code: Code::Ok,
            call: call!(|w, c| ok(c
                .team
                .add_members(tpb::AddMembersRequest {
                    parent: w.team.clone(),
                    addresses: format!("{}; {}", unique_email("a"), unique_email("b")),
                    ..Default::default()
                })
                .await)),
        },
        Case {
            rpc: "TeamService.ImportMembers (validate only)",
            scope: None,
            allowed: TEAM_ADMINS,
            allowed_code: Code::Ok,
            call: call!(|w, c| ok(c
                .team
                .import_members(tpb::ImportMembersRequest {
                    parent: w.team.clone(),
                    csv: format!(
                        "email,first name,last name\n{},Imp,Orted\n",
                        unique_email("imp")
                    )
                    .into_bytes(),
                    validate_only: true,
                    ..Default::default()
                })
                .await)),
        },
        Case {
            rpc: "TeamService.UpdateMember",
            scope: None,
            allowed: TEAM_ADMINS,
            allowed_code: Code::Ok,
            call: call!(|w, c| {
                let account = w.fresh_member().await;
                update_member(&mut c, &w.team, &account, None, Some(true))
                    .await
                    .map(|_| ())
            }),
        },
        Case {
            rpc: "TeamService.TransferPrimaryAdmin",
            scope: None,
            allowed: TEAM_ADMINS,
            allowed_code: Code::Ok,
            // Handing the role to the current primary admin changes nothing
            // but is checked like any hand-over.
            call: call!(|w, c| ok(c
                .team
                .transfer_primary_admin(tpb::TransferPrimaryAdminRequest {
                    team: w.team.clone(),
                    new_primary_admin: w.primary.account.clone(),
                })
                .await)),
        },
        Case {
            rpc: "TeamService.RemoveMember",
            scope: None,
            allowed: TEAM_ADMINS,
            allowed_code: Code::Ok,
            call: call!(|w, c| {
                let account = w.fresh_member().await;
                ok(c.team
                    .remove_member(tpb::RemoveMemberRequest {
                        name: member_name(&w.team, &account),
                    })
                    .await)
            }),
        },
        Case {
            rpc: "TeamService.ResendInvitation",
            scope: None,
            allowed: TEAM_ADMINS,
            allowed_code: Code::Ok,
            call: call!(|w, c| {
                let account = w.fresh_member().await;
                ok(c.team
                    .resend_invitation(tpb::ResendInvitationRequest {
                        name: member_name(&w.team, &account),
                    })
                    .await)
            }),
        },
        Case {
            rpc: "TeamService.RevokeInvitation",
            scope: None,
            allowed: TEAM_ADMINS,
            allowed_code: Code::Ok,
            call: call!(|w, c| {
                let account = w.fresh_member().await;
                ok(c.team
                    .revoke_invitation(tpb::RevokeInvitationRequest {
                        name: member_name(&w.team, &account),
                    })
                    .await)
            }),
        },
        Case {
            rpc: "TeamService.CreateGroup",
            scope: None,
            allowed: TEAM_ADMINS,
            allowed_code: Code::Ok,
            call: call!(|w, c| ok(c
                .team
                .create_group(tpb::CreateGroupRequest {
                    parent: w.team.clone(),
                    group: Some(tpb::Group {
                        display_name: "G".into(),
                        ..Default::default()
                    }),
                    ..Default::default()
                })
                .await)),
        },
        Case {
            rpc: "TeamService.UpdateGroup",
            scope: None,
            allowed: TEAM_ADMINS,
            allowed_code: Code::Ok,
            call: call!(|w, c| {
                let g = w.fresh_group().await;
                ok(c.team
                    .update_group(tpb::UpdateGroupRequest {
                        group: Some(tpb::Group {
                            name: g,
                            display_name: "Renamed".into(),
                            ..Default::default()
                        }),
                        update_mask: None,
                    })
                    .await)
            }),
        },
        Case {
            rpc: "TeamService.DeleteGroup",
            scope: None,
            allowed: TEAM_ADMINS,
            allowed_code: Code::Ok,
            call: call!(|w, c| {
                let g = w.fresh_group().await;
                ok(c.team
                    .delete_group(tpb::DeleteGroupRequest { name: g })
                    .await)
            }),
        },
        Case {
            rpc: "TeamService.AddGroupMembers",
            scope: None,
            allowed: TEAM_ADMINS,
            allowed_code: Code::Ok,
            call: call!(|w, c| {
                let g = w.fresh_group().await;
                let account = w.fresh_member().await;
                ok(c.team
                    .add_group_members(tpb::AddGroupMembersRequest {
                        group: g,
                        accounts: vec![account],
                    })
                    .await)
            }),
        },
        Case {
            rpc: "TeamService.RemoveGroupMembers",
            scope: None,
            allowed: TEAM_ADMINS,
            allowed_code: Code::Ok,
            call: call!(|w, c| {
                let g = w.fresh_group().await;
                ok(c.team
                    .remove_group_members(tpb::RemoveGroupMembersRequest {
                        group: g,
                        accounts: vec![w.user.account.clone()],
                    })
                    .await)
            }),
        },
    ]
}
