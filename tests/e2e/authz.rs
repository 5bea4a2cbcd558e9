//! Authorization under every mutating RPC of every service: a table of RPCs
//! against every kind of caller, checking the exact status code of each
//! cell (R-ROLE-2, R-ROLE-3, R-ROLE-7, R-CLS-7), on SQLite and PostgreSQL.
//! Allot's own services are one more kind of caller.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use allot_platform::auth::{Principal, SigningKeyPair, TokenIssuer};
use allot_platform::ids::AccountId;
use allot_platform::testing::Backend;
use allot_proto::entitlement as epb;
use allot_proto::identity as idpb;
use allot_proto::notification as npb;
use allot_proto::team as tpb;
use tonic::{Code, Status};

use crate::harness::{Clients, Env, Person, unique_email};
use crate::teams::{add_account, member_name, team_for, update_member};

/// The kinds of caller every RPC is tried with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Who {
    PrimaryAdmin,
    SecondaryAdmin,
    SsoAdmin,
    User,
    /// A plain user of team A who is the software coordinator of its
    /// classic contract (R-CLS-1, R-CLS-7).
    Coordinator,
    Guest,
    AdminOfAnotherTeam,
    ServiceAccountWithScope,
    ServiceAccountWithoutScope,
    NoToken,
    ExpiredToken,
    TokenOfAnotherKey,
    /// Allot's own services (the `internal` scope): trusted by every RPC
    /// but those in [`REFUSED_TO_INTERNAL`].
    Internal,
}

pub const EVERYONE: [Who; 13] = [
    Who::PrimaryAdmin,
    Who::SecondaryAdmin,
    Who::SsoAdmin,
    Who::User,
    Who::Coordinator,
    Who::Guest,
    Who::AdminOfAnotherTeam,
    Who::ServiceAccountWithScope,
    Who::ServiceAccountWithoutScope,
    Who::NoToken,
    Who::ExpiredToken,
    Who::TokenOfAnotherKey,
    Who::Internal,
];

/// RPCs that refuse even Allot's own services: a team is created by the
/// person who becomes its primary admin (R-TEAM-1); Allot makes an owner's
/// team with EnsureOwnerTeam instead.
const REFUSED_TO_INTERNAL: &[&str] = &["TeamService.CreateTeam"];

pub const TEAM_ADMINS: &[Who] = &[Who::PrimaryAdmin, Who::SecondaryAdmin, Who::SsoAdmin];
pub const SCOPED_SERVICE_ACCOUNT: &[Who] = &[Who::ServiceAccountWithScope];

/// Team A with one member of each role, and everyone else.
pub struct World {
    pub env: Env,
    /// `teams/{A}`.
    pub team: String,
    pub primary: Person,
    pub user: Person,
    pub coordinator: Person,
    /// Allot's own services: sets up targets.
    pub internal: Clients,
    callers: BTreeMap<Who, Clients>,
    /// Every scope but the one a row is about.
    all_scopes: Clients,
    scoped: BTreeMap<&'static str, Clients>,
    shelf: Option<Shelf>,
}

pub type CallFuture<'a> = Pin<Box<dyn Future<Output = Result<(), Status>> + Send + 'a>>;

/// One row of the table.
pub struct Case {
    pub rpc: &'static str,
    /// The scope that admits a service account, if any.
    pub scope: Option<&'static str>,
    pub allowed: &'static [Who],
    /// The code an allowed caller gets (OK unless the call is made to fail
    /// after authorization, to leave nothing behind).
    pub allowed_code: Code,
    pub call: for<'a> fn(&'a World, Clients) -> CallFuture<'a>,
}

const ALL_SCOPES: &[&str] = &[
    "admin",
    "catalog",
    "contracts",
    "guests",
    "accounts.read",
    "events.read",
    "entitlements.check",
    "act_as",
];

