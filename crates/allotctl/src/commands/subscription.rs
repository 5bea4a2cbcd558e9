//! `allotctl subscription move`.

use allot_proto::entitlement::{self as epb};
use clap::{Args, Subcommand};

use crate::Global;
use crate::client::{connect, status_error, team_name};
use crate::output::print;

#[derive(Debug, Subcommand)]
pub enum SubscriptionCmd {
    Move(MoveArgs),
}

/// Move a subscription to another team (contract managers).
#[derive(Debug, Args)]
pub struct MoveArgs {
    /// `subscriptions/ID`.
    #[arg(long)]
    subscription: String,
    #[arg(long)]
    team: String,
}

pub async fn run(g: &Global, cmd: SubscriptionCmd) -> anyhow::Result<()> {
    let SubscriptionCmd::Move(MoveArgs { subscription, team }) = cmd;
    let mut c = connect(g, true).await?;
    let s = c
        .entitlement
        .move_subscription(epb::MoveSubscriptionRequest {
            subscription,
            target_team: team_name(&team),
        })
        .await
        .map_err(status_error)?
        .into_inner();
    print(
        g.json,
        &serde_json::json!({ "subscription": s.name, "team": s.team }),
        |_| {
            format!(
                "{} now sits in {}; its assignments stayed in the old team.",
                s.name, s.team
            )
        },
    )
}
