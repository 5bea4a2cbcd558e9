//! CSV imports of people (R-INV-5), run as platform jobs, and the
//! operations that report on them.

use std::sync::Arc;

use allot_platform::ids::{AccountId, TeamId};
use allot_platform::jobs::{Job, JobError, NewJob, RowOutcome};
use tokio_util::sync::CancellationToken;

use crate::domain::{ImportOutcome, ImportRow, parse_members_csv};
use crate::domain::{Role, TeamAction};
use crate::error::TeamError;
use crate::events::operation_finished;
use crate::service::operations::ImportView;
use crate::service::{AddOutcome, Ctx, Imports, Members, Operations};

type Result<T> = std::result::Result<T, TeamError>;

/// The job kind.
const KIND: &str = "import_members";
/// Rows handled per transaction: one call to identity for the batch's
/// invitations (it takes up to 1,000), one commit.
const BATCH: usize = 1000;

fn outcome_of(o: AddOutcome) -> ImportOutcome {
    match o {
        AddOutcome::Invited => ImportOutcome::Invited,
        AddOutcome::Added => ImportOutcome::Added,
        AddOutcome::AlreadyMember => ImportOutcome::AlreadyMember,
    }
}

fn job_error(e: TeamError) -> JobError {
    match e {
        TeamError::Db(_) | TeamError::Peer { .. } => JobError::Transient(e.to_string()),
        other => {
            let status: tonic::Status = other.into();
            JobError::Failed {
                code: status.code() as i32,
                message: status.message().to_owned(),
            }
        }
    }
}

impl crate::service::Teams {
    /// Runs import jobs until `stop`, resuming those a previous process
    /// left unfinished.
    pub fn spawn_jobs(self: &Arc<Self>, stop: CancellationToken) -> tokio::task::JoinHandle<()> {
        let (run, fail) = (self.clone(), self.clone());
        self.jobs.spawn(
            stop,
            move |job| {
                let app = run.clone();
                async move { app.imports().run_import(&job).await.map_err(job_error) }
            },
            move |job, code, message| {
                let app = fail.clone();
                async move {
                    app.imports()
                        .finish(&job, Some((code, message)), None)
                        .await
                        .map_err(|e| JobError::Transient(e.to_string()))
                }
            },
        )
    }
}

