//! Long-running jobs (CSV imports): the input, the progress, each row's
//! outcome and a lease, in the service's own database, and the worker that
//! runs them. A restarted service resumes every job that is not done after
//! its lease ran out; a job's rows are recorded in the same transaction as
//! their effects, so nothing is done twice.
//!
//! Services own what a job means: they start jobs, run one when the worker
//! hands it over, and turn a job into their `Operation` message.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use sqlx::{AnyConnection, Row};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::auth::{Caller, Principal};
use crate::clock::{SharedClock, to_micros};
use crate::db::{Db, WriteTx, flag, int_flag};
use crate::error::FieldViolation;
use crate::ids::{AccountId, ServiceAccountId, new_id};

mod follow;
mod operations;
pub use follow::*;

/// How long a worker holds a job before another may take it over; every
/// recorded batch renews it, so only a dead worker lets it run out.
pub const LEASE: Duration = Duration::from_secs(10);

/// The longest cell a recorded row keeps whole (an email address is at
/// most 254 characters); longer ones are kept as a short quote. With
/// messages of at most 300 characters, 5,000 rows stay near 3 MB.
pub const MAX_CELL_CHARS: usize = 254;

/// The most problem rows an `operation_finished` event carries, for its
/// email; the rest are read from the operation.
pub const EVENT_ROWS: usize = 20;

/// The most rows an operation's response lists (every row of a file up to
/// 5,000 rows; of a larger one its problem rows, the first of them), so a
/// response always fits a gRPC message; the counts are always complete.
pub const RESPONSE_ROWS: usize = 5000;

/// The largest request a service with imports accepts: room for a CSV
/// file of 100,000 rows and more (gRPC's default is 4 MiB).
pub const MAX_REQUEST_BYTES: usize = 64 << 20;

/// A job as stored.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: String,
    /// What it belongs to, such as a team id.
    pub scope: String,
    pub kind: String,
    /// The caller who started it, as a resource name.
    pub creator: String,
    creator_scopes: String,
    pub request_id: String,
    pub validate_only: bool,
    pub total_rows: i64,
    pub processed: i64,
    pub done: bool,
    /// `(google.rpc.Code, message)` when it failed as a whole.
    pub error: Option<(i32, String)>,
    pub create_time: i64,
    pub update_time: i64,
}

impl Job {
    /// `operations/{id}`.
    pub fn name(&self) -> String {
        format!("operations/{}", self.id)
    }

    /// The caller the job acts as: its creator, with the scopes they had.
    pub fn creator_caller(&self) -> Option<Caller> {
        let principal = match AccountId::parse("creator", &self.creator) {
            Ok(a) => Principal::Account(a),
            Err(_) => {
                Principal::ServiceAccount(ServiceAccountId::parse("creator", &self.creator).ok()?)
            }
        };
        Some(Caller {
            principal,
            actor: None,
            scopes: self
                .creator_scopes
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
            expires_at: i64::MAX,
            session: None,
        })
    }
}

/// One row's outcome: an enum value of the service's, and its reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowOutcome {
    /// The line in the file, the header being line 1.
    pub line: i64,
    pub email: String,
    /// What else identifies the row, such as the product.
    pub detail: String,
    pub outcome: i32,
    pub message: String,
}

impl RowOutcome {
    /// Where the row stands in file order, for page tokens.
    pub fn key(&self) -> String {
        format!("{}:{}", self.line, self.detail)
    }
}

fn row_outcome(r: &sqlx::any::AnyRow) -> Result<RowOutcome, sqlx::Error> {
    Ok(RowOutcome {
        line: r.try_get(0)?,
        email: r.try_get(1)?,
        detail: r.try_get(2)?,
        outcome: i32::try_from(r.try_get::<i64, _>(3)?).unwrap_or_default(),
        message: r.try_get(4)?,
    })
}

/// Why running a job stopped.
#[derive(Debug)]
pub enum JobError {
    /// Try again later (a database or a peer was unavailable).
    Transient(String),
    /// The job cannot go on: it ends with this `google.rpc.Code` and message.
    Failed { code: i32, message: String },
}

/// Parses `operations/{id}`.
pub fn operation_id(name: &str) -> Result<&str, FieldViolation> {
    name.strip_prefix("operations/")
        .filter(|id| !id.is_empty() && !id.contains('/'))
        .ok_or_else(|| FieldViolation::new("name", "must look like `operations/{operation}`"))
}

