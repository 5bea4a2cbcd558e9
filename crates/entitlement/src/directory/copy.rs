//! Entitlement's copy of the team directory: the teams and who is in each
//! (with their email and whether they are an admin), kept from team's
//! events by the same consumer that frees seats (in the same
//! transactions), and rebuilt from team's current state when it is not
//! whole (first start, or events were lost). Authorization reads it
//! instead of asking team on every call.
//!
//! The copy may trail team by the events in flight. Someone it does not
//! know yet (just added) is asked of team, so adding a person and then
//! giving them a seat works without ceremony. What it still holds but team
//! has taken away (a removal, an admin role revoked) is honoured until the
//! event arrives; a caller that must not see that passes the team cursor
//! (`x-allot-team-cursor`, from a team write's `x-allot-cursor`) and is
//! answered only once the copy has reached it (as Zanzibar's zookies).
//! Group membership is not copied: assigning by group is one bulk call
//! that asks team for the group's current members, a page at a time.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use allot_platform::db::{Db, WriteTx};
use allot_platform::ids::{AccountId, GroupId, TeamId};
use allot_proto::team as tpb;
use allot_proto::team::event::Payload;
use tokio::sync::watch;

use super::{Added, GrpcTeamDirectory, TeamDirectory, member_row};
use crate::error::EntitlementError;
use crate::service::MemberInfo;
use crate::store::{self, DirectoryMember};

type Result<T> = std::result::Result<T, EntitlementError>;

/// The copy, how far it is, and where it is rebuilt from.
pub struct DirectoryCopy {
    db: Db,
    source: GrpcTeamDirectory,
    complete: AtomicBool,
    /// Team's stream position after the last rebuild's last page: until
    /// the copy has applied the stream that far, it may still hold what
    /// older events said (it replays them after a rebuild) and is not read.
    fresh_from: AtomicI64,
    /// The position in team's stream the copy has applied (-1: unknown).
    position: watch::Sender<i64>,
}

impl std::fmt::Debug for DirectoryCopy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectoryCopy")
            .field("complete", &self.complete.load(Ordering::Relaxed))
            .field("fresh_from", &self.fresh_from.load(Ordering::Relaxed))
            .field("position", &*self.position.borrow())
            .finish()
    }
}

impl DirectoryCopy {
    pub fn new(db: Db, source: GrpcTeamDirectory) -> Arc<DirectoryCopy> {
        Arc::new(DirectoryCopy {
            db,
            source,
            complete: AtomicBool::new(false),
            fresh_from: AtomicI64::new(i64::MAX),
            position: watch::Sender::new(-1),
        })
    }

    /// Whether the copy can be read: it is whole and has applied team's
    /// stream past what its last rebuild read.
    pub fn is_complete(&self) -> bool {
        self.complete.load(Ordering::Acquire)
            && *self.position.borrow() >= self.fresh_from.load(Ordering::Acquire)
    }

    /// At start: reads whether the stored copy is whole and how far the
    /// consumer that keeps it got (`cursor`, its saved cursor).
    pub async fn load(&self, cursor: Option<&str>) -> Result<bool> {
        let mut conn = self.db.conn().await?;
        let fresh_from = store::directory_complete(&mut conn).await?;
        if let Some(cursor) = cursor {
            self.advanced(cursor);
        }
        self.fresh_from
            .store(fresh_from.unwrap_or(i64::MAX), Ordering::Release);
        self.complete.store(fresh_from.is_some(), Ordering::Release);
        Ok(fresh_from.is_some())
    }

    /// Rebuilds the copy from team's current state: reads every team and
    /// member (no transaction is held open meanwhile), then replaces the
    /// copy in one transaction. Until the rebuild is done, and until the
    /// consumer has applied team's stream past the last page read, the copy
    /// is not read: team is asked.
    #[tracing::instrument(name = "entitlement.directory.rebuild", skip_all)]
    pub async fn rebuild(&self) -> Result<()> {
        self.complete.store(false, Ordering::Release);
        {
            let mut tx = self.db.begin_write().await?;
            store::set_directory_complete(tx.conn(), None).await?;
            tx.commit().await?;
        }
        let (mut teams, mut rows, mut fresh_from) = (Vec::new(), Vec::new(), 0i64);
        let mut token = String::new();
        loop {
            let page = self.source.all_members(&token).await?;
            teams.extend(page.teams);
            rows.extend(page.members);
            fresh_from = fresh_from.max(page.position);
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }
        let mut tx = self.db.begin_write().await?;
        store::clear_directory(tx.conn()).await?;
        store::upsert_directory_teams(tx.conn(), &teams, 0).await?;
        store::upsert_directory_members(tx.conn(), &rows, 0).await?;
        store::set_directory_complete(tx.conn(), Some(fresh_from)).await?;
        tx.commit().await?;
        self.fresh_from.store(fresh_from, Ordering::Release);
        self.complete.store(true, Ordering::Release);
        tracing::info!(
            members = rows.len(),
            fresh_from,
            "copy of the team directory rebuilt"
        );
        Ok(())
    }

