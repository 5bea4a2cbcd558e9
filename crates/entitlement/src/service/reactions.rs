//! What entitlement does when team changes: members removed, groups
//! changed (reactions to team events).

use super::*;

impl Reactions<'_> {
    /// R-TEAM-5: a removed member's seats in the team are freed.
    #[tracing::instrument(name = "entitlement.service.member_removed", skip_all)]
    pub async fn member_removed(
        &self,
        tx: &mut WriteTx,
        meta: &ChangeMeta,
        team: &TeamId,
        account: &AccountId,
    ) -> Result<Vec<NewEvent>> {
        crate::service::waiting::stop_waiting(tx.conn(), team, account, None).await?;
        let mut events = Vec::new();
        for a in store::assignments_of(tx.conn(), team, account).await? {
            events.extend(Seats::of(self).free_seat(tx, meta, &a).await?);
        }
        Ok(events)
    }

    /// R-SEAT-5: people who join a group get its products.
    #[tracing::instrument(name = "entitlement.service.group_members_added", skip_all)]
    pub async fn group_members_added(
        &self,
        tx: &mut WriteTx,
        meta: &ChangeMeta,
        team: &TeamId,
        group: &GroupId,
        accounts: &[AccountId],
    ) -> Result<Vec<NewEvent>> {
        let gas = store::list_group_assignments(tx.conn(), team, Some(group)).await?;
        if gas.is_empty() {
            return Ok(Vec::new());
        }
        let refs: Vec<&AccountId> = accounts.iter().collect();
        let members = self.members(team, &refs).await?;
        let people: Vec<MemberInfo> = accounts
            .iter()
            .filter_map(|a| members.get(a).cloned())
            .collect();
        let mut events = Vec::new();
        for ga in gas {
            let product = Catalog::of(self).product_of(tx, &ga.product).await?;
            let (results, evs) = Groups::of(self)
                .seat_group(tx, meta, &ga, &product, &people)
                .await?;
            for r in results
                .iter()
                .filter(|r| r.outcome == Outcome::NoSeat || r.outcome == Outcome::Refused)
            {
                tracing::warn!(team = %team, group = %group, account = %r.account, product = %r.product, reason = %r.reason, "a new group member got no seat");
            }
            events.extend(evs);
        }
        Ok(events)
    }

    /// R-SEAT-5: people who leave a group lose what they held only through it.
    #[tracing::instrument(name = "entitlement.service.group_members_removed", skip_all)]
    pub async fn group_members_removed(
        &self,
        tx: &mut WriteTx,
        meta: &ChangeMeta,
        team: &TeamId,
        group: &GroupId,
        accounts: &[AccountId],
    ) -> Result<Vec<NewEvent>> {
        let mut events = Vec::new();
        for ga in store::list_group_assignments(tx.conn(), team, Some(group)).await? {
            for account in accounts {
                crate::service::waiting::stop_waiting(tx.conn(), team, account, Some(&ga.id))
                    .await?;
            }
            for a in store::assignments_from(tx.conn(), &ga.id).await? {
                if accounts.contains(&a.account) {
                    events.extend(Groups::of(self).drop_source(tx, meta, a, &ga.id).await?);
                }
            }
        }
        Ok(events)
    }

    /// A deleted group's products go from its members (R-SEAT-5).
    #[tracing::instrument(name = "entitlement.service.group_deleted", skip_all)]
    pub async fn group_deleted(
        &self,
        tx: &mut WriteTx,
        meta: &ChangeMeta,
        team: &TeamId,
        group: &GroupId,
    ) -> Result<Vec<NewEvent>> {
        let mut events = Vec::new();
        for ga in store::list_group_assignments(tx.conn(), team, Some(group)).await? {
            events.extend(
                Groups::of(self)
                    .remove_group_assignment(tx, meta, &ga)
                    .await?,
            );
        }
        Ok(events)
    }

    pub fn authorize_watch(&self, caller: &Caller) -> Result<()> {
        authorize(caller, Action::Watch)
    }

    /// The check's index, waiting for its position (for consumers' commits).
    #[tracing::instrument(name = "entitlement.service.wait_applied", skip_all)]
    pub async fn wait_applied(&self, position: i64) {
        self.projection.wait_applied(position).await;
    }
}
