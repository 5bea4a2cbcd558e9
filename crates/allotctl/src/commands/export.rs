//! `allotctl export users`: a team's users as CSV.

use allot_proto::team::{self as tpb};
use anyhow::Context;
use clap::Subcommand;

use crate::Global;
use crate::client::{connect, status_error, team_name};

/// Export a team's users as CSV (safe to open in a spreadsheet).
#[derive(Debug, Subcommand)]
pub enum ExportCmd {
    /// The team's users, optionally with their products and last use.
    Users {
        #[arg(long)]
        team: String,
        /// Add each user's products and when they last used each.
        #[arg(long)]
        products: bool,
        /// Write here instead of standard output.
        #[arg(long, short)]
        output: Option<std::path::PathBuf>,
    },
}

pub async fn run(g: &Global, cmd: ExportCmd) -> anyhow::Result<()> {
    match cmd {
        ExportCmd::Users {
            team,
            products,
            output,
        } => users(g, &team, products, output).await,
    }
}

async fn users(
    g: &Global,
    team: &str,
    products: bool,
    output: Option<std::path::PathBuf>,
) -> anyhow::Result<()> {
    let mut c = connect(g, true).await?;
    let mut stream = c
        .team
        .export_members(tpb::ExportMembersRequest {
            parent: team_name(team),
            guests: tpb::GuestFilter::Include as i32,
            include_products: products,
        })
        .await
        .map_err(status_error)?
        .into_inner();
    let mut bytes = Vec::new();
    while let Some(chunk) = tokio_stream::StreamExt::next(&mut stream).await {
        bytes.extend(chunk.map_err(status_error)?.chunk);
    }
    match output {
        Some(path) => {
            std::fs::write(&path, &bytes).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("wrote {} ({} bytes)", path.display(), bytes.len());
        }
        None => {
            use std::io::Write;
            std::io::stdout().write_all(&bytes)?;
        }
    }
    Ok(())
}
