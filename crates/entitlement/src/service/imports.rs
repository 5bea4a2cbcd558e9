//! R-SEAT-3 by CSV: rows of email and product (optionally items and names)
//! assigned as a long-running job. People unknown to the team are invited
//! into it first; existing members only get access. Seat limits hold row by
//! row, and a row that finds no seat says so.

use std::collections::HashMap;

use allot_platform::error::quote;
use allot_platform::ids::{AccountId, ProductId, TeamId};
use allot_platform::jobs::{Job, JobError, NewJob, RowOutcome};
use allot_platform::values::Email;

use crate::domain::{
    Action, AssignmentRow, ImportOutcome, Product, address, authorize, classic_by_user_only,
    parse_assignments_csv,
};
use crate::error::EntitlementError;
use crate::events::operation_finished;
use crate::service::operations::ImportView;
use crate::service::{Catalog, Ctx, Imports, Operations, Outcome, SeatRequest, Seats};

type Result<T> = std::result::Result<T, EntitlementError>;

/// The job kind.
pub const KIND: &str = "import_assignments";
/// Rows per transaction.
const BATCH: usize = 200;

fn outcome_value(o: Outcome) -> ImportOutcome {
    match o {
        Outcome::Assigned => ImportOutcome::Assigned,
        Outcome::AlreadyAssigned => ImportOutcome::AlreadyAssigned,
        Outcome::NoSeat => ImportOutcome::NoSeat,
        Outcome::Refused => ImportOutcome::Refused,
    }
}

/// Rows that were not valid are stored with this outcome.
const INVALID: i32 = ImportOutcome::Invalid.code();