impl Imports<'_> {
    /// R-INV-5: checks the file whole and starts the import job; returns at
    /// once with the operation.
    #[tracing::instrument(name = "team.service.start_import", skip_all)]
    pub async fn start_import(
        &self,
        ctx: &Ctx,
        team_id: &TeamId,
        csv: &[u8],
        validate_only: bool,
        max_rows: usize,
        key: Option<&allot_platform::idempotency::RequestKey>,
    ) -> Result<ImportView> {
        self.check(&ctx.caller, team_id, TeamAction::ManageMembers)
            .await?;
        let rows = parse_members_csv(csv, max_rows)?;
        let id = self
            .jobs
            .create(NewJob {
                scope: team_id.as_str(),
                kind: KIND,
                creator: &ctx.caller,
                request_id: &ctx.request_id,
                validate_only,
                input: csv,
                total_rows: rows.len(),
                key,
            })
            .await?;
        tracing::info!(operation = %id, team = %team_id, rows = rows.len(), validate_only, "import started");
        Operations::of(self)
            .get_operation(&ctx.caller, &format!("operations/{id}"))
            .await
    }

    async fn run_import(&self, job: &Job) -> Result<()> {
        let input = self.jobs.input(&job.id).await?;
        let rows = parse_members_csv(&input, usize::MAX)?;
        let ctx = Ctx {
            caller: job
                .creator_caller()
                .ok_or_else(|| TeamError::Internal(format!("bad creator {}", job.creator)))?,
            request_id: job.request_id.clone(),
        };
        let team_id = TeamId::from_db(job.scope.clone());
        let team = self
            .check(&ctx.caller, &team_id, TeamAction::ManageMembers)
            .await?;
        let start = usize::try_from(job.processed).unwrap_or(0);
        for batch in rows.get(start..).unwrap_or_default().chunks(BATCH) {
            if job.validate_only {
                self.validate_batch(job, &team.id, batch).await?;
            } else {
                self.import_batch(job, &ctx, &team, batch).await?;
            }
        }
        let products = self.assign_products(job, &rows).await?;
        self.finish(job, None, products).await
    }

    /// Adds one batch: members, row outcomes and progress in one commit.
    async fn import_batch(
        &self,
        job: &Job,
        ctx: &Ctx,
        team: &crate::domain::Team,
        batch: &[ImportRow],
    ) -> Result<()> {
        let entries: Vec<_> = batch.iter().map(ImportRow::to_listed).collect();
        let (mut tx, outcomes, mut events) = Members::of(self)
            .add_listed(ctx, team, entries, Role::User, false)
            .await?;
        // The group column: each named group, made when missing, gets the
        // row's person.
        let mut groups: Vec<(String, Vec<AccountId>)> = Vec::new();
        for (row, o) in batch.iter().zip(&outcomes) {
            if let Ok((member, _)) = &o.result {
                for g in &row.groups {
                    match groups
                        .iter_mut()
                        .find(|(name, _)| name.eq_ignore_ascii_case(g))
                    {
                        Some((_, accounts)) => accounts.push(member.account.clone()),
                        None => groups.push((g.clone(), vec![member.account.clone()])),
                    }
                }
            }
        }
        let meta = self.meta(ctx);
        for (name, accounts) in &groups {
            events.extend(
                self.fill_group(&mut tx, &meta, &team.id, name, accounts)
                    .await?,
            );
        }
        let results: Vec<RowOutcome> = batch
            .iter()
            .zip(outcomes)
            .map(|(row, o)| {
                let (outcome, message) = match o.result {
                    Ok((_, out)) => (outcome_of(out), String::new()),
                    Err(v) => (
                        ImportOutcome::Invalid,
                        v.iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join("; "),
                    ),
                };
                RowOutcome {
                    line: i64::from(row.line),
                    email: row.email.clone(),
                    detail: String::new(),
                    outcome: outcome.code(),
                    message,
                }
            })
            .collect();
        self.jobs.record(&mut tx, job, &results).await?;
        self.outbox.commit(tx, &events).await?;
        Ok(())
    }

    /// Puts people into the group with this display name, making the group
    /// when the team has none; returns the events.
    async fn fill_group(
        &self,
        tx: &mut allot_platform::db::WriteTx,
        meta: &allot_platform::outbox::ChangeMeta,
        team: &TeamId,
        name: &str,
        accounts: &[AccountId],
    ) -> Result<Vec<allot_platform::outbox::NewEvent>> {
        let mut events = Vec::new();
        let group = match crate::store::group_by_display_name(tx.conn(), team, name).await? {
            Some(g) => g,
            None => {
                let display_name = crate::domain::parse_team_name("group", name)?;
                let g = crate::domain::Group {
                    id: allot_platform::ids::GroupId::generate(),
                    team: team.clone(),
                    display_name,
                    create_time: meta.now_micros,
                    member_count: 0,
                };
                crate::store::insert_group(tx.conn(), &g).await?;
                events.push(crate::service::group_created_event(meta, &g));
                g
            }
        };
        let mut added = Vec::new();
        for a in accounts {
            if crate::store::add_group_member(tx.conn(), &group.id, a).await? {
                added.push(a.name());
            }
        }
        events.extend(crate::service::group_members_event(
            meta, &group, added, true,
        ));
        Ok(events)
    }

    /// The product column: entitlement assigns the products of the rows
    /// whose people are now members, as its own import job (R-SEAT-3).
    /// Returns that job's name.
    async fn assign_products(&self, job: &Job, rows: &[ImportRow]) -> Result<Option<String>> {
        use allot_platform::csvfile::neutralise;
        let mut csv = csv::Writer::from_writer(Vec::new());
        let failed = |e: csv::Error| TeamError::Internal(format!("writing CSV: {e}"));
        csv.write_record(["email", "product"]).map_err(failed)?;
        let mut any = false;
        for row in rows.iter().filter(|r| r.to_listed().parsed.is_ok()) {
            for p in &row.products {
                csv.write_record([neutralise(&row.email), neutralise(p)])
                    .map_err(failed)?;
                any = true;
            }
        }
        if !any || job.validate_only {
            return Ok(None);
        }
        let csv = csv
            .into_inner()
            .map_err(|e| TeamError::Internal(format!("writing CSV: {e}")))?;
        // R-MAIL-3: the nested job is the admin's, and mails them.
        let on_behalf_of = job
            .creator_caller()
            .and_then(|c| c.account().map(|a| a.name()))
            .unwrap_or_default();
        let op = self
            .entitlement
            .import_assignments(&TeamId::from_db(job.scope.clone()), csv, on_behalf_of)
            .await?;
        Ok(Some(op))
    }

    /// A dry run of one batch: what would happen, nothing added.
    async fn validate_batch(&self, job: &Job, team: &TeamId, batch: &[ImportRow]) -> Result<()> {
        let mut tx = self.begin().await?;
        let parsed: Vec<_> = batch.iter().map(|row| row.to_listed().parsed).collect();
        let emails: Vec<_> = parsed
            .iter()
            .filter_map(|p| p.as_ref().ok().map(|p| &p.email))
            .collect();
        let members = crate::store::members_by_email(tx.conn(), team, &emails).await?;
        let mut results = Vec::with_capacity(batch.len());
        for (row, parsed) in batch.iter().zip(parsed) {
            let (outcome, message) = match parsed {
                Err(v) => (ImportOutcome::Invalid, v.to_string()),
                Ok(p) => {
                    if members.contains_key(p.email.key()) {
                        (ImportOutcome::AlreadyMember, String::new())
                    } else {
                        (
                            ImportOutcome::Added,
                            "would be added (invited first if they have no account)".into(),
                        )
                    }
                }
            };
            results.push(RowOutcome {
                line: i64::from(row.line),
                email: row.email.clone(),
                detail: String::new(),
                outcome: outcome.code(),
                message,
            });
        }
        self.jobs.record(&mut tx, job, &results).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Marks the job done (with its error, if it failed as a whole) and
    /// publishes `operation_finished` in the same transaction, which mails
    /// the creator (R-MAIL-3).
    async fn finish(
        &self,
        job: &Job,
        error: Option<(i32, String)>,
        products: Option<String>,
    ) -> Result<()> {
        let team_id = TeamId::from_db(job.scope.clone());
        let mut tx = self.begin().await?;
        let finished = self.jobs.finish(&mut tx, job, error.clone()).await?;
        let (creator_email, team_display_name) = {
            let team = crate::store::get_team(tx.conn(), &team_id).await?;
            let email = match AccountId::parse("creator", &job.creator) {
                Ok(a) => crate::store::get_member(tx.conn(), &team_id, &a)
                    .await?
                    .map(|m| m.email.as_str().to_owned())
                    .unwrap_or_default(),
                Err(_) => String::new(),
            };
            (email, team.map(|t| t.display_name).unwrap_or_default())
        };
        // Counts and rows come from earlier, committed batches.
        let view = Operations::of(self).view(finished).await?;
        let c = view.counts.unwrap_or_default();
        let mut summary = match &error {
            Some((_, m)) => format!("The import stopped: {m}"),
            None => c.summary(job.validate_only),
        };
        if let Some(op) = products {
            summary.push_str(&format!(
                " The products of the file are being assigned in {op}."
            ));
        }
        let ctx = Ctx {
            caller: job
                .creator_caller()
                .ok_or_else(|| TeamError::Internal(format!("bad creator {}", job.creator)))?,
            request_id: job.request_id.clone(),
        };
        let event = operation_finished(
            &self.meta(&ctx),
            &team_id,
            &view,
            summary,
            creator_email,
            team_display_name,
        );
        self.outbox.commit(tx, &[event]).await?;
        tracing::info!(operation = %job.id, ?c, "import finished");
        Ok(())
    }
}