/// A protobuf message as `google.protobuf.Any`.
pub fn any<M: prost::Message>(type_name: &str, m: &M) -> prost_types::Any {
    prost_types::Any {
        type_url: format!("type.googleapis.com/{type_name}"),
        value: m.encode_to_vec(),
    }
}

const COLUMNS: &str = "id, scope, kind, creator, creator_scopes, request_id, validate_only, \
     total_rows, processed, done, error_code, error_message, create_time, update_time";

fn job(r: &sqlx::any::AnyRow) -> Result<Job, sqlx::Error> {
    let code: Option<i64> = r.try_get(10)?;
    let message: Option<String> = r.try_get(11)?;
    Ok(Job {
        id: r.try_get(0)?,
        scope: r.try_get(1)?,
        kind: r.try_get(2)?,
        creator: r.try_get(3)?,
        creator_scopes: r.try_get(4)?,
        request_id: r.try_get(5)?,
        validate_only: flag(r.try_get(6)?),
        total_rows: r.try_get(7)?,
        processed: r.try_get(8)?,
        done: flag(r.try_get(9)?),
        error: code.map(|c| (i32::try_from(c).unwrap_or(2), message.unwrap_or_default())),
        create_time: r.try_get(12)?,
        update_time: r.try_get(13)?,
    })
}

fn lease_micros() -> i64 {
    i64::try_from(LEASE.as_micros()).unwrap_or(i64::MAX)
}

/// A service's jobs.
#[derive(Clone)]
pub struct Jobs {
    db: Db,
    clock: SharedClock,
    wake: Arc<Notify>,
}

impl std::fmt::Debug for Jobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jobs").finish_non_exhaustive()
    }
}

/// What starting a job needs.
#[derive(Debug, Clone, Copy)]
pub struct NewJob<'a> {
    pub scope: &'a str,
    pub kind: &'a str,
    pub creator: &'a Caller,
    pub request_id: &'a str,
    pub validate_only: bool,
    pub input: &'a [u8],
    pub total_rows: usize,
    /// AIP-155: a retry with this key gets the job its first call started.
    pub key: Option<&'a crate::idempotency::RequestKey>,
}

impl Jobs {
    pub fn new(db: Db, clock: SharedClock) -> Jobs {
        Jobs {
            db,
            clock,
            wake: Arc::new(Notify::new()),
        }
    }

    fn now(&self) -> i64 {
        to_micros(self.clock.now())
    }

    /// Stores a new job and wakes the worker; returns its id.
    pub async fn create(
        &self,
        new: NewJob<'_>,
    ) -> Result<String, crate::idempotency::IdempotencyError> {
        use crate::idempotency;
        let id = new_id();
        let now = self.now();
        let mut tx = self.db.begin_write().await?;
        if let Some(first) = idempotency::replayed(tx.conn(), new.key, now).await? {
            tx.commit().await?;
            return Ok(first);
        }
        sqlx::query(
            "INSERT INTO jobs (id, scope, kind, creator, creator_scopes, request_id, validate_only, input, \
             total_rows, processed, done, lease_until, create_time, update_time) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, 0, 0, $10, $10)",
        )
        .bind(&id)
        .bind(new.scope)
        .bind(new.kind)
        .bind(new.creator.name())
        .bind(new.creator.scopes.join(" "))
        .bind(new.request_id)
        .bind(int_flag(new.validate_only))
        .bind(new.input)
        .bind(i64::try_from(new.total_rows).unwrap_or(i64::MAX))
        .bind(now)
        .execute(tx.conn())
        .await?;
        idempotency::remember_if(tx.conn(), new.key, &id, now).await?;
        tx.commit().await?;
        self.wake.notify_one();
        Ok(id)
    }

    pub async fn get(&self, id: &str) -> Result<Option<Job>, sqlx::Error> {
        let mut conn = self.db.conn().await?;
        load(&mut conn, id).await
    }

