//! End-to-end tests across services: real servers on port 0, real
//! databases (SQLite and PostgreSQL), a real SMTP server, generated
//! clients over real sockets. One test binary for the whole suite.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use allot_testkit as harness;
use allot_testkit::on_both_backends;

mod authz;
mod bulk;
mod cli;
mod consistency;
mod console;
mod deployment;
mod entitlement;
mod events;
mod invitations;
mod listing;
mod platform;
mod retries;
mod sessions;
mod sign_in;
mod teams;
mod tls;
mod traces;
