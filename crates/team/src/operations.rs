//! Long-running operations of team: CSV imports (R-INV-5) and the worker
//! that runs them, resuming after restarts.

use std::sync::Arc;
use std::time::Duration;

use allot_platform::auth::{Caller, Principal};
use allot_platform::db::{flag, int_flag};
use allot_platform::ids::{AccountId, ServiceAccountId, TeamId, new_id};
use allot_proto::common as cpb;
use allot_proto::team as pb;
use prost::Message;
use sqlx::{AnyConnection, Row};
use tokio_util::sync::CancellationToken;

use crate::app::{AddOutcome, Ctx, Teams};
use crate::domain::{Role, TeamAction};
use crate::error::TeamError;
use crate::import::{ImportRow, parse_members_csv};

type Result<T> = std::result::Result<T, TeamError>;

/// Rows handled per transaction.
const BATCH: usize = 200;
/// How long a worker holds a job before another may take it over; every
/// batch renews it, so only a dead worker lets it run out.
const LEASE: Duration = Duration::from_secs(10);
/// Rows listed in a finished operation's response when the file was
/// larger than this: only the rows that were not imported.
const ALL_ROWS_UP_TO: i64 = 5000;
const KIND_IMPORT: &str = "import_members";

/// An operation as stored.
#[derive(Debug, Clone)]
pub struct OperationRecord {
    pub id: String,
    pub team: TeamId,
    pub creator: String,
    creator_scopes: String,
    request_id: String,
    pub validate_only: bool,
    pub total_rows: i64,
    pub processed: i64,
    pub done: bool,
    pub error: Option<(i32, String)>,
    pub create_time: i64,
    pub update_time: i64,
}

/// One row's outcome as stored.
#[derive(Debug, Clone)]
pub struct RowOutcome {
    pub line: i64,
    pub email: String,
    pub outcome: pb::AddMemberOutcome,
    pub message: String,
}

const COLUMNS: &str = "id, team_id, creator, creator_scopes, request_id, validate_only, total_rows, \
     processed, done, error_code, error_message, create_time, update_time";

fn record(r: &sqlx::any::AnyRow) -> Result<OperationRecord> {
    let code: Option<i64> = r.try_get(9)?;
    let message: Option<String> = r.try_get(10)?;
    Ok(OperationRecord {
        id: r.try_get(0)?,
        team: TeamId::from_db(r.try_get(1)?),
        creator: r.try_get(2)?,
        creator_scopes: r.try_get(3)?,
        request_id: r.try_get(4)?,
        validate_only: flag(r.try_get(5)?),
        total_rows: r.try_get(6)?,
        processed: r.try_get(7)?,
        done: flag(r.try_get(8)?),
        error: code.map(|c| (i32::try_from(c).unwrap_or(2), message.unwrap_or_default())),
        create_time: r.try_get(11)?,
        update_time: r.try_get(12)?,
    })
}