impl World {
    pub async fn new(backend: Backend) -> World {
        let env = Env::in_process(backend).await;
        let internal = env.internal().await;
        let mut primary = env.person("Pat").await;
        let secondary = env.person("Sam").await;
        let sso = env.person("Sol").await;
        let user = env.person("Uma").await;
        let coordinator = env.person("Cory").await;
        let guest = env.person("Gus").await;
        let other = env.person("Oli").await;
        let team = team_for(&env, &primary, "Team A").await.name;
        team_for(&env, &other, "Team B").await;
        env.internal()
            .await
            .team
            .update_team(tpb::UpdateTeamRequest {
                team: Some(tpb::Team {
                    name: team.clone(),
                    plan: tpb::Plan::Premium as i32,
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["plan".into()],
                }),
            })
            .await
            .expect("premium team");
        for (p, role, guest_flag) in [
            (&secondary, tpb::Role::SecondaryAdmin, false),
            (&sso, tpb::Role::SsoAdmin, false),
            (&user, tpb::Role::User, false),
            (&coordinator, tpb::Role::User, false),
            (&guest, tpb::Role::User, true),
        ] {
            add_account(&mut primary.clients, &team, &p.account, role, guest_flag)
                .await
                .expect("add member");
        }
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let principal = Principal::Account(AccountId::from_db(
            primary.account.trim_start_matches("accounts/").into(),
        ));
        let (expired, _) = env
            .identity_app()
            .tokens()
            .issuer()
            .issue_until(&principal, None, &[], now - 120, now - 60)
            .expect("expired token");
        let (foreign, _) = TokenIssuer::new(&SigningKeyPair::generate(), Duration::from_secs(600))
            .expect("issuer")
            .issue(&principal, None, &[], now)
            .expect("foreign token");
        let mut callers = BTreeMap::new();
        callers.insert(Who::PrimaryAdmin, primary.clients.clone());
        callers.insert(Who::SecondaryAdmin, secondary.clients.clone());
        callers.insert(Who::SsoAdmin, sso.clients.clone());
        callers.insert(Who::User, user.clients.clone());
        callers.insert(Who::Coordinator, coordinator.clients.clone());
        callers.insert(Who::Guest, guest.clients.clone());
        callers.insert(Who::AdminOfAnotherTeam, other.clients.clone());
        callers.insert(
            Who::ServiceAccountWithoutScope,
            env.service_account(&[]).await,
        );
        callers.insert(Who::NoToken, env.clients_with(None));
        callers.insert(Who::ExpiredToken, env.clients_with(Some(&expired)));
        callers.insert(Who::TokenOfAnotherKey, env.clients_with(Some(&foreign)));
        callers.insert(Who::Internal, internal.clone());
        let all_scopes = env.service_account(ALL_SCOPES).await;
        let mut scoped = BTreeMap::new();
        for s in ALL_SCOPES {
            scoped.insert(*s, env.service_account(&[s]).await);
        }
        World {
            env,
            team,
            primary,
            user,
            coordinator,
            internal,
            callers,
            all_scopes,
            scoped,
            shelf: None,
        }
    }

    fn shelf(&self) -> &Shelf {
        self.shelf.as_ref().expect("stocked")
    }

    fn caller(&self, who: Who, scope: Option<&'static str>) -> Clients {
        match who {
            Who::ServiceAccountWithScope => match scope {
                Some(s) => self.scoped[s].clone(),
                None => self.all_scopes.clone(),
            },
            other => self.callers[&other].clone(),
        }
    }

    /// A fresh account that is a plain member of team A, newly invited
    /// into it (so holding team A's own invitation, R-INV-7).
    pub async fn fresh_member(&self) -> String {
        self.primary
            .clients
            .clone()
            .team
            .add_member(tpb::AddMemberRequest {
                parent: self.team.clone(),
                who: Some(tpb::add_member_request::Who::Person(tpb::Person {
                    given_name: "Fresh".into(),
                    family_name: "Tester".into(),
                    email: unique_email("fresh"),
                })),
                ..Default::default()
            })
            .await
            .expect("invite a fresh member")
            .into_inner()
            .account
    }

    /// The pending invitation of a member just invited into team A.
    pub async fn fresh_member_invitation(&self) -> idpb::Invitation {
        let m = self.fresh_member().await;
        self.internal
            .clone()
            .identity
            .list_invitations(idpb::ListInvitationsRequest {
                account: m,
                team: self.team.clone(),
                page_size: 1,
                ..Default::default()
            })
            .await
            .expect("invitations")
            .into_inner()
            .invitations
            .remove(0)
    }

