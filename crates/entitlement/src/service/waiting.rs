//! R-SEAT-5's waiting list: a group member left without a seat waits,
//! visibly (a pool's `waiting` count), and gets one as soon as a seat of
//! that pool frees, in the order they came. Leaving the group or the team,
//! or the group assignment going, ends the wait.

use allot_platform::db::WriteTx;
use allot_platform::ids::{AccountId, GroupAssignmentId, ProductId, TeamId};
use allot_platform::outbox::{ChangeMeta, NewEvent};
use sqlx::AnyConnection;

use crate::domain::Source;
use crate::error::EntitlementError;
use crate::service::{Catalog, Core, MemberInfo, Seat, Seats};

type Result<T> = std::result::Result<T, EntitlementError>;

/// Puts a member in line for a seat of the group assignment's pool; a
/// member already waiting keeps their place.
pub(crate) async fn wait_for_seat(
    conn: &mut AnyConnection,
    group_assignment: &GroupAssignmentId,
    team: &TeamId,
    product: &ProductId,
    person: &MemberInfo,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO seat_waits (group_assignment_id, account_id, email, team_id, product_id, since) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (group_assignment_id, account_id) DO NOTHING",
    )
    .bind(group_assignment.as_str())
    .bind(person.account.as_str())
    .bind(&person.email)
    .bind(team.as_str())
    .bind(product.as_str())
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Ends the waits of `account` in `team` (all of them, or of one group
/// assignment).
pub(crate) async fn stop_waiting(
    conn: &mut AnyConnection,
    team: &TeamId,
    account: &AccountId,
    group_assignment: Option<&GroupAssignmentId>,
) -> Result<()> {
    sqlx::query(
        "DELETE FROM seat_waits WHERE team_id = $1 AND account_id = $2 \
         AND ($3 = '' OR group_assignment_id = $3)",
    )
    .bind(team.as_str())
    .bind(account.as_str())
    .bind(group_assignment.map_or("", GroupAssignmentId::as_str))
    .execute(conn)
    .await?;
    Ok(())
}

/// Ends every wait of a group assignment that goes.
pub(crate) async fn close_line(
    conn: &mut AnyConnection,
    group_assignment: &GroupAssignmentId,
) -> Result<()> {
    sqlx::query("DELETE FROM seat_waits WHERE group_assignment_id = $1")
        .bind(group_assignment.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

/// How many wait for a seat of a pool.
pub(crate) async fn waiting(
    conn: &mut AnyConnection,
    team: &TeamId,
    product: &ProductId,
) -> Result<i64> {
    Ok(
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM seat_waits WHERE team_id = $1 AND product_id = $2",
        )
        .bind(team.as_str())
        .bind(product.as_str())
        .fetch_one(conn)
        .await?,
    )
}

impl Core {
    /// A seat of the pool just freed: the longest waiting member gets it,
    /// with their group assignment's items. Inside the freeing transaction.
    #[tracing::instrument(name = "entitlement.service.seat_next_waiting", skip_all)]
    pub(crate) async fn seat_next_waiting(
        &self,
        tx: &mut WriteTx,
        meta: &ChangeMeta,
        team: &TeamId,
        product: &ProductId,
    ) -> Result<Vec<NewEvent>> {
        let next: Option<(String, String, String)> = sqlx::query_as(
            "SELECT group_assignment_id, account_id, email FROM seat_waits \
             WHERE team_id = $1 AND product_id = $2 ORDER BY since, account_id LIMIT 1",
        )
        .bind(team.as_str())
        .bind(product.as_str())
        .fetch_optional(tx.conn())
        .await?;
        let Some((ga_id, account, email)) = next else {
            return Ok(Vec::new());
        };
        let account = AccountId::from_db(account);
        let ga_id = GroupAssignmentId::from_db(ga_id);
        stop_waiting(tx.conn(), team, &account, Some(&ga_id)).await?;
        let Some(ga) = crate::store::get_group_assignment(tx.conn(), team, &ga_id).await? else {
            return Ok(Vec::new());
        };
        let product = Catalog::of(self).product_of(tx, product).await?;
        let person = MemberInfo {
            account,
            email,
            admin: false,
        };
        let seat = Seat {
            team,
            person: &person,
            product: &product,
            items: &ga.items,
            source: Source::Group(ga.id.clone()),
        };
        match Seats::of(self).give_seat(tx, meta, seat).await {
            Ok((_, _, events)) => Ok(events),
            // Still no seat (a classic item limit): back in line, first.
            Err(EntitlementError::NoSeat { .. } | EntitlementError::Precondition { .. }) => {
                wait_for_seat(tx.conn(), &ga.id, team, &product.id, &person, 0).await?;
                Ok(Vec::new())
            }
            Err(e) => Err(e),
        }
    }
}
