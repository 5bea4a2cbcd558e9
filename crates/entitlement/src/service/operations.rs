//! The operations of assignment imports as their creator and those who see
//! the team's seats see them: progress, counts and rows (R-SEAT-3 by CSV).

use allot_platform::ids::TeamId;
use allot_platform::jobs::{self, Job};

use crate::domain::{ALL_ROWS_UP_TO, Action, ImportCounts, ImportOutcome, authorize};
use crate::error::EntitlementError;
use crate::service::Operations;

type Result<T> = std::result::Result<T, EntitlementError>;

/// An import job as a caller sees it.
#[derive(Debug, Clone)]
pub struct ImportView {
    pub job: Job,
    /// Once done without error.
    pub counts: Option<ImportCounts>,
    /// Once done without error: the rows the answer lists.
    pub rows: Vec<jobs::RowOutcome>,
}

impl Operations<'_> {
    /// An operation as its creator or an admin of its team may see it.
    #[tracing::instrument(name = "entitlement.service.get_operation", skip_all)]
    pub async fn get_operation(
        &self,
        caller: &allot_platform::auth::Caller,
        name: &str,
    ) -> Result<ImportView> {
        let job = self.visible_job(caller, name).await?;
        self.import_view(job).await
    }

    /// One page of an import's rows in file order, for its creator and
    /// those who see the team's seats (R-SEAT-3 by CSV).
    #[tracing::instrument(name = "entitlement.service.list_import_rows", skip_all)]
    pub async fn list_import_rows(
        &self,
        caller: &allot_platform::auth::Caller,
        name: &str,
        page_size: i32,
        page_token: &str,
    ) -> Result<(Vec<jobs::RowOutcome>, String)> {
        let job = self.visible_job(caller, name).await?;
        self.jobs().row_page(&job, page_size, page_token).await
    }

    /// The job behind `name`, if the caller may see it.
    async fn visible_job(
        &self,
        caller: &allot_platform::auth::Caller,
        name: &str,
    ) -> Result<jobs::Job> {
        let job = self
            .jobs()
            .operation(name, || EntitlementError::not_found("operation", name))
            .await?;
        if job.creator != caller.name() {
            let standing = self
                .standing(caller, &TeamId::from_db(job.scope.clone()))
                .await?;
            authorize(caller, Action::ReadSeats { standing })?;
        }
        Ok(job)
    }

    /// A team's assignment imports, newest first.
    #[tracing::instrument(name = "entitlement.service.list_operations", skip_all)]
    pub async fn list_operations(
        &self,
        caller: &allot_platform::auth::Caller,
        team: &TeamId,
        page_size: i32,
        page_token: &str,
    ) -> Result<(Vec<ImportView>, String)> {
        let standing = self.standing(caller, team).await?;
        authorize(caller, Action::ReadSeats { standing })?;
        let (found, next) = self
            .jobs()
            .page(team.as_str(), page_size, page_token)
            .await??;
        let mut out = Vec::with_capacity(found.len());
        for job in found {
            out.push(self.import_view(job).await?);
        }
        Ok((out, next))
    }

    /// The job with, once it is done without error, its counts and rows
    /// (every row up to [`ALL_ROWS_UP_TO`], else only those not assigned).
    pub(crate) async fn import_view(&self, job: Job) -> Result<ImportView> {
        if !job.done || job.error.is_some() {
            return Ok(ImportView {
                job,
                counts: None,
                rows: Vec::new(),
            });
        }
        let c = self.jobs().counts(&job.id).await?;
        let all = self.jobs().rows(&job.id, None).await?;
        let invited_people: std::collections::HashSet<String> = all
            .iter()
            .filter(|r| r.message.starts_with("invited"))
            .map(|r| r.email.to_lowercase())
            .collect();
        let invited = i32::try_from(invited_people.len()).unwrap_or(i32::MAX);
        let rows = all
            .into_iter()
            .filter(|r| job.total_rows <= ALL_ROWS_UP_TO || !ImportOutcome::is_success(r.outcome))
            .take(jobs::RESPONSE_ROWS)
            .collect();
        Ok(ImportView {
            job,
            counts: Some(ImportCounts::from_codes(&c, invited)),
            rows,
        })
    }
}
