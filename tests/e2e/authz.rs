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

// The rows, one file per service (declared after `call!`, which they use).
mod entitlement_rows;
mod identity_rows;
mod team_rows;

pub use entitlement_rows::*;
pub use identity_rows::*;
pub use team_rows::*;

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
