//! The first answers of batch assignments, kept under their request id so
//! a retry gets them back (AIP-155) instead of a second, different answer.

use allot_platform::idempotency::{self, RequestKey};
use serde::{Deserialize, Serialize};

use crate::service::{AssignResult, Core, Ctx, Outcome};
use allot_platform::ids::{AccountId, AssignmentId, GroupAssignmentId, ProductId, TeamId};

use crate::domain::{Action, authorize};
use crate::error::EntitlementError;
use crate::store;

type Result<T> = std::result::Result<T, EntitlementError>;

/// One result as stored: the assignment by id, read back on replay.
#[derive(Serialize, Deserialize)]
struct Recorded {
    account: String,
    product: String,
    outcome: Outcome,
    assignment: Option<String>,
    reason: String,
}

/// A batch's first answer as stored.
#[derive(Serialize, Deserialize)]
struct RecordedBatch {
    /// The group assignment a CreateGroupAssignment made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    group_assignment: Option<String>,
    results: Vec<Recorded>,
}

/// A replayed answer: the group assignment's id, if any, and the results.
pub(crate) type Replayed = (Option<GroupAssignmentId>, Vec<AssignResult>);

/// The stored form of a batch's answer.
pub(crate) fn record(
    group_assignment: Option<&GroupAssignmentId>,
    results: &[AssignResult],
) -> String {
    let batch = RecordedBatch {
        group_assignment: group_assignment.map(|g| g.as_str().to_owned()),
        results: results
            .iter()
            .map(|r| Recorded {
                account: r.account.as_str().to_owned(),
                product: r.product.as_str().to_owned(),
                outcome: r.outcome,
                assignment: r.assignment.as_ref().map(|a| a.id.as_str().to_owned()),
                reason: r.reason.clone(),
            })
            .collect(),
    };
    serde_json::to_string(&batch).unwrap_or_default()
}

impl Core {
    /// The first answer of a batch retried with the same request id, each
    /// assignment as it is now (`None` once freed); `None` on a first try.
    #[tracing::instrument(name = "entitlement.service.replayed_batch", skip_all)]
    pub(crate) async fn replayed_batch(
        &self,
        ctx: &Ctx,
        team: &TeamId,
        key: Option<&RequestKey>,
    ) -> Result<Option<Replayed>> {
        if key.is_none() {
            return Ok(None);
        }
        // The answer shows assignments as they are now: only to a caller
        // who may still read them.
        let standing = self.standing(&ctx.caller, team).await?;
        authorize(&ctx.caller, Action::ReadSeats { standing })?;
        let mut conn = self.db.conn().await?;
        let now = self.meta(ctx).now_micros;
        let Some(first) = idempotency::replayed(&mut conn, key, now).await? else {
            return Ok(None);
        };
        let batch: RecordedBatch = serde_json::from_str(&first).map_err(|e| {
            EntitlementError::Internal(format!("a stored answer is unreadable: {e}"))
        })?;
        let mut results = Vec::with_capacity(batch.results.len());
        for r in batch.results {
            let assignment = match r.assignment {
                Some(id) => {
                    store::get_assignment(
                        &mut conn,
                        team,
                        &AssignmentId::from_db(id),
                        store::Read::Plain,
                    )
                    .await?
                }
                None => None,
            };
            results.push(AssignResult {
                account: AccountId::from_db(r.account),
                product: ProductId::from_db(r.product),
                outcome: r.outcome,
                assignment,
                reason: r.reason,
            });
        }
        Ok(Some((
            batch.group_assignment.map(GroupAssignmentId::from_db),
            results,
        )))
    }
}