    /// Jobs of a scope, newest first.
    pub async fn list(
        &self,
        scope: &str,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<Job>, sqlx::Error> {
        let sql = format!(
            "SELECT {COLUMNS} FROM jobs WHERE scope = $1 ORDER BY create_time DESC, id LIMIT $2 OFFSET $3"
        );
        let mut conn = self.db.conn().await?;
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(scope)
            .bind(limit)
            .bind(offset)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(job)
            .collect()
    }

    /// One page of a scope's jobs, newest first, and the next page's token
    /// (empty after the last). `page_size` 0 means 20; at most 100.
    pub async fn page(
        &self,
        scope: &str,
        page_size: i32,
        page_token: &str,
    ) -> Result<Result<(Vec<Job>, String), FieldViolation>, sqlx::Error> {
        let offset: i64 = if page_token.is_empty() {
            0
        } else {
            match page_token.parse() {
                Ok(o) if o >= 0 => o,
                _ => {
                    return Ok(Err(FieldViolation::new(
                        "page_token",
                        "is not a token this list gave",
                    )));
                }
            }
        };
        let limit = if page_size <= 0 {
            20
        } else {
            i64::from(page_size.min(100))
        };
        let mut found = self.list(scope, limit + 1, offset).await?;
        let more = found.len() > usize::try_from(limit).unwrap_or(usize::MAX);
        found.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let next = if more {
            (offset + limit).to_string()
        } else {
            String::new()
        };
        Ok(Ok((found, next)))
    }

    /// The file the job was started with.
    pub async fn input(&self, id: &str) -> Result<Vec<u8>, sqlx::Error> {
        let mut conn = self.db.conn().await?;
        sqlx::query_scalar("SELECT input FROM jobs WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *conn)
            .await
    }

    /// One page of the recorded rows in file order: at most `limit` after
    /// the row whose [`RowOutcome::key`] is `after`.
    pub async fn rows_page(
        &self,
        id: &str,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<RowOutcome>, sqlx::Error> {
        let (line, detail) = after
            .and_then(|k| k.split_once(':'))
            .and_then(|(l, d)| Some((l.parse::<i64>().ok()?, d.to_owned())))
            .unwrap_or((-1, String::new()));
        let mut conn = self.db.conn().await?;
        sqlx::query(
            "SELECT line, email, detail, outcome, message FROM job_rows \
             WHERE job_id = $1 AND (line > $2 OR (line = $2 AND detail > $3)) \
             ORDER BY line, detail LIMIT $4",
        )
        .bind(id)
        .bind(line)
        .bind(detail)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(row_outcome)
        .collect()
    }

    /// The recorded rows by line, only those with `outcome` if given.
    pub async fn rows(
        &self,
        id: &str,
        outcome: Option<i32>,
    ) -> Result<Vec<RowOutcome>, sqlx::Error> {
        let mut conn = self.db.conn().await?;
        sqlx::query(
            "SELECT line, email, detail, outcome, message FROM job_rows \
             WHERE job_id = $1 AND ($2 < 0 OR outcome = $2) ORDER BY line, detail",
        )
        .bind(id)
        .bind(outcome.map_or(-1, i64::from))
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(row_outcome)
        .collect()
    }

    /// How many rows ended with each outcome.
    pub async fn counts(&self, id: &str) -> Result<HashMap<i32, i32>, sqlx::Error> {
        let mut conn = self.db.conn().await?;
        let rows = sqlx::query(
            "SELECT outcome, COUNT(*) FROM job_rows WHERE job_id = $1 GROUP BY outcome",
        )
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
        let mut out = HashMap::new();
        for r in rows {
            out.insert(
                i32::try_from(r.try_get::<i64, _>(0)?).unwrap_or_default(),
                i32::try_from(r.try_get::<i64, _>(1)?).unwrap_or(i32::MAX),
            );
        }
        Ok(out)
    }

    /// Records a batch's rows and progress inside the transaction that made
    /// their effects, and renews the lease.
    pub async fn record(
        &self,
        tx: &mut WriteTx,
        job: &Job,
        rows: &[RowOutcome],
    ) -> Result<(), sqlx::Error> {
        // A few multi-row statements per batch. A row keeps a short quote
        // of a long cell: per-row results are read back whole, and a
        // megabyte cell must not make them huge.
        for chunk in rows.chunks(crate::db::ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO job_rows (job_id, line, detail, email, outcome, message) VALUES {} \
                 ON CONFLICT (job_id, line, detail) DO NOTHING",
                crate::db::values_rows(chunk.len(), 6, 1)
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for r in chunk {
                let email = if r.email.len() > MAX_CELL_CHARS {
                    crate::error::quote(&r.email)
                } else {
                    r.email.clone()
                };
                q = q
                    .bind(&job.id)
                    .bind(r.line)
                    .bind(crate::error::clip(&r.detail, MAX_CELL_CHARS))
                    .bind(email)
                    .bind(i64::from(r.outcome))
                    .bind(crate::error::clip(&r.message, 300));
            }
            q.execute(tx.conn()).await?;
        }
        let now = self.now();
        sqlx::query(
            "UPDATE jobs SET processed = processed + $2, update_time = $3, lease_until = $4 WHERE id = $1",
        )
        .bind(&job.id)
        .bind(i64::try_from(rows.len()).unwrap_or(i64::MAX))
        .bind(now)
        .bind(now + lease_micros())
        .execute(tx.conn())
        .await?;
        Ok(())
    }

    /// Marks the job done inside `tx` (with its error, if it failed as a
    /// whole) and returns it as it now is.
    pub async fn finish(
        &self,
        tx: &mut WriteTx,
        job: &Job,
        error: Option<(i32, String)>,
    ) -> Result<Job, sqlx::Error> {
        sqlx::query(
            "UPDATE jobs SET done = 1, error_code = $2, error_message = $3, update_time = $4 WHERE id = $1",
        )
        .bind(&job.id)
        .bind(error.as_ref().map(|(c, _)| i64::from(*c)))
        .bind(error.as_ref().map(|(_, m)| m.clone()))
        .bind(self.now())
        .execute(tx.conn())
        .await?;
        load(tx.conn(), &job.id)
            .await?
            .ok_or(sqlx::Error::RowNotFound)
    }

    /// Claims the oldest unfinished job whose lease ran out.
    async fn claim(&self) -> Result<Option<Job>, sqlx::Error> {
        let now = self.now();
        let mut tx = self.db.begin_write().await?;
        let id: Option<String> = sqlx::query_scalar(
            "SELECT id FROM jobs WHERE done = 0 AND lease_until <= $1 ORDER BY create_time LIMIT 1",
        )
        .bind(now)
        .fetch_optional(tx.conn())
        .await?;
        let Some(id) = id else {
            return Ok(None);
        };
        let claimed = sqlx::query(
            "UPDATE jobs SET lease_until = $2 WHERE id = $1 AND done = 0 AND lease_until <= $3",
        )
        .bind(&id)
        .bind(now + lease_micros())
        .bind(now)
        .execute(tx.conn())
        .await?
        .rows_affected()
            == 1;
        let job = if claimed {
            load(tx.conn(), &id).await?
        } else {
            None
        };
        tx.commit().await?;
        Ok(job)
    }

    /// Runs jobs until `stop`: at start every job a previous process left
    /// unfinished, then each new one. `run` does one job to its end; when
    /// it fails for good, `fail` records that (in the service's terms).
    pub fn spawn<R, RF, F, FF>(
        &self,
        stop: CancellationToken,
        run: R,
        fail: F,
    ) -> tokio::task::JoinHandle<()>
    where
        R: Fn(Job) -> RF + Send + Sync + 'static,
        RF: Future<Output = Result<(), JobError>> + Send,
        F: Fn(Job, i32, String) -> FF + Send + Sync + 'static,
        FF: Future<Output = Result<(), JobError>> + Send,
    {
        let this = self.clone();
        tokio::spawn(async move {
            loop {
                let step = async {
                    let Some(job) = this
                        .claim()
                        .await
                        .map_err(|e| JobError::Transient(e.to_string()))?
                    else {
                        return Ok::<bool, JobError>(false);
                    };
                    match run(job.clone()).await {
                        Err(JobError::Failed { code, message }) => {
                            tracing::warn!(job = %job.id, kind = %job.kind, %message, "job failed");
                            fail(job, code, message).await?;
                        }
                        other => other?,
                    }
                    Ok(true)
                };
                let outcome = tokio::select! {
                    () = stop.cancelled() => return,
                    r = step => r,
                };
                match outcome {
                    Ok(true) => continue,
                    Ok(false) => {}
                    Err(e) => {
                        tracing::warn!(error = ?e, "a job step failed; it will be tried again")
                    }
                }
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = this.wake.notified() => {}
                    () = tokio::time::sleep(Duration::from_secs(2)) => {}
                }
            }
        })
    }
}

async fn load(conn: &mut AnyConnection, id: &str) -> Result<Option<Job>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM jobs WHERE id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(job)
        .transpose()
}

#[cfg(test)]
mod tests;
