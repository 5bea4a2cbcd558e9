//! Allot's benchmarks. Every figure is a ratio against a baseline measured
//! in the same run on the same machine, since the machine is shared.
//!
//!   bash tests/bench.sh [race|check|tls|assign|watch|import|console|all]
//!
//! (which starts PostgreSQL and runs `cargo bench -p allot --bench allot`).
//!
//! - race: 64 callers assign 200 people to a pool with 10 free seats, 50
//!   rounds, on PostgreSQL and SQLite: exactly 10 must succeed each round.
//! - check: CheckEntitlement over real gRPC against a bare tonic server
//!   with a same-sized unary handler, both driven by h2load: throughput
//!   ratio (goal >= 0.69, the ratio before bulk writes), and p99 latency
//!   at half the bare server's maximum rate against the bare server's p99
//!   at that rate (goal within 1.25x).
//! - assign: assignment throughput on PostgreSQL against `pgbench -N` with
//!   the same client count on the same server (goal >= 0.5), and one
//!   AssignUsers call for 1,000 people (goal < 1 s).
//! - watch: commit-to-watcher latency under a steady write load (4 writers,
//!   100 commits per second), from the moment a write is sent until a
//!   Watch client holds its event, p50 and p99 on PostgreSQL and SQLite
//!   (goal p99 < 50 ms); the baseline is the write's own round trip.
//! - import: services as separate processes on PostgreSQL. The SMTP
//!   sink's own capacity (a plain sender pushing 5,000 prebuilt messages);
//!   a CSV import of 5,000 people: the import step against a plain `COPY`
//!   of the same rows (goal within 20x), every invitation at the SMTP
//!   server against the sink's capacity (goal within 1.5x); 100,000 rows
//!   (goal < 25 s, server peak memory < 150 MiB, the completion email
//!   delivered); the idle and peak memory of each service and of
//!   `allot dev`.
//! - console: each console page with 5,000 members, over HTTP as a signed-in
//!   browser asks (goal p95 < 100 ms), against the gRPC calls the page
//!   makes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use allot_testkit as harness;

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use allot_platform::testing::{Backend, postgres_admin_url};
use allot_proto::entitlement as epb;
use allot_proto::entitlement::entitlement_service_server::{
    EntitlementService, EntitlementServiceServer,
};
use allot_proto::team as tpb;
use harness::{Clients, Env};
use prost::Message;
use tokio::sync::Mutex;

mod assign;
mod check;
mod console;
mod import;
mod race;
mod shop;
mod watch;

use assign::*;
use check::*;
use console::*;
use import::*;
use race::*;
use shop::*;
use watch::*;

fn main() {
    let which: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let all = which.is_empty() || which.iter().any(|w| w == "all");
    let wants = |name: &str| all || which.iter().any(|w| w == name);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // Quiet servers: benchmarks print their own figures.
    harness::init_tracing_with(&std::env::var("ALLOT_TEST_LOG").unwrap_or_else(|_| "error".into()));
    let mut report = serde_json::Map::new();
    rt.block_on(async {
        if wants("race") {
            report.insert("race".into(), race().await);
        }
        if wants("check") {
            report.insert("check".into(), check().await);
        }
        if wants("tls") {
            report.insert("tls".into(), tls().await);
        }
        if wants("assign") {
            report.insert("assign".into(), assign().await);
        }
        if wants("watch") {
            report.insert("watch".into(), watch().await);
        }
        if wants("import") {
            report.insert("import".into(), import().await);
        }
        if wants("console") {
            report.insert("console".into(), console().await);
        }
    });
    let json = serde_json::Value::Object(report);
    let out =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-results.json");
    let _ = std::fs::write(
        &out,
        serde_json::to_string_pretty(&json).unwrap_or_default(),
    );
    println!("\nresults written to {}", out.display());
}
