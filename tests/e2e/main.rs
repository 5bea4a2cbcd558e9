//! End-to-end tests across services: real servers on port 0, real
//! databases (SQLite and PostgreSQL), a real SMTP server, generated
//! clients over real sockets. One test binary for the whole suite.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod authz;
mod bulk;
mod cli;
mod entitlement;
mod events;
mod harness;
mod invitations;
mod platform;
mod retries;
mod teams;
