//! `allotctl auth token`: the credential as a bearer token.

use clap::Subcommand;

use crate::Global;
use crate::client::token_for;
use crate::output::print;

#[derive(Debug, Subcommand)]
pub enum AuthCmd {
    /// Print a bearer token for your credential (for other gRPC tools).
    Token,
}

pub async fn run(g: &Global, cmd: AuthCmd) -> anyhow::Result<()> {
    match cmd {
        AuthCmd::Token => {
            let token = token_for(g).await?;
            print(
                g.json,
                &serde_json::json!({ "access_token": token }),
                |_| token.clone(),
            )
        }
    }
}
