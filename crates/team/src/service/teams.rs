//! Teams: creating, reading, renaming; the owner's team for a purchase
//! (R-TEAM-1, R-TEAM-3) and the bootstrap team.

use super::*;

impl Settings<'_> {
    /// Creates a team with the caller (or, for Allot itself, `primary_admin`)
    /// as its primary admin (R-ROLE-1).
    #[tracing::instrument(name = "team.service.create_team", skip_all)]
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
        let person = Invitations::of(self).fetch_person(&admin).await?;
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
    #[tracing::instrument(name = "team.service.insert_team_with_admin", skip_all)]
    pub(crate) async fn insert_team_with_admin(
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
        Ok(vec![team_created(meta, team), member_added(meta, &member)])
    }

    #[tracing::instrument(name = "team.service.get_team", skip_all)]
    pub async fn get_team(&self, caller: &Caller, id: &TeamId) -> Result<Team> {
        self.check(caller, id, TeamAction::ReadTeam).await
    }

    /// The teams of the caller, or (for Allot itself) of `member`.
    #[tracing::instrument(name = "team.service.list_teams", skip_all)]
    pub async fn list_teams(
        &self,
        caller: &Caller,
        member: Option<&AccountId>,
        page_size: i32,
        page_token: &str,
    ) -> Result<(Vec<(Team, Role)>, String)> {
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
        Ok(paging::finish(rows, limit, |(t, _)| {
            t.id.as_str().to_owned()
        }))
    }

    /// Renames a team and/or (Allot itself only) changes its plan.
    #[tracing::instrument(name = "team.service.update_team", skip_all)]
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
            events.extend(Roles::follow_plan(&mut tx, &meta, id, plan).await?);
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
    #[tracing::instrument(name = "team.service.ensure_owner_team", skip_all)]
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
        let person = Invitations::of(self).fetch_person(owner).await?;
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

    /// The first team of the bootstrap administrator.
    #[tracing::instrument(name = "team.service.create_bootstrap_team", skip_all)]
    pub async fn create_bootstrap_team(
        &self,
        tx: &mut WriteTx,
        person: Person,
    ) -> Result<Vec<NewEvent>> {
        if store::any_team_exists(tx.conn()).await? {
            return Ok(Vec::new());
        }
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
