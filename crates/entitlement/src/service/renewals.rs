//! Renewal reminders (R-MAIL-4): a term contract with an end date tells
//! its owner 30 and 7 days before the term ends, once each. A sweep finds
//! what is due; the reminder's row and its `renewal_due` event commit
//! together, so a restart neither loses nor repeats one.

use std::time::Duration;

use allot_platform::auth::Caller;
use allot_platform::error::FieldViolation;
use allot_platform::outbox::ChangeMeta;
use sqlx::AnyConnection;
use tokio_util::sync::CancellationToken;

use crate::domain::{Billing, Contract, day_of};
use crate::error::EntitlementError;
use crate::service::{Entitlements, Renewals};

type Result<T> = std::result::Result<T, EntitlementError>;

/// Days before the end of the term at which the owner is reminded.
pub const REMINDER_DAYS: [i64; 2] = [30, 7];

/// The most subscriptions a reminder lists.
const MAX_LISTED_SUBSCRIPTIONS: i64 = 100;

/// A term's end date must be on a TERM contract and after today.
pub fn check_end_day(
    billing: Billing,
    end_day: i64,
    today: i64,
) -> std::result::Result<(), FieldViolation> {
    if billing != Billing::Term {
        return Err(FieldViolation::new(
            "contract.end_date",
            "only TERM contracts end; pay-per-use contracts have no end date",
        ));
    }
    if end_day <= today {
        return Err(FieldViolation::new(
            "contract.end_date",
            "must be after today",
        ));
    }
    Ok(())
}

/// What is due for a contract ending on `end_day`, `today`, given the
/// reminders already sent: the one to send (the nearest that applies) and
/// those it makes pointless (a 30-day one missed while the 7-day one is
/// due), which are marked as done without an email.
pub fn due_reminder(end_day: i64, today: i64, sent: &[i64]) -> (Option<i64>, Vec<i64>) {
    if today >= end_day {
        return (None, Vec::new());
    }
    let left = end_day - today;
    let mut applicable: Vec<i64> = REMINDER_DAYS
        .iter()
        .copied()
        .filter(|d| left <= *d && !sent.contains(d))
        .collect();
    applicable.sort_unstable();
    match applicable.split_first() {
        None => (None, Vec::new()),
        Some((nearest, skipped)) => (Some(*nearest), skipped.to_vec()),
    }
}

async fn ending_contracts(conn: &mut AnyConnection, today: i64) -> Result<Vec<Contract>> {
    let horizon = today + REMINDER_DAYS.iter().copied().max().unwrap_or(30);
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM contracts WHERE end_day IS NOT NULL AND end_day > $1 AND end_day <= $2 \
         ORDER BY id",
    )
    .bind(today)
    .bind(horizon)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let id = allot_platform::ids::ContractId::from_db(id);
        if let Some(c) = crate::store::get_contract(conn, &id).await? {
            out.push(c);
        }
    }
    Ok(out)
}

async fn sent_reminders(conn: &mut AnyConnection, contract: &str) -> Result<Vec<i64>> {
    Ok(
        sqlx::query_scalar("SELECT days_before FROM renewal_reminders WHERE contract_id = $1")
            .bind(contract)
            .fetch_all(conn)
            .await?,
    )
}

async fn mark_sent(conn: &mut AnyConnection, contract: &str, days: i64, now: i64) -> Result<bool> {
    let n = sqlx::query(
        "INSERT INTO renewal_reminders (contract_id, days_before, send_time) VALUES ($1, $2, $3) \
         ON CONFLICT (contract_id, days_before) DO NOTHING",
    )
    .bind(contract)
    .bind(days)
    .bind(now)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

impl Renewals<'_> {
    /// One sweep: every reminder due now is written with its event.
    #[tracing::instrument(name = "entitlement.service.send_due_reminders", skip_all)]
    pub async fn send_due_reminders(&self) -> Result<usize> {
        let now = self.now_micros();
        let today = day_of(now);
        let contracts = {
            let mut conn = self.outbox().db().conn().await?;
            ending_contracts(&mut conn, today).await?
        };
        let mut sent = 0;
        for c in contracts {
            let Some(end_day) = c.end_day else { continue };
            let mut tx = self.begin().await?;
            let already = sent_reminders(tx.conn(), c.id.as_str()).await?;
            let (send, skip) = due_reminder(end_day, today, &already);
            for d in skip {
                mark_sent(tx.conn(), c.id.as_str(), d, now).await?;
            }
            let mut events = Vec::new();
            if let Some(days) = send
                && mark_sent(tx.conn(), c.id.as_str(), days, now).await?
            {
                // The subscriptions it renews, for the email (a bounded list).
                let subs = crate::store::list_subscriptions(
                    tx.conn(),
                    None,
                    Some(&c.id),
                    None,
                    MAX_LISTED_SUBSCRIPTIONS,
                )
                .await?;
                let meta = ChangeMeta {
                    actor: Caller::system().name(),
                    request_id: format!("renewal/{}/{days}", c.id),
                    now_micros: now,
                };
                events.push(crate::events::renewal_due(&meta, &c, &subs, days));
                sent += 1;
            }
            self.commit(tx, &events).await?;
        }
        Ok(sent)
    }
}

impl Entitlements {
    /// Sweeps every `interval` until `stop`.
    pub fn spawn_renewal_sweeper(
        self: std::sync::Arc<Self>,
        interval: Duration,
        stop: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                match self.renewals().send_due_reminders().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(reminders = n, "renewal reminders due"),
                    Err(e) => {
                        tracing::warn!(error = %e, "renewal sweep failed; trying again later")
                    }
                }
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(interval) => {}
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_mail_4_renewal_reminders_come_30_and_7_days_before_once_each() {
        assert_eq!(due_reminder(100, 60, &[]), (None, vec![]), "40 days left");
        assert_eq!(due_reminder(100, 70, &[]), (Some(30), vec![]));
        assert_eq!(due_reminder(100, 75, &[30]), (None, vec![]), "sent already");
        assert_eq!(due_reminder(100, 93, &[30]), (Some(7), vec![]));
        // Down through the 30-day point: only the 7-day one goes out.
        assert_eq!(due_reminder(100, 95, &[]), (Some(7), vec![30]));
        assert_eq!(due_reminder(100, 100, &[]), (None, vec![]), "ended");
    }

    #[test]
    fn r_mail_4_only_term_contracts_end_and_in_the_future() {
        assert!(check_end_day(Billing::Term, 10, 9).is_ok());
        assert!(check_end_day(Billing::Term, 9, 9).is_err());
        assert!(check_end_day(Billing::PayPerUse, 10, 9).is_err());
    }
}
