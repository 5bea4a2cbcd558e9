//! Team's use cases: each checks the caller's role in the team, applies the
//! domain rules, and writes the change and its events in one transaction.

use allot_platform::auth::Caller;
use allot_platform::clock::{SharedClock, to_micros};
use allot_platform::db::{Db, WriteTx};
use allot_platform::error::FieldViolation;
use allot_platform::grpc::{IdentityClient, request};
use allot_platform::ids::{AccountId, TeamId};
use allot_platform::outbox::{ChangeMeta, NewEvent, Outbox};
use allot_platform::paging;
use allot_platform::values::Email;
use allot_proto::identity as idpb;
use allot_proto::team as pb;
use allot_proto::team::event::Payload;

use crate::convert;
use crate::domain::{
    Member, MemberState, NewPerson, Plan, Role, Team, TeamAction, authorize, default_team_name,
};
use crate::error::TeamError;
use crate::store::{self, GuestFilter};

type Result<T> = std::result::Result<T, TeamError>;

/// Who is asking, and under which request id.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub caller: Caller,
    pub request_id: String,
}

/// Whom to add.
#[derive(Debug, Clone)]
pub enum Who {
    Person(NewPerson),
    Account(AccountId),
}

/// What adding one person did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddOutcome {
    Invited,
    Added,
    AlreadyMember,
}

/// The outcome of one entry of a list.
#[derive(Debug, Clone)]
pub struct ListOutcome {
    pub input: String,
    pub result: std::result::Result<(Member, AddOutcome), Vec<FieldViolation>>,
}

pub struct Teams {
    db: Db,
    outbox: Outbox,
    clock: SharedClock,
    identity: IdentityClient,
}

impl std::fmt::Debug for Teams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Teams").finish_non_exhaustive()
    }
}

/// A person as identity knows them.
struct Person {
    account: AccountId,
    email: Email,
    given_name: String,
    family_name: String,
    state: MemberState,
    invitation: Option<String>,
}

impl Person {
    fn from_pb(a: &idpb::Account, invitation: Option<&idpb::Invitation>) -> Result<Person> {
        Ok(Person {
            account: AccountId::parse("account", &a.name)
                .map_err(|e| TeamError::Internal(format!("identity returned {e}")))?,
            email: Email::from_db(a.email.clone()),
            given_name: a.given_name.clone(),
            family_name: a.family_name.clone(),
            state: if a.state == idpb::AccountState::Active as i32 {
                MemberState::Active
            } else {
                MemberState::Invited
            },
            invitation: invitation.map(|i| i.name.clone()),
        })
    }
}

fn peer(status: tonic::Status) -> TeamError {
    TeamError::Peer {
        service: "identity",
        status,
    }
}

impl Teams {
    pub fn new(db: Db, outbox: Outbox, clock: SharedClock, identity: IdentityClient) -> Teams {
        Teams {
            db,
            outbox,
            clock,
            identity,
        }
    }

    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    fn now(&self) -> i64 {
        to_micros(self.clock.now())
    }

    fn meta(&self, ctx: &Ctx) -> ChangeMeta {
        ChangeMeta {
            actor: ctx.caller.name(),
            request_id: ctx.request_id.clone(),
            now_micros: self.now(),
        }
    }

    async fn begin(&self) -> Result<WriteTx> {
        Ok(self.db.begin_write().await?)
    }

    /// The caller's role in `team`; NOT_FOUND when the team does not exist.
    async fn caller_role(&self, caller: &Caller, team: &TeamId) -> Result<(Team, Option<Role>)> {
        let mut conn = self.db.conn().await?;
        let t = store::get_team(&mut conn, team)
            .await?
            .ok_or_else(|| TeamError::not_found("team", team.name()))?;
        let role = match caller.account() {
            Some(a) => store::role_of(&mut conn, team, a).await?,
            None => None,
        };
        Ok((t, role))
    }

    /// Checks the caller may do `action` in `team` and returns the team.
    async fn check(&self, caller: &Caller, team: &TeamId, action: TeamAction) -> Result<Team> {
        let (t, role) = self.caller_role(caller, team).await?;
        authorize(caller, role, action)?;
        Ok(t)
    }

    // ---- teams ------------------------------------------------------------

