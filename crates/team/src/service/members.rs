//! Members: adding one or a list, reading, role and guest changes,
//! removing (R-INV-1, R-ROLE-2, R-TEAM-5).

use std::collections::{HashMap, HashSet};

use super::*;

/// A person joining `team` now, as a member row.
fn new_member(meta: &ChangeMeta, team: &Team, person: Person, role: Role, guest: bool) -> Member {
    Member {
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
    }
}

impl Members<'_> {
    /// Adds one person (R-INV-1, R-INV-6: membership only, no products).
    #[tracing::instrument(name = "team.service.add_member", skip_all)]
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
            Who::Person(p) => Invitations::of(self).invite_one(ctx, &team, p).await?,
            Who::Account(a) => {
                let person = Invitations::of(self).fetch_person(a).await?;
                if crate::domain::adding_an_account_invites(&ctx.caller) {
                    let invitee = NewPerson {
                        given_name: person.given_name,
                        family_name: person.family_name,
                        email: person.email,
                    };
                    Invitations::of(self)
                        .invite_one(ctx, &team, &invitee)
                        .await?
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
    #[tracing::instrument(name = "team.service.add_members", skip_all)]
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
        let answer = crate::service::answers::record(&outcomes);
        idempotency::remember_if(tx.conn(), key, &answer, self.meta(ctx).now_micros).await?;
        self.outbox.commit(tx, &events).await?;
        Ok(outcomes)
    }

    /// Invites the new people of a list, then adds everyone in a
    /// transaction it returns open with the outcomes and events, so the
    /// caller can write more in it before committing.
    #[tracing::instrument(name = "team.service.add_listed", skip_all)]
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
    #[tracing::instrument(name = "team.service.invite_listed", skip_all)]
    pub(crate) async fn invite_listed(
        &self,
        ctx: &Ctx,
        team: &Team,
        entries: &[crate::domain::ListedAddress],
    ) -> Result<Vec<Person>> {
        let valid: Vec<&NewPerson> = entries
            .iter()
            .filter_map(|e| e.parsed.as_ref().ok())
            .collect();
        Invitations::of(self).invite(ctx, team, &valid).await
    }

    /// Adds invited or existing people to the team inside `tx`, checking
    /// the caller's role there; returns each entry's outcome and the events.
    #[allow(clippy::too_many_arguments)]
    #[tracing::instrument(name = "team.service.insert_listed", skip_all)]
    pub(crate) async fn insert_listed(
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
        // One member per valid entry, in order; the new ones written in a
        // few multi-row statements, those already in the team read in one.
        let mut people = people.into_iter();
        let mut planned: Vec<Option<Member>> = Vec::with_capacity(entries.len());
        for entry in &entries {
            planned.push(match &entry.parsed {
                Err(_) => None,
                Ok(_) => {
                    let person = people.next().ok_or_else(|| {
                        TeamError::Internal("identity returned too few results".into())
                    })?;
                    Some(new_member(meta, team, person, role, guest))
                }
            });
        }
        let mut seen = HashSet::new();
        let unique: Vec<Member> = planned
            .iter()
            .flatten()
            .filter(|m| seen.insert(m.account.clone()))
            .cloned()
            .collect();
        let mut added = store::insert_members(tx.conn(), &unique).await?;
        let present: Vec<AccountId> = unique
            .iter()
            .filter(|m| !added.contains(m.account.as_str()))
            .map(|m| m.account.clone())
            .collect();
        let mut existing: HashMap<AccountId, Member> =
            store::get_members(tx.conn(), &team.id, &present)
                .await?
                .into_iter()
                .map(|m| (m.account.clone(), m))
                .collect();
        let mut events = Vec::new();
        let mut outcomes = Vec::with_capacity(entries.len());
        for (entry, member) in entries.into_iter().zip(planned) {
            let result = match (entry.parsed, member) {
                (Err(v), _) => Err(vec![v]),
                (Ok(_), None) => Err(Vec::new()),
                (Ok(_), Some(m)) if added.remove(m.account.as_str()) => {
                    events.push(member_added(meta, &m));
                    let outcome = if m.invitation.is_some() {
                        AddOutcome::Invited
                    } else {
                        AddOutcome::Added
                    };
                    existing.insert(m.account.clone(), m.clone());
                    Ok((m, outcome))
                }
                // A member already, or the same person twice in the list.
                (Ok(_), Some(m)) => {
                    let member = existing.get(&m.account).cloned().unwrap_or(m);
                    Ok((member, AddOutcome::AlreadyMember))
                }
            };
            outcomes.push(ListOutcome {
                input: entry.input,
                result,
            });
        }
        Ok((outcomes, events))
    }

    #[tracing::instrument(name = "team.service.insert_member", skip_all)]
    pub(crate) async fn insert_member(
        &self,
        tx: &mut WriteTx,
        meta: &ChangeMeta,
        team: &Team,
        person: Person,
        role: Role,
        guest: bool,
    ) -> Result<(Member, AddOutcome, Option<NewEvent>)> {
        let invited = person.invitation.is_some();
        let member = new_member(meta, team, person, role, guest);
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

    #[tracing::instrument(name = "team.service.get_member", skip_all)]
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

    #[tracing::instrument(name = "team.service.list_members", skip_all)]
    /// A page of the members `filter` shows, and how many it shows in all.
    pub async fn list_members(
        &self,
        caller: &Caller,
        team: &TeamId,
        filter: &MemberFilter,
        page_size: i32,
        page_token: &str,
    ) -> Result<(Vec<Member>, String, i64)> {
        self.check(caller, team, TeamAction::ReadMembers).await?;
        let limit = paging::page_size(page_size)?;
        let after = paging::decode_token(page_token)?;
        let mut conn = self.db.conn().await?;
        let rows = store::list_members(&mut conn, team, filter, after.as_deref(), limit).await?;
        let total = store::count_members(&mut conn, team, filter).await?;
        let (rows, next) = paging::finish(rows, limit, store::member_key);
        Ok((rows, next, total))
    }

    pub(crate) fn member_subject(team: &TeamId, account: &AccountId) -> String {
        format!("{}/members/{account}", team.name())
    }

    #[tracing::instrument(name = "team.service.member_in", skip_all)]
    pub(crate) async fn member_in(
        tx: &mut WriteTx,
        team: &TeamId,
        account: &AccountId,
    ) -> Result<Member> {
        store::get_member(tx.conn(), team, account)
            .await?
            .ok_or_else(|| TeamError::not_found("member", Self::member_subject(team, account)))
    }

    /// R-ROLE-3, R-ROLE-5, R-ROLE-6, R-ROLE-7: changes a member's role and/or
    /// guest flag.
    #[tracing::instrument(name = "team.service.update_member", skip_all)]
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

    /// R-TEAM-5, R-ROLE-6: removes a member (not an admin) and their place in
    /// the team's groups; entitlement frees their seats from the event.
    #[tracing::instrument(name = "team.service.remove_member", skip_all)]
    pub async fn remove_member(
        &self,
        ctx: &Ctx,
        team_id: &TeamId,
        account: &AccountId,
    ) -> Result<()> {
        self.check(&ctx.caller, team_id, TeamAction::ManageMembers)
            .await?;
        Roles::of(self)
            .check_no_contract_role(team_id, account)
            .await?;
        let before = {
            let mut conn = self.db.conn().await?;
            store::get_member(&mut conn, team_id, account).await?
        };
        if let Some(m) = before.filter(|m| m.state == MemberState::Invited) {
            check_removal(&m, &Self::member_subject(team_id, account))?;
            // R-INV-7: the link of someone taken off the team stops working.
            Invitations::of(self).revoke_pending(ctx, &m).await?;
        }
        let mut tx = self.begin().await?;
        self.authorize_in(&mut tx, &ctx.caller, team_id, TeamAction::ManageMembers)
            .await?;
        let member = Self::member_in(&mut tx, team_id, account).await?;
        check_removal(&member, &Self::member_subject(team_id, account))?;
        store::delete_member(tx.conn(), team_id, account).await?;
        let event = member_removed(&self.meta(ctx), &member);
        self.outbox.commit(tx, &[event]).await?;
        Ok(())
    }

    /// Memberships of several accounts (admins of the team and Allot itself).
    #[tracing::instrument(name = "team.service.batch_get_members", skip_all)]
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
}
