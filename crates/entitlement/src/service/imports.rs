//! R-SEAT-3 by CSV: rows of email and product (optionally items and names)
//! assigned as a long-running job. People unknown to the team are invited
//! into it first; existing members only get access. Seat limits hold row by
//! row, and a row that finds no seat says so.

use std::collections::HashMap;

use allot_platform::csvfile::{self, Column};
use allot_platform::error::quote;
use allot_platform::ids::{AccountId, ProductId, TeamId};
use allot_platform::jobs::{self, Job, JobError, NewJob, RowOutcome};
use allot_platform::values::Email;
use allot_proto::common as cpb;
use allot_proto::entitlement as pb;

use crate::domain::{Action, Product, authorize, classic_by_user_only};
use crate::error::EntitlementError;
use crate::service::{Ctx, Entitlements, Outcome, SeatRequest};

type Result<T> = std::result::Result<T, EntitlementError>;

/// The job kind.
pub const KIND: &str = "import_assignments";
/// Rows per transaction.
const BATCH: usize = 200;
/// Responses list every row up to this many; larger files only the rows
/// that were not assigned.
const ALL_ROWS_UP_TO: i64 = 5000;

const COLUMNS: &[Column] = &[
    csvfile::EMAIL,
    Column {
        key: "product",
        names: &["product", "product id", "products"],
        required: true,
    },
    Column {
        key: "items",
        names: &["items", "item", "services"],
        required: false,
    },
    csvfile::GIVEN_NAME,
    csvfile::FAMILY_NAME,
];

/// One row of an assignment file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentRow {
    pub line: u32,
    pub email: String,
    pub product: String,
    /// Empty: all items.
    pub items: Vec<String>,
    pub given_name: String,
    pub family_name: String,
}

/// Reads a whole assignment file, refusing it before anything is written.
pub fn parse_assignments_csv(bytes: &[u8], max_rows: usize) -> Result<Vec<AssignmentRow>> {
    let rows = csvfile::read("csv", bytes, COLUMNS, max_rows)
        .map_err(|v| EntitlementError::Invalid(vec![v]))?;
    Ok(rows
        .into_iter()
        .map(|r| AssignmentRow {
            line: r.line,
            email: r.get("email").to_owned(),
            product: r.get("product").to_owned(),
            items: r
                .get("items")
                .split([';', ','])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            given_name: r.get("given").to_owned(),
            family_name: r.get("family").to_owned(),
        })
        .collect())
}

fn outcome_value(o: Outcome) -> pb::AssignOutcome {
    match o {
        Outcome::Assigned => pb::AssignOutcome::Assigned,
        Outcome::AlreadyAssigned => pb::AssignOutcome::AlreadyAssigned,
        Outcome::NoSeat => pb::AssignOutcome::NoSeat,
        Outcome::Refused => pb::AssignOutcome::Refused,
    }
}

/// Rows that were not valid are stored with this outcome.
const INVALID: i32 = pb::AssignOutcome::Unspecified as i32;

/// A `Name <email>` entry for team's AddMembers, without the characters
/// that separate entries.
fn address(row: &AssignmentRow, email: &Email) -> String {
    let name: String = format!("{} {}", row.given_name, row.family_name)
        .chars()
        .filter(|c| !matches!(c, ';' | '<' | '>' | ',' | '"' | '\n' | '\r'))
        .collect();
    let name = name.trim();
    if name.is_empty() {
        email.as_str().to_owned()
    } else {
        format!("{name} <{}>", email.as_str())
    }
}

