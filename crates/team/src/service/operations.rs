//! The operations of member imports as their creator and the team's admins
//! see them: progress, counts and rows (R-INV-5).

use allot_platform::auth::Caller;
use allot_platform::ids::TeamId;
use allot_platform::jobs::{self, Job, RowOutcome};

use crate::domain::{ALL_ROWS_UP_TO, ImportCounts, ImportOutcome, TeamAction};
use crate::error::TeamError;
use crate::service::Operations;

type Result<T> = std::result::Result<T, TeamError>;

/// An import job as a caller sees it.
#[derive(Debug, Clone)]
pub struct ImportView {
    pub job: Job,
    /// Once done without error.
    pub counts: Option<ImportCounts>,
    /// Once done without error: the rows the answer lists.
    pub rows: Vec<RowOutcome>,
}

impl Operations<'_> {
    /// The operation as a caller may see it: its creator, or an admin of
    /// its team.
    #[tracing::instrument(name = "team.service.get_operation", skip_all)]
    pub async fn get_operation(&self, caller: &Caller, name: &str) -> Result<ImportView> {
        let job = self.visible_job(caller, name).await?;
        self.view(job).await
    }

    /// One page of an import's rows in file order, for its creator and the
    /// team's admins (R-INV-5).
    #[tracing::instrument(name = "team.service.list_import_rows", skip_all)]
    pub async fn list_import_rows(
        &self,
        caller: &Caller,
        name: &str,
        page_size: i32,
        page_token: &str,
    ) -> Result<(Vec<RowOutcome>, String)> {
        let job = self.visible_job(caller, name).await?;
        self.jobs.row_page(&job, page_size, page_token).await
    }

    /// The job behind `name`, if the caller may see it.
    async fn visible_job(&self, caller: &Caller, name: &str) -> Result<Job> {
        let job = self
            .jobs
            .operation(name, || TeamError::not_found("operation", name))
            .await?;
        if job.creator != caller.name() {
            self.check(
                caller,
                &TeamId::from_db(job.scope.clone()),
                TeamAction::ManageMembers,
            )
            .await
            .map_err(|e| match e {
                TeamError::PermissionDenied(_) => TeamError::PermissionDenied(
                    "only its creator and the team's admins see an operation".into(),
                ),
                other => other,
            })?;
        }
        Ok(job)
    }

    /// The team's operations, newest first.
    #[tracing::instrument(name = "team.service.list_operations", skip_all)]
    pub async fn list_operations(
        &self,
        caller: &Caller,
        team: &TeamId,
        page_size: i32,
        page_token: &str,
    ) -> Result<(Vec<ImportView>, String)> {
        self.check(caller, team, TeamAction::ManageMembers).await?;
        let (found, next) = self
            .jobs
            .page(team.as_str(), page_size, page_token)
            .await??;
        let mut out = Vec::with_capacity(found.len());
        for job in found {
            out.push(self.view(job).await?);
        }
        Ok((out, next))
    }

    /// The job with, once it is done without error, its counts and rows
    /// (every row up to [`ALL_ROWS_UP_TO`], else only the invalid ones).
    pub(crate) async fn view(&self, job: Job) -> Result<ImportView> {
        if !job.done || job.error.is_some() {
            return Ok(ImportView {
                job,
                counts: None,
                rows: Vec::new(),
            });
        }
        let counts = ImportCounts::from_codes(&self.jobs.counts(&job.id).await?);
        let only = (job.total_rows > ALL_ROWS_UP_TO).then_some(ImportOutcome::Invalid.code());
        let mut rows = self.jobs.rows(&job.id, only).await?;
        rows.truncate(jobs::RESPONSE_ROWS);
        Ok(ImportView {
            job,
            counts: Some(counts),
            rows,
        })
    }
}
