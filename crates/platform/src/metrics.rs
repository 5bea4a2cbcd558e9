//! Prometheus metrics of one process, served at `/metrics` on
//! `metrics_listen`. Calls are counted at the server's edge, by method and
//! gRPC status code, with their latency (OpenTelemetry's RPC names:
//! `rpc_server_requests_total`, `rpc_server_duration_seconds`). What each
//! hosted service keeps in its database is read on every scrape, so it is
//! never stale: seats per pool, the outbox backlog, each consumer's
//! position, the mail queue, jobs.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use sqlx::Row;

use crate::db::Db;

/// A gauge a service reads from its database on each scrape. `sql` returns
/// its label columns (text, named as the labels) and, last, the value (a
/// BIGINT). Each sample also carries the service's name.
#[derive(Debug, Clone, Copy)]
pub struct GaugeQuery {
    pub name: &'static str,
    pub help: &'static str,
    pub sql: &'static str,
}

/// What every service's database holds: the platform's tables.
pub const PLATFORM_GAUGES: &[GaugeQuery] = &[
    GaugeQuery {
        name: "allot_outbox_backlog",
        help: "Events committed but not yet numbered by the sequencer",
        sql: "SELECT CAST(COUNT(*) AS BIGINT) FROM outbox_pending",
    },
    GaugeQuery {
        name: "allot_outbox_head",
        help: "Position of the newest event of the service's stream",
        sql: "SELECT CAST(head AS BIGINT) FROM outbox_state",
    },
    GaugeQuery {
        name: "allot_consumer_position",
        help: "Position in its source's stream a consumer has handled",
        sql: "SELECT consumer, CAST(cursor AS BIGINT) FROM consumer_cursors",
    },
    GaugeQuery {
        name: "allot_consumer_update_time_seconds",
        help: "When a consumer last moved its cursor (Unix seconds); time() minus this is how long it has been still",
        sql: "SELECT consumer, CAST(update_time / 1000000 AS BIGINT) FROM consumer_cursors",
    },
    GaugeQuery {
        name: "allot_jobs_running",
        help: "Imports not yet done",
        sql: "SELECT CAST(COUNT(*) AS BIGINT) FROM jobs WHERE done = 0",
    },
    GaugeQuery {
        name: "allot_job_rows_left",
        help: "Rows imports not yet done still have to process",
        sql: "SELECT CAST(COALESCE(SUM(total_rows - processed), 0) AS BIGINT) FROM jobs WHERE done = 0",
    },
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    rpc_method: String,
    rpc_grpc_status_code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MethodLabels {
    rpc_method: String,
}

type Labels = Vec<(String, String)>;
/// Samples of one gauge read from databases, by their labels.
type Gauges = Family<Labels, Gauge<i64, std::sync::atomic::AtomicI64>>;

/// The method label of calls refused before they reach a method.
pub const UNROUTED: &str = "unrouted";

/// Calls counted at the edge of the server.
#[derive(Debug, Clone)]
pub struct Calls {
    requests: Family<CallLabels, Counter>,
    duration: Family<MethodLabels, Histogram>,
}

impl Calls {
    /// One call to `method` (`/package.Service/Method`) answered with `code`
    /// after `took`. A caller chooses the path: calls refused before they
    /// reach a method (UNIMPLEMENTED, UNAUTHENTICATED) count under one
    /// `unrouted` method, so no caller can grow the label set.
    pub fn record(&self, method: &str, code: &str, took: Duration) {
        let method = if matches!(code, "12" | "16") {
            UNROUTED
        } else {
            method
        };
        self.requests
            .get_or_create(&CallLabels {
                rpc_method: method.to_owned(),
                rpc_grpc_status_code: code.to_owned(),
            })
            .inc();
        self.duration
            .get_or_create(&MethodLabels {
                rpc_method: method.to_owned(),
            })
            .observe(took.as_secs_f64());
    }
}

impl Default for Calls {
    fn default() -> Self {
        Calls {
            requests: Family::default(),
            duration: Family::new_with_constructor(|| {
                // 0.5 ms to about 16 s.
                Histogram::new(exponential_buckets(0.0005, 2.0, 16))
            }),
        }
    }
}

struct Read {
    service: &'static str,
    db: Db,
    query: GaugeQuery,
    family: Gauges,
}

/// The metrics of this process.
pub struct Metrics {
    registry: Registry,
    reads: Vec<Read>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// `calls`, and the gauges of each hosted service: its name, its
    /// database and what to read from it (the platform's tables always).
    pub fn new(calls: &Calls, services: &[(&'static str, Db, &'static [GaugeQuery])]) -> Metrics {
        let mut registry = Registry::default();
        registry.register(
            "rpc_server_requests",
            "gRPC calls answered, by method and status code",
            calls.requests.clone(),
        );
        registry.register(
            "rpc_server_duration_seconds",
            "Time to answer a gRPC call (to the first response for streams)",
            calls.duration.clone(),
        );
        let mut reads = Vec::new();
        let mut registered: Vec<(&'static str, Gauges)> = Vec::new();
        for (service, db, own) in services {
            for query in PLATFORM_GAUGES.iter().chain(own.iter()) {
                let family = match registered.iter().find(|(n, _)| *n == query.name) {
                    Some((_, f)) => f.clone(),
                    None => {
                        let f = Family::default();
                        registry.register(query.name, query.help, f.clone());
                        registered.push((query.name, f.clone()));
                        f
                    }
                };
                reads.push(Read {
                    service,
                    db: db.clone(),
                    query: *query,
                    family,
                });
            }
        }
        Metrics { registry, reads }
    }

    /// The exposition, in the OpenMetrics text format, with every gauge read
    /// now; a database that does not answer leaves its gauges out.
    pub async fn render(&self) -> String {
        for read in &self.reads {
            read.family.clear();
        }
        for read in &self.reads {
            let Ok(mut conn) = read.db.conn().await else {
                continue;
            };
            let Ok(rows) = sqlx::query(read.query.sql).fetch_all(&mut *conn).await else {
                tracing::warn!(
                    gauge = read.query.name,
                    service = read.service,
                    "a metric could not be read"
                );
                continue;
            };
            for row in rows {
                let columns = row.columns().len();
                if columns == 0 {
                    continue;
                }
                let mut labels: Labels = vec![("service".to_owned(), read.service.to_owned())];
                for i in 0..columns - 1 {
                    let name = sqlx::Column::name(&row.columns()[i]).to_owned();
                    let value: String = row.try_get(i).unwrap_or_default();
                    labels.push((name, value));
                }
                let value: i64 = row.try_get(columns - 1).unwrap_or_default();
                read.family.get_or_create(&labels).set(value);
            }
        }
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            tracing::warn!("metrics could not be written");
        }
        out
    }
}

/// Scrapes answered at once; more wait their turn.
const SCRAPES_AT_ONCE: usize = 2;

/// Serves `metrics` at `/metrics` on `listener` until `stop`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    metrics: Arc<Metrics>,
    stop: tokio_util::sync::CancellationToken,
) {
    use axum::routing::get;
    // Each scrape queries the databases: a few at a time, the rest wait.
    let scrapes = Arc::new(tokio::sync::Semaphore::new(SCRAPES_AT_ONCE));
    let app = axum::Router::new().route(
        "/metrics",
        get(move || {
            let (metrics, scrapes) = (metrics.clone(), scrapes.clone());
            async move {
                let _turn = scrapes.acquire_owned().await;
                (
                    [(
                        http::header::CONTENT_TYPE,
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    )],
                    metrics.render().await,
                )
            }
        }),
    );
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await;
    if let Err(e) = served {
        tracing::warn!(error = %e, "the metrics endpoint stopped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_are_counted_by_method_and_code() {
        let calls = Calls::default();
        calls.record(
            "/allot.team.v1.TeamService/ListTeams",
            "0",
            Duration::from_millis(3),
        );
        calls.record(
            "/allot.team.v1.TeamService/ListTeams",
            "0",
            Duration::from_millis(5),
        );
        calls.record(
            "/allot.team.v1.TeamService/GetTeam",
            "5",
            Duration::from_millis(1),
        );
        for i in 0..50 {
            calls.record(&format!("/made.up/M{i}"), "12", Duration::ZERO);
        }
        let metrics = Metrics::new(&calls, &[]);
        let text = futures_lite_block_on(metrics.render());
        assert!(text.contains(
            "rpc_server_requests_total{rpc_method=\"/allot.team.v1.TeamService/ListTeams\",rpc_grpc_status_code=\"0\"} 2"
        ), "{text}");
        assert!(text.contains("rpc_grpc_status_code=\"5\"} 1"), "{text}");
        assert!(!text.contains("made.up"), "a caller's paths are no labels");
        assert!(
            text.contains("rpc_method=\"unrouted\",rpc_grpc_status_code=\"12\"} 50"),
            "{text}"
        );
        assert!(text.contains(
            "rpc_server_duration_seconds_count{rpc_method=\"/allot.team.v1.TeamService/ListTeams\"} 2"
        ), "{text}");
    }

    fn futures_lite_block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(f)
    }
}
