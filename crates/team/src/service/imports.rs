//! CSV imports of people (R-INV-5), run as platform jobs, and the
//! operations that report on them.

use std::sync::Arc;

use allot_platform::auth::Caller;
use allot_platform::ids::{AccountId, TeamId};
use allot_platform::jobs::{self, Job, JobError, NewJob, RowOutcome};
use allot_proto::common as cpb;
use allot_proto::team as pb;
use tokio_util::sync::CancellationToken;

use crate::domain::{ImportRow, parse_members_csv};
use crate::domain::{Role, TeamAction};
use crate::error::TeamError;
use crate::service::{AddOutcome, Ctx, Teams};

type Result<T> = std::result::Result<T, TeamError>;

/// The job kind.
const KIND: &str = "import_members";
/// Rows handled per transaction.
const BATCH: usize = 200;
/// Responses list every row up to this many; larger files only the rows
/// that were not imported.
const ALL_ROWS_UP_TO: i64 = 5000;

fn outcome_pb(o: AddOutcome) -> pb::AddMemberOutcome {
    match o {
        AddOutcome::Invited => pb::AddMemberOutcome::Invited,
        AddOutcome::Added => pb::AddMemberOutcome::Added,
        AddOutcome::AlreadyMember => pb::AddMemberOutcome::AlreadyMember,
    }
}

