//! Database pools and migrations for SQLite (embedded, `allot dev`) and
//! PostgreSQL (production), behind sqlx's `Any` driver so each service keeps
//! one set of SQL. Placeholders are `$1, $2, …` on both. Timestamps are BIGINT
//! microseconds and flags are INTEGER 0/1, which both dialects store alike.

use std::sync::Arc;
use std::time::Duration;

use sqlx::AnyConnection;
use sqlx::any::AnyPoolOptions;
use sqlx::error::ErrorKind;
use sqlx::migrate::Migrator;
use sqlx::{Any, AnyPool, Connection, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// One service's database.
#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    dialect: Dialect,
    /// SQLite allows one writer at a time; writers in this process queue here
    /// instead of spinning on SQLITE_BUSY.
    write_lock: Option<Arc<Mutex<()>>>,
}

/// A write transaction. On SQLite it holds the process's write lock and
/// started with `BEGIN IMMEDIATE`, so it can never fail to upgrade to a
/// writer half-way through.
pub struct WriteTx {
    tx: Transaction<'static, Any>,
    _guard: Option<OwnedMutexGuard<()>>,
}

impl WriteTx {
    pub fn conn(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }

    /// Undoes everything written in the transaction.
    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.tx.rollback().await
    }
}

/// The migrations of one service, per dialect.
#[derive(Debug, Clone, Copy)]
pub struct Migrations {
    pub sqlite: &'static Migrator,
    pub postgres: &'static Migrator,
}

/// The longest a call waits for a database connection, unless configured
/// (`database_acquire_timeout`). A database that is down answers every call
/// UNAVAILABLE after this, rather than holding it until the caller's own
/// deadline.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

static PLATFORM_SQLITE: Migrator = sqlx::migrate!("migrations/sqlite");
static PLATFORM_POSTGRES: Migrator = sqlx::migrate!("migrations/postgres");

impl Db {
    /// Connects, creating a SQLite file when missing.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Db, sqlx::Error> {
        Db::connect_with(url, max_connections, ACQUIRE_TIMEOUT).await
    }

    /// [`Db::connect`], waiting at most `acquire_timeout` for a connection.
    pub async fn connect_with(
        url: &str,
        max_connections: u32,
        acquire_timeout: Duration,
    ) -> Result<Db, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let dialect = if url.starts_with("sqlite:") {
            Dialect::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Dialect::Postgres
        } else {
            return Err(sqlx::Error::Configuration(
                format!(
                    "unsupported database URL (use sqlite:// or postgres://): {}",
                    crate::redact::url(url)
                )
                .into(),
            ));
        };
        if dialect == Dialect::Sqlite {
            create_sqlite_parent(url)?;
        }
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections.max(2))
            .acquire_timeout(acquire_timeout)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if dialect == Dialect::Sqlite {
                        sqlx::raw_sql(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                             PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;",
                        )
                        .execute(&mut *conn)
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect(url)
            .await?;
        Ok(Db {
            pool,
            dialect,
            write_lock: (dialect == Dialect::Sqlite).then(|| Arc::new(Mutex::new(()))),
        })
    }

    /// Runs the platform's tables (outbox, consumer cursors, operations) and
    /// then the service's own migrations.
    pub async fn migrate(&self, service: Migrations) -> Result<(), sqlx::migrate::MigrateError> {
        let (platform, own) = match self.dialect {
            Dialect::Sqlite => (&PLATFORM_SQLITE, service.sqlite),
            Dialect::Postgres => (&PLATFORM_POSTGRES, service.postgres),
        };
        let all: Vec<_> = platform.iter().chain(own.iter()).cloned().collect();
        Migrator::with_migrations(all).run(&self.pool).await
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Starts a transaction that will write.
    pub async fn begin_write(&self) -> Result<WriteTx, sqlx::Error> {
        match &self.write_lock {
            Some(lock) => {
                let guard = lock.clone().lock_owned().await;
                let tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
                Ok(WriteTx {
                    tx,
                    _guard: Some(guard),
                })
            }
            None => Ok(WriteTx {
                tx: self.pool.begin().await?,
                _guard: None,
            }),
        }
    }

    /// A pooled connection for reads.
    pub async fn conn(&self) -> Result<sqlx::pool::PoolConnection<Any>, sqlx::Error> {
        self.pool.acquire().await
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Checks the database answers, for health: within the pool's acquire
    /// timeout, or it counts as unreachable.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        let within = self.pool.options().get_acquire_timeout();
        tokio::time::timeout(within, async { self.pool.acquire().await?.ping().await })
            .await
            .unwrap_or(Err(sqlx::Error::PoolTimedOut))
    }
}

fn create_sqlite_parent(url: &str) -> Result<(), sqlx::Error> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    if let Some(parent) = std::path::Path::new(path).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent).map_err(sqlx::Error::Io)?;
    }
    Ok(())
}

/// What a database error means to the domain, decided from the driver's
/// error code (SQLSTATE 23505/23503 on PostgreSQL, the extended result code
/// on SQLite), never from message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbFailure {
    UniqueViolation,
    ForeignKeyViolation,
    /// Worth retrying the transaction: serialization failure, deadlock, busy.
    Transient,
    Other,
}

pub fn classify(err: &sqlx::Error) -> DbFailure {
    match err {
        sqlx::Error::Database(db) => match db.kind() {
            ErrorKind::UniqueViolation => DbFailure::UniqueViolation,
            ErrorKind::ForeignKeyViolation => DbFailure::ForeignKeyViolation,
            _ => match db.code().as_deref() {
                // serialization_failure, deadlock_detected; SQLITE_BUSY, SQLITE_LOCKED
                Some("40001" | "40P01" | "5" | "6" | "517" | "261") => DbFailure::Transient,
                _ => DbFailure::Other,
            },
        },
        sqlx::Error::PoolTimedOut => DbFailure::Transient,
        _ => DbFailure::Other,
    }
}

/// Reads a flag stored as INTEGER 0/1.
pub fn flag(v: i64) -> bool {
    v != 0
}

/// Stores a flag as INTEGER 0/1.
pub fn int_flag(b: bool) -> i64 {
    i64::from(b)
}

/// Rows written by one multi-row statement: few enough that its bound
/// values stay far below every database's limit (SQLite 32,766,
/// PostgreSQL 65,535), many enough that a batch of a thousand changes is a
/// handful of statements.
pub const ROWS_PER_STATEMENT: usize = 500;

/// `($1, $2), ($3, $4)`: the `VALUES` of `rows` rows of `columns` bound
/// values each, numbered from `$first`.
pub fn values_rows(rows: usize, columns: usize, first: usize) -> String {
    (0..rows)
        .map(|r| {
            let cells = (0..columns)
                .map(|c| format!("${}", first + r * columns + c))
                .collect::<Vec<_>>()
                .join(", ");
            format!("({cells})")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `$3, $4, $5`: `n` bound values numbered from `$first`, for `IN (…)`.
pub fn params(n: usize, first: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod multi_row_tests {
    use super::*;

    #[test]
    fn multi_row_statements_number_their_values_in_order() {
        assert_eq!(values_rows(2, 3, 1), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(values_rows(1, 2, 4), "($4, $5)");
        assert_eq!(params(3, 2), "$2, $3, $4");
        assert_eq!(params(0, 1), "");
    }
}