    /// Creates a team with the caller (or, for Allot itself, `primary_admin`)
    /// as its primary admin (R-ROLE-1).
    pub async fn create_team(
        &self,
        ctx: &Ctx,
        display_name: String,
        primary_admin: Option<AccountId>,
        owner: Option<AccountId>,
    ) -> Result<Team> {
        let admin = match (ctx.caller.account(), primary_admin) {
            (_, Some(a)) if ctx.caller.is_internal() => a,
            (Some(me), None) => me.clone(),
            (Some(me), Some(a)) if *me == a => a,
            _ => {
                return Err(TeamError::PermissionDenied(
                    "a team is created by the person who becomes its primary admin".into(),
                ));
            }
        };
        let person = self.fetch_person(&admin).await?;
        let meta = self.meta(ctx);
        let team = new_team(&meta, display_name, &person, owner);
        let mut tx = self.begin().await?;
        let events = self
            .insert_team_with_admin(&mut tx, &meta, &team, &person)
            .await?;
        self.outbox.commit(tx, &events).await?;
        Ok(team)
    }

    /// Writes a new team and its primary admin (R-ROLE-1).
    async fn insert_team_with_admin(
        &self,
        tx: &mut WriteTx,
        meta: &ChangeMeta,
        team: &Team,
        admin: &Person,
    ) -> Result<Vec<NewEvent>> {
        store::insert_team(tx.conn(), team).await?;
        let member = Member {
            team: team.id.clone(),
            account: admin.account.clone(),
            email: admin.email.clone(),
            given_name: admin.given_name.clone(),
            family_name: admin.family_name.clone(),
            role: Role::PrimaryAdmin,
            guest: false,
            state: admin.state,
            invitation: None,
            create_time: meta.now_micros,
        };
        store::insert_member(tx.conn(), &member).await?;
        let created = meta.event("team_created", Some(team.id.name()), |context| pb::Event {
            context: Some(context),
            payload: Some(Payload::TeamCreated(pb::TeamCreated {
                team: Some(convert::team(team)),
            })),
        });
        Ok(vec![created, member_added(meta, &member)])
    }

    pub async fn get_team(&self, caller: &Caller, id: &TeamId) -> Result<Team> {
        self.check(caller, id, TeamAction::ReadTeam).await
    }

    /// The teams of the caller, or (for Allot itself) of `member`.
    pub async fn list_teams(
        &self,
        caller: &Caller,
        member: Option<&AccountId>,
        page_size: i32,
        page_token: &str,
    ) -> Result<(Vec<Team>, String)> {
        let account = match (member, caller.account()) {
            (Some(m), Some(me)) if m == me => m,
            (Some(m), _) if caller.is_internal() => m,
            (None, Some(me)) => me,
            (Some(_), _) => {
                return Err(TeamError::PermissionDenied(
                    "you can list only your own teams".into(),
                ));
            }
            (None, None) => {
                return Err(TeamError::invalid(
                    "member",
                    "is required for service accounts",
                ));
            }
        };
        let limit = paging::page_size(page_size)?;
        let before = paging::decode_token(page_token)?;
        let mut conn = self.db.conn().await?;
        let rows = store::teams_of(&mut conn, account, before.as_deref(), limit).await?;
        Ok(paging::finish(rows, limit, |t| t.id.as_str().to_owned()))
    }

    pub async fn rename_team(&self, ctx: &Ctx, id: &TeamId, name: String) -> Result<Team> {
        self.check(&ctx.caller, id, TeamAction::ManageTeam).await?;
        let mut tx = self.begin().await?;
        if !store::rename_team(tx.conn(), id, &name).await? {
            return Err(TeamError::not_found("team", id.name()));
        }
        let team = store::get_team(tx.conn(), id)
            .await?
            .ok_or_else(|| TeamError::not_found("team", id.name()))?;
        let event = self
            .meta(ctx)
            .event("team_updated", Some(id.name()), |context| pb::Event {
                context: Some(context),
                payload: Some(Payload::TeamUpdated(pb::TeamUpdated {
                    team: Some(convert::team(&team)),
                })),
            });
        self.outbox.commit(tx, &[event]).await?;
        Ok(team)
    }

    // ---- members ----------------------------------------------------------

    async fn fetch_person(&self, account: &AccountId) -> Result<Person> {
        let a = self
            .identity
            .clone()
            .get_account(request(idpb::GetAccountRequest {
                name: account.name(),
            }))
            .await
            .map_err(peer)?
            .into_inner();
        Person::from_pb(&a, None)
    }

