//! One module per noun, each with its clap subcommands and a `run`.

pub mod auth;
pub mod context;
pub mod contract;
pub mod export;
pub mod group;
pub mod import;
pub mod invitation;
pub mod member;
pub mod product;
pub mod report;
pub mod seat;
pub mod service_account;
pub mod subscription;
pub mod team;
pub mod watch;
