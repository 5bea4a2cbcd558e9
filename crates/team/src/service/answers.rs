//! The first answers of member lists, kept under their request id so a
//! retry gets them back (AIP-155) instead of a second, different answer.

use allot_platform::idempotency::{self, RequestKey};
use allot_platform::ids::{AccountId, TeamId};

use crate::domain::ListedAddress;
use crate::error::TeamError;
use crate::service::{AddOutcome, Core, Ctx, ListOutcome};
use crate::store;

type Result<T> = std::result::Result<T, TeamError>;

/// One entry as stored: the member's account and what happened, or
/// `None` for an entry that was invalid (read again from the request).
type Recorded = Option<(String, AddOutcome)>;

/// The stored form of a list's answer.
pub(crate) fn record(outcomes: &[ListOutcome]) -> String {
    let recorded: Vec<Recorded> = outcomes
        .iter()
        .map(|o| {
            o.result
                .as_ref()
                .ok()
                .map(|(m, outcome)| (m.account.as_str().to_owned(), *outcome))
        })
        .collect();
    serde_json::to_string(&recorded).unwrap_or_default()
}

impl Core {
    /// The first answer of a list retried with the same request id, each
    /// member as they are now; `None` on a first try.
    #[tracing::instrument(name = "team.service.replayed_list", skip_all)]
    pub(crate) async fn replayed_list(
        &self,
        ctx: &Ctx,
        team: &TeamId,
        key: Option<&RequestKey>,
        entries: &[ListedAddress],
    ) -> Result<Option<Vec<ListOutcome>>> {
        if key.is_none() {
            return Ok(None);
        }
        let mut conn = self.db.conn().await?;
        let now = self.meta(ctx).now_micros;
        let Some(first) = idempotency::replayed(&mut conn, key, now).await? else {
            return Ok(None);
        };
        let recorded: Vec<Recorded> = serde_json::from_str(&first)
            .map_err(|e| TeamError::Internal(format!("a stored answer is unreadable: {e}")))?;
        let mut out = Vec::with_capacity(entries.len());
        for (entry, r) in entries.iter().zip(recorded) {
            let result = match (r, &entry.parsed) {
                (Some((account, outcome)), _) => {
                    let account = AccountId::from_db(account);
                    let member = store::get_member(&mut conn, team, &account)
                        .await?
                        .ok_or_else(|| {
                            TeamError::not_found(
                                "member",
                                format!("{}/members/{account}", team.name()),
                            )
                        })?;
                    Ok((member, outcome))
                }
                (None, Err(v)) => Err(vec![v.clone()]),
                (None, Ok(_)) => {
                    return Err(TeamError::Internal(
                        "a stored answer does not match its request".into(),
                    ));
                }
            };
            out.push(ListOutcome {
                input: entry.input.clone(),
                result,
            });
        }
        Ok(Some(out))
    }
}