    /// How the inviter is named in the invitation email.
    async fn inviter_name(&self, caller: &Caller, team: &TeamId) -> Result<String> {
        let Some(account) = caller.account() else {
            return Ok("Allot".into());
        };
        let mut conn = self.db.conn().await?;
        Ok(match store::get_member(&mut conn, team, account).await? {
            Some(m) => m.display_name(),
            None => "A team administrator".into(),
        })
    }

    /// Asks identity to invite people who have no account (R-INV-1); the
    /// result has one entry per person, in order.
    async fn invite(&self, ctx: &Ctx, team: &Team, people: &[&NewPerson]) -> Result<Vec<Person>> {
        if people.is_empty() {
            return Ok(Vec::new());
        }
        let request_body = idpb::CreateInvitationsRequest {
            team: team.id.name(),
            team_display_name: team.display_name.clone(),
            inviter: ctx.caller.name(),
            inviter_display_name: self.inviter_name(&ctx.caller, &team.id).await?,
            invitees: people
                .iter()
                .map(|p| idpb::Invitee {
                    given_name: p.given_name.clone(),
                    family_name: p.family_name.clone(),
                    email: p.email.as_str().to_owned(),
                })
                .collect(),
        };
        let mut req = request(request_body);
        req.metadata_mut().insert(
            "x-request-id",
            ctx.request_id
                .parse()
                .map_err(|_| TeamError::Internal("bad request id".into()))?,
        );
        let results = self
            .identity
            .clone()
            .create_invitations(req)
            .await
            .map_err(peer)?
            .into_inner()
            .results;
        results
            .iter()
            .map(|r| {
                let account = r.account.as_ref().ok_or_else(|| {
                    TeamError::Internal(format!("identity refused an invitee: {:?}", r.violations))
                })?;
                Person::from_pb(account, r.invitation.as_ref())
            })
            .collect()
    }

    /// Adds one person (R-INV-1, R-INV-6: membership only, no products).
    pub async fn add_member(
        &self,
        ctx: &Ctx,
        team_id: &TeamId,
        who: Who,
        role: Role,
        guest: bool,
    ) -> Result<(Member, AddOutcome)> {
        let action = if guest && role == Role::User {
            TeamAction::AddGuest
        } else {
            TeamAction::ManageMembers
        };
        let team = self.check(&ctx.caller, team_id, action).await?;
        check_new_role(&team, role, guest)?;
        let person = match &who {
            Who::Person(p) => self
                .invite(ctx, &team, &[p])
                .await?
                .into_iter()
                .next()
                .ok_or_else(|| TeamError::Internal("identity returned no result".into()))?,
            Who::Account(a) => self.fetch_person(a).await?,
        };
        let meta = self.meta(ctx);
        let mut tx = self.begin().await?;
        let (member, outcome, event) = self
            .insert_member(&mut tx, &meta, &team, person, role, guest)
            .await?;
        self.outbox.commit(tx, event.as_slice()).await?;
        Ok((member, outcome))
    }

    /// R-INV-4: adds each address of a list on its own; bad ones fail alone.
    pub async fn add_members(
        &self,
        ctx: &Ctx,
        team_id: &TeamId,
        entries: Vec<crate::domain::ListedAddress>,
        role: Role,
        guest: bool,
    ) -> Result<Vec<ListOutcome>> {
        let action = if guest && role == Role::User {
            TeamAction::AddGuest
        } else {
            TeamAction::ManageMembers
        };
        let team = self.check(&ctx.caller, team_id, action).await?;
        check_new_role(&team, role, guest)?;
        if entries.len() > 1000 {
            return Err(TeamError::invalid(
                "addresses",
                "at most 1000 addresses per call",
            ));
        }
        let valid: Vec<&NewPerson> = entries
            .iter()
            .filter_map(|e| e.parsed.as_ref().ok())
            .collect();
        let mut people = self.invite(ctx, &team, &valid).await?.into_iter();
        let meta = self.meta(ctx);
        let mut tx = self.begin().await?;
        let mut events = Vec::new();
        let mut outcomes = Vec::with_capacity(entries.len());
        for entry in entries {
            let result = match entry.parsed {
                Err(v) => Err(vec![v]),
                Ok(_) => {
                    let person = people.next().ok_or_else(|| {
                        TeamError::Internal("identity returned too few results".into())
                    })?;
                    let (member, outcome, event) = self
                        .insert_member(&mut tx, &meta, &team, person, role, guest)
                        .await?;
                    events.extend(event);
                    Ok((member, outcome))
                }
            };
            outcomes.push(ListOutcome {
                input: entry.input,
                result,
            });
        }
        self.outbox.commit(tx, &events).await?;
        Ok(outcomes)
    }

