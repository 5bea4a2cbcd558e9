//! Groups and their members (R-SEAT-5 is applied by entitlement from the
//! events).

use super::*;

impl Groups<'_> {
    #[tracing::instrument(name = "team.service.group_in", skip_all)]
    pub(crate) async fn group_in(tx: &mut WriteTx, team: &TeamId, id: &GroupId) -> Result<Group> {
        store::get_group(tx.conn(), team, id)
            .await?
            .ok_or_else(|| TeamError::not_found("group", format!("{}/groups/{id}", team.name())))
    }

    #[tracing::instrument(name = "team.service.create_group", skip_all)]
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

    #[tracing::instrument(name = "team.service.get_group", skip_all)]
    pub async fn get_group(&self, caller: &Caller, team: &TeamId, id: &GroupId) -> Result<Group> {
        self.check(caller, team, TeamAction::ReadMembers).await?;
        let mut conn = self.db.conn().await?;
        store::get_group(&mut conn, team, id)
            .await?
            .ok_or_else(|| TeamError::not_found("group", format!("{}/groups/{id}", team.name())))
    }

    #[tracing::instrument(name = "team.service.list_groups", skip_all)]
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

    #[tracing::instrument(name = "team.service.rename_group", skip_all)]
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
        let event = group_updated(&self.meta(ctx), &group);
        self.outbox.commit(tx, &[event]).await?;
        Ok(group)
    }

    /// Deletes a group; its members lose what they held only through it
    /// (R-SEAT-5, applied by entitlement from the event).
    #[tracing::instrument(name = "team.service.delete_group", skip_all)]
    pub async fn delete_group(&self, ctx: &Ctx, team_id: &TeamId, id: &GroupId) -> Result<()> {
        let mut tx = self.begin().await?;
        self.authorize_in(&mut tx, &ctx.caller, team_id, TeamAction::ManageMembers)
            .await?;
        let group = Self::group_in(&mut tx, team_id, id).await?;
        let accounts = store::delete_group(tx.conn(), id).await?;
        let event = group_deleted(&self.meta(ctx), &group, &accounts);
        self.outbox.commit(tx, &[event]).await?;
        Ok(())
    }

    /// Adds team members to a group (all or none: each must be a member).
    #[tracing::instrument(name = "team.service.add_group_members", skip_all)]
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
            Members::member_in(&mut tx, team_id, a).await?;
            if store::add_group_member(tx.conn(), id, a).await? {
                added.push(a.name());
            }
        }
        let group = Self::group_in(&mut tx, team_id, id).await?;
        let events = group_members_event(&self.meta(ctx), &group, added, true);
        self.outbox.commit(tx, events.as_slice()).await?;
        Ok(group)
    }

    #[tracing::instrument(name = "team.service.remove_group_members", skip_all)]
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

    #[tracing::instrument(name = "team.service.list_group_members", skip_all)]
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
}
