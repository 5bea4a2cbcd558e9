//! `allotctl`: Allot from the command line, for admins and operators.
//!
//! Commands are `allotctl NOUN VERB` (`allotctl seat assign`), one module
//! per noun under `commands/`. The flat names of earlier versions
//! (`allotctl assign`) still work as hidden aliases: see [`OldName`].

mod client;
mod commands;
mod contexts;
mod errors;
mod output;

use clap::{Args, Parser, Subcommand};

use commands::auth::{self, AuthCmd};
use commands::context;
use commands::contract::{self, ContractCmd};
use commands::export::{self, ExportCmd};
use commands::group::{self, GroupCmd};
use commands::import::{self, ImportArgs};
use commands::invitation::{self, InvitationCmd};
use commands::member::{self, MemberCmd};
use commands::product::{self, ProductCmd};
use commands::report::{self, ReportCmd};
use commands::seat::{self, SeatCmd};
use commands::service_account::{self, ServiceAccountCmd};
use commands::subscription::{self, SubscriptionCmd};
use commands::team::{self, TeamCmd};
use commands::watch::{self, WatchArgs};

#[derive(Debug, Parser)]
#[command(
    name = "allotctl",
    version,
    about = "Manage teams, people and seats in Allot"
)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

/// Where Allot is and who is asking; every command takes these. Each
/// overrides the context's (`allotctl login`).
#[derive(Debug, Args)]
struct GlobalArgs {
    /// Where Allot listens (default: the context's, else
    /// http://127.0.0.1:50051).
    #[arg(long, global = true, env = "ALLOT_SERVER")]
    server: Option<String>,
    /// The stored context to use (default: the current one; see
    /// `allotctl context list`).
    #[arg(long, global = true, env = "ALLOT_CONTEXT")]
    context: Option<String>,
    /// The CA an `https://` server's certificate is checked against
    /// (default: the system's trusted roots).
    #[arg(long, global = true, env = "ALLOT_CA_FILE")]
    ca_file: Option<std::path::PathBuf>,
    /// Your credential, `CLIENT_ID:SECRET` (`allot dev` prints one).
    #[arg(long, global = true, env = "ALLOT_CREDENTIAL", hide_env_values = true)]
    credential: Option<String>,
    /// Print JSON for scripts instead of text for people (errors too, on
    /// stderr).
    #[arg(long, global = true)]
    json: bool,
}

/// [`GlobalArgs`] with the context filled in: what commands connect with.
#[derive(Debug)]
pub struct Global {
    server: String,
    ca_file: Option<std::path::PathBuf>,
    credential: Option<String>,
    json: bool,
    /// The context these came from, where tokens are kept.
    context: Option<String>,
    /// `--context` (or `ALLOT_CONTEXT`) as given.
    context_flag: Option<String>,
    /// Whether `--server`, `--ca-file` or `--credential` was given, so a
    /// stored token may not be for them.
    overridden: bool,
}

/// Where Allot listens when nothing says otherwise (`allot dev`).
const DEFAULT_SERVER: &str = "http://127.0.0.1:50051";

impl GlobalArgs {
    fn resolve(self) -> anyhow::Result<Global> {
        let path = contexts::path()?;
        self.resolve_from(&path)
    }