    async fn insert_member(
        &self,
        tx: &mut WriteTx,
        meta: &ChangeMeta,
        team: &Team,
        person: Person,
        role: Role,
        guest: bool,
    ) -> Result<(Member, AddOutcome, Option<NewEvent>)> {
        let invited = person.invitation.is_some();
        let member = Member {
            team: team.id.clone(),
            account: person.account,
            email: person.email,
            given_name: person.given_name,
            family_name: person.family_name,
            role,
            guest,
            state: person.state,
            invitation: person.invitation,
            create_time: meta.now_micros,
        };
        if !store::insert_member(tx.conn(), &member).await? {
            let existing = store::get_member(tx.conn(), &team.id, &member.account)
                .await?
                .ok_or_else(|| TeamError::Internal("member vanished".into()))?;
            return Ok((existing, AddOutcome::AlreadyMember, None));
        }
        let event = member_added(meta, &member);
        let outcome = if invited {
            AddOutcome::Invited
        } else {
            AddOutcome::Added
        };
        Ok((member, outcome, Some(event)))
    }

    pub async fn get_member(
        &self,
        caller: &Caller,
        team: &TeamId,
        account: &AccountId,
    ) -> Result<Member> {
        let (_, role) = self.caller_role(caller, team).await?;
        if caller.account() != Some(account) {
            authorize(caller, role, TeamAction::ReadMembers)?;
        }
        let mut conn = self.db.conn().await?;
        store::get_member(&mut conn, team, account)
            .await?
            .ok_or_else(|| {
                TeamError::not_found("member", format!("{}/members/{account}", team.name()))
            })
    }

    pub async fn list_members(
        &self,
        caller: &Caller,
        team: &TeamId,
        guests: GuestFilter,
        page_size: i32,
        page_token: &str,
    ) -> Result<(Vec<Member>, String)> {
        self.check(caller, team, TeamAction::ReadMembers).await?;
        let limit = paging::page_size(page_size)?;
        let after = paging::decode_token(page_token)?;
        let mut conn = self.db.conn().await?;
        let rows = store::list_members(&mut conn, team, guests, after.as_deref(), limit).await?;
        Ok(paging::finish(rows, limit, store::member_key))
    }

    /// R-INV-3: sends a pending member's invitation again.
    pub async fn resend_invitation(
        &self,
        ctx: &Ctx,
        team: &TeamId,
        account: &AccountId,
    ) -> Result<Member> {
        self.check(&ctx.caller, team, TeamAction::ManageMembers)
            .await?;
        let member = {
            let mut conn = self.db.conn().await?;
            store::get_member(&mut conn, team, account)
                .await?
                .ok_or_else(|| {
                    TeamError::not_found("member", format!("{}/members/{account}", team.name()))
                })?
        };
        if member.state == MemberState::Active {
            return Err(TeamError::Precondition {
                kind: "ALREADY_ACTIVE",
                subject: account.name(),
                message: format!(
                    "{} has already accepted an invitation; there is nothing to resend",
                    member.email
                ),
            });
        }
        let mut identity = self.identity.clone();
        let pending = identity
            .list_invitations(request(idpb::ListInvitationsRequest {
                account: account.name(),
                page_size: 1,
                ..Default::default()
            }))
            .await
            .map_err(peer)?
            .into_inner()
            .invitations
            .into_iter()
            .find(|i| {
                i.state == idpb::InvitationState::Pending as i32
                    || i.state == idpb::InvitationState::Expired as i32
            })
            .ok_or_else(|| TeamError::Precondition {
                kind: "NO_PENDING_INVITATION",
                subject: account.name(),
                message: format!("{} has no pending invitation to resend", member.email),
            })?;
        let mut req = request(idpb::ResendInvitationRequest { name: pending.name });
        req.metadata_mut().insert(
            "x-request-id",
            ctx.request_id
                .parse()
                .map_err(|_| TeamError::Internal("bad request id".into()))?,
        );
        let invitation = identity
            .resend_invitation(req)
            .await
            .map_err(peer)?
            .into_inner();
        if member.invitation.as_deref() != Some(invitation.name.as_str()) {
            let mut tx = self.begin().await?;
            store::set_member_invitation(tx.conn(), team, account, &invitation.name).await?;
            tx.commit().await?;
        }
        Ok(Member {
            invitation: Some(invitation.name),
            ..member
        })
    }

