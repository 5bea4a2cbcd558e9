//! `allotctl login`, `logout` and `auth token`: signing in keeps the server,
//! CA and credential as a context; the token is reused until it expires.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand};

use crate::Global;
use crate::client::{new_token, token_for};
use crate::contexts::{self, Context, Contexts};
use crate::output::print;

#[derive(Debug, Subcommand)]
pub enum AuthCmd {
    /// Print a bearer token for your credential (for other gRPC tools).
    Token,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The name to keep this sign-in under (default: the `--context` given,
    /// else `default`).
    #[arg(long = "name")]
    name: Option<String>,
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

/// Checks the server and the credential by getting a token, then stores
/// them as a context and makes it current.
pub async fn login(g: &Global, args: LoginArgs) -> anyhow::Result<()> {
    let name = args
        .name
        .or_else(|| g.context_flag.clone())
        .unwrap_or_else(|| "default".into());
    anyhow::ensure!(
        g.credential.is_some(),
        "no credential to sign in with: pass --credential CLIENT_ID:SECRET or set ALLOT_CREDENTIAL"
    );
    let (token, expires) = new_token(g).await?;
    let ca_file: Option<PathBuf> = match &g.ca_file {
        Some(p) => {
            Some(std::fs::canonicalize(p).with_context(|| format!("the CA file {}", p.display()))?)
        }
        None => None,
    };
    let path = contexts::path()?;
    let mut stored = Contexts::load(&path)?;
    stored.contexts.insert(
        name.clone(),
        Context {
            server: g.server.clone(),
            ca_file,
            credential: g.credential.clone(),
            token: Some(token),
            token_expires: expires,
        },
    );
    stored.current = Some(name.clone());
    stored.save(&path)?;
    let client_id = g
        .credential
        .as_deref()
        .and_then(|c| c.split_once(':'))
        .map(|(id, _)| id.to_owned())
        .unwrap_or_default();
    print(
        g.json,
        &serde_json::json!({ "context": name, "server": g.server, "client_id": client_id, "config": path }),
        |_| {
            format!(
                "Signed in to {} as {client_id}; context {name:?} is current (kept in {}).",
                g.server,
                path.display()
            )
        },
    )
}

/// Forgets the credential and token of the context in use.
pub fn logout(g: &Global) -> anyhow::Result<()> {
    let path = contexts::path()?;
    let mut stored = Contexts::load(&path)?;
    let name = g
        .context
        .clone()
        .ok_or_else(|| anyhow::anyhow!("not signed in: no context is in use"))?;
    if let Some(c) = stored.contexts.get_mut(&name) {
        c.credential = None;
        c.token = None;
        c.token_expires = 0;
    }
    stored.save(&path)?;
    print(g.json, &serde_json::json!({ "context": name }), |_| {
        format!(
            "Signed out of context {name:?}; its server stays, its credential and token are gone."
        )
    })
}