    /// [`GlobalArgs::resolve`] with the contexts in `path`.
    fn resolve_from(self, path: &std::path::Path) -> anyhow::Result<Global> {
        let stored = contexts::Contexts::load(path)?;
        let picked = stored.pick(self.context.as_deref())?;
        let overridden =
            self.server.is_some() || self.ca_file.is_some() || self.credential.is_some();
        let (context, ctx) = match picked {
            // A context's credential and CA are for its own server only:
            // `--server` elsewhere leaves them out, so a stray ALLOT_SERVER
            // never receives them.
            Some((_, c)) if self.server.as_ref().is_some_and(|s| *s != c.server) => (None, None),
            Some((name, c)) => (Some(name), Some(c.clone())),
            None => (None, None),
        };
        Ok(Global {
            server: self
                .server
                .or_else(|| ctx.as_ref().map(|c| c.server.clone()))
                .unwrap_or_else(|| DEFAULT_SERVER.to_owned()),
            ca_file: self
                .ca_file
                .or_else(|| ctx.as_ref().and_then(|c| c.ca_file.clone())),
            credential: self
                .credential
                .or_else(|| ctx.as_ref().and_then(|c| c.credential.clone())),
            json: self.json,
            context,
            context_flag: self.context,
            overridden,
        })
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List, create, rename or show teams.
    #[command(subcommand)]
    Team(TeamCmd),
    /// List and change members: role, guest flag, removal, primary admin
    /// hand-over.
    #[command(subcommand)]
    Member(MemberCmd),
    /// Invite people, send an invitation again, accept one.
    #[command(subcommand)]
    Invitation(InvitationCmd),
    /// Groups of a team and their members.
    #[command(subcommand)]
    Group(GroupCmd),
    /// Service accounts and their credentials (operators, `admin` scope).
    #[command(subcommand, name = "service-account")]
    ServiceAccount(ServiceAccountCmd),
    /// Your credential as a bearer token.
    #[command(subcommand)]
    Auth(AuthCmd),
    /// Sign in: check the server and credential, and keep them (with the
    /// token) as a context.
    Login(auth::LoginArgs),
    /// Forget the credential and token of a context.
    Logout,
    /// Stored contexts: list them, pick the current one, delete one.
    #[command(subcommand)]
    Context(context::ContextCmd),
    /// Print a shell completion script (`allotctl completion bash >
    /// /etc/bash_completion.d/allotctl`).
    Completion {
        shell: clap_complete::Shell,
    },
    /// The product catalog, and your own products.
    #[command(subcommand)]
    Product(ProductCmd),
    /// Purchases: contracts with subscriptions.
    #[command(subcommand)]
    Contract(ContractCmd),
    /// Subscriptions of a contract.
    #[command(subcommand)]
    Subscription(SubscriptionCmd),
    /// A team's seats: pools, assignments, checks.
    #[command(subcommand)]
    Seat(SeatCmd),
    Import(ImportArgs),
    #[command(subcommand)]
    Export(ExportCmd),
    #[command(subcommand)]
    Report(ReportCmd),
    Watch(WatchArgs),
    #[command(flatten)]
    Old(OldName),
}

/// The flat command names of earlier versions, kept (hidden) so scripts
/// keep working; each runs the same code as its noun-verb command.
#[derive(Debug, Subcommand)]
enum OldName {
    /// List the teams you belong to.
    #[command(hide = true)]
    Teams,
    /// Print a bearer token for your credential (for other gRPC tools).
    #[command(hide = true)]
    Token,
    /// The product catalog.
    #[command(hide = true)]
    Products,
    #[command(hide = true)]
    AddProduct(product::CreateArgs),
    #[command(hide = true)]
    Buy(contract::CreateArgs),
    #[command(hide = true)]
    Pools(seat::ListArgs),
    #[command(hide = true)]
    Assign(seat::AssignArgs),
    #[command(hide = true)]
    Unassign(seat::UnassignArgs),
    #[command(hide = true)]
    Check(seat::CheckArgs),
    /// Your own products and services.
    #[command(hide = true)]
    MyProducts,
    #[command(hide = true)]
    Move(subscription::MoveArgs),
    #[command(hide = true)]
    Members(member::ListArgs),
    #[command(hide = true)]
    Invite(invitation::SendArgs),
    #[command(hide = true)]
    Resend(invitation::ResendArgs),
    #[command(hide = true)]
    Accept(invitation::AcceptArgs),
}

impl OldName {
    /// The noun-verb command this name stands for.
    fn into_command(self) -> Command {
        match self {
            OldName::Teams => Command::Team(TeamCmd::List),
            OldName::Token => Command::Auth(AuthCmd::Token),
            OldName::Products => Command::Product(ProductCmd::List),
            OldName::AddProduct(a) => Command::Product(ProductCmd::Create(a)),
            OldName::Buy(a) => Command::Contract(ContractCmd::Create(a)),
            OldName::Pools(a) => Command::Seat(SeatCmd::List(a)),
            OldName::Assign(a) => Command::Seat(SeatCmd::Assign(a)),
            OldName::Unassign(a) => Command::Seat(SeatCmd::Unassign(a)),
            OldName::Check(a) => Command::Seat(SeatCmd::Check(a)),
            OldName::MyProducts => Command::Product(ProductCmd::Mine),
            OldName::Move(a) => Command::Subscription(SubscriptionCmd::Move(a)),
            OldName::Members(a) => Command::Member(MemberCmd::List(a)),
            OldName::Invite(a) => Command::Invitation(InvitationCmd::Send(a)),
            OldName::Resend(a) => Command::Invitation(InvitationCmd::Resend(a)),
            OldName::Accept(a) => Command::Invitation(InvitationCmd::Accept(a)),
        }
    }
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let json = cli.global.json;
    if let Command::Completion { shell } = cli.command {
        use clap::CommandFactory;
        clap_complete::generate(
            shell,
            &mut Cli::command(),
            "allotctl",
            &mut std::io::stdout(),
        );
        return;
    }
    let result = match cli.global.resolve() {
        Ok(g) => run(&g, cli.command).await,
        Err(e) => Err(e),
    };
    if let Err(e) = result {
        std::process::exit(errors::report(&e, json));
    }
}

/// Runs a command; each connects (see [`client::connect`]) as it needs.
async fn run(g: &Global, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Team(cmd) => team::run(g, cmd).await,
        Command::Member(cmd) => member::run(g, cmd).await,
        Command::Invitation(cmd) => invitation::run(g, cmd).await,
        Command::Group(cmd) => group::run(g, cmd).await,
        Command::ServiceAccount(cmd) => service_account::run(g, cmd).await,
        Command::Auth(cmd) => auth::run(g, cmd).await,
        Command::Login(args) => auth::login(g, args).await,
        Command::Logout => auth::logout(g),
        Command::Context(cmd) => context::run(g, cmd),
        Command::Completion { .. } => Ok(()),
        Command::Product(cmd) => product::run(g, cmd).await,
        Command::Contract(cmd) => contract::run(g, cmd).await,
        Command::Subscription(cmd) => subscription::run(g, cmd).await,
        Command::Seat(cmd) => seat::run(g, cmd).await,
        Command::Import(args) => import::run(g, args).await,
        Command::Export(cmd) => export::run(g, cmd).await,
        Command::Report(cmd) => report::run(g, cmd).await,
        Command::Watch(args) => watch::run(g, args).await,
        Command::Old(old) => Box::pin(run(g, old.into_command())).await,
    }
}

#[cfg(test)]
mod cli_tests;
