//! Team's use cases: each checks the caller's role in the team, applies the
//! domain rules, and writes the change and its events in one transaction.

use allot_platform::auth::Caller;
use allot_platform::clock::{SharedClock, to_micros};
use allot_platform::db::{Db, DbFailure, WriteTx, classify};
use allot_platform::error::FieldViolation;
use allot_platform::grpc::{EntitlementClient, IdentityClient, request};
use allot_platform::idempotency::{self, RequestKey};
use allot_platform::ids::{AccountId, GroupId, TeamId};
use allot_platform::outbox::{ChangeMeta, NewEvent, Outbox};
use allot_platform::paging;
use allot_platform::values::Email;
use allot_proto::identity as idpb;
use allot_proto::team as pb;
use allot_proto::team::event::Payload;

use crate::convert;
use crate::domain::{
    Group, Member, MemberState, NewPerson, Plan, Role, Team, TeamAction, authorize, check_removal,
    check_role_change, check_transfer, default_team_name, may_create_team,
    owner_administers_no_team,
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
    pub(crate) db: Db,
    pub(crate) outbox: Outbox,
    pub(crate) clock: SharedClock,
    identity: IdentityClient,
    /// For the products of members in exports (R-USE-3).
    pub(crate) entitlement: EntitlementClient,
    /// CSV imports (R-INV-5).
    pub(crate) jobs: allot_platform::jobs::Jobs,
    /// Most rows one CSV import takes (R-INV-5).
    pub(crate) import_max_rows: usize,
}

impl std::fmt::Debug for Teams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Teams").finish_non_exhaustive()
    }
}

/// A person as identity knows them.
pub(crate) struct Person {
    account: AccountId,
    email: Email,
    given_name: String,
    family_name: String,
    state: MemberState,
    invitation: Option<String>,
    invitation_expire_time: Option<i64>,
}

/// A protobuf timestamp in microseconds.
fn micros(t: &prost_types::Timestamp) -> i64 {
    t.seconds
        .saturating_mul(1_000_000)
        .saturating_add(i64::from(t.nanos / 1000))
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
            invitation_expire_time: invitation.and_then(|i| i.expire_time.as_ref()).map(micros),
        })
    }

    fn from_member(m: Member) -> Person {
        Person {
            account: m.account,
            email: m.email,
            given_name: m.given_name,
            family_name: m.family_name,
            state: m.state,
            invitation: m.invitation,
            invitation_expire_time: m.invitation_expire_time,
        }
    }
}

fn peer(status: tonic::Status) -> TeamError {
    TeamError::Peer {
        service: "identity",
        status,
    }
}

impl Teams {
    pub fn new(
        db: Db,
        outbox: Outbox,
        clock: SharedClock,
        identity: IdentityClient,
        entitlement: EntitlementClient,
    ) -> Teams {
        Teams {
            jobs: allot_platform::jobs::Jobs::new(db.clone(), clock.clone()),
            db,
            outbox,
            clock,
            identity,
            entitlement,
            import_max_rows: 5000,
        }
    }

    /// Sets the largest CSV import (`import.max_rows`).
    pub fn with_import_max_rows(mut self, max_rows: usize) -> Teams {
        self.import_max_rows = max_rows;
        self
    }

    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    pub(crate) fn now(&self) -> i64 {
        to_micros(self.clock.now())
    }

    pub(crate) fn meta(&self, ctx: &Ctx) -> ChangeMeta {
        ChangeMeta {
            actor: ctx.caller.name(),
            request_id: ctx.request_id.clone(),
            now_micros: self.now(),
        }
    }