async fn load(conn: &mut AnyConnection, id: &str) -> Result<Option<OperationRecord>> {
    let sql = format!("SELECT {COLUMNS} FROM operations WHERE id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(record)
        .transpose()
}

async fn rows_of(
    conn: &mut AnyConnection,
    id: &str,
    only_problems: bool,
) -> Result<Vec<RowOutcome>> {
    let filter = if only_problems {
        format!(" AND outcome = {}", pb::AddMemberOutcome::Invalid as i32)
    } else {
        String::new()
    };
    let sql = format!(
        "SELECT line, email, outcome, message FROM operation_rows WHERE operation_id = $1{filter} ORDER BY line"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_all(conn)
        .await?
        .iter()
        .map(|r| {
            Ok(RowOutcome {
                line: r.try_get(0)?,
                email: r.try_get(1)?,
                outcome: pb::AddMemberOutcome::try_from(
                    i32::try_from(r.try_get::<i64, _>(2)?).unwrap_or(0),
                )
                .unwrap_or(pb::AddMemberOutcome::Unspecified),
                message: r.try_get(3)?,
            })
        })
        .collect()
}

/// Counts per outcome: invited, added, already members, invalid.
async fn counts(conn: &mut AnyConnection, id: &str) -> Result<[i32; 4]> {
    let rows = sqlx::query(
        "SELECT outcome, COUNT(*) FROM operation_rows WHERE operation_id = $1 GROUP BY outcome",
    )
    .bind(id)
    .fetch_all(conn)
    .await?;
    let mut out = [0; 4];
    for r in rows {
        let outcome: i64 = r.try_get(0)?;
        let n = i32::try_from(r.try_get::<i64, _>(1)?).unwrap_or(i32::MAX);
        let slot = match pb::AddMemberOutcome::try_from(i32::try_from(outcome).unwrap_or(0)) {
            Ok(pb::AddMemberOutcome::Invited) => 0,
            Ok(pb::AddMemberOutcome::Added) => 1,
            Ok(pb::AddMemberOutcome::AlreadyMember) => 2,
            _ => 3,
        };
        out[slot] += n;
    }
    Ok(out)
}

fn any<M: Message>(type_name: &str, m: &M) -> prost_types::Any {
    prost_types::Any {
        type_url: format!("type.googleapis.com/{type_name}"),
        value: m.encode_to_vec(),
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

fn outcome_pb(o: AddOutcome) -> pb::AddMemberOutcome {
    match o {
        AddOutcome::Invited => pb::AddMemberOutcome::Invited,
        AddOutcome::Added => pb::AddMemberOutcome::Added,
        AddOutcome::AlreadyMember => pb::AddMemberOutcome::AlreadyMember,
    }
}

/// The caller a job acts as: its creator, with the scopes they had.
fn creator_caller(op: &OperationRecord) -> Result<Caller> {
    let principal = if let Ok(a) = AccountId::parse("creator", &op.creator) {
        Principal::Account(a)
    } else {
        Principal::ServiceAccount(
            ServiceAccountId::parse("creator", &op.creator)
                .map_err(|_| TeamError::Internal(format!("bad creator {}", op.creator)))?,
        )
    };
    Ok(Caller {
        principal,
        actor: None,
        scopes: op
            .creator_scopes
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
        expires_at: i64::MAX,
    })
}

impl Teams {
    /// R-INV-5: checks the file whole and starts the import job; returns at
    /// once with the operation.
    pub async fn start_import(
        &self,
        ctx: &Ctx,
        team_id: &TeamId,
        csv: &[u8],
        validate_only: bool,
        max_rows: usize,
    ) -> Result<cpb::Operation> {
        self.check(&ctx.caller, team_id, TeamAction::ManageMembers)
            .await?;
        let rows = parse_members_csv(csv, max_rows)?;
        let now = self.now();
        let id = new_id();
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO operations (id, team_id, kind, creator, creator_scopes, request_id, validate_only, input, \
             total_rows, processed, done, lease_until, create_time, update_time) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, 0, 0, $10, $10)",
        )
        .bind(&id)
        .bind(team_id.as_str())
        .bind(KIND_IMPORT)
        .bind(ctx.caller.name())
        .bind(ctx.caller.scopes.join(" "))
        .bind(&ctx.request_id)
        .bind(int_flag(validate_only))
        .bind(csv)
        .bind(i64::try_from(rows.len()).unwrap_or(i64::MAX))
        .bind(now)
        .execute(tx.conn())
        .await?;
        tx.commit().await?;
        self.jobs.notify_one();
        tracing::info!(operation = %id, team = %team_id, rows = rows.len(), validate_only, "import started");
        self.get_operation(&ctx.caller, &format!("operations/{id}"))
            .await
    }

    fn operation_id(name: &str) -> Result<&str> {
        name.strip_prefix("operations/")
            .filter(|id| !id.is_empty() && !id.contains('/'))
            .ok_or_else(|| TeamError::invalid("name", "must look like `operations/{operation}`"))
    }

    /// The operation as a caller may see it: its creator, or an admin of
    /// its team.
    pub async fn get_operation(&self, caller: &Caller, name: &str) -> Result<cpb::Operation> {
        let id = Self::operation_id(name)?;
        let op = {
            let mut conn = self.db.conn().await?;
            load(&mut conn, id).await?
        }
        .ok_or_else(|| TeamError::not_found("operation", name))?;
        if op.creator != caller.name() {
            self.check(caller, &op.team, TeamAction::ManageMembers)
                .await
                .map_err(|e| match e {
                    TeamError::PermissionDenied(_) => TeamError::PermissionDenied(
                        "only its creator and the team's admins see an operation".into(),
                    ),
                    other => other,
                })?;
        }
        self.to_pb(&op).await
    }

    /// The team's operations, newest first.
    pub async fn list_operations(
        &self,
        caller: &Caller,
        team: &TeamId,
        page_size: i64,
        page_token: &str,
    ) -> Result<(Vec<cpb::Operation>, String)> {
        self.check(caller, team, TeamAction::ManageMembers).await?;
        let offset: i64 = if page_token.is_empty() {
            0
        } else {
            page_token
                .parse()
                .map_err(|_| TeamError::invalid("page_token", "is not a token this list gave"))?
        };
        let limit = page_size.clamp(1, 100);
        let records = {
            let mut conn = self.db.conn().await?;
            let sql = format!(
                "SELECT {COLUMNS} FROM operations WHERE team_id = $1 ORDER BY create_time DESC, id LIMIT $2 OFFSET $3"
            );
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(team.as_str())
                .bind(limit + 1)
                .bind(offset)
                .fetch_all(&mut *conn)
                .await?
                .iter()
                .map(record)
                .collect::<Result<Vec<_>>>()?
        };
        let more = records.len() > usize::try_from(limit).unwrap_or(usize::MAX);
        let mut out = Vec::new();
        for op in records
            .iter()
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
        {
            out.push(self.to_pb(op).await?);
        }
        let next = if more {
            (offset + limit).to_string()
        } else {
            String::new()
        };
        Ok((out, next))
    }

    async fn to_pb(&self, op: &OperationRecord) -> Result<cpb::Operation> {
        let metadata = pb::ImportMembersMetadata {
            team: op.team.name(),
            total_rows: i32::try_from(op.total_rows).unwrap_or(i32::MAX),
            processed_rows: i32::try_from(op.processed).unwrap_or(i32::MAX),
            validate_only: op.validate_only,
        };
        let result = if !op.done {
            None
        } else if let Some((code, message)) = &op.error {
            Some(cpb::operation::Result::Error(cpb::OperationError {
                code: *code,
                message: message.clone(),
            }))
        } else {
            let mut conn = self.db.conn().await?;
            let c = counts(&mut conn, &op.id).await?;
            let rows = rows_of(&mut conn, &op.id, op.total_rows > ALL_ROWS_UP_TO).await?;
            Some(cpb::operation::Result::Response(any(
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
                            outcome: r.outcome as i32,
                            message: r.message,
                        })
                        .collect(),
                },
            )))
        };
        Ok(cpb::Operation {
            name: format!("operations/{}", op.id),
            metadata: Some(any("allot.team.v1.ImportMembersMetadata", &metadata)),
            done: op.done,
            result,
            create_time: Some(allot_platform::clock::timestamp(op.create_time)),
            update_time: Some(allot_platform::clock::timestamp(op.update_time)),
            creator: op.creator.clone(),
        })
    }

    /// Runs jobs until `stop`: at start every job a previous process left
    /// unfinished, then each new one.
    pub fn spawn_jobs(self: &Arc<Self>, stop: CancellationToken) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            loop {
                let ran = tokio::select! {
                    () = stop.cancelled() => return,
                    r = this.run_next_job() => r,
                };
                match ran {
                    Ok(true) => continue,
                    Ok(false) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "a job step failed; it will be tried again")
                    }
                }
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = this.jobs.notified() => {}
                    () = tokio::time::sleep(Duration::from_secs(2)) => {}
                }
            }
        })
    }

    /// Claims one unfinished job whose lease ran out and runs it to the
    /// end; false when there was none.
    async fn run_next_job(&self) -> Result<bool> {
        let now = self.now();
        let lease = now + i64::try_from(LEASE.as_micros()).unwrap_or(i64::MAX);
        let claimed = {
            let mut tx = self.begin().await?;
            let id: Option<String> = sqlx::query_scalar(
                "SELECT id FROM operations WHERE done = 0 AND lease_until <= $1 ORDER BY create_time LIMIT 1",
            )
            .bind(now)
            .fetch_optional(tx.conn())
            .await?;
            let Some(id) = id else {
                return Ok(false);
            };
            let n = sqlx::query(
                "UPDATE operations SET lease_until = $2 WHERE id = $1 AND done = 0 AND lease_until <= $3",
            )
            .bind(&id)
            .bind(lease)
            .bind(now)
            .execute(tx.conn())
            .await?
            .rows_affected();
            tx.commit().await?;
            if n != 1 {
                return Ok(true);
            }
            let mut conn = self.db.conn().await?;
            load(&mut conn, &id).await?
        };
        let Some(op) = claimed else {
            return Ok(true);
        };
        match self.run_import(&op).await {
            Ok(()) => {}
            Err(e @ (TeamError::Db(_) | TeamError::Peer { .. })) => {
                // Transient: the lease runs out and the job is taken again.
                return Err(e);
            }
            Err(e) => {
                tracing::warn!(operation = %op.id, error = %e, "import failed");
                let status: tonic::Status = e.into();
                self.finish(
                    &op,
                    Some((status.code() as i32, status.message().to_owned())),
                )
                .await?;
            }
        }
        Ok(true)
    }

    async fn run_import(&self, op: &OperationRecord) -> Result<()> {
        let input: Vec<u8> = {
            let mut conn = self.db.conn().await?;
            sqlx::query_scalar("SELECT input FROM operations WHERE id = $1")
                .bind(&op.id)
                .fetch_one(&mut *conn)
                .await?
        };
        let rows = parse_members_csv(&input, usize::MAX)?;
        let ctx = Ctx {
            caller: creator_caller(op)?,
            request_id: op.request_id.clone(),
        };
        let team = self
            .check(&ctx.caller, &op.team, TeamAction::ManageMembers)
            .await?;
        let start = usize::try_from(op.processed).unwrap_or(0);
        for batch in rows.get(start..).unwrap_or_default().chunks(BATCH) {
            if op.validate_only {
                self.validate_batch(op, &team.id, batch).await?;
            } else {
                self.import_batch(op, &ctx, &team, batch).await?;
            }
        }
        self.finish(op, None).await
    }

    /// Adds one batch: members, row outcomes and progress in one commit.
    async fn import_batch(
        &self,
        op: &OperationRecord,
        ctx: &Ctx,
        team: &crate::domain::Team,
        batch: &[ImportRow],
    ) -> Result<()> {
        let entries: Vec<_> = batch.iter().map(ImportRow::to_listed).collect();
        let (mut tx, outcomes, events) = self
            .add_listed(ctx, team, entries, Role::User, false)
            .await?;
        let results: Vec<RowOutcome> = batch
            .iter()
            .zip(outcomes)
            .map(|(row, o)| match o.result {
                Ok((_, out)) => RowOutcome {
                    line: i64::from(row.line),
                    email: row.email.clone(),
                    outcome: outcome_pb(out),
                    message: String::new(),
                },
                Err(v) => RowOutcome {
                    line: i64::from(row.line),
                    email: row.email.clone(),
                    outcome: pb::AddMemberOutcome::Invalid,
                    message: v
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; "),
                },
            })
            .collect();
        self.record_rows(&mut tx, op, &results).await?;
        self.outbox.commit(tx, &events).await?;
        Ok(())
    }

    /// A dry run of one batch: what would happen, nothing added.
    async fn validate_batch(
        &self,
        op: &OperationRecord,
        team: &TeamId,
        batch: &[ImportRow],
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let mut results = Vec::with_capacity(batch.len());
        for row in batch {
            let listed = row.to_listed();
            let (outcome, message) = match listed.parsed {
                Err(v) => (pb::AddMemberOutcome::Invalid, v.to_string()),
                Ok(p) => {
                    let member: Option<String> = sqlx::query_scalar(
                        "SELECT account_id FROM members WHERE team_id = $1 AND email_key = $2",
                    )
                    .bind(team.as_str())
                    .bind(p.email.key())
                    .fetch_optional(tx.conn())
                    .await?;
                    if member.is_some() {
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
                outcome,
                message,
            });
        }
        self.record_rows(&mut tx, op, &results).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn record_rows(
        &self,
        tx: &mut allot_platform::db::WriteTx,
        op: &OperationRecord,
        rows: &[RowOutcome],
    ) -> Result<()> {
        for r in rows {
            sqlx::query(
                "INSERT INTO operation_rows (operation_id, line, email, outcome, message) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (operation_id, line) DO NOTHING",
            )
            .bind(&op.id)
            .bind(r.line)
            .bind(&r.email)
            .bind(r.outcome as i64)
            .bind(&r.message)
            .execute(tx.conn())
            .await?;
        }
        let now = self.now();
        sqlx::query(
            "UPDATE operations SET processed = processed + $2, update_time = $3, lease_until = $4 WHERE id = $1",
        )
        .bind(&op.id)
        .bind(i64::try_from(rows.len()).unwrap_or(i64::MAX))
        .bind(now)
        .bind(now + i64::try_from(LEASE.as_micros()).unwrap_or(i64::MAX))
        .execute(tx.conn())
        .await?;
        Ok(())
    }

    /// Marks the job done (with its error, if it failed as a whole) and
    /// publishes `operation_finished`, which mails the creator (R-MAIL-3).
    async fn finish(&self, op: &OperationRecord, error: Option<(i32, String)>) -> Result<()> {
        let now = self.now();
        let mut tx = self.begin().await?;
        sqlx::query(
            "UPDATE operations SET done = 1, error_code = $2, error_message = $3, update_time = $4 WHERE id = $1 AND done = 0",
        )
        .bind(&op.id)
        .bind(error.as_ref().map(|(c, _)| i64::from(*c)))
        .bind(error.as_ref().map(|(_, m)| m.clone()))
        .bind(now)
        .execute(tx.conn())
        .await?;
        let finished = load(tx.conn(), &op.id)
            .await?
            .ok_or_else(|| TeamError::Internal("operation vanished".into()))?;
        let c = counts(tx.conn(), &op.id).await?;
        let (creator_email, team_display_name) = {
            let team = crate::store::get_team(tx.conn(), &op.team).await?;
            let email = match AccountId::parse("creator", &op.creator) {
                Ok(a) => crate::store::get_member(tx.conn(), &op.team, &a)
                    .await?
                    .map(|m| m.email.as_str().to_owned())
                    .unwrap_or_default(),
                Err(_) => String::new(),
            };
            (email, team.map(|t| t.display_name).unwrap_or_default())
        };
        // Counts and rows come from earlier, committed batches.
        let operation = self.to_pb(&finished).await?;
        let summary = match &error {
            Some((_, m)) => format!("The import stopped: {m}"),
            None => summary(c, op.validate_only),
        };
        let ctx = Ctx {
            caller: creator_caller(op)?,
            request_id: op.request_id.clone(),
        };
        let event = self
            .meta(&ctx)
            .event("operation_finished", Some(op.team.name()), |context| {
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
        tracing::info!(operation = %op.id, ?c, "import finished");
        Ok(())
    }
}

impl Teams {
    /// The team's members as CSV (R-ROLE-2: admins export), every cell
    /// neutralised so no spreadsheet runs it as a formula.
    pub async fn export_members(
        &self,
        caller: &Caller,
        team: &TeamId,
        guests: crate::store::GuestFilter,
        include_products: bool,
    ) -> Result<Vec<u8>> {
        use crate::import::neutralise_cell;
        self.check(caller, team, TeamAction::ManageMembers).await?;
        let products = if include_products {
            Some(self.products_by_account(team).await?)
        } else {
            None
        };
        let mut out = csv::Writer::from_writer(Vec::new());
        let csv_err = |e: csv::Error| TeamError::Internal(format!("writing CSV: {e}"));
        let mut header = vec![
            "email",
            "first name",
            "last name",
            "role",
            "guest",
            "state",
            "joined",
        ];
        if products.is_some() {
            header.extend(["products", "last used"]);
        }
        out.write_record(&header).map_err(csv_err)?;
        let mut after: Option<String> = None;
        let mut conn = self.db.conn().await?;
        loop {
            let page =
                crate::store::list_members(&mut conn, team, guests, after.as_deref(), 1000).await?;
            for m in page.iter().take(1000) {
                let mut record = vec![
                    neutralise_cell(m.email.as_str()),
                    neutralise_cell(&m.given_name),
                    neutralise_cell(&m.family_name),
                    m.role.as_db().to_lowercase(),
                    m.guest.to_string(),
                    m.state.as_db().to_lowercase(),
                    rfc3339(allot_platform::clock::timestamp(m.create_time).seconds),
                ];
                if let Some(products) = &products {
                    let held = products.get(&m.account.name()).cloned().unwrap_or_default();
                    record.push(neutralise_cell(
                        &held
                            .iter()
                            .map(|(p, _)| p.as_str())
                            .collect::<Vec<_>>()
                            .join(";"),
                    ));
                    record.push(neutralise_cell(
                        &held
                            .iter()
                            .map(|(p, t)| format!("{p} {}", t.as_deref().unwrap_or("never")))
                            .collect::<Vec<_>>()
                            .join(";"),
                    ));
                }
                out.write_record(&record).map_err(csv_err)?;
            }
            if page.len() <= 1000 {
                break;
            }
            after = page.get(999).map(crate::store::member_key);
        }
        out.into_inner()
            .map_err(|e| TeamError::Internal(format!("writing CSV: {e}")))
    }
}

/// A timestamp as RFC 3339, empty when it is not one.
fn rfc3339(seconds: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// Products per member: `accounts/{id}` → `[(product id, last use)]`.
type ProductsByAccount = std::collections::HashMap<String, Vec<(String, Option<String>)>>;

impl Teams {
    /// Each member's products in the team with their last use, from
    /// entitlement (R-USE-3).
    async fn products_by_account(&self, team: &TeamId) -> Result<ProductsByAccount> {
        use allot_proto::entitlement as epb;
        let mut out = ProductsByAccount::new();
        let mut token = String::new();
        loop {
            let page = self
                .entitlement
                .clone()
                .list_assignments(allot_platform::grpc::request(epb::ListAssignmentsRequest {
                    parent: team.name(),
                    page_size: 1000,
                    page_token: token,
                    ..Default::default()
                }))
                .await
                .map_err(|status| TeamError::Peer {
                    service: "entitlement",
                    status,
                })?
                .into_inner();
            for a in page.assignments {
                let product = a.product.trim_start_matches("products/").to_owned();
                let last = a.last_use_time.map(|t| rfc3339(t.seconds));
                out.entry(a.account).or_default().push((product, last));
            }
            if page.next_page_token.is_empty() {
                return Ok(out);
            }
            token = page.next_page_token;
        }
    }
}