    /// Applies one of team's events to the copy, inside the consumer's
    /// transaction (or the one that parks it: the copy follows team even
    /// when entitlement's own reaction to the event failed). A row a later
    /// event wrote stays as it is.
    pub async fn apply(&self, tx: &mut WriteTx, event: &tpb::Event) -> Result<()> {
        let position = event
            .context
            .as_ref()
            .and_then(|c| c.cursor.parse::<i64>().ok())
            .unwrap_or(0);
        let conn = tx.conn();
        match &event.payload {
            Some(Payload::TeamCreated(tpb::TeamCreated { team: Some(t) }))
            | Some(Payload::TeamUpdated(tpb::TeamUpdated { team: Some(t) })) => {
                if let Ok(id) = TeamId::parse("team", &t.name) {
                    store::upsert_directory_teams(conn, &[(id, t.display_name.clone())], position)
                        .await?;
                }
            }
            Some(Payload::MemberAdded(tpb::MemberAdded { member: Some(m) }))
            | Some(Payload::MemberUpdated(tpb::MemberUpdated {
                member: Some(m), ..
            })) => {
                if let Some(row) = member_row(m) {
                    store::upsert_directory_members(conn, &[row], position).await?;
                }
            }
            Some(Payload::MemberRemoved(tpb::MemberRemoved { member: Some(m) })) => {
                if let Some((team, row)) = member_row(m) {
                    store::remove_directory_member(conn, &team, &row.account, position).await?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The consumer committed everything up to `cursor` of team's stream.
    pub fn advanced(&self, cursor: &str) {
        if let Ok(p) = cursor.parse::<i64>() {
            self.position.send_if_modified(|now| {
                let moved = p > *now;
                if moved {
                    *now = p;
                }
                moved
            });
        }
    }

    /// Waits until the copy has applied team's stream up to `position`,
    /// at most `within`; false when it has not by then.
    pub async fn reached(&self, position: i64, within: Duration) -> bool {
        let mut follow = self.position.subscribe();
        let wait = follow.wait_for(|p| *p >= position);
        matches!(tokio::time::timeout(within, wait).await, Ok(Ok(_)))
    }
}

/// [`TeamDirectory`] from the copy once it is whole (before that, for
/// teams and people it does not know, and for groups, from team); writes
/// go to team.
#[derive(Clone)]
pub struct CopiedTeamDirectory {
    pub copy: Arc<DirectoryCopy>,
    pub team: GrpcTeamDirectory,
}

fn member_info_of(m: DirectoryMember) -> MemberInfo {
    MemberInfo {
        account: m.account,
        email: m.email,
        admin: m.admin,
    }
}

impl CopiedTeamDirectory {
    /// The team's display name when the copy can answer for it.
    async fn known_team(&self, team: &TeamId) -> Result<Option<String>> {
        if !self.copy.is_complete() {
            return Ok(None);
        }
        let mut conn = self.copy.db.conn().await?;
        Ok(store::directory_team(&mut conn, team).await?)
    }
}

#[async_trait::async_trait]
impl TeamDirectory for CopiedTeamDirectory {
    async fn team_display_name(&self, team: &TeamId) -> Result<String> {
        match self.known_team(team).await? {
            Some(name) => Ok(name),
            None => self.team.team_display_name(team).await,
        }
    }

    async fn members(&self, team: &TeamId, accounts: &[String]) -> Result<Vec<MemberInfo>> {
        if self.known_team(team).await?.is_none() {
            return self.team.members(team, accounts).await;
        }
        let ids: Vec<&str> = accounts
            .iter()
            .map(|a| a.strip_prefix("accounts/").unwrap_or(a))
            .collect();
        let mut conn = self.copy.db.conn().await?;
        let mut found: Vec<MemberInfo> = store::directory_members(&mut conn, team, &ids)
            .await?
            .into_iter()
            .map(member_info_of)
            .collect();
        drop(conn);
        if found.len() < ids.len() {
            let known: HashSet<&str> = found.iter().map(|m| m.account.as_str()).collect();
            let unknown: Vec<String> = accounts
                .iter()
                .zip(&ids)
                .filter(|(_, id)| !known.contains(**id))
                .map(|(a, _)| a.clone())
                .collect();
            found.extend(self.team.members(team, &unknown).await?);
        }
        Ok(found)
    }

    async fn group_members(
        &self,
        team: &TeamId,
        group: &GroupId,
        page_token: &str,
    ) -> Result<(Vec<MemberInfo>, String)> {
        self.team.group_members(team, group, page_token).await
    }

    async fn ensure_owner_team(&self, owner: &AccountId) -> Result<TeamId> {
        self.team.ensure_owner_team(owner).await
    }

    async fn add_members(
        &self,
        team: &TeamId,
        addresses: &str,
        on_behalf_of: Option<&AccountId>,
    ) -> Result<Vec<Added>> {
        self.team.add_members(team, addresses, on_behalf_of).await
    }
}