fn summary(c: [i32; 4], validate_only: bool) -> String {
    if validate_only {
        format!(
            "Dry run: {} would be invited, {} added, {} are already members, {} invalid.",
            c[0], c[1], c[2], c[3]
        )
    } else {
        format!(
            "{} invited, {} added, {} already members, {} invalid.",
            c[0], c[1], c[2], c[3]
        )
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

impl Teams {
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
    ) -> Result<cpb::Operation> {
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
        self.get_operation(&ctx.caller, &format!("operations/{id}"))
            .await
    }

    /// The operation as a caller may see it: its creator, or an admin of
    /// its team.
    #[tracing::instrument(name = "team.service.get_operation", skip_all)]
    pub async fn get_operation(&self, caller: &Caller, name: &str) -> Result<cpb::Operation> {
        let job = self.visible_job(caller, name).await?;
        self.operation_pb(&job).await
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
        let limit = allot_platform::paging::page_size(page_size)
            .map_err(|v| TeamError::Invalid(vec![v]))?;
        let after = allot_platform::paging::decode_token(page_token)
            .map_err(|v| TeamError::Invalid(vec![v]))?;
        let rows = self
            .jobs
            .rows_page(&job.id, after.as_deref(), limit + 1)
            .await?;
        Ok(allot_platform::paging::finish(rows, limit, RowOutcome::key))
    }

    /// The job behind `name`, if the caller may see it.
    async fn visible_job(&self, caller: &Caller, name: &str) -> Result<Job> {
        let id = jobs::operation_id(name).map_err(|v| TeamError::Invalid(vec![v]))?;
        let job = self
            .jobs
            .get(id)
            .await?
            .ok_or_else(|| TeamError::not_found("operation", name))?;
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
    ) -> Result<(Vec<cpb::Operation>, String)> {
        self.check(caller, team, TeamAction::ManageMembers).await?;
        let (found, next) = self
            .jobs
            .page(team.as_str(), page_size, page_token)
            .await??;
        let mut out = Vec::with_capacity(found.len());
        for job in &found {
            out.push(self.operation_pb(job).await?);
        }
        Ok((out, next))
    }

    /// Counts per outcome: invited, added, already members, invalid.
    async fn counts(&self, job: &Job) -> Result<[i32; 4]> {
        let c = self.jobs.counts(&job.id).await?;
        let n = |o: pb::AddMemberOutcome| c.get(&(o as i32)).copied().unwrap_or_default();
        Ok([
            n(pb::AddMemberOutcome::Invited),
            n(pb::AddMemberOutcome::Added),
            n(pb::AddMemberOutcome::AlreadyMember),
            n(pb::AddMemberOutcome::Invalid),
        ])
    }

    async fn operation_pb(&self, job: &Job) -> Result<cpb::Operation> {
        let metadata = pb::ImportMembersMetadata {
            team: TeamId::from_db(job.scope.clone()).name(),
            total_rows: i32::try_from(job.total_rows).unwrap_or(i32::MAX),
            processed_rows: i32::try_from(job.processed).unwrap_or(i32::MAX),
            validate_only: job.validate_only,
        };
        let result = if !job.done {
            None
        } else if let Some((code, message)) = &job.error {
            Some(cpb::operation::Result::Error(cpb::OperationError {
                code: *code,
                message: message.clone(),
            }))
        } else {
            let c = self.counts(job).await?;
            let only =
                (job.total_rows > ALL_ROWS_UP_TO).then_some(pb::AddMemberOutcome::Invalid as i32);
            let mut rows = self.jobs.rows(&job.id, only).await?;
            rows.truncate(jobs::RESPONSE_ROWS);
            Some(cpb::operation::Result::Response(jobs::any(
                "allot.team.v1.ImportMembersResponse",
                &pb::ImportMembersResponse {
                    invited: c[0],
                    added: c[1],
                    already_member: c[2],
                    invalid: c[3],
                    rows: rows
                        .into_iter()
                        .map(|r| pb::ImportRowResult {
                            line: i32::try_from(r.line).unwrap_or(i32::MAX),
                            email: r.email,
                            outcome: r.outcome,
                            message: r.message,
                        })
                        .collect(),
                },
            )))
        };
        Ok(cpb::Operation {
            name: job.name(),
            metadata: Some(jobs::any("allot.team.v1.ImportMembersMetadata", &metadata)),
            done: job.done,
            result,
            create_time: Some(allot_platform::clock::timestamp(job.create_time)),
            update_time: Some(allot_platform::clock::timestamp(job.update_time)),
            creator: job.creator.clone(),
        })
    }

    /// Runs import jobs until `stop`, resuming those a previous process
    /// left unfinished.
    pub fn spawn_jobs(self: &Arc<Self>, stop: CancellationToken) -> tokio::task::JoinHandle<()> {
        let (run, fail) = (self.clone(), self.clone());
        self.jobs.spawn(
            stop,
            move |job| {
                let app = run.clone();
                async move { app.run_import(&job).await.map_err(job_error) }
            },
            move |job, code, message| {
                let app = fail.clone();
                async move {
                    app.finish(&job, Some((code, message)), None)
                        .await
                        .map_err(|e| JobError::Transient(e.to_string()))
                }
            },
        )
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
        let (mut tx, outcomes, mut events) = self
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
                    Ok((_, out)) => (outcome_pb(out), String::new()),
                    Err(v) => (
                        pb::AddMemberOutcome::Invalid,
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
                    outcome: outcome as i32,
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
        let mut results = Vec::with_capacity(batch.len());
        for row in batch {
            let (outcome, message) = match row.to_listed().parsed {
                Err(v) => (pb::AddMemberOutcome::Invalid, v.to_string()),
                Ok(p) => {
                    if crate::store::member_by_email(tx.conn(), team, &p.email)
                        .await?
                        .is_some()
                    {
                        (pb::AddMemberOutcome::AlreadyMember, String::new())
                    } else {
                        (
                            pb::AddMemberOutcome::Added,
                            "would be added (invited first if they have no account)".into(),
                        )
                    }
                }
            };
            results.push(RowOutcome {
                line: i64::from(row.line),
                email: row.email.clone(),
                detail: String::new(),
                outcome: outcome as i32,
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
        let c = self.counts(job).await?;
        let operation = for_event(self.operation_pb(&finished).await?);
        let mut summary = match &error {
            Some((_, m)) => format!("The import stopped: {m}"),
            None => summary(c, job.validate_only),
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
        let event = self
            .meta(&ctx)
            .event("operation_finished", Some(team_id.name()), |context| {
                pb::Event {
                    context: Some(context),
                    payload: Some(pb::event::Payload::OperationFinished(
                        pb::OperationFinished {
                            operation: Some(operation),
                            summary,
                            creator_email,
                            team_display_name,
                        },
                    )),
                }
            });
        self.outbox.commit(tx, &[event]).await?;
        tracing::info!(operation = %job.id, ?c, "import finished");
        Ok(())
    }
}

/// The operation as its `operation_finished` event carries it: the counts
/// and the first few problem rows for the email, never every row, so the
/// event stays small whatever the file held.
fn for_event(mut op: cpb::Operation) -> cpb::Operation {
    use prost::Message as _;
    if let Some(cpb::operation::Result::Response(any)) = &mut op.result
        && let Ok(mut response) = pb::ImportMembersResponse::decode(any.value.as_slice())
    {
        response
            .rows
            .retain(|r| r.outcome == pb::AddMemberOutcome::Invalid as i32);
        response.rows.truncate(jobs::EVENT_ROWS);
        any.value = response.encode_to_vec();
    }
    op
}