    pub async fn authorize_watch(&self, caller: &Caller, team: Option<&TeamId>) -> Result<()> {
        if caller.is_internal() || caller.has_scope(allot_platform::auth::scopes::EVENTS_READ) {
            return Ok(());
        }
        match team {
            Some(t) => self.check(caller, t, TeamAction::ReadMembers).await.map(|_| ()),
            None => Err(TeamError::PermissionDenied(
                "watching all teams needs the `events.read` scope; team admins can watch their team with `team` set".into(),
            )),
        }
    }

    // ---- reactions to identity --------------------------------------------

    /// The first team of the bootstrap administrator.
    pub async fn create_bootstrap_team(
        &self,
        tx: &mut WriteTx,
        account: &idpb::Account,
    ) -> Result<Vec<NewEvent>> {
        if store::any_team_exists(tx.conn()).await? {
            return Ok(Vec::new());
        }
        let person = Person::from_pb(account, None)?;
        let meta = ChangeMeta {
            actor: Caller::system().name(),
            request_id: String::new(),
            now_micros: self.now(),
        };
        let name = default_team_name(&person.given_name, &person.family_name);
        let team = new_team(&meta, name, &person, None);
        let events = self
            .insert_team_with_admin(tx, &meta, &team, &person)
            .await?;
        tracing::info!(team = %team.id, name = %team.display_name, "first team created for the bootstrap administrator");
        Ok(events)
    }

    /// Copies a person's state and names into their memberships.
    pub async fn refresh_person(
        &self,
        tx: &mut WriteTx,
        account: &idpb::Account,
        event_id: &str,
    ) -> Result<Vec<NewEvent>> {
        let person = Person::from_pb(account, None)?;
        let meta = ChangeMeta {
            actor: Caller::system().name(),
            request_id: event_id.to_owned(),
            now_micros: self.now(),
        };
        let mut events = Vec::new();
        for m in store::memberships_of(tx.conn(), &person.account).await? {
            let changed = Member {
                state: person.state,
                given_name: person.given_name.clone(),
                family_name: person.family_name.clone(),
                ..m.clone()
            };
            if changed.state == m.state
                && changed.given_name == m.given_name
                && changed.family_name == m.family_name
            {
                continue;
            }
            store::update_person(tx.conn(), &changed).await?;
            events.push(
                meta.event("member_updated", Some(m.team.name()), |context| pb::Event {
                    context: Some(context),
                    payload: Some(Payload::MemberUpdated(pb::MemberUpdated {
                        member: Some(convert::member(&changed)),
                        previous_role: convert::role(m.role) as i32,
                        previous_guest: m.guest,
                    })),
                }),
            );
        }
        Ok(events)
    }
}

fn new_team(
    meta: &ChangeMeta,
    display_name: String,
    admin: &Person,
    owner: Option<AccountId>,
) -> Team {
    Team {
        id: TeamId::generate(),
        display_name,
        owner,
        plan: Plan::Standard,
        create_time: meta.now_micros,
        primary_admin: Some(admin.account.clone()),
        member_count: 1,
    }
}

fn member_added(meta: &ChangeMeta, m: &Member) -> NewEvent {
    meta.event("member_added", Some(m.team.name()), |context| pb::Event {
        context: Some(context),
        payload: Some(Payload::MemberAdded(pb::MemberAdded {
            member: Some(convert::member(m)),
        })),
    })
}

/// R-ROLE-1, R-ROLE-5, R-ROLE-6 for a member being added.
fn check_new_role(team: &Team, role: Role, guest: bool) -> Result<()> {
    if role == Role::PrimaryAdmin {
        return Err(TeamError::Precondition {
            kind: "ONE_PRIMARY_ADMIN",
            subject: team.id.name(),
            message: "a team has exactly one primary admin; add the person, then hand the role over with TransferPrimaryAdmin".into(),
        });
    }
    if role.is_admin() && guest {
        return Err(TeamError::Precondition {
            kind: "ADMIN_CANNOT_BE_GUEST",
            subject: team.id.name(),
            message: "admins cannot be guests; add the person as a user to make them a guest"
                .into(),
        });
    }
    if role == Role::SsoAdmin && team.plan != Plan::Premium {
        return Err(TeamError::Precondition {
            kind: "SSO_ADMIN_NEEDS_PREMIUM",
            subject: team.id.name(),
            message: "the SSO admin role exists only on teams with a premium plan".into(),
        });
    }
    Ok(())
}
