//! Invitations through identity: inviting people, resending, and what
//! accepting one changes in the team (R-INV-1..4, R-INV-7).

use super::*;

impl Invitations<'_> {
    #[tracing::instrument(name = "team.service.fetch_person", skip_all)]
    pub(crate) async fn fetch_person(&self, account: &AccountId) -> Result<Person> {
        self.identity.person(account).await
    }

    /// How the inviter is named in the invitation email.
    #[tracing::instrument(name = "team.service.inviter_name", skip_all)]
    pub(crate) async fn inviter_name(&self, caller: &Caller, team: &TeamId) -> Result<String> {
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
    #[tracing::instrument(name = "team.service.invite", skip_all)]
    pub(crate) async fn invite(
        &self,
        ctx: &Ctx,
        team: &Team,
        people: &[&NewPerson],
    ) -> Result<Vec<Person>> {
        let known: Vec<Option<Person>> = {
            let mut conn = self.db.conn().await?;
            let emails: Vec<&Email> = people.iter().map(|p| &p.email).collect();
            let members = store::members_by_email(&mut conn, &team.id, &emails).await?;
            people
                .iter()
                .map(|p| members.get(p.email.key()).cloned().map(Person::from_member))
                .collect()
        };
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

    #[tracing::instrument(name = "team.service.invite_one", skip_all)]
    pub(crate) async fn invite_one(
        &self,
        ctx: &Ctx,
        team: &Team,
        person: &NewPerson,
    ) -> Result<Person> {
        self.invite(ctx, team, &[person])
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| TeamError::Internal("identity returned no result".into()))
    }

    #[tracing::instrument(name = "team.service.invite_new", skip_all)]
    pub(crate) async fn invite_new(
        &self,
        ctx: &Ctx,
        team: &Team,
        people: &[&NewPerson],
    ) -> Result<Vec<Person>> {
        if people.is_empty() {
            return Ok(Vec::new());
        }
        let batch = InvitationBatch {
            team: &team.id,
            team_display_name: &team.display_name,
            inviter: ctx.caller.name(),
            inviter_display_name: self.inviter_name(&ctx.caller, &team.id).await?,
            people,
        };
        self.identity.invite(batch, &ctx.request_id).await
    }

    /// R-INV-3: sends a pending member's invitation again.
    /// A member of `team` who has not accepted yet, for an admin of it;
    /// an active one is refused with what they accepted and what to do.
    async fn invited_member(
        &self,
        ctx: &Ctx,
        team: &TeamId,
        account: &AccountId,
        accepted: &str,
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
                message: format!("{} has already accepted {accepted}", member.email),
            });
        }
        Ok(member)
    }

    /// R-INV-7: revokes a pending member's invitation and takes them off
    /// the team; an active member is removed with RemoveMember instead.
    #[tracing::instrument(name = "team.service.revoke_invitation", skip_all)]
    pub async fn revoke_invitation(
        &self,
        ctx: &Ctx,
        team: &TeamId,
        account: &AccountId,
    ) -> Result<()> {
        self.invited_member(
            ctx,
            team,
            account,
            "the invitation; remove the member instead",
        )
        .await?;
        Members::of(self).remove_member(ctx, team, account).await
    }

    /// Voids `member`'s pending invitation at identity; one that is no
    /// longer pending (accepted or revoked a moment ago) needs nothing.
    #[tracing::instrument(name = "team.service.revoke_pending", skip_all)]
    pub(crate) async fn revoke_pending(&self, ctx: &Ctx, member: &Member) -> Result<()> {
        let Some(name) = &member.invitation else {
            return Ok(());
        };
        self.identity.revoke_invitation(name, &ctx.request_id).await
    }

    #[tracing::instrument(name = "team.service.resend_invitation", skip_all)]
    pub async fn resend_invitation(
        &self,
        ctx: &Ctx,
        team: &TeamId,
        account: &AccountId,
    ) -> Result<Member> {
        let member = self
            .invited_member(
                ctx,
                team,
                account,
                "an invitation; there is nothing to resend",
            )
            .await?;
        let pending = self
            .identity
            // R-INV-7: only this team's invitation, never another's.
            .open_invitation(account, team)
            .await?
            .ok_or_else(|| TeamError::Precondition {
                kind: "NO_PENDING_INVITATION",
                subject: account.name(),
                message: format!("{} has no pending invitation to resend", member.email),
            })?;
        let invitation = self
            .identity
            .resend_invitation(&pending, &ctx.request_id)
            .await?;
        // R-INV-3: the new link restarts the expiry the admins see.
        let expire_time = invitation.expire_time;
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

    /// Copies a person's state and names into their memberships.
    /// R-INV-1: the person accepted this team's invitation; their
    /// membership becomes active, with the names they keep in identity.
    #[tracing::instrument(name = "team.service.accept_membership", skip_all)]
    pub async fn accept_membership(
        &self,
        tx: &mut WriteTx,
        team: &TeamId,
        person: Person,
        event_id: &str,
    ) -> Result<Vec<NewEvent>> {
        let team = team.clone();
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

    /// After lost identity events (R-INV-2): every INVITED member whose
    /// invitation into the team was accepted becomes ACTIVE, as
    /// `invitation_accepted` would have made them. Returns how many.
    #[tracing::instrument(name = "team.service.reconcile_invited", skip_all)]
    pub async fn reconcile_invited(&self) -> Result<usize> {
        const PAGE: i64 = 500;
        let mut activated = 0;
        let mut after: Option<(String, String)> = None;
        loop {
            let page = {
                let mut conn = self.db.conn().await?;
                let after = after.as_ref().map(|(t, a)| (t.as_str(), a.as_str()));
                store::invited_members(&mut conn, after, PAGE).await?
            };
            let Some(last) = page.last() else {
                return Ok(activated);
            };
            after = Some((
                last.team.as_str().to_owned(),
                last.account.as_str().to_owned(),
            ));
            for m in &page {
                let Some(name) = &m.invitation else {
                    continue;
                };
                let Some(invitation) = self.identity.invitation(name).await? else {
                    continue;
                };
                if !invitation.accepted {
                    continue;
                }
                let person = self.identity.person(&m.account).await?;
                let mut tx = self.begin().await?;
                let events = self
                    .accept_membership(
                        &mut tx,
                        &m.team,
                        person,
                        &format!("reconcile/{}", invitation.name),
                    )
                    .await?;
                activated += events.len();
                self.outbox.commit(tx, &events).await?;
            }
            if page.len() < PAGE as usize {
                return Ok(activated);
            }
        }
    }

    #[tracing::instrument(name = "team.service.refresh_person", skip_all)]
    pub async fn refresh_person(
        &self,
        tx: &mut WriteTx,
        person: Person,
        event_id: &str,
    ) -> Result<Vec<NewEvent>> {
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