    pub(crate) async fn begin(&self) -> Result<WriteTx> {
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
    pub(crate) async fn check(
        &self,
        caller: &Caller,
        team: &TeamId,
        action: TeamAction,
    ) -> Result<Team> {
        let (t, role) = self.caller_role(caller, team).await?;
        authorize(caller, role, action)?;
        Ok(t)
    }

    /// Locks the team and checks the caller inside the transaction, so a
    /// role that changed a moment ago counts (R-ROLE-2).
    async fn authorize_in(
        &self,
        tx: &mut WriteTx,
        caller: &Caller,
        team: &TeamId,
        action: TeamAction,
    ) -> Result<Team> {
        if !store::lock_team(tx.conn(), team).await? {
            return Err(TeamError::not_found("team", team.name()));
        }
        let t = store::get_team(tx.conn(), team)
            .await?
            .ok_or_else(|| TeamError::not_found("team", team.name()))?;
        let role = match caller.account() {
            Some(a) => store::role_of(tx.conn(), team, a).await?,
            None => None,
        };
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
        key: Option<&RequestKey>,
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
        let administers = {
            let mut conn = self.db.conn().await?;
            store::newest_administered_team(&mut conn, &admin)
                .await?
                .is_some()
        };
        may_create_team(&ctx.caller, administers)?;
        let person = self.fetch_person(&admin).await?;
        let meta = self.meta(ctx);
        let team = new_team(&meta, display_name, &person, owner);
        let mut tx = self.begin().await?;
        if let Some(first) = idempotency::replayed(tx.conn(), key, meta.now_micros).await? {
            tx.commit().await?;
            return self.get_team(&ctx.caller, &TeamId::from_db(first)).await;
        }
        let events = self
            .insert_team_with_admin(&mut tx, &meta, &team, &person)
            .await?;
        idempotency::remember_if(tx.conn(), key, team.id.as_str(), meta.now_micros).await?;
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
            invitation_expire_time: None,
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

    /// Renames a team and/or (Allot itself only) changes its plan.
    pub async fn update_team(
        &self,
        ctx: &Ctx,
        id: &TeamId,
        name: Option<String>,
        plan: Option<Plan>,
    ) -> Result<Team> {
        if plan.is_some() && !ctx.caller.is_internal() {
            return Err(TeamError::PermissionDenied(
                "a team's plan follows its subscriptions; it cannot be set by hand".into(),
            ));
        }
        let mut tx = self.begin().await?;
        self.authorize_in(&mut tx, &ctx.caller, id, TeamAction::ManageTeam)
            .await?;
        if let Some(name) = &name {
            store::rename_team(tx.conn(), id, name).await?;
        }
        let meta = self.meta(ctx);
        let mut events = Vec::new();
        if let Some(plan) = plan {
            store::set_plan(tx.conn(), id, plan).await?;
            events.extend(Self::follow_plan(&mut tx, &meta, id, plan).await?);
        }
        let team = store::get_team(tx.conn(), id)
            .await?
            .ok_or_else(|| TeamError::not_found("team", id.name()))?;
        events.insert(0, team_updated(&meta, &team));
        self.outbox.commit(tx, &events).await?;
        Ok(team)
    }

    /// R-TEAM-1, R-TEAM-3: the owner's newest administered team, or their
    /// first, created now with a name that contains theirs. Internal.
    pub async fn ensure_owner_team(&self, ctx: &Ctx, owner: &AccountId) -> Result<Team> {
        if !ctx.caller.is_internal() {
            return Err(TeamError::PermissionDenied(
                "only Allot itself places contracts in teams".into(),
            ));
        }
        {
            let mut conn = self.db.conn().await?;
            if let Some(t) = store::newest_administered_team(&mut conn, owner).await? {
                return Ok(t);
            }
        }
        let person = self.fetch_person(owner).await?;
        let meta = self.meta(ctx);
        let name = default_team_name(&person.given_name, &person.family_name);
        let team = new_team(&meta, name, &person, Some(owner.clone()));
        let mut tx = self.begin().await?;
        match self
            .insert_team_with_admin(&mut tx, &meta, &team, &person)
            .await
        {
            Ok(events) => {
                self.outbox.commit(tx, &events).await?;
                tracing::info!(team = %team.id, owner = %owner, "first team created for a contract owner");
                Ok(team)
            }
            // Another contract of the same owner created it a moment ago.
            Err(TeamError::Db(e)) if classify(&e) == DbFailure::UniqueViolation => {
                drop(tx);
                let mut conn = self.db.conn().await?;
                // Their first team exists, but they no longer administer it.
                store::newest_administered_team(&mut conn, owner)
                    .await?
                    .ok_or_else(|| owner_administers_no_team(owner))
            }
            Err(e) => Err(e),
        }
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

    /// Invites each person into the team (R-INV-1: with or without an
    /// account, the same way), except those already members, who are
    /// answered from their membership. One result per person, in order.
    async fn invite(&self, ctx: &Ctx, team: &Team, people: &[&NewPerson]) -> Result<Vec<Person>> {
        let mut known: Vec<Option<Person>> = Vec::with_capacity(people.len());
        {
            let mut conn = self.db.conn().await?;
            for p in people {
                let member = match store::member_by_email(&mut conn, &team.id, &p.email).await? {
                    Some(account) => {
                        store::get_member(&mut conn, &team.id, &AccountId::from_db(account)).await?
                    }
                    None => None,
                };
                known.push(member.map(Person::from_member));
            }
        }
        let new: Vec<&NewPerson> = people
            .iter()
            .zip(&known)
            .filter(|(_, k)| k.is_none())
            .map(|(p, _)| *p)
            .collect();
        let mut invited = self.invite_new(ctx, team, &new).await?.into_iter();
        known
            .into_iter()
            .map(|k| match k {
                Some(person) => Ok(person),
                None => invited
                    .next()
                    .ok_or_else(|| TeamError::Internal("identity returned too few results".into())),
            })
            .collect()
    }

    async fn invite_one(&self, ctx: &Ctx, team: &Team, person: &NewPerson) -> Result<Person> {
        self.invite(ctx, team, &[person])
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| TeamError::Internal("identity returned no result".into()))
    }

    async fn invite_new(
        &self,
        ctx: &Ctx,
        team: &Team,
        people: &[&NewPerson],
    ) -> Result<Vec<Person>> {
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
        key: Option<&RequestKey>,
    ) -> Result<(Member, AddOutcome)> {
        let action = if guest && role == Role::User {
            TeamAction::AddGuest
        } else {
            TeamAction::ManageMembers
        };
        let team = self.check(&ctx.caller, team_id, action).await?;
        check_role_change(team.plan, &team.id.name(), None, role, guest)?;
        let person = match &who {
            Who::Person(p) => self.invite_one(ctx, &team, p).await?,
            Who::Account(a) => {
                let person = self.fetch_person(a).await?;
                if crate::domain::adding_an_account_invites(&ctx.caller) {
                    let invitee = NewPerson {
                        given_name: person.given_name,
                        family_name: person.family_name,
                        email: person.email,
                    };
                    self.invite_one(ctx, &team, &invitee).await?
                } else {
                    person
                }
            }
        };
        let meta = self.meta(ctx);
        let mut tx = self.begin().await?;
        if let Some(first) = idempotency::replayed(tx.conn(), key, meta.now_micros).await? {
            let member = Self::member_in(&mut tx, &team.id, &AccountId::from_db(first)).await?;
            tx.commit().await?;
            let outcome = if member.state == MemberState::Invited {
                AddOutcome::Invited
            } else {
                AddOutcome::Added
            };
            return Ok((member, outcome));
        }
        let (member, outcome, event) = self
            .insert_member(&mut tx, &meta, &team, person, role, guest)
            .await?;
        if outcome != AddOutcome::AlreadyMember {
            idempotency::remember_if(tx.conn(), key, member.account.as_str(), meta.now_micros)
                .await?;
        }
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
        key: Option<&RequestKey>,
    ) -> Result<Vec<ListOutcome>> {
        let action = if guest && role == Role::User {
            TeamAction::AddGuest
        } else {
            TeamAction::ManageMembers
        };
        let team = self.check(&ctx.caller, team_id, action).await?;
        check_role_change(team.plan, &team.id.name(), None, role, guest)?;
        if entries.len() > 1000 {
            return Err(TeamError::invalid(
                "addresses",
                "at most 1000 addresses per call",
            ));
        }
        if let Some(first) = self.replayed_list(ctx, &team.id, key, &entries).await? {
            return Ok(first);
        }
        let (mut tx, outcomes, events) = self.add_listed(ctx, &team, entries, role, guest).await?;
        // Two first tries racing with one id: the second rolls back here.
        let answer = crate::answers::record(&outcomes);
        idempotency::remember_if(tx.conn(), key, &answer, self.meta(ctx).now_micros).await?;
        self.outbox.commit(tx, &events).await?;
        Ok(outcomes)
    }

    /// Invites the new people of a list, then adds everyone in a
    /// transaction it returns open with the outcomes and events, so the
    /// caller can write more in it before committing.
    pub(crate) async fn add_listed(
        &self,
        ctx: &Ctx,
        team: &Team,
        entries: Vec<crate::domain::ListedAddress>,
        role: Role,
        guest: bool,
    ) -> Result<(WriteTx, Vec<ListOutcome>, Vec<NewEvent>)> {
        let people = self.invite_listed(ctx, team, &entries).await?;
        let meta = self.meta(ctx);
        let mut tx = self.begin().await?;
        let (outcomes, events) = self
            .insert_listed(
                &mut tx,
                &meta,
                &ctx.caller,
                team,
                entries,
                people,
                role,
                guest,
            )
            .await?;
        Ok((tx, outcomes, events))
    }

    /// Invites the valid entries of a list who have no account yet; the
    /// result has one person per valid entry, in order.
    async fn invite_listed(
        &self,
        ctx: &Ctx,
        team: &Team,
        entries: &[crate::domain::ListedAddress],
    ) -> Result<Vec<Person>> {
        let valid: Vec<&NewPerson> = entries
            .iter()
            .filter_map(|e| e.parsed.as_ref().ok())
            .collect();
        self.invite(ctx, team, &valid).await
    }

    /// Adds invited or existing people to the team inside `tx`, checking
    /// the caller's role there; returns each entry's outcome and the events.
    #[allow(clippy::too_many_arguments)]
    async fn insert_listed(
        &self,
        tx: &mut WriteTx,
        meta: &ChangeMeta,
        caller: &Caller,
        team: &Team,
        entries: Vec<crate::domain::ListedAddress>,
        people: Vec<Person>,
        role: Role,
        guest: bool,
    ) -> Result<(Vec<ListOutcome>, Vec<NewEvent>)> {
        let action = if guest && role == Role::User {
            TeamAction::AddGuest
        } else {
            TeamAction::ManageMembers
        };
        self.authorize_in(tx, caller, &team.id, action).await?;
        let mut people = people.into_iter();
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
                        .insert_member(tx, meta, team, person, role, guest)
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
        Ok((outcomes, events))
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
            invitation_expire_time: person.invitation_expire_time,
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
                // R-INV-7: only this team's invitation, never another's.
                team: team.name(),
                page_size: 10,
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
        // R-INV-3: the new link restarts the expiry the admins see.
        let expire_time = invitation.expire_time.as_ref().map(micros);
        let mut tx = self.begin().await?;
        store::set_member_invitation(tx.conn(), team, account, &invitation.name, expire_time)
            .await?;
        let updated = Member {
            invitation: Some(invitation.name),
            invitation_expire_time: expire_time,
            ..member
        };
        // R-EVT-1: the member's invitation and its expiry changed.
        let event = member_updated(&self.meta(ctx), &updated, (updated.role, updated.guest));
        self.outbox.commit(tx, &[event]).await?;
        Ok(updated)
    }

    fn member_subject(team: &TeamId, account: &AccountId) -> String {
        format!("{}/members/{account}", team.name())
    }

    async fn member_in(tx: &mut WriteTx, team: &TeamId, account: &AccountId) -> Result<Member> {
        store::get_member(tx.conn(), team, account)
            .await?
            .ok_or_else(|| TeamError::not_found("member", Self::member_subject(team, account)))
    }

    /// R-ROLE-3, R-ROLE-5, R-ROLE-6, R-ROLE-7: changes a member's role and/or
    /// guest flag.
    pub async fn update_member(
        &self,
        ctx: &Ctx,
        team_id: &TeamId,
        account: &AccountId,
        role: Option<Role>,
        guest: Option<bool>,
    ) -> Result<Member> {
        let mut tx = self.begin().await?;
        let team = self
            .authorize_in(&mut tx, &ctx.caller, team_id, TeamAction::ManageMembers)
            .await?;
        let current = Self::member_in(&mut tx, team_id, account).await?;
        let previous = (current.role, current.guest);
        let changed = Member {
            role: role.unwrap_or(current.role),
            guest: guest.unwrap_or(current.guest),
            ..current
        };
        check_role_change(
            team.plan,
            &Self::member_subject(team_id, account),
            Some(previous),
            changed.role,
            changed.guest,
        )?;
        if (changed.role, changed.guest) == previous {
            return Ok(changed);
        }
        store::set_role(tx.conn(), &changed).await?;
        let event = member_updated(&self.meta(ctx), &changed, previous);
        self.outbox.commit(tx, &[event]).await?;
        Ok(changed)
    }

    /// R-ROLE-4: hands the primary admin role to another member; the former
    /// primary admin becomes a secondary admin in the same transaction.
    pub async fn transfer_primary_admin(
        &self,
        ctx: &Ctx,
        team_id: &TeamId,
        new_primary: &AccountId,
    ) -> Result<Team> {
        let mut tx = self.begin().await?;
        self.authorize_in(&mut tx, &ctx.caller, team_id, TeamAction::ManageMembers)
            .await?;
        let new = Self::member_in(&mut tx, team_id, new_primary).await?;
        check_transfer(&new, &Self::member_subject(team_id, new_primary))?;
        let old = store::primary_admin(tx.conn(), team_id)
            .await?
            .ok_or_else(|| TeamError::Internal(format!("team {team_id} has no primary admin")))?;
        if old.account == new.account {
            let team = store::get_team(tx.conn(), team_id)
                .await?
                .ok_or_else(|| TeamError::not_found("team", team_id.name()))?;
            return Ok(team);
        }
        let meta = self.meta(ctx);
        // Demote first: the index allows one primary admin per team at every
        // statement, not only at commit.
        let demoted = Member {
            role: Role::SecondaryAdmin,
            ..old.clone()
        };
        store::set_role(tx.conn(), &demoted).await?;
        let promoted = Member {
            role: Role::PrimaryAdmin,
            ..new.clone()
        };
        store::set_role(tx.conn(), &promoted).await?;
        let team = store::get_team(tx.conn(), team_id)
            .await?
            .ok_or_else(|| TeamError::not_found("team", team_id.name()))?;
        let events = [
            member_updated(&meta, &demoted, (old.role, old.guest)),
            member_updated(&meta, &promoted, (new.role, new.guest)),
            team_updated(&meta, &team),
        ];
        self.outbox.commit(tx, &events).await?;
        tracing::info!(team = %team_id, from = %old.account, to = %new.account, "primary admin handed over");
        Ok(team)
    }

    /// R-TEAM-5, R-ROLE-6: removes a member (not an admin) and their place in
    /// the team's groups; entitlement frees their seats from the event.
    pub async fn remove_member(
        &self,
        ctx: &Ctx,
        team_id: &TeamId,
        account: &AccountId,
    ) -> Result<()> {
        self.check(&ctx.caller, team_id, TeamAction::ManageMembers)
            .await?;
        self.check_no_contract_role(team_id, account).await?;
        let mut tx = self.begin().await?;
        self.authorize_in(&mut tx, &ctx.caller, team_id, TeamAction::ManageMembers)
            .await?;
        let member = Self::member_in(&mut tx, team_id, account).await?;
        check_removal(&member, &Self::member_subject(team_id, account))?;
        store::delete_member(tx.conn(), team_id, account).await?;
        let event = self
            .meta(ctx)
            .event("member_removed", Some(team_id.name()), |context| {
                pb::Event {
                    context: Some(context),
                    payload: Some(Payload::MemberRemoved(pb::MemberRemoved {
                        member: Some(convert::member(&member)),
                    })),
                }
            });
        self.outbox.commit(tx, &[event]).await?;
        Ok(())
    }

    /// R-CLS-6: the contract manager and the software coordinator of a
    /// classic contract held by the team stay until their role passes on.
    /// Read from the roles followed from entitlement's events, so removals
    /// work while entitlement is unavailable.
    async fn check_no_contract_role(&self, team: &TeamId, account: &AccountId) -> Result<()> {
        let held = {
            let mut conn = self.db.conn().await?;
            store::contract_role_of(&mut conn, &team.name(), &account.name()).await?
        };
        if let Some((contract, is_manager)) = held {
            let role = if is_manager {
                "contract manager"
            } else {
                "software coordinator"
            };
            return Err(TeamError::Precondition {
                kind: "CONTRACT_ROLE",
                subject: Self::member_subject(team, account),
                message: format!(
                    "this member is the {role} of {contract}; pass that role to someone else first"
                ),
            });
        }
        Ok(())
    }

    /// Follows a contract's manager: a member who becomes it is made a
    /// secondary admin unless already an admin (R-CLS-1); and a classic
    /// contract's manager and coordinator are kept for R-CLS-6.
    pub async fn follow_contract(
        &self,
        tx: &mut WriteTx,
        contract: &allot_proto::entitlement::Contract,
        event_id: &str,
    ) -> Result<Vec<NewEvent>> {
        use allot_proto::entitlement::ActivationType;
        let mut events = Vec::new();
        if let (Ok(team), Ok(owner)) = (
            TeamId::parse("team", &contract.team),
            AccountId::parse("owner", &contract.owner),
        ) && let Some(m) = store::get_member(tx.conn(), &team, &owner).await?
            && let Some(role) = crate::domain::role_of_new_contract_manager(m.role)
        {
            let promoted = Member {
                role,
                guest: false,
                ..m.clone()
            };
            store::set_role(tx.conn(), &promoted).await?;
            let meta = ChangeMeta {
                actor: Caller::system().name(),
                request_id: event_id.to_owned(),
                now_micros: self.now(),
            };
            events.push(member_updated(&meta, &promoted, (m.role, m.guest)));
        }
        if contract.activation_type != ActivationType::SerialNumber as i32 {
            return Ok(events);
        }
        let coordinator = if contract.software_coordinator.is_empty() {
            &contract.owner
        } else {
            &contract.software_coordinator
        };
        store::save_contract_roles(
            tx.conn(),
            &contract.name,
            &contract.team,
            &contract.owner,
            coordinator,
        )
        .await?;
        Ok(events)
    }

    /// Memberships of several accounts (admins of the team and Allot itself).
    pub async fn batch_get_members(
        &self,
        caller: &Caller,
        team: &TeamId,
        accounts: &[AccountId],
    ) -> Result<Vec<Member>> {
        if caller.is_internal() {
            // Allot's own services ask on every seat change: one light
            // query tells an unknown team apart.
            let mut conn = self.db.conn().await?;
            if !store::team_exists(&mut conn, team).await? {
                return Err(TeamError::not_found("team", team.name()));
            }
            return Ok(store::get_members(&mut conn, team, accounts).await?);
        }
        self.check(caller, team, TeamAction::ReadMembers).await?;
        let mut conn = self.db.conn().await?;
        Ok(store::get_members(&mut conn, team, accounts).await?)
    }

    /// R-ROLE-5: a team is premium while it holds a premium subscription.
    pub async fn place_premium_subscription(
        &self,
        tx: &mut WriteTx,
        subscription: &str,
        team: Option<&TeamId>,
        event_id: &str,
    ) -> Result<Vec<NewEvent>> {
        let meta = ChangeMeta {
            actor: Caller::system().name(),
            request_id: event_id.to_owned(),
            now_micros: self.now(),
        };
        let mut events = Vec::new();
        for t in store::place_premium_subscription(tx.conn(), subscription, team).await? {
            let Some(current) = store::get_team(tx.conn(), &t).await? else {
                continue;
            };
            let plan = if store::holds_premium(tx.conn(), &t).await? {
                Plan::Premium
            } else {
                Plan::Standard
            };
            if plan != current.plan {
                store::set_plan(tx.conn(), &t, plan).await?;
                let updated = Team { plan, ..current };
                events.push(team_updated(&meta, &updated));
                events.extend(Self::follow_plan(tx, &meta, &t, plan).await?);
            }
        }
        Ok(events)
    }

    /// R-ROLE-5: on a team that is no longer premium, SSO admins become
    /// secondary admins, each with a `member_updated` event.
    async fn follow_plan(
        tx: &mut WriteTx,
        meta: &ChangeMeta,
        team: &TeamId,
        plan: Plan,
    ) -> Result<Vec<NewEvent>> {
        if plan == Plan::Premium {
            return Ok(Vec::new());
        }
        let mut events = Vec::new();
        for m in store::members_with_role(tx.conn(), team, Role::SsoAdmin).await? {
            if let Some(role) = crate::domain::role_after_losing_premium(m.role) {
                let demoted = Member { role, ..m.clone() };
                store::set_role(tx.conn(), &demoted).await?;
                events.push(member_updated(meta, &demoted, (m.role, m.guest)));
            }
        }
        Ok(events)
    }

    // ---- groups -----------------------------------------------------------

    async fn group_in(tx: &mut WriteTx, team: &TeamId, id: &GroupId) -> Result<Group> {
        store::get_group(tx.conn(), team, id)
            .await?
            .ok_or_else(|| TeamError::not_found("group", format!("{}/groups/{id}", team.name())))
    }

    pub async fn create_group(
        &self,
        ctx: &Ctx,
        team_id: &TeamId,
        display_name: String,
        key: Option<&RequestKey>,
    ) -> Result<Group> {
        let mut tx = self.begin().await?;
        self.authorize_in(&mut tx, &ctx.caller, team_id, TeamAction::ManageMembers)
            .await?;
        let meta = self.meta(ctx);
        if let Some(first) = idempotency::replayed(tx.conn(), key, meta.now_micros).await? {
            tx.commit().await?;
            return self
                .get_group(&ctx.caller, team_id, &GroupId::from_db(first))
                .await;
        }
        let group = Group {
            id: GroupId::generate(),
            team: team_id.clone(),
            display_name,
            create_time: meta.now_micros,
            member_count: 0,
        };
        store::insert_group(tx.conn(), &group).await?;
        idempotency::remember_if(tx.conn(), key, group.id.as_str(), meta.now_micros).await?;
        let event = group_created_event(&meta, &group);
        self.outbox.commit(tx, &[event]).await?;
        Ok(group)
    }

    pub async fn get_group(&self, caller: &Caller, team: &TeamId, id: &GroupId) -> Result<Group> {
        self.check(caller, team, TeamAction::ReadMembers).await?;
        let mut conn = self.db.conn().await?;
        store::get_group(&mut conn, team, id)
            .await?
            .ok_or_else(|| TeamError::not_found("group", format!("{}/groups/{id}", team.name())))
    }

    pub async fn list_groups(
        &self,
        caller: &Caller,
        team: &TeamId,
        page_size: i32,
        page_token: &str,
    ) -> Result<(Vec<Group>, String)> {
        self.check(caller, team, TeamAction::ReadMembers).await?;
        let limit = paging::page_size(page_size)?;
        let after = paging::decode_token(page_token)?;
        let mut conn = self.db.conn().await?;
        let rows = store::list_groups(&mut conn, team, after.as_deref(), limit).await?;
        Ok(paging::finish(rows, limit, |g| g.id.as_str().to_owned()))
    }

    pub async fn rename_group(
        &self,
        ctx: &Ctx,
        team_id: &TeamId,
        id: &GroupId,
        name: String,
    ) -> Result<Group> {
        let mut tx = self.begin().await?;
        self.authorize_in(&mut tx, &ctx.caller, team_id, TeamAction::ManageMembers)
            .await?;
        let mut group = Self::group_in(&mut tx, team_id, id).await?;
        store::rename_group(tx.conn(), id, &name).await?;
        group.display_name = name;
        let event = self
            .meta(ctx)
            .event("group_updated", Some(team_id.name()), |context| pb::Event {
                context: Some(context),
                payload: Some(Payload::GroupUpdated(pb::GroupUpdated {
                    group: Some(convert::group(&group)),
                })),
            });
        self.outbox.commit(tx, &[event]).await?;
        Ok(group)
    }

    /// Deletes a group; its members lose what they held only through it
    /// (R-SEAT-5, applied by entitlement from the event).
    pub async fn delete_group(&self, ctx: &Ctx, team_id: &TeamId, id: &GroupId) -> Result<()> {
        let mut tx = self.begin().await?;
        self.authorize_in(&mut tx, &ctx.caller, team_id, TeamAction::ManageMembers)
            .await?;
        let group = Self::group_in(&mut tx, team_id, id).await?;
        let accounts = store::delete_group(tx.conn(), id).await?;
        let event = self
            .meta(ctx)
            .event("group_deleted", Some(team_id.name()), |context| pb::Event {
                context: Some(context),
                payload: Some(Payload::GroupDeleted(pb::GroupDeleted {
                    group: Some(convert::group(&group)),
                    accounts: accounts.iter().map(|a| format!("accounts/{a}")).collect(),
                })),
            });
        self.outbox.commit(tx, &[event]).await?;
        Ok(())
    }

    /// Adds team members to a group (all or none: each must be a member).
    pub async fn add_group_members(
        &self,
        ctx: &Ctx,
        team_id: &TeamId,
        id: &GroupId,
        accounts: &[AccountId],
    ) -> Result<Group> {
        let mut tx = self.begin().await?;
        self.authorize_in(&mut tx, &ctx.caller, team_id, TeamAction::ManageMembers)
            .await?;
        Self::group_in(&mut tx, team_id, id).await?;
        let mut added = Vec::new();
        for a in accounts {
            Self::member_in(&mut tx, team_id, a).await?;
            if store::add_group_member(tx.conn(), id, a).await? {
                added.push(a.name());
            }
        }
        let group = Self::group_in(&mut tx, team_id, id).await?;
        let events = group_members_event(&self.meta(ctx), &group, added, true);
        self.outbox.commit(tx, events.as_slice()).await?;
        Ok(group)
    }

    pub async fn remove_group_members(
        &self,
        ctx: &Ctx,
        team_id: &TeamId,
        id: &GroupId,
        accounts: &[AccountId],
    ) -> Result<Group> {
        let mut tx = self.begin().await?;
        self.authorize_in(&mut tx, &ctx.caller, team_id, TeamAction::ManageMembers)
            .await?;
        Self::group_in(&mut tx, team_id, id).await?;
        let mut removed = Vec::new();
        for a in accounts {
            if store::remove_group_member(tx.conn(), id, a).await? {
                removed.push(a.name());
            }
        }
        let group = Self::group_in(&mut tx, team_id, id).await?;
        let events = group_members_event(&self.meta(ctx), &group, removed, false);
        self.outbox.commit(tx, events.as_slice()).await?;
        Ok(group)
    }

    pub async fn list_group_members(
        &self,
        caller: &Caller,
        team: &TeamId,
        id: &GroupId,
        page_size: i32,
        page_token: &str,
    ) -> Result<(Vec<Member>, String)> {
        self.check(caller, team, TeamAction::ReadMembers).await?;
        let limit = paging::page_size(page_size)?;
        let after = paging::decode_token(page_token)?;
        let mut conn = self.db.conn().await?;
        store::get_group(&mut conn, team, id)
            .await?
            .ok_or_else(|| TeamError::not_found("group", format!("{}/groups/{id}", team.name())))?;
        let rows = store::list_group_members(&mut conn, id, after.as_deref(), limit).await?;
        Ok(paging::finish(rows, limit, store::member_key))
    }

    pub async fn authorize_watch(&self, caller: &Caller, team: Option<&TeamId>) -> Result<()> {
        use allot_platform::auth::scopes;
        if caller.is_internal()
            || caller.has_scope(scopes::EVENTS_READ)
            || caller.has_scope(scopes::ADMIN)
        {
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
    /// R-INV-1: the person accepted this team's invitation; their
    /// membership becomes active, with the names they keep in identity.
    pub async fn accept_membership(
        &self,
        tx: &mut WriteTx,
        invitation: &idpb::Invitation,
        account: &idpb::Account,
        event_id: &str,
    ) -> Result<Vec<NewEvent>> {
        let person = Person::from_pb(account, None)?;
        let team = TeamId::parse("team", &invitation.team)
            .map_err(|e| TeamError::Internal(format!("identity sent {e}")))?;
        let Some(m) = store::get_member(tx.conn(), &team, &person.account).await? else {
            // Removed before accepting: nothing to activate.
            return Ok(Vec::new());
        };
        if m.state == MemberState::Active {
            return Ok(Vec::new());
        }
        let changed = Member {
            state: MemberState::Active,
            given_name: person.given_name,
            family_name: person.family_name,
            ..m.clone()
        };
        store::update_person(tx.conn(), &changed).await?;
        let meta = ChangeMeta {
            actor: Caller::system().name(),
            request_id: event_id.to_owned(),
            now_micros: self.now(),
        };
        Ok(vec![member_updated(&meta, &changed, (m.role, m.guest))])
    }

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
            // R-INV-1: a team that invited the person sees what it typed
            // until the person accepts its invitation.
            if m.state == MemberState::Invited && m.invitation.is_some() {
                continue;
            }
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
            events.push(member_updated(&meta, &changed, (m.role, m.guest)));
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

fn team_updated(meta: &ChangeMeta, team: &Team) -> NewEvent {
    meta.event("team_updated", Some(team.id.name()), |context| pb::Event {
        context: Some(context),
        payload: Some(Payload::TeamUpdated(pb::TeamUpdated {
            team: Some(convert::team(team)),
        })),
    })
}

fn member_updated(meta: &ChangeMeta, m: &Member, previous: (Role, bool)) -> NewEvent {
    meta.event("member_updated", Some(m.team.name()), |context| pb::Event {
        context: Some(context),
        payload: Some(Payload::MemberUpdated(pb::MemberUpdated {
            member: Some(convert::member(m)),
            previous_role: convert::role(previous.0) as i32,
            previous_guest: previous.1,
        })),
    })
}

fn member_added(meta: &ChangeMeta, m: &Member) -> NewEvent {
    meta.event("member_added", Some(m.team.name()), |context| pb::Event {
        context: Some(context),
        payload: Some(Payload::MemberAdded(pb::MemberAdded {
            member: Some(convert::member(m)),
        })),
    })
}

/// `group_members_added` (or `_removed`) for the accounts whose membership
/// changed; none when nothing did.
pub(crate) fn group_members_event(
    meta: &ChangeMeta,
    group: &Group,
    accounts: Vec<String>,
    added: bool,
) -> Option<NewEvent> {
    if accounts.is_empty() {
        return None;
    }
    let team = Some(group.team.name());
    let g = Some(convert::group(group));
    Some(if added {
        meta.event("group_members_added", team, |context| pb::Event {
            context: Some(context),
            payload: Some(Payload::GroupMembersAdded(pb::GroupMembersAdded {
                group: g,
                accounts,
            })),
        })
    } else {
        meta.event("group_members_removed", team, |context| pb::Event {
            context: Some(context),
            payload: Some(Payload::GroupMembersRemoved(pb::GroupMembersRemoved {
                group: g,
                accounts,
            })),
        })
    })
}

/// `group_created` for a new group.
pub(crate) fn group_created_event(meta: &ChangeMeta, group: &Group) -> NewEvent {
    meta.event("group_created", Some(group.team.name()), |context| {
        pb::Event {
            context: Some(context),
            payload: Some(Payload::GroupCreated(pb::GroupCreated {
                group: Some(convert::group(group)),
            })),
        }
    })
}
