//! Entitlement's reactions to the team service's events: its copy of the
//! team directory follows every change (authorization reads it); a
//! removed member's seats are freed (R-TEAM-5); group changes move group
//! seats (R-SEAT-5).

use std::sync::Arc;

use allot_platform::auth::Caller;
use allot_platform::consumer::{HandleError, Handler};
use allot_platform::db::WriteTx;
use allot_platform::ids::{AccountId, GroupId, TeamId, parse_nested};
use allot_platform::outbox::{ChangeMeta, NewEvent};
use allot_proto::team as tpb;
use allot_proto::team::event::Payload;

use crate::directory::DirectoryCopy;
use crate::error::EntitlementError;
use crate::service::Entitlements;

/// The durable name of this consumer's cursor.
pub const CONSUMER: &str = "entitlement.team-events";

/// The team events entitlement follows: all of them, so its copy of the
/// directory knows how far into team's stream it is at every event.
pub const TEAM_EVENTS: &[&str] = &[];

pub struct TeamEvents {
    pub app: Arc<Entitlements>,
    /// The copy of the directory, when entitlement keeps one.
    pub copy: Option<Arc<DirectoryCopy>>,
}

fn handle_error(e: EntitlementError) -> HandleError {
    match e {
        EntitlementError::Db(_) | EntitlementError::Peer { .. } => {
            HandleError::Transient(e.to_string())
        }
        other => HandleError::Permanent(other.to_string()),
    }
}

fn permanent(e: impl std::fmt::Display) -> HandleError {
    HandleError::Permanent(e.to_string())
}

/// `teams/{team}/groups/{group}` of a group in an event.
fn group_of(group: Option<&tpb::Group>) -> Result<(TeamId, GroupId), HandleError> {
    let name = group.map(|g| g.name.as_str()).unwrap_or_default();
    let (team, group) = parse_nested("group", name, "teams", "groups").map_err(permanent)?;
    Ok((TeamId::from_db(team), GroupId::from_db(group)))
}

fn accounts(names: &[String]) -> Result<Vec<AccountId>, HandleError> {
    names
        .iter()
        .map(|n| AccountId::parse("accounts", n).map_err(permanent))
        .collect()
}

impl Handler<tpb::Event> for TeamEvents {
    async fn handle(
        &self,
        tx: &mut WriteTx,
        event: &tpb::Event,
    ) -> Result<Vec<NewEvent>, HandleError> {
        let ctx = event.context.clone().unwrap_or_default();
        let meta = ChangeMeta {
            actor: Caller::system().name(),
            request_id: ctx.id.clone(),
            now_micros: allot_platform::clock::to_micros(self.app.clock().now()),
        };
        let app = &self.app;
        if let Some(copy) = &self.copy {
            copy.apply(tx, event).await.map_err(handle_error)?;
        }
        let result = match &event.payload {
            Some(Payload::MemberRemoved(tpb::MemberRemoved { member: Some(m) })) => {
                let (team, account) =
                    parse_nested("member", &m.name, "teams", "members").map_err(permanent)?;
                app.reactions()
                    .member_removed(
                        tx,
                        &meta,
                        &TeamId::from_db(team),
                        &AccountId::from_db(account),
                    )
                    .await
            }
            Some(Payload::GroupMembersAdded(g)) => {
                let (team, group) = group_of(g.group.as_ref())?;
                app.reactions()
                    .group_members_added(tx, &meta, &team, &group, &accounts(&g.accounts)?)
                    .await
            }
            Some(Payload::GroupMembersRemoved(g)) => {
                let (team, group) = group_of(g.group.as_ref())?;
                app.reactions()
                    .group_members_removed(tx, &meta, &team, &group, &accounts(&g.accounts)?)
                    .await
            }
            Some(Payload::GroupDeleted(g)) => {
                let (team, group) = group_of(g.group.as_ref())?;
                app.reactions()
                    .group_deleted(tx, &meta, &team, &group)
                    .await
            }
            _ => Ok(Vec::new()),
        };
        result.map_err(handle_error)
    }

    fn committed_through(&self, cursor: &str) {
        if let Some(copy) = &self.copy {
            copy.advanced(cursor);
        }
    }

    /// A copy of the directory that is not whole (the first start) is
    /// built from team's current state before any event is handled.
    async fn startup(&self) -> Result<(), HandleError> {
        let Some(copy) = &self.copy else {
            return Ok(());
        };
        let cursor = {
            let mut conn = self.app.outbox().db().conn().await?;
            allot_platform::consumer::load_cursor(&mut conn, CONSUMER).await?
        };
        if copy.load(cursor.as_deref()).await.map_err(handle_error)? {
            return Ok(());
        }
        copy.rebuild().await.map_err(handle_error)
    }

    /// An event entitlement could not react to still changes the copy of
    /// the directory: it follows team, whatever became of the reaction.
    async fn parked(&self, tx: &mut WriteTx, event: &tpb::Event) -> Result<(), HandleError> {
        match &self.copy {
            Some(copy) => copy.apply(tx, event).await.map_err(handle_error),
            None => Ok(()),
        }
    }

    /// After lost events: the copy of the directory is rebuilt, then
    /// (R-TEAM-5) every seat whose holder is no longer a member of its team
    /// is freed, as `member_removed` would have.
    async fn reconcile(&self) -> Result<(), HandleError> {
        if let Some(copy) = &self.copy {
            copy.rebuild().await.map_err(handle_error)?;
        }
        let app = &self.app;
        let holders = {
            let mut conn = app.outbox().db().conn().await?;
            crate::store::seat_holders(&mut conn).await?
        };
        let mut by_team: std::collections::BTreeMap<TeamId, Vec<AccountId>> = Default::default();
        for (team, account) in holders {
            by_team.entry(team).or_default().push(account);
        }
        let mut freed = 0usize;
        for (team, accounts) in by_team {
            let refs: Vec<&AccountId> = accounts.iter().collect();
            let members = match app.members(&team, &refs).await {
                Ok(m) => m,
                // A deleted team has no members left.
                Err(EntitlementError::Peer { status, .. })
                    if status.code() == tonic::Code::NotFound =>
                {
                    Default::default()
                }
                Err(e) => return Err(handle_error(e)),
            };
            for account in accounts.iter().filter(|a| !members.contains_key(*a)) {
                let meta = ChangeMeta {
                    actor: Caller::system().name(),
                    request_id: format!("reconcile/{}", account.as_str()),
                    now_micros: allot_platform::clock::to_micros(app.clock().now()),
                };
                let mut tx = app.begin().await.map_err(handle_error)?;
                let events = app
                    .reactions()
                    .member_removed(&mut tx, &meta, &team, account)
                    .await
                    .map_err(handle_error)?;
                freed += events.len();
                app.commit(tx, &events).await.map_err(handle_error)?;
            }
        }
        tracing::info!(
            consumer = CONSUMER,
            freed,
            "reconciled seats with team members"
        );
        Ok(())
    }
}