    /// A fresh pending invitation into team A, made by Allot itself;
    /// returns its name.
    pub async fn fresh_invitation(&self) -> String {
        let r = self
            .internal
            .clone()
            .identity
            .create_invitations(idpb::CreateInvitationsRequest {
                team: self.team.clone(),
                invitees: vec![idpb::Invitee {
                    given_name: "In".into(),
                    family_name: "Vited".into(),
                    email: unique_email("inv"),
                }],
                ..Default::default()
            })
            .await
            .expect("invite")
            .into_inner();
        r.results[0]
            .invitation
            .as_ref()
            .expect("invitation")
            .name
            .clone()
    }

    /// A fresh group of team A with the plain user in it.
    pub async fn fresh_group(&self) -> String {
        let mut c = self.primary.clients.clone();
        let g = c
            .team
            .create_group(tpb::CreateGroupRequest {
                parent: self.team.clone(),
                group: Some(tpb::Group {
                    display_name: "Fresh".into(),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await
            .expect("group")
            .into_inner();
        c.team
            .add_group_members(tpb::AddGroupMembersRequest {
                group: g.name.clone(),
                accounts: vec![self.user.account.clone()],
            })
            .await
            .expect("fill group");
        g.name
    }

    /// A fresh service account (made by Allot itself).
    pub async fn fresh_service_account(&self) -> String {
        self.internal
            .clone()
            .identity
            .create_service_account(idpb::CreateServiceAccountRequest {
                service_account: Some(idpb::ServiceAccount {
                    display_name: "Target".into(),
                    ..Default::default()
                }),
            })
            .await
            .expect("service account")
            .into_inner()
            .name
    }

    /// Runs every cell of `cases` and reports every cell that differs.
    pub async fn check(&self, cases: &[Case]) {
        let mut wrong = Vec::new();
        for case in cases {
            for who in EVERYONE {
                let expected = match who {
                    Who::NoToken | Who::ExpiredToken | Who::TokenOfAnotherKey => {
                        Code::Unauthenticated
                    }
                    Who::Internal if !REFUSED_TO_INTERNAL.contains(&case.rpc) => case.allowed_code,
                    w if case.allowed.contains(&w) => case.allowed_code,
                    _ => Code::PermissionDenied,
                };
                let got = match (case.call)(self, self.caller(who, case.scope)).await {
                    Ok(()) => Code::Ok,
                    Err(s) => {
                        if s.code() != expected {
                            wrong.push(format!(
                                "{} as {who:?}: {:?} {}",
                                case.rpc,
                                s.code(),
                                s.message()
                            ));
                            continue;
                        }
                        s.code()
                    }
                };
                if got != expected {
                    wrong.push(format!(
                        "{} as {who:?}: expected {expected:?}, got {got:?}",
                        case.rpc
                    ));
                }
            }
        }
        assert!(
            wrong.is_empty(),
            "{} cell(s) wrong:\n{}",
            wrong.len(),
            wrong.join("\n")
        );
    }
}

fn ok<T>(r: Result<tonic::Response<T>, Status>) -> Result<(), Status> {
    r.map(|_| ())
}

macro_rules! call {
    (|$w:ident, $c:ident| $body:expr) => {{
        fn f<'a>($w: &'a World, mut $c: Clients) -> CallFuture<'a> {
            Box::pin(async move {
                let _ = &mut $c;
                $body
            })
        }
        f
    }};
}

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

pub fn identity_and_notification_cases() -> Vec<Case> {
    vec![
        Case {
            rpc: "IdentityService.UpdateAccount",
            scope: Some("admin"),
            // A person changes their own names; operators anyone's.
            allowed: &[Who::User, Who::ServiceAccountWithScope],
            allowed_code: Code::Ok,
            call: call!(|w, c| ok(c
                .identity
                .update_account(idpb::UpdateAccountRequest {
                    account: Some(idpb::Account {
                        name: w.user.account.clone(),
                        given_name: "Uma".into(),
                        ..Default::default()
                    }),
                    update_mask: Some(prost_types::FieldMask {
                        paths: vec!["given_name".into()]
                    }),
                })
                .await)),
        },
        Case {
            rpc: "IdentityService.CreateInvitations",
            scope: Some("admin"),
            allowed: SCOPED_SERVICE_ACCOUNT,
            allowed_code: Code::Ok,
            call: call!(|w, c| ok(c
                .identity
                .create_invitations(idpb::CreateInvitationsRequest {
                    team: w.team.clone(),
                    invitees: vec![idpb::Invitee {
                        given_name: "I".into(),
                        family_name: "N".into(),
                        email: unique_email("inv")
                    }],
                    ..Default::default()
                })
                .await)),
        },
        Case {
            rpc: "IdentityService.ResendInvitation",
            scope: Some("admin"),
            allowed: SCOPED_SERVICE_ACCOUNT,
            allowed_code: Code::Ok,
            call: call!(|w, c| {
                let name = w.fresh_invitation().await;
                ok(c.identity
                    .resend_invitation(idpb::ResendInvitationRequest { name })
                    .await)
            }),
        },
        Case {
            rpc: "IdentityService.RevokeInvitation",
            scope: Some("admin"),
            allowed: SCOPED_SERVICE_ACCOUNT,
            allowed_code: Code::Ok,
            call: call!(|w, c| {
                let name = w.fresh_invitation().await;
                ok(c.identity
                    .revoke_invitation(idpb::RevokeInvitationRequest { name })
                    .await)
            }),
        },
        Case {
            // Only Allot's own notification service reads accept tokens.
            rpc: "IdentityService.GetInvitationToken",
            scope: Some("admin"),
            allowed: &[],
            allowed_code: Code::Ok,
            call: call!(|w, c| {
                let invitation = w.fresh_member_invitation().await;
                ok(c.identity
                    .get_invitation_token(idpb::GetInvitationTokenRequest {
                        name: invitation.name,
                        generation: invitation.generation,
                    })
                    .await)
            }),
        },
        Case {
            // Only Allot's own notification service reads accept tokens,
            // in bulk too.
            rpc: "IdentityService.BatchGetInvitationTokens",
            scope: Some("admin"),
            allowed: &[],
            allowed_code: Code::Ok,
            call: call!(|w, c| {
                let invitation = w.fresh_member_invitation().await;
                ok(c.identity
                    .batch_get_invitation_tokens(idpb::BatchGetInvitationTokensRequest {
                        requests: vec![idpb::GetInvitationTokenRequest {
                            name: invitation.name,
                            generation: invitation.generation,
                        }],
                    })
                    .await)
            }),
        },
        Case {
            rpc: "IdentityService.CreateServiceAccount",
            scope: Some("admin"),
            allowed: SCOPED_SERVICE_ACCOUNT,
            allowed_code: Code::Ok,
            call: call!(|_w, c| ok(c
                .identity
                .create_service_account(idpb::CreateServiceAccountRequest {
                    service_account: Some(idpb::ServiceAccount {
                        display_name: "X".into(),
                        ..Default::default()
                    }),
                })
                .await)),
        },
        Case {
            rpc: "IdentityService.UpdateServiceAccount",
            scope: Some("admin"),
            allowed: SCOPED_SERVICE_ACCOUNT,
            allowed_code: Code::Ok,
            call: call!(|w, c| {
                let name = w.fresh_service_account().await;
                ok(c.identity
                    .update_service_account(idpb::UpdateServiceAccountRequest {
                        service_account: Some(idpb::ServiceAccount {
                            name,
                            scopes: vec!["catalog".into()],
                            ..Default::default()
                        }),
                        update_mask: Some(prost_types::FieldMask {
                            paths: vec!["scopes".into()],
                        }),
                    })
                    .await)
            }),
        },
        Case {
            rpc: "IdentityService.DeleteServiceAccount",
            scope: Some("admin"),
            allowed: SCOPED_SERVICE_ACCOUNT,
            allowed_code: Code::Ok,
            call: call!(|w, c| {
                let name = w.fresh_service_account().await;
                ok(c.identity
                    .delete_service_account(idpb::DeleteServiceAccountRequest { name })
                    .await)
            }),
        },
        Case {
            rpc: "IdentityService.CreateKey",
            scope: Some("admin"),
            allowed: SCOPED_SERVICE_ACCOUNT,
            allowed_code: Code::Ok,
            call: call!(|w, c| {
                let parent = w.fresh_service_account().await;
                ok(c.identity
                    .create_key(idpb::CreateKeyRequest { parent })
                    .await)
            }),
        },
        Case {
            rpc: "IdentityService.DeleteKey",
            scope: Some("admin"),
            allowed: SCOPED_SERVICE_ACCOUNT,
            allowed_code: Code::Ok,
            call: call!(|w, c| {
                let parent = w.fresh_service_account().await;
                let key = w
                    .internal
                    .clone()
                    .identity
                    .create_key(idpb::CreateKeyRequest { parent })
                    .await
                    .expect("key")
                    .into_inner()
                    .key
                    .expect("key");
                ok(c.identity
                    .delete_key(idpb::DeleteKeyRequest { name: key.name })
                    .await)
            }),
        },
        Case {
            rpc: "NotificationService.RetryDelivery",
            scope: Some("admin"),
            allowed: SCOPED_SERVICE_ACCOUNT,
            // Allowed callers get past authorization to the lookup.
            allowed_code: Code::NotFound,
            call: call!(|_w, c| ok(c
                .notification
                .retry_delivery(npb::RetryDeliveryRequest {
                    name: "deliveries/doesnotexist".into()
                })
                .await)),
        },
    ]
}

/// Products, a sign-in contract and a classic contract of the primary
/// admin in team A, for the entitlement rows.
pub struct Shelf {
    pub contract: epb::Contract,
    pub classic: epb::Contract,
}

impl World {
    pub async fn stock(&self) -> Shelf {
        for id in ["alpha", "legacy"] {
            self.scoped["catalog"]
                .clone()
                .entitlement
                .create_product(epb::CreateProductRequest {
                    product_id: id.into(),
                    product: Some(epb::Product {
                        display_name: id.into(),
                        items: vec![epb::Item {
                            id: "desktop".into(),
                            display_name: "Desktop".into(),
                            kind: epb::ItemKind::Application as i32,
                        }],
                        ..Default::default()
                    }),
                })
                .await
                .expect("product");
        }
        let contract = self
            .buy(epb::ActivationType::SignIn, "", "alpha", 10_000)
            .await;
        let classic = self
            .buy(epb::ActivationType::SerialNumber, "SN-A", "legacy", 10)
            .await;
        assert_eq!(contract.team, self.team, "the primary admin's newest team");
        Shelf { contract, classic }
    }

    async fn buy(
        &self,
        activation: epb::ActivationType,
        serial: &str,
        product: &str,
        seats: i32,
    ) -> epb::Contract {
        self.scoped["contracts"]
            .clone()
            .entitlement
            .create_contract(epb::CreateContractRequest {
                contract: Some(epb::Contract {
                    owner: self.primary.account.clone(),
                    activation_type: activation as i32,
                    serial_number: serial.into(),
                    ..Default::default()
                }),
                subscriptions: vec![epb::Subscription {
                    product: format!("products/{product}"),
                    seats,
                    ..Default::default()
                }],
                request_id: String::new(),
            })
            .await
            .expect("contract")
            .into_inner()
    }

    /// A fresh member of team A holding a seat of alpha.
    pub async fn fresh_assignment(&self) -> String {
        let account = self.fresh_member().await;
        self.primary
            .clients
            .clone()
            .entitlement
            .assign_products(epb::AssignProductsRequest {
                parent: self.team.clone(),
                account,
                products: vec![epb::ProductSelection {
                    product: "products/alpha".into(),
                    items: vec![],
                }],
                ..Default::default()
            })
            .await
            .expect("assign")
            .into_inner()
            .results[0]
            .assignment
            .clone()
            .expect("assignment")
            .name
    }
}

pub fn entitlement_cases() -> Vec<Case> {
    vec![
        Case {
            rpc: "EntitlementService.CreateProduct",
            scope: Some("catalog"),
            allowed: SCOPED_SERVICE_ACCOUNT,
            allowed_code: Code::Ok,
            call: call!(|_w, c| ok(c
                .entitlement
                .create_product(epb::CreateProductRequest {
                    product_id: format!("p{}", &allot_platform::ids::new_id()[..24]),
                    product: Some(epb::Product {
                        display_name: "P".into(),
                        items: vec![epb::Item {
                            id: "desktop".into(),
                            display_name: "D".into(),
                            kind: epb::ItemKind::Application as i32
                        }],
                        ..Default::default()
                    }),
                })
                .await)),
        },
        Case {
            rpc: "EntitlementService.PublishRelease",
            scope: Some("catalog"),
            allowed: SCOPED_SERVICE_ACCOUNT,
            allowed_code: Code::Ok,
            call: call!(|w, c| ok(c
                .entitlement
                .publish_release(epb::PublishReleaseRequest {
                    parent: w.shelf().contract.subscriptions[0].product.clone(),
                    release: Some(epb::Release {
                        version: format!("v{}", &allot_platform::ids::new_id()[..24]),
                        ..Default::default()
                    }),
                    ..Default::default()
                })
                .await)),
        },
        Case {
            rpc: "EntitlementService.UpdateProduct",
            scope: Some("catalog"),
            allowed: SCOPED_SERVICE_ACCOUNT,
            allowed_code: Code::Ok,
            call: call!(|_w, c| ok(c
                .entitlement
                .update_product(epb::UpdateProductRequest {
                    product: Some(epb::Product {
                        name: "products/alpha".into(),
                        display_name: "alpha".into(),
                        ..Default::default()
                    }),
                    update_mask: Some(prost_types::FieldMask {
                        paths: vec!["display_name".into()]
                    }),
                })
                .await)),
        },
        Case {
            rpc: "EntitlementService.CreateContract",
            scope: Some("contracts"),
            allowed: SCOPED_SERVICE_ACCOUNT,
            allowed_code: Code::Ok,
            call: call!(|w, c| ok(c
                .entitlement
                .create_contract(epb::CreateContractRequest {
                    contract: Some(epb::Contract {
                        owner: w.primary.account.clone(),
                        activation_type: epb::ActivationType::SignIn as i32,
                        ..Default::default()
                    }),
                    subscriptions: vec![epb::Subscription {
                        product: "products/alpha".into(),
                        seats: 1,
                        ..Default::default()
                    }],
                    request_id: String::new(),
                })
                .await)),
        },
        Case {
            rpc: "EntitlementService.CreateSubscription",
            scope: Some("contracts"),
            allowed: SCOPED_SERVICE_ACCOUNT,
            allowed_code: Code::Ok,
            call: call!(|w, c| ok(c
                .entitlement
                .create_subscription(epb::CreateSubscriptionRequest {
                    parent: w.shelf().contract.name.clone(),
                    subscription: Some(epb::Subscription {
                        product: "products/alpha".into(),
                        seats: 1,
                        ..Default::default()
                    }),
                    ..Default::default()
                })
                .await)),
        },
        Case {
            rpc: "EntitlementService.AddSeats",
            scope: Some("contracts"),
            allowed: SCOPED_SERVICE_ACCOUNT,
            allowed_code: Code::Ok,
            call: call!(|w, c| ok(c
                .entitlement
                .add_seats(epb::AddSeatsRequest {
                    subscription: w.shelf().contract.subscriptions[0].name.clone(),
                    seats: 1,
                    ..Default::default()
                })
                .await)),
        },
        Case {
            rpc: "EntitlementService.SetSoftwareCoordinator",
            scope: Some("contracts"),
            // The contract manager only: the primary admin owns it here.
            allowed: &[Who::PrimaryAdmin],
            allowed_code: Code::Ok,
            call: call!(|w, c| ok(c
                .entitlement
                .set_software_coordinator(epb::SetSoftwareCoordinatorRequest {
                    contract: w.shelf().classic.name.clone(),
                    software_coordinator: w.primary.account.clone(),
                })
                .await)),
        },
        Case {
            rpc: "EntitlementService.SetContractManager",
            scope: Some("contracts"),
            // R-CLS-1: the contract manager, or commerce for a reseller.
            allowed: &[Who::PrimaryAdmin, Who::ServiceAccountWithScope],
            allowed_code: Code::Ok,
            call: call!(|w, c| ok(c
                .entitlement
                .set_contract_manager(epb::SetContractManagerRequest {
                    contract: w.shelf().classic.name.clone(),
                    contract_manager: w.primary.account.clone(),
                })
                .await)),
        },
        Case {
            rpc: "EntitlementService.MoveSubscription",
            scope: Some("contracts"),
            allowed: &[Who::PrimaryAdmin],
            allowed_code: Code::Ok,
            call: call!(|w, c| {
                // Contracts land in the owner's newest team, and the first
                // one there gives the owner a seat (R-SEAT-6): buy twice so
                // the seat comes out of the first and the second can move.
                w.buy(epb::ActivationType::SignIn, "", "alpha", 1).await;
                let fresh = w.buy(epb::ActivationType::SignIn, "", "alpha", 1).await;
                // R-TEAM-4: into another team the owner administers.
                let target = w
                    .primary
                    .clients
                    .clone()
                    .team
                    .create_team(tpb::CreateTeamRequest {
                        team: Some(tpb::Team {
                            display_name: "Team A2".into(),
                            ..Default::default()
                        }),
                        ..Default::default()
                    })
                    .await
                    .expect("another team of the owner's")
                    .into_inner()
                    .name;
                ok(c.entitlement
                    .move_subscription(epb::MoveSubscriptionRequest {
                        subscription: fresh.subscriptions[0].name.clone(),
                        target_team: target,
                    })
                    .await)
            }),
        },
        Case {
            rpc: "EntitlementService.AssignProducts",
            scope: Some("contracts"),
            allowed: TEAM_ADMINS,
            allowed_code: Code::Ok,
            call: call!(|w, c| {
                let account = w.fresh_member().await;
                ok(c.entitlement
                    .assign_products(epb::AssignProductsRequest {
                        parent: w.team.clone(),
                        account,
                        products: vec![epb::ProductSelection {
                            product: "products/alpha".into(),
                            items: vec![],
                        }],
                        ..Default::default()
                    })
                    .await)
            }),
        },
        Case {
            rpc: "EntitlementService.ImportAssignments (validate only)",
            scope: Some("contracts"),
            allowed: TEAM_ADMINS,
            allowed_code: Code::Ok,
            call: call!(|w, c| ok(c
                .entitlement
                .import_assignments(epb::ImportAssignmentsRequest {
                    parent: w.team.clone(),
                    csv: format!("email,product\n{},alpha\n", w.user.email).into_bytes(),
                    validate_only: true,
                    ..Default::default()
                })
                .await)),
        },
        Case {
            // R-CLS-7: a classic contract's access is the manager's (here
            // the primary admin) and the coordinator's alone.
            rpc: "EntitlementService.AssignProducts (classic)",
            scope: Some("contracts"),
            allowed: &[Who::PrimaryAdmin, Who::Coordinator],
            allowed_code: Code::Ok,
            call: call!(|w, c| {
                // Earlier rows appoint others; Cory coordinates again.
                w.primary
                    .clients
                    .clone()
                    .entitlement
                    .set_software_coordinator(epb::SetSoftwareCoordinatorRequest {
                        contract: w.shelf().classic.name.clone(),
                        software_coordinator: w.coordinator.account.clone(),
                    })
                    .await
                    .expect("appoint the coordinator");
                let account = w.fresh_member().await;
                ok(c.entitlement
                    .assign_products(epb::AssignProductsRequest {
                        parent: w.team.clone(),
                        account,
                        products: vec![epb::ProductSelection {
                            product: "products/legacy".into(),
                            items: vec![],
                        }],
                        ..Default::default()
                    })
                    .await)
            }),
        },
        Case {
            rpc: "EntitlementService.AssignUsers",
            scope: Some("contracts"),
            allowed: TEAM_ADMINS,
            allowed_code: Code::Ok,
            call: call!(|w, c| {
                let account = w.fresh_member().await;
                ok(c.entitlement
                    .assign_users(epb::AssignUsersRequest {
                        parent: w.team.clone(),
                        product: "products/alpha".into(),
                        items: vec![],
                        accounts: vec![account],
                        ..Default::default()
                    })
                    .await)
            }),
        },
        Case {
            rpc: "EntitlementService.CreateGroupAssignment",
            scope: Some("contracts"),
            allowed: TEAM_ADMINS,
            allowed_code: Code::Ok,
            call: call!(|w, c| {
                let group = w.fresh_group().await;
                ok(c.entitlement
                    .create_group_assignment(epb::CreateGroupAssignmentRequest {
                        parent: w.team.clone(),
                        group_assignment: Some(epb::GroupAssignment {
                            group,
                            product: "products/alpha".into(),
                            ..Default::default()
                        }),
                        ..Default::default()
                    })
                    .await)
            }),
        },
        Case {
            rpc: "EntitlementService.DeleteGroupAssignment",
            scope: Some("contracts"),
            allowed: TEAM_ADMINS,
            allowed_code: Code::Ok,
            call: call!(|w, c| {
                let group = w.fresh_group().await;
                let ga = w
                    .primary
                    .clients
                    .clone()
                    .entitlement
                    .create_group_assignment(epb::CreateGroupAssignmentRequest {
                        parent: w.team.clone(),
                        group_assignment: Some(epb::GroupAssignment {
                            group,
                            product: "products/alpha".into(),
                            ..Default::default()
                        }),
                        ..Default::default()
                    })
                    .await
                    .expect("group assignment")
                    .into_inner()
                    .group_assignment
                    .expect("group assignment");
                ok(c.entitlement
                    .delete_group_assignment(epb::DeleteGroupAssignmentRequest { name: ga.name })
                    .await)
            }),
        },
        Case {
            rpc: "EntitlementService.UpdateAssignment",
            scope: Some("contracts"),
            allowed: TEAM_ADMINS,
            allowed_code: Code::Ok,
            call: call!(|w, c| {
                let name = w.fresh_assignment().await;
                ok(c.entitlement
                    .update_assignment(epb::UpdateAssignmentRequest {
                        assignment: Some(epb::Assignment {
                            name,
                            items: vec!["desktop".into()],
                            ..Default::default()
                        }),
                        update_mask: None,
                    })
                    .await)
            }),
        },
        Case {
            rpc: "EntitlementService.DeleteAssignment",
            scope: Some("contracts"),
            allowed: TEAM_ADMINS,
            allowed_code: Code::Ok,
            call: call!(|w, c| {
                let name = w.fresh_assignment().await;
                ok(c.entitlement
                    .delete_assignment(epb::DeleteAssignmentRequest { name })
                    .await)
            }),
        },
        Case {
            rpc: "EntitlementService.CheckEntitlement (with usage)",
            scope: Some("entitlements.check"),
            // A person about themselves; licensing back ends with the scope.
            allowed: &[Who::User, Who::ServiceAccountWithScope],
            allowed_code: Code::Ok,
            call: call!(|w, c| ok(c
                .entitlement
                .check_entitlement(epb::CheckEntitlementRequest {
                    account: w.user.account.clone(),
                    product: "products/alpha".into(),
                    record_usage: true,
                })
                .await)),
        },
    ]
}

async fn every_mutating_rpc_against_every_caller(backend: Backend) {
    let mut world = World::new(backend).await;
    let shelf = world.stock().await;
    // Cory coordinates the classic contract (R-CLS-1: the manager appoints).
    world
        .primary
        .clients
        .clone()
        .entitlement
        .set_software_coordinator(epb::SetSoftwareCoordinatorRequest {
            contract: shelf.classic.name.clone(),
            software_coordinator: world.coordinator.account.clone(),
        })
        .await
        .expect("appoint the coordinator");
    world.shelf = Some(shelf);
    world.check(&team_cases()).await;
    world.check(&identity_and_notification_cases()).await;
    world.check(&entitlement_cases()).await;
    world.env.shutdown().await;
}
crate::on_both_backends!(every_mutating_rpc_against_every_caller);
