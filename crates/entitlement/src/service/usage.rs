//! Usage reports (R-USE-2).

use super::*;

impl Usage<'_> {
    /// R-USE-2: per product and day, seats, assigned and distinct users.
    #[tracing::instrument(name = "entitlement.service.usage_report", skip_all)]
    pub async fn usage_report(
        &self,
        caller: &Caller,
        team: &TeamId,
        first: i64,
        last: i64,
    ) -> Result<Vec<UsageRow>> {
        let standing = self.standing(caller, team).await?;
        authorize(caller, Action::ReadSeats { standing })?;
        if last < first {
            return Err(EntitlementError::invalid(
                "end_date",
                "must not be before start_date",
            ));
        }
        if last - first > 3660 {
            return Err(EntitlementError::invalid(
                "end_date",
                "a report covers at most ten years",
            ));
        }
        self.usage.flush().await;
        let mut conn = self.db.conn().await?;
        let history = store::pool_history(&mut conn, team, last).await?;
        let users: HashMap<(String, i64), i64> =
            store::distinct_users(&mut conn, team, first, last)
                .await?
                .into_iter()
                .map(|(p, d, n)| ((p, d), n))
                .collect();
        Ok(crate::report::usage_rows(&history, &users, first, last))
    }
}