impl Imports<'_> {
    /// Starts an assignment import; returns at once with the operation.
    #[tracing::instrument(name = "entitlement.service.start_assignment_import", skip_all)]
    pub async fn start_assignment_import(
        &self,
        ctx: &Ctx,
        team: &TeamId,
        csv: &[u8],
        validate_only: bool,
        max_rows: usize,
        key: Option<&allot_platform::idempotency::RequestKey>,
    ) -> Result<ImportView> {
        let standing = self.standing(&ctx.caller, team).await?;
        authorize(&ctx.caller, Action::ManageSeats { standing })?;
        let rows = parse_assignments_csv(csv, max_rows)?;
        let id = self
            .jobs()
            .create(NewJob {
                scope: team.as_str(),
                kind: KIND,
                creator: &ctx.caller,
                request_id: &ctx.request_id,
                validate_only,
                input: csv,
                total_rows: rows.len(),
                key,
            })
            .await?;
        tracing::info!(operation = %id, team = %team, rows = rows.len(), validate_only, "assignment import started");
        Operations::of(self)
            .get_operation(&ctx.caller, &format!("operations/{id}"))
            .await
    }

    /// Runs an assignment import to its end (the job worker calls this).
    #[tracing::instrument(name = "entitlement.service.run_assignment_import", skip_all)]
    pub async fn run_assignment_import(&self, job: &Job) -> std::result::Result<(), JobError> {
        let failed = |e: EntitlementError| match e {
            EntitlementError::Db(_) | EntitlementError::Peer { .. } => {
                JobError::Transient(e.to_string())
            }
            other => {
                let status: tonic::Status = other.into();
                JobError::Failed {
                    code: status.code() as i32,
                    message: status.message().to_owned(),
                }
            }
        };
        let input = self
            .jobs()
            .input(&job.id)
            .await
            .map_err(|e| JobError::Transient(e.to_string()))?;
        let rows = parse_assignments_csv(&input, usize::MAX).map_err(failed)?;
        let caller = job.creator_caller().ok_or_else(|| JobError::Failed {
            code: tonic::Code::Internal as i32,
            message: format!("the creator {} is not a caller", job.creator),
        })?;
        let ctx = Ctx {
            caller,
            request_id: job.request_id.clone(),
        };
        let team = TeamId::from_db(job.scope.clone());
        let start = usize::try_from(job.processed).unwrap_or(0);
        for batch in rows.get(start..).unwrap_or_default().chunks(BATCH) {
            self.assignment_batch(job, &ctx, &team, batch)
                .await
                .map_err(failed)?;
        }
        self.finish_import(job, &ctx, None).await.map_err(failed)?;
        tracing::info!(operation = %job.id, "assignment import finished");
        Ok(())
    }

    /// Marks the job done and publishes `operation_finished` in the same
    /// transaction; notification mails the summary to the creator (R-MAIL-3).
    async fn finish_import(
        &self,
        job: &Job,
        ctx: &Ctx,
        error: Option<(i32, String)>,
    ) -> Result<()> {
        let team = TeamId::from_db(job.scope.clone());
        let creator_email = match ctx.caller.account() {
            Some(a) => self
                .members(&team, &[a])
                .await?
                .remove(a)
                .map(|m| m.email)
                .unwrap_or_default(),
            None => String::new(),
        };
        let team_display_name = self
            .directory()
            .team_display_name(&team)
            .await
            .unwrap_or_default();
        let mut tx = self.begin().await?;
        let finished = self.jobs().finish(&mut tx, job, error.clone()).await?;
        let view = Operations::of(self).import_view(finished).await?;
        let summary = match (&error, &view.counts) {
            (Some((_, m)), _) => format!("The import stopped: {m}"),
            (None, Some(c)) => c.summary(job.validate_only),
            _ => String::new(),
        };
        let event = operation_finished(
            &self.meta(ctx),
            &team,
            &view,
            summary,
            creator_email,
            team_display_name,
        );
        self.commit(tx, &[event]).await
    }

    /// Ends a job that cannot go on, with its reason.
    #[tracing::instrument(name = "entitlement.service.fail_job", skip_all)]
    pub async fn fail_job(
        &self,
        job: &Job,
        code: i32,
        message: String,
    ) -> std::result::Result<(), JobError> {
        let ctx = Ctx {
            caller: job
                .creator_caller()
                .ok_or_else(|| JobError::Transient("bad creator".into()))?,
            request_id: job.request_id.clone(),
        };
        self.finish_import(job, &ctx, Some((code, message)))
            .await
            .map_err(|e| JobError::Transient(e.to_string()))
    }

    /// One batch: the rows judged, unknown people invited into the team,
    /// then every valid row's seat taken and its outcome recorded in one
    /// transaction.
    async fn assignment_batch(
        &self,
        job: &Job,
        ctx: &Ctx,
        team: &TeamId,
        batch: &[AssignmentRow],
    ) -> Result<()> {
        let mut outcomes: Vec<Option<RowOutcome>> = vec![None; batch.len()];
        let invalid = |row: &AssignmentRow, message: String| RowOutcome {
            line: i64::from(row.line),
            email: row.email.clone(),
            detail: row.product.clone(),
            outcome: INVALID,
            message,
        };
        // Judge each row: its address, product and items.
        let mut valid: Vec<(usize, Email, Product)> = Vec::new();
        for (i, row) in batch.iter().enumerate() {
            let email = match Email::parse("email", &row.email) {
                Ok(e) => e,
                Err(v) => {
                    outcomes[i] = Some(invalid(row, v.to_string()));
                    continue;
                }
            };
            let Some(product) = self.catalog_product(&row.product).await? else {
                outcomes[i] = Some(invalid(
                    row,
                    format!("product: no product {} in the catalog", quote(&row.product)),
                ));
                continue;
            };
            if let Some(bad) = row.items.iter().find(|it| product.item(it).is_none()) {
                outcomes[i] = Some(invalid(
                    row,
                    format!("items: {} has no item {}", product.id.name(), quote(bad)),
                ));
                continue;
            }
            // R-CLS-3: classic products are assigned by user, never by file.
            if let Some(activation) = Catalog::of(self).activation_in(team, &product.id).await?
                && let Err(e) = classic_by_user_only(team, &product.id, activation, "by CSV")
            {
                outcomes[i] = Some(RowOutcome {
                    outcome: ImportOutcome::Refused.code(),
                    message: e.reason(),
                    ..invalid(row, String::new())
                });
                continue;
            }
            valid.push((i, email, product));
        }
        // Whoever is not in the team yet is invited into it (or added).
        let mut people: HashMap<String, (AccountId, bool)> = HashMap::new();
        let mut addresses: Vec<String> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (i, email, _) in &valid {
            if seen.insert(email.key().to_owned()) {
                addresses.push(address(&batch[*i], email));
            }
        }
        if !addresses.is_empty() && !job.validate_only {
            // R-MAIL-1: invitations name the admin who imports.
            let added = self
                .directory()
                .add_members(team, &addresses.join("; "), ctx.caller.account())
                .await?;
            for a in added {
                people.insert(a.email.to_lowercase(), (a.account, a.invited));
            }
        }
        if job.validate_only {
            for (i, _, product) in &valid {
                outcomes[*i] = Some(RowOutcome {
                    line: i64::from(batch[*i].line),
                    email: batch[*i].email.clone(),
                    detail: batch[*i].product.clone(),
                    outcome: ImportOutcome::Assigned.code(),
                    message: format!(
                        "would be assigned {} (if a seat is free)",
                        product.id.name()
                    ),
                });
            }
        }
        let mut requests = Vec::new();
        let mut request_rows = Vec::new();
        if !job.validate_only {
            for (i, email, product) in &valid {
                match people.get(&email.key().to_lowercase()) {
                    Some((account, _)) => {
                        requests.push(SeatRequest {
                            account: account.clone(),
                            product: product.id.clone(),
                            items: batch[*i].items.clone(),
                        });
                        request_rows.push(*i);
                    }
                    None => {
                        outcomes[*i] = Some(invalid(
                            &batch[*i],
                            "email: could not be added to the team".into(),
                        ));
                    }
                }
            }
        }
        let (mut tx, results, events) = if requests.is_empty() {
            (self.begin().await?, Vec::new(), Vec::new())
        } else {
            Seats::of(self)
                .assign_open(ctx, team, requests, "by user", true)
                .await?
        };
        {
            for (i, r) in request_rows.into_iter().zip(results) {
                let row = &batch[i];
                let invited = Email::parse("email", &row.email)
                    .ok()
                    .and_then(|e| people.get(&e.key().to_lowercase()))
                    .is_some_and(|(_, invited)| *invited);
                let mut message = r.reason;
                if invited {
                    message = if message.is_empty() {
                        "invited to the team".into()
                    } else {
                        format!("invited to the team; {message}")
                    };
                }
                outcomes[i] = Some(RowOutcome {
                    line: i64::from(row.line),
                    email: row.email.clone(),
                    detail: row.product.clone(),
                    outcome: outcome_value(r.outcome).code(),
                    message,
                });
            }
        }
        let recorded: Vec<RowOutcome> = outcomes.into_iter().flatten().collect();
        self.jobs().record(&mut tx, job, &recorded).await?;
        self.commit(tx, &events).await?;
        Ok(())
    }

    /// A product named by id, `products/{id}` or its display name.
    async fn catalog_product(&self, name: &str) -> Result<Option<Product>> {
        let id = name.trim().trim_start_matches("products/");
        if let Ok(pid) = ProductId::parse("product", &format!("products/{id}"))
            && let Some(p) = Seats::of(self).product_by_id(&pid).await?
        {
            return Ok(Some(p));
        }
        Seats::of(self).product_by_display_name(name.trim()).await
    }
}
