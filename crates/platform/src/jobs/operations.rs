//! Jobs as long-running operations, the part every job owner shares: the
//! job a name points at, and its rows page by page. Who may see a job is the
//! owner's rule; each owner checks it on the job this returns.

use super::{Job, Jobs, RowOutcome, operation_id};
use crate::error::FieldViolation;
use crate::paging;

impl Jobs {
    /// The job `name` (`operations/{id}`) points at; INVALID_ARGUMENT for a
    /// malformed name, `not_found` when there is none.
    pub async fn operation<E>(&self, name: &str, not_found: impl FnOnce() -> E) -> Result<Job, E>
    where
        E: From<FieldViolation> + From<sqlx::Error>,
    {
        let id = operation_id(name)?;
        self.get(id).await?.ok_or_else(not_found)
    }

    /// One page of a job's rows in file order, and the next page's token.
    pub async fn row_page<E>(
        &self,
        job: &Job,
        page_size: i32,
        page_token: &str,
    ) -> Result<(Vec<RowOutcome>, String), E>
    where
        E: From<FieldViolation> + From<sqlx::Error>,
    {
        let limit = paging::page_size(page_size)?;
        let after = paging::decode_token(page_token)?;
        let rows = self.rows_page(&job.id, after.as_deref(), limit + 1).await?;
        Ok(paging::finish(rows, limit, RowOutcome::key))
    }
}
