//! Group assignments: seats given through a group (R-SEAT-5).

use super::*;

impl Groups<'_> {
    /// The members of a team's group, from the team service.
    #[tracing::instrument(name = "entitlement.service.group_members", skip_all)]
    pub(crate) async fn group_members(
        &self,
        team: &TeamId,
        group: &GroupId,
    ) -> Result<Vec<MemberInfo>> {
        let mut out = Vec::new();
        let mut page_token = String::new();
        loop {
            let (members, next) = self.team.group_members(team, group, &page_token).await?;
            out.extend(
                members
                    .into_iter()
                    .map(|m| MemberInfo { admin: false, ..m }),
            );
            if next.is_empty() {
                return Ok(out);
            }
            page_token = next;
        }
    }

    /// Gives each person a seat from a group assignment; those without one
    /// are reported, the others keep theirs (R-SEAT-5).
    #[tracing::instrument(name = "entitlement.service.seat_group", skip_all)]
    pub(crate) async fn seat_group(
        &self,
        tx: &mut WriteTx,
        meta: &ChangeMeta,
        ga: &GroupAssignmentRow,
        product: &Product,
        people: &[MemberInfo],
    ) -> Result<(Vec<AssignResult>, Vec<NewEvent>)> {
        let mut results = Vec::new();
        let mut events = Vec::new();
        for person in people {
            let seat = Seat {
                team: &ga.team,
                person,
                product,
                items: &ga.items,
                source: Source::Group(ga.id.clone()),
            };
            let r = match Seats::of(self).give_seat(tx, meta, seat).await {
                Ok((outcome, a, evs)) => {
                    events.extend(evs);
                    AssignResult {
                        account: person.account.clone(),
                        product: product.id.clone(),
                        outcome,
                        assignment: Some(a),
                        reason: String::new(),
                    }
                }
                Err(
                    e @ (EntitlementError::NoSeat { .. } | EntitlementError::Precondition { .. }),
                ) => {
                    if matches!(e, EntitlementError::NoSeat { .. }) {
                        crate::service::waiting::wait_for_seat(
                            tx.conn(),
                            &ga.id,
                            &ga.team,
                            &product.id,
                            person,
                            meta.now_micros,
                        )
                        .await?;
                    }
                    AssignResult::refused(&person.account, &product.id, &e)
                }
                Err(e) => return Err(e),
            };
            results.push(r);
        }
        Ok((results, events))
    }

    /// R-SEAT-5: gives a product to every member of a group, now and later.
    #[tracing::instrument(name = "entitlement.service.create_group_assignment", skip_all)]
    pub async fn create_group_assignment(
        &self,
        ctx: &Ctx,
        team: &TeamId,
        group: &GroupId,
        product_id: &ProductId,
        items: Vec<String>,
        key: Option<&RequestKey>,
    ) -> Result<(GroupAssignmentRow, Vec<AssignResult>)> {
        let standing = self.standing(&ctx.caller, team).await?;
        authorize(&ctx.caller, Action::ManageSeats { standing })?;
        if let Some((Some(ga), first)) = self.replayed_batch(ctx, team, key).await? {
            let mut conn = self.db.conn().await?;
            let row = store::get_group_assignment(&mut conn, team, &ga)
                .await?
                .ok_or_else(|| {
                    EntitlementError::not_found(
                        "group assignment",
                        format!("{}/groupAssignments/{ga}", team.name()),
                    )
                })?;
            return Ok((row, first));
        }
        let people = self.group_members(team, group).await?;
        let meta = self.meta(ctx);
        let mut tx = self.begin().await?;
        let product = Catalog::of(self).product_of(&mut tx, product_id).await?;
        let pool = store::get_pool(tx.conn(), team, product_id)
            .await?
            .ok_or_else(|| {
                EntitlementError::not_found("pool", format!("{}/pools/{product_id}", team.name()))
            })?;
        check_classic_by_user(&pool, "by group")?;
        let items = product.select_items("group_assignment.items", &items)?;
        if store::list_group_assignments(tx.conn(), team, Some(group))
            .await?
            .iter()
            .any(|g| g.product == *product_id)
        {
            return Err(EntitlementError::AlreadyExists(format!(
                "group {group} already has {product_id}; change the items of its members' assignments instead"
            )));
        }
        let ga = GroupAssignmentRow {
            id: GroupAssignmentId::generate(),
            team: team.clone(),
            group: group.to_owned(),
            product: product_id.clone(),
            items,
            create_time: meta.now_micros,
        };
        store::insert_group_assignment(tx.conn(), &ga).await?;
        let mut events = vec![group_assignment_changed(&meta, &ga, false)];
        let (results, evs) = self
            .seat_group(&mut tx, &meta, &ga, &product, &people)
            .await?;
        events.extend(evs);
        let answer = crate::service::answers::record(Some(&ga.id), &results);
        idempotency::remember_if(tx.conn(), key, &answer, meta.now_micros).await?;
        self.commit(tx, &events).await?;
        Ok((ga, results))
    }

    #[tracing::instrument(name = "entitlement.service.list_group_assignments", skip_all)]
    pub async fn list_group_assignments(
        &self,
        caller: &Caller,
        team: &TeamId,
    ) -> Result<Vec<GroupAssignmentRow>> {
        let standing = self.standing(caller, team).await?;
        authorize(caller, Action::ReadSeats { standing })?;
        let mut conn = self.db.conn().await?;
        Ok(store::list_group_assignments(&mut conn, team, None).await?)
    }

    /// Removes one group source from an assignment; frees the seat when no
    /// source is left.
    #[tracing::instrument(name = "entitlement.service.drop_source", skip_all)]
    pub(crate) async fn drop_source(
        &self,
        tx: &mut WriteTx,
        meta: &ChangeMeta,
        mut a: Assignment,
        ga: &GroupAssignmentId,
    ) -> Result<Vec<NewEvent>> {
        let before = a.clone();
        store::remove_source(tx.conn(), &a.id, ga).await?;
        a.groups.retain(|g| g != ga);
        if !a.direct && a.groups.is_empty() {
            return Seats::of(self).free_seat(tx, meta, &a).await;
        }
        Ok((a.groups != before.groups)
            .then(|| sources_changed(meta, &a, &before))
            .into_iter()
            .collect())
    }

    #[tracing::instrument(name = "entitlement.service.remove_group_assignment", skip_all)]
    pub(crate) async fn remove_group_assignment(
        &self,
        tx: &mut WriteTx,
        meta: &ChangeMeta,
        ga: &GroupAssignmentRow,
    ) -> Result<Vec<NewEvent>> {
        let mut events = Vec::new();
        crate::service::waiting::close_line(tx.conn(), &ga.id).await?;
        for a in store::assignments_from(tx.conn(), &ga.id).await? {
            events.extend(self.drop_source(tx, meta, a, &ga.id).await?);
        }
        store::delete_group_assignment(tx.conn(), &ga.id).await?;
        events.push(group_assignment_changed(meta, ga, true));
        Ok(events)
    }

    #[tracing::instrument(name = "entitlement.service.delete_group_assignment", skip_all)]
    pub async fn delete_group_assignment(
        &self,
        ctx: &Ctx,
        team: &TeamId,
        id: &GroupAssignmentId,
    ) -> Result<()> {
        let standing = self.standing(&ctx.caller, team).await?;
        authorize(&ctx.caller, Action::ManageSeats { standing })?;
        let meta = self.meta(ctx);
        let mut tx = self.begin().await?;
        let ga = store::get_group_assignment(tx.conn(), team, id)
            .await?
            .ok_or_else(|| {
                EntitlementError::not_found(
                    "group assignment",
                    format!("{}/groupAssignments/{id}", team.name()),
                )
            })?;
        let events = self.remove_group_assignment(&mut tx, &meta, &ga).await?;
        self.commit(tx, &events).await
    }
}
