//! Roles that follow from elsewhere: the primary admin hand-over
//! (R-ROLE-1), the contract roles (R-CLS-1, R-CLS-6) and the plan
//! (R-ROLE-5).

use super::*;

impl Roles<'_> {
    /// R-ROLE-4: hands the primary admin role to another member; the former
    /// primary admin becomes a secondary admin in the same transaction.
    #[tracing::instrument(name = "team.service.transfer_primary_admin", skip_all)]
    pub async fn transfer_primary_admin(
        &self,
        ctx: &Ctx,
        team_id: &TeamId,
        new_primary: &AccountId,
    ) -> Result<Team> {
        let mut tx = self.begin().await?;
        self.authorize_in(&mut tx, &ctx.caller, team_id, TeamAction::ManageMembers)
            .await?;
        let new = Members::member_in(&mut tx, team_id, new_primary).await?;
        check_transfer(&new, &Members::member_subject(team_id, new_primary))?;
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

    /// R-CLS-6: the contract manager and the software coordinator of a
    /// classic contract held by the team stay until their role passes on.
    /// Read from the roles followed from entitlement's events, so removals
    /// work while entitlement is unavailable.
    #[tracing::instrument(name = "team.service.check_no_contract_role", skip_all)]
    pub(crate) async fn check_no_contract_role(
        &self,
        team: &TeamId,
        account: &AccountId,
    ) -> Result<()> {
        let held = {
            let mut conn = self.db.conn().await?;
            store::contract_role_of(&mut conn, &team.name(), &account.name()).await?
        };
        crate::domain::check_no_contract_role(held, &Members::member_subject(team, account))
    }

    /// Follows a contract's manager: a member who becomes it is made a
    /// secondary admin unless already an admin (R-CLS-1); and a classic
    /// contract's manager and coordinator are kept for R-CLS-6.
    #[tracing::instrument(name = "team.service.follow_contract", skip_all)]
    pub async fn follow_contract(
        &self,
        tx: &mut WriteTx,
        contract: &ContractRoles,
        event_id: &str,
    ) -> Result<Vec<NewEvent>> {
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
        if !contract.classic {
            return Ok(events);
        }
        store::save_contract_roles(
            tx.conn(),
            &contract.name,
            &contract.team,
            &contract.owner,
            &contract.coordinator,
        )
        .await?;
        Ok(events)
    }

    /// R-ROLE-5: a team is premium while it holds a premium subscription.
    /// After lost entitlement events (R-CLS-1, R-CLS-6, R-ROLE-5): reads
    /// every contract from entitlement and follows it as its events would
    /// have: contract managers made admins, classic roles kept, plans
    /// derived from premium subscriptions. Returns how many changes.
    #[tracing::instrument(name = "team.service.reconcile_contracts", skip_all)]
    pub async fn reconcile_contracts(&self) -> Result<usize> {
        let mut changed = 0;
        let mut page_token = String::new();
        loop {
            let (contracts, next) = self.entitlement.contracts(&page_token).await?;
            for contract in &contracts {
                let id = format!("reconcile/{}", contract.name);
                let mut tx = self.begin().await?;
                let mut events = self.follow_contract(&mut tx, contract, &id).await?;
                for (sub, team) in &contract.premium_subscriptions {
                    let Ok(team) = TeamId::parse("team", team) else {
                        continue;
                    };
                    events.extend(
                        self.place_premium_subscription(&mut tx, sub, Some(&team), &id)
                            .await?,
                    );
                }
                changed += events.len();
                self.outbox.commit(tx, &events).await?;
            }
            if next.is_empty() {
                return Ok(changed);
            }
            page_token = next;
        }
    }

    #[tracing::instrument(name = "team.service.place_premium_subscription", skip_all)]
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
    #[tracing::instrument(name = "team.service.follow_plan", skip_all)]
    pub(crate) async fn follow_plan(
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
}