impl Entitlements {
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
    ) -> Result<cpb::Operation> {
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
        self.get_operation(&ctx.caller, &format!("operations/{id}"))
            .await
    }

    /// An operation as its creator or an admin of its team may see it.
    #[tracing::instrument(name = "entitlement.service.get_operation", skip_all)]
    pub async fn get_operation(
        &self,
        caller: &allot_platform::auth::Caller,
        name: &str,
    ) -> Result<cpb::Operation> {
        let job = self.visible_job(caller, name).await?;
        self.operation_pb(&job).await
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
        let limit = allot_platform::paging::page_size(page_size)
            .map_err(|v| EntitlementError::Invalid(vec![v]))?;
        let after = allot_platform::paging::decode_token(page_token)
            .map_err(|v| EntitlementError::Invalid(vec![v]))?;
        let rows = self
            .jobs()
            .rows_page(&job.id, after.as_deref(), limit + 1)
            .await?;
        Ok(allot_platform::paging::finish(
            rows,
            limit,
            jobs::RowOutcome::key,
        ))
    }

    /// The job behind `name`, if the caller may see it.
    async fn visible_job(
        &self,
        caller: &allot_platform::auth::Caller,
        name: &str,
    ) -> Result<jobs::Job> {
        let id = jobs::operation_id(name).map_err(|v| EntitlementError::Invalid(vec![v]))?;
        let job = self
            .jobs()
            .get(id)
            .await?
            .ok_or_else(|| EntitlementError::not_found("operation", name))?;
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
    ) -> Result<(Vec<cpb::Operation>, String)> {
        let standing = self.standing(caller, team).await?;
        authorize(caller, Action::ReadSeats { standing })?;
        let (found, next) = self
            .jobs()
            .page(team.as_str(), page_size, page_token)
            .await??;
        let mut out = Vec::with_capacity(found.len());
        for job in &found {
            out.push(self.operation_pb(job).await?);
        }
        Ok((out, next))
    }

    async fn operation_pb(&self, job: &Job) -> Result<cpb::Operation> {
        let metadata = pb::ImportAssignmentsMetadata {
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
            Some(cpb::operation::Result::Response(jobs::any(
                "allot.entitlement.v1.ImportAssignmentsResponse",
                &self.import_response(job).await?,
            )))
        };
        Ok(cpb::Operation {
            name: job.name(),
            metadata: Some(jobs::any(
                "allot.entitlement.v1.ImportAssignmentsMetadata",
                &metadata,
            )),
            done: job.done,
            result,
            create_time: Some(allot_platform::clock::timestamp(job.create_time)),
            update_time: Some(allot_platform::clock::timestamp(job.update_time)),
            creator: job.creator.clone(),
        })
    }

    async fn import_response(&self, job: &Job) -> Result<pb::ImportAssignmentsResponse> {
        let c = self.jobs().counts(&job.id).await?;
        let n = |o: pb::AssignOutcome| c.get(&(o as i32)).copied().unwrap_or_default();
        let all = self.jobs().rows(&job.id, None).await?;
        let invited_people: std::collections::HashSet<String> = all
            .iter()
            .filter(|r| r.message.starts_with("invited"))
            .map(|r| r.email.to_lowercase())
            .collect();
        let invited = i32::try_from(invited_people.len()).unwrap_or(i32::MAX);
        let rows: Vec<pb::ImportAssignmentRow> = all
            .into_iter()
            .filter(|r| job.total_rows <= ALL_ROWS_UP_TO || !is_success(r.outcome))
            .take(jobs::RESPONSE_ROWS)
            .map(|r| pb::ImportAssignmentRow {
                line: i32::try_from(r.line).unwrap_or(i32::MAX),
                email: r.email,
                product: r.detail,
                outcome: r.outcome,
                message: r.message,
            })
            .collect();
        Ok(pb::ImportAssignmentsResponse {
            assigned: n(pb::AssignOutcome::Assigned),
            already_assigned: n(pb::AssignOutcome::AlreadyAssigned),
            no_seat: n(pb::AssignOutcome::NoSeat) + n(pb::AssignOutcome::Refused),
            invalid: c.get(&INVALID).copied().unwrap_or_default(),
            invited,
            rows,
        })
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
        let operation = for_event(self.operation_pb(&finished).await?);
        let summary = match (&error, &operation.result) {
            (Some((_, m)), _) => format!("The import stopped: {m}"),
            (None, Some(cpb::operation::Result::Response(r))) => {
                let r =
                    <pb::ImportAssignmentsResponse as prost::Message>::decode(r.value.as_slice())
                        .unwrap_or_default();
                let verb = if job.validate_only {
                    "Dry run: would assign"
                } else {
                    "Assigned"
                };
                format!(
                    "{verb} {}, {} already assigned, {} without a seat, {} invalid; {} people invited.",
                    r.assigned, r.already_assigned, r.no_seat, r.invalid, r.invited
                )
            }
            _ => String::new(),
        };
        let event = self
            .meta(ctx)
            .event("operation_finished", Some(team.name()), |context| {
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
            if let Some(activation) = self.activation_in(team, &product.id).await?
                && let Err(e) = classic_by_user_only(team, &product.id, activation, "by CSV")
            {
                outcomes[i] = Some(RowOutcome {
                    outcome: pb::AssignOutcome::Refused as i32,
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
                    outcome: pb::AssignOutcome::Assigned as i32,
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
            self.assign_open(ctx, team, requests, "by user", true)
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
                    outcome: outcome_value(r.outcome) as i32,
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
            && let Some(p) = self.product_by_id(&pid).await?
        {
            return Ok(Some(p));
        }
        self.product_by_display_name(name.trim()).await
    }
}

/// The operation as its `operation_finished` event carries it: the counts
/// and the first few problem rows for the email, never every row, so the
/// event stays small whatever the file held.
fn for_event(mut op: cpb::Operation) -> cpb::Operation {
    use prost::Message as _;
    if let Some(cpb::operation::Result::Response(any)) = &mut op.result
        && let Ok(mut response) = pb::ImportAssignmentsResponse::decode(any.value.as_slice())
    {
        response.rows.retain(|r| !is_success(r.outcome));
        response.rows.truncate(allot_platform::jobs::EVENT_ROWS);
        any.value = response.encode_to_vec();
    }
    op
}

/// Whether a row ended with its seat held.
fn is_success(outcome: i32) -> bool {
    matches!(
        pb::AssignOutcome::try_from(outcome),
        Ok(pb::AssignOutcome::Assigned | pb::AssignOutcome::AlreadyAssigned)
    )
}
