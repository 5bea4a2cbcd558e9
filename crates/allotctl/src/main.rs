//! `allotctl`: Allot from the command line, for admins and operators.

use std::time::Duration;

use allot_proto::entitlement::entitlement_service_client::EntitlementServiceClient;
use allot_proto::entitlement::{self as epb};
use allot_proto::identity::identity_service_client::IdentityServiceClient;
use allot_proto::identity::{self as idpb};
use allot_proto::team::team_service_client::TeamServiceClient;
use allot_proto::team::{self as tpb};
use anyhow::{Context, anyhow, bail};
use clap::{Args, Parser, Subcommand};
use serde::Serialize;
use tonic::metadata::MetadataValue;
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

#[derive(Parser)]
#[command(
    name = "allotctl",
    version,
    about = "Manage teams, people and seats in Allot"
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct Global {
    /// Where Allot listens.
    #[arg(
        long,
        global = true,
        env = "ALLOT_SERVER",
        default_value = "http://127.0.0.1:50051"
    )]
    server: String,
    /// Your credential, `CLIENT_ID:SECRET` (`allot dev` prints one).
    #[arg(long, global = true, env = "ALLOT_CREDENTIAL", hide_env_values = true)]
    credential: Option<String>,
    /// Print JSON for scripts instead of text for people.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand)]
enum Command {
    /// List the teams you belong to.
    Teams,
    /// Create, rename or show teams.
    #[command(subcommand)]
    Team(TeamCmd),
    /// Change a member: role, guest flag, removal, primary admin hand-over.
    #[command(subcommand)]
    Member(MemberCmd),
    /// Groups of a team and their members.
    #[command(subcommand)]
    Group(GroupCmd),
    /// Service accounts and their credentials (operators, `admin` scope).
    #[command(subcommand, name = "service-account")]
    ServiceAccount(ServiceAccountCmd),
    /// Print a bearer token for your credential (for other gRPC tools).
    Token,
    /// The product catalog.
    Products,
    /// Add a product to the catalog (`catalog` or `admin` scope).
    AddProduct {
        /// The product id, such as `cad-suite`.
        id: String,
        #[arg(long)]
        name: String,
        /// Items as `id:kind`, kind one of application, cloud-service,
        /// support (`desktop:application`).
        #[arg(long = "item", required = true)]
        items: Vec<String>,
    },
    /// Record a purchase: a contract with subscriptions (`contracts` or
    /// `admin` scope).
    Buy {
        /// The contract manager's email.
        #[arg(long)]
        owner: String,
        /// `product=seats`, repeatable.
        #[arg(long = "seats", required = true)]
        seats: Vec<String>,
        /// A serial number makes it a classic contract.
        #[arg(long)]
        serial: Option<String>,
        #[arg(long)]
        premium: bool,
    },
    /// Seats per product of a team: seats, assigned, available.
    Pools {
        #[arg(long)]
        team: String,
    },
    /// Give a person products (by user), or several people one product
    /// (by product, with several --email).
    Assign {
        #[arg(long)]
        team: String,
        #[arg(long = "email", required = true)]
        emails: Vec<String>,
        #[arg(long = "product", required = true)]
        products: Vec<String>,
        /// Only these items (comma separated); all when left out.
        #[arg(long, value_delimiter = ',')]
        items: Vec<String>,
    },
    /// Take a product away from a person (the seat becomes free).
    Unassign {
        #[arg(long)]
        team: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        product: String,
    },
    /// May this person use this product now?
    Check {
        /// Whom to ask about; yourself when left out.
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        product: String,
    },
    /// Your own products and services.
    MyProducts,
    /// Move a subscription to another team (contract managers).
    Move {
        /// `subscriptions/ID`.
        #[arg(long)]
        subscription: String,
        #[arg(long)]
        team: String,
    },
    /// List the members of a team.
    Members {
        #[arg(long)]
        team: String,
        /// Leave guests out.
        #[arg(long)]
        no_guests: bool,
    },
    /// Invite a person into a team (or several, with --emails).
    Invite(InviteArgs),
    /// Send a pending invitation again (the old link stops working).
    Resend {
        #[arg(long)]
        team: String,
        /// The invited person's email address.
        #[arg(long)]
        email: String,
    },
    /// Import people from a CSV file into a team (header row naming
    /// `email`, optionally `first name` and `last name`), with a progress bar
    /// and each row's outcome at the end.
    Import(ImportArgs),
    /// Export a team's users as CSV (safe to open in a spreadsheet).
    #[command(subcommand)]
    Export(ExportCmd),
    /// Reports for whoever pays.
    #[command(subcommand)]
    Report(ReportCmd),
    /// Print a service's change events as they happen (`events.read` scope,
    /// or a team admin with --team). Stops with Ctrl-C.
    Watch(WatchArgs),
    /// Accept an invitation with the token from its link (no credential needed).
    Accept {
        /// The token, or the whole accept link.
        token: String,
    },
}

#[derive(Args)]
struct ImportArgs {
    /// The CSV file.
    #[arg(required_unless_present = "show")]
    file: Option<std::path::PathBuf>,
    #[arg(long, required_unless_present = "show")]
    team: Option<String>,
    /// Only report what would happen.
    #[arg(long)]
    validate_only: bool,
    /// Start the job and print its name without waiting.
    #[arg(long)]
    no_wait: bool,
    /// Show an earlier import (`operations/ID`) instead.
    #[arg(long, conflicts_with = "file")]
    show: Option<String>,
}

#[derive(Subcommand)]
enum ExportCmd {
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

#[derive(Subcommand)]
enum ReportCmd {
    /// Seats, assigned and distinct users per product and day.
    Usage {
        #[arg(long)]
        team: String,
        /// First day, `YYYY-MM-DD`.
        #[arg(long)]
        from: String,
        /// Last day, `YYYY-MM-DD` (inclusive).
        #[arg(long)]
        to: String,
        /// Print CSV instead of a table.
        #[arg(long)]
        csv: bool,
        /// Also draw seats, assigned and used per day for each product into
        /// this SVG file.
        #[arg(long)]
        chart: Option<std::path::PathBuf>,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum StreamOf {
    Identity,
    Team,
    Entitlement,
}

#[derive(Args)]
struct WatchArgs {
    /// Whose events.
    #[arg(value_enum)]
    service: StreamOf,
    /// Resume after this cursor (printed with each event).
    #[arg(long)]
    after: Option<String>,
    /// Keep the cursor in this file: resume from it, and save it after each
    /// commit and checkpoint.
    #[arg(long)]
    cursor_file: Option<std::path::PathBuf>,
    /// Only new events, not the retained history.
    #[arg(long)]
    from_now: bool,
    /// Only these event types (`member_removed`), repeatable.
    #[arg(long = "type")]
    types: Vec<String>,
    /// Only events of this team (team and entitlement).
    #[arg(long)]
    team: Option<String>,
}

#[derive(Subcommand)]
enum TeamCmd {
    /// Create a team; you become its primary admin.
    Create { display_name: String },
    /// Rename a team.
    Rename {
        #[arg(long)]
        team: String,
        display_name: String,
    },
    /// Show a team.
    Show {
        #[arg(long)]
        team: String,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum RoleArg {
    User,
    SecondaryAdmin,
    SsoAdmin,
}

impl RoleArg {
    fn pb(self) -> tpb::Role {
        match self {
            RoleArg::User => tpb::Role::User,
            RoleArg::SecondaryAdmin => tpb::Role::SecondaryAdmin,
            RoleArg::SsoAdmin => tpb::Role::SsoAdmin,
        }
    }
}

#[derive(Subcommand)]
enum MemberCmd {
    /// Give a member a role (user, secondary-admin, sso-admin).
    Role {
        #[arg(long)]
        team: String,
        #[arg(long)]
        email: String,
        role: RoleArg,
    },
    /// Mark a member as a guest, or not (`--off`).
    Guest {
        #[arg(long)]
        team: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        off: bool,
    },
    /// Hand the primary admin role to a member; you become a secondary admin.
    MakePrimary {
        #[arg(long)]
        team: String,
        #[arg(long)]
        email: String,
    },
    /// Remove a member (their seats in the team become free).
    Remove {
        #[arg(long)]
        team: String,
        #[arg(long)]
        email: String,
    },
}

#[derive(Subcommand)]
enum GroupCmd {
    /// List a team's groups.
    List {
        #[arg(long)]
        team: String,
    },
    Create {
        #[arg(long)]
        team: String,
        display_name: String,
    },
    Rename {
        /// `teams/T/groups/G`.
        group: String,
        display_name: String,
    },
    Delete {
        group: String,
    },
    /// Add members (by email) to a group.
    Add {
        group: String,
        #[arg(required = true)]
        emails: Vec<String>,
    },
    /// Remove members (by email) from a group.
    Remove {
        group: String,
        #[arg(required = true)]
        emails: Vec<String>,
    },
    /// List a group's members.
    Members {
        group: String,
    },
}

#[derive(Subcommand)]
enum ServiceAccountCmd {
    List,
    /// Create a service account with scopes (catalog, contracts, guests,
    /// accounts.read, events.read, entitlements.check, act_as, admin).
    Create {
        display_name: String,
        #[arg(long = "scope")]
        scopes: Vec<String>,
    },
    Delete {
        name: String,
    },
    /// Create a credential; its secret is shown once.
    CreateKey {
        name: String,
    },
    ListKeys {
        name: String,
    },
    DeleteKey {
        key: String,
    },
}

#[derive(Args)]
struct InviteArgs {
    /// The team, `teams/ID` or just the id.
    #[arg(long)]
    team: String,
    #[arg(long, requires_all = ["last_name", "email"], conflicts_with = "emails")]
    first_name: Option<String>,
    #[arg(long)]
    last_name: Option<String>,
    #[arg(long)]
    email: Option<String>,
    /// Several addresses separated by semicolons, as pasted from a mail
    /// client (`Ada Lovelace <ada@example.com>; grace@example.com`).
    #[arg(long)]
    emails: Option<String>,
    /// Add as guests (contractors, suppliers).
    #[arg(long)]
    guest: bool,
}

/// Adds the bearer token to every call.
#[derive(Clone)]
struct Bearer(Option<MetadataValue<tonic::metadata::Ascii>>);

impl Interceptor for Bearer {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(v) = &self.0 {
            req.metadata_mut().insert("authorization", v.clone());
        }
        req.set_timeout(Duration::from_secs(30));
        Ok(req)
    }
}

type Authed = InterceptedService<Channel, Bearer>;

struct Clients {
    identity: IdentityServiceClient<Authed>,
    team: TeamServiceClient<Authed>,
    entitlement: EntitlementServiceClient<Authed>,
}

async fn channel(g: &Global) -> anyhow::Result<Channel> {
    Endpoint::from_shared(g.server.clone())
        .with_context(|| format!("server URL {:?}", g.server))?
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .with_context(|| {
            format!(
                "cannot reach Allot at {} (is `allot dev` running?)",
                g.server
            )
        })
}

/// Exchanges the credential for a bearer token.
async fn token_for(g: &Global) -> anyhow::Result<String> {
    let cred = g.credential.as_deref().ok_or_else(|| {
        anyhow!("no credential: set ALLOT_CREDENTIAL=CLIENT_ID:SECRET or pass --credential")
    })?;
    let (client_id, secret) = cred
        .split_once(':')
        .ok_or_else(|| anyhow!("the credential must look like CLIENT_ID:SECRET"))?;
    Ok(IdentityServiceClient::new(channel(g).await?)
        .create_token(idpb::CreateTokenRequest {
            client_id: client_id.into(),
            client_secret: secret.into(),
            ..Default::default()
        })
        .await
        .map_err(status_error)?
        .into_inner()
        .access_token)
}

async fn connect(g: &Global, need_credential: bool) -> anyhow::Result<Clients> {
    let channel = channel(g).await?;
    let bearer = if need_credential || g.credential.is_some() {
        Some(format!("Bearer {}", token_for(g).await?).parse()?)
    } else {
        None
    };
    let b = Bearer(bearer);
    Ok(Clients {
        identity: IdentityServiceClient::with_interceptor(channel.clone(), b.clone()),
        team: TeamServiceClient::with_interceptor(channel.clone(), b.clone()),
        entitlement: EntitlementServiceClient::with_interceptor(channel, b),
    })
}

/// A gRPC refusal in words: the message, and the fields it names.
fn status_error(s: tonic::Status) -> anyhow::Error {
    use tonic_types::StatusExt;
    let mut text = format!("{:?}: {}", s.code(), s.message());
    if let Some(br) = s.get_details_bad_request() {
        for v in br.field_violations {
            text.push_str(&format!("\n  {}: {}", v.field, v.description));
        }
    }
    anyhow!(text)
}

fn team_name(t: &str) -> String {
    if t.starts_with("teams/") {
        t.to_owned()
    } else {
        format!("teams/{t}")
    }
}

#[derive(Serialize)]
struct TeamView {
    name: String,
    display_name: String,
    primary_admin: String,
    members: i32,
}

#[derive(Serialize)]
struct MemberView {
    name: String,
    email: String,
    given_name: String,
    family_name: String,
    role: String,
    guest: bool,
    state: String,
}

impl From<&tpb::Member> for MemberView {
    fn from(m: &tpb::Member) -> Self {
        MemberView {
            name: m.name.clone(),
            email: m.email.clone(),
            given_name: m.given_name.clone(),
            family_name: m.family_name.clone(),
            role: tpb::Role::try_from(m.role)
                .map(|r| r.as_str_name().trim_start_matches("ROLE_").to_owned())
                .unwrap_or_default(),
            guest: m.guest,
            state: tpb::MemberState::try_from(m.state)
                .map(|s| {
                    s.as_str_name()
                        .trim_start_matches("MEMBER_STATE_")
                        .to_owned()
                })
                .unwrap_or_default(),
        }
    }
}

#[derive(Serialize)]
struct InviteView {
    input: String,
    outcome: String,
    member: Option<MemberView>,
    problems: Vec<String>,
}

fn print<T: Serialize>(
    json: bool,
    value: &T,
    text: impl FnOnce(&T) -> String,
) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(value)?);
    } else {
        println!("{}", text(value));
    }
    Ok(())
}

fn member_line(m: &MemberView) -> String {
    let guest = if m.guest { " guest" } else { "" };
    format!(
        "{:<36} {:<24} {:<16} {}{guest}",
        m.email,
        format!("{} {}", m.given_name, m.family_name).trim(),
        m.role,
        m.state
    )
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    if let Err(e) = run(cli).await {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let g = &cli.global;
    match cli.command {
        Command::Accept { token } => {
            let token = token.rsplit("token=").next().unwrap_or(&token).to_owned();
            let mut c = connect(g, false).await?;
            let r = c
                .identity
                .accept_invitation(idpb::AcceptInvitationRequest { token })
                .await
                .map_err(status_error)?
                .into_inner();
            let a = r.account.unwrap_or_default();
            let view = serde_json::json!({ "account": a.name, "email": a.email, "state": "ACTIVE", "team": r.invitation.map(|i| i.team_display_name).unwrap_or_default() });
            print(g.json, &view, |_| {
                format!(
                    "Welcome, {} {}: your account {} is active.",
                    a.given_name, a.family_name, a.email
                )
            })
        }
        Command::Teams => {
            let mut c = connect(g, true).await?;
            let r = c
                .team
                .list_teams(tpb::ListTeamsRequest::default())
                .await
                .map_err(status_error)?
                .into_inner();
            let views: Vec<TeamView> = r
                .teams
                .iter()
                .map(|t| TeamView {
                    name: t.name.clone(),
                    display_name: t.display_name.clone(),
                    primary_admin: t.primary_admin.clone(),
                    members: t.member_count,
                })
                .collect();
            print(g.json, &views, |v| {
                if v.is_empty() {
                    return "You belong to no team yet.".into();
                }
                v.iter()
                    .map(|t| format!("{:<44} {} ({} members)", t.name, t.display_name, t.members))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        Command::Members { team, no_guests } => {
            let mut c = connect(g, true).await?;
            let mut views = Vec::new();
            let mut page_token = String::new();
            loop {
                let r = c
                    .team
                    .list_members(tpb::ListMembersRequest {
                        parent: team_name(&team),
                        page_size: 1000,
                        page_token: page_token.clone(),
                        guests: if no_guests {
                            tpb::GuestFilter::Exclude
                        } else {
                            tpb::GuestFilter::Include
                        } as i32,
                    })
                    .await
                    .map_err(status_error)?
                    .into_inner();
                views.extend(r.members.iter().map(MemberView::from));
                if r.next_page_token.is_empty() {
                    break;
                }
                page_token = r.next_page_token;
            }
            print(g.json, &views, |v| {
                v.iter().map(member_line).collect::<Vec<_>>().join("\n")
            })
        }
        Command::Invite(a) => invite(g, a).await,
        Command::Products => products_cmd(g).await,
        Command::AddProduct { id, name, items } => add_product_cmd(g, id, name, items).await,
        Command::Buy {
            owner,
            seats,
            serial,
            premium,
        } => buy_cmd(g, &owner, seats, serial, premium).await,
        Command::Pools { team } => pools_cmd(g, &team).await,
        Command::Assign {
            team,
            emails,
            products,
            items,
        } => assign_cmd(g, &team, emails, products, items).await,
        Command::Unassign {
            team,
            email,
            product,
        } => unassign_cmd(g, &team, &email, &product).await,
        Command::Check { email, product } => check_cmd(g, email, &product).await,
        Command::MyProducts => my_products_cmd(g).await,
        Command::Watch(args) => watch_cmd(g, args).await,
        Command::Import(args) => import_cmd(g, args).await,
        Command::Export(ExportCmd::Users {
            team,
            products,
            output,
        }) => export_users_cmd(g, &team, products, output).await,
        Command::Report(ReportCmd::Usage {
            team,
            from,
            to,
            csv,
            chart,
        }) => usage_report_cmd(g, &team, &from, &to, csv, chart).await,
        Command::Move { subscription, team } => move_cmd(g, &subscription, &team).await,
        Command::Token => {
            let token = token_for(g).await?;
            print(
                g.json,
                &serde_json::json!({ "access_token": token }),
                |_| token.clone(),
            )
        }
        Command::Team(cmd) => team_cmd(g, cmd).await,
        Command::Member(cmd) => member_cmd(g, cmd).await,
        Command::Group(cmd) => group_cmd(g, cmd).await,
        Command::ServiceAccount(cmd) => service_account_cmd(g, cmd).await,
        Command::Resend { team, email } => {
            let mut c = connect(g, true).await?;
            let name = member_of(&mut c, &team, &email).await?;
            let m = c
                .team
                .resend_invitation(tpb::ResendInvitationRequest { name })
                .await
                .map_err(status_error)?
                .into_inner();
            let view = MemberView::from(&m);
            print(g.json, &view, |v| {
                format!(
                    "Sent the invitation to {} again; the earlier link no longer works.",
                    v.email
                )
            })
        }
    }
}

async fn invite(g: &Global, a: InviteArgs) -> anyhow::Result<()> {
    let mut c = connect(g, true).await?;
    let parent = team_name(&a.team);
    let views: Vec<InviteView> = match (a.emails, a.first_name, a.last_name, a.email) {
        (Some(list), ..) => {
            let r = c
                .team
                .add_members(tpb::AddMembersRequest {
                    parent,
                    addresses: list,
                    role: tpb::Role::User as i32,
                    guest: a.guest,
                    ..Default::default()
                })
                .await
                .map_err(status_error)?
                .into_inner();
            r.results
                .iter()
                .map(|x| InviteView {
                    input: x.input.clone(),
                    outcome: tpb::AddMemberOutcome::try_from(x.outcome)
                        .map(|o| {
                            o.as_str_name()
                                .trim_start_matches("ADD_MEMBER_OUTCOME_")
                                .to_owned()
                        })
                        .unwrap_or_default(),
                    member: x.member.as_ref().map(MemberView::from),
                    problems: x.violations.iter().map(|v| v.description.clone()).collect(),
                })
                .collect()
        }
        (None, Some(first), Some(last), Some(email)) => {
            let m = c
                .team
                .add_member(tpb::AddMemberRequest {
                    parent,
                    who: Some(tpb::add_member_request::Who::Person(tpb::Person {
                        given_name: first,
                        family_name: last,
                        email: email.clone(),
                    })),
                    role: tpb::Role::User as i32,
                    guest: a.guest,
                    ..Default::default()
                })
                .await
                .map_err(status_error)?
                .into_inner();
            let invited = m.state == tpb::MemberState::Invited as i32;
            vec![InviteView {
                input: email,
                outcome: if invited { "INVITED" } else { "ADDED" }.into(),
                member: Some(MemberView::from(&m)),
                problems: vec![],
            }]
        }
        _ => bail!("give --first-name, --last-name and --email, or --emails with a list"),
    };
    print(g.json, &views, |v| {
        v.iter()
            .map(|x| match x.outcome.as_str() {
                "INVITED" => format!("invited   {}: an invitation email is on its way", x.input),
                "ADDED" => format!("added     {}: already had an account", x.input),
                "ALREADY_MEMBER" => format!("unchanged {}: already a member", x.input),
                _ => format!("refused   {}: {}", x.input, x.problems.join("; ")),
            })
            .collect::<Vec<_>>()
            .join("\n")
    })
}

/// The account of an email address.
async fn account_of(c: &mut Clients, email: &str) -> anyhow::Result<String> {
    Ok(c.identity
        .lookup_account(idpb::LookupAccountRequest {
            email: email.into(),
        })
        .await
        .map_err(status_error)?
        .into_inner()
        .name)
}

/// `teams/T/members/A` for an email address.
async fn member_of(c: &mut Clients, team: &str, email: &str) -> anyhow::Result<String> {
    let account = account_of(c, email).await?;
    Ok(format!(
        "{}/members/{}",
        team_name(team),
        account.trim_start_matches("accounts/")
    ))
}

fn team_line(t: &tpb::Team) -> String {
    format!(
        "{:<44} {} ({} members, primary admin {})",
        t.name, t.display_name, t.member_count, t.primary_admin
    )
}

async fn team_cmd(g: &Global, cmd: TeamCmd) -> anyhow::Result<()> {
    let mut c = connect(g, true).await?;
    let t = match cmd {
        TeamCmd::Create { display_name } => {
            c.team
                .create_team(tpb::CreateTeamRequest {
                    team: Some(tpb::Team {
                        display_name,
                        ..Default::default()
                    }),
                    ..Default::default()
                })
                .await
        }
        TeamCmd::Rename { team, display_name } => {
            c.team
                .update_team(tpb::UpdateTeamRequest {
                    team: Some(tpb::Team {
                        name: team_name(&team),
                        display_name,
                        ..Default::default()
                    }),
                    update_mask: Some(prost_types::FieldMask {
                        paths: vec!["display_name".into()],
                    }),
                })
                .await
        }
        TeamCmd::Show { team } => {
            c.team
                .get_team(tpb::GetTeamRequest {
                    name: team_name(&team),
                })
                .await
        }
    }
    .map_err(status_error)?
    .into_inner();
    let view = TeamView {
        name: t.name.clone(),
        display_name: t.display_name.clone(),
        primary_admin: t.primary_admin.clone(),
        members: t.member_count,
    };
    print(g.json, &view, |_| team_line(&t))
}

async fn member_cmd(g: &Global, cmd: MemberCmd) -> anyhow::Result<()> {
    let mut c = connect(g, true).await?;
    let (role, guest, mask) = match &cmd {
        MemberCmd::Role { role, .. } => (role.pb() as i32, false, "role"),
        MemberCmd::Guest { off, .. } => (0, !off, "guest"),
        _ => (0, false, ""),
    };
    match cmd {
        MemberCmd::Role { team, email, .. } | MemberCmd::Guest { team, email, .. } => {
            let name = member_of(&mut c, &team, &email).await?;
            let m = c
                .team
                .update_member(tpb::UpdateMemberRequest {
                    member: Some(tpb::Member {
                        name,
                        role,
                        guest,
                        ..Default::default()
                    }),
                    update_mask: Some(prost_types::FieldMask {
                        paths: vec![mask.into()],
                    }),
                })
                .await
                .map_err(status_error)?
                .into_inner();
            let view = MemberView::from(&m);
            print(g.json, &view, member_line)
        }
        MemberCmd::MakePrimary { team, email } => {
            let account = account_of(&mut c, &email).await?;
            let t = c
                .team
                .transfer_primary_admin(tpb::TransferPrimaryAdminRequest {
                    team: team_name(&team),
                    new_primary_admin: account,
                })
                .await
                .map_err(status_error)?
                .into_inner();
            print(
                g.json,
                &serde_json::json!({ "team": t.name, "primary_admin": t.primary_admin }),
                |_| {
                    format!(
                        "{email} is now the primary admin of {}; the former primary admin is a secondary admin.",
                        t.display_name
                    )
                },
            )
        }
        MemberCmd::Remove { team, email } => {
            let name = member_of(&mut c, &team, &email).await?;
            c.team
                .remove_member(tpb::RemoveMemberRequest { name: name.clone() })
                .await
                .map_err(status_error)?;
            print(g.json, &serde_json::json!({ "removed": name }), |_| {
                format!("Removed {email}; their seats in this team are free again.")
            })
        }
    }
}

async fn group_cmd(g: &Global, cmd: GroupCmd) -> anyhow::Result<()> {
    let mut c = connect(g, true).await?;
    let group_line = |x: &tpb::Group| {
        format!(
            "{:<80} {} ({} members)",
            x.name, x.display_name, x.member_count
        )
    };
    let show = |x: tpb::Group| -> anyhow::Result<()> {
        let v = serde_json::json!({ "name": x.name, "display_name": x.display_name, "members": x.member_count });
        print(g.json, &v, |_| group_line(&x))
    };
    match cmd {
        GroupCmd::List { team } => {
            let r = c
                .team
                .list_groups(tpb::ListGroupsRequest {
                    parent: team_name(&team),
                    page_size: 1000,
                    ..Default::default()
                })
                .await
                .map_err(status_error)?
                .into_inner();
            let v: Vec<_> = r
                .groups
                .iter()
                .map(|x| serde_json::json!({ "name": x.name, "display_name": x.display_name, "members": x.member_count }))
                .collect();
            print(g.json, &v, |_| {
                r.groups
                    .iter()
                    .map(group_line)
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        GroupCmd::Create { team, display_name } => show(
            c.team
                .create_group(tpb::CreateGroupRequest {
                    parent: team_name(&team),
                    group: Some(tpb::Group {
                        display_name,
                        ..Default::default()
                    }),
                    ..Default::default()
                })
                .await
                .map_err(status_error)?
                .into_inner(),
        ),
        GroupCmd::Rename {
            group,
            display_name,
        } => show(
            c.team
                .update_group(tpb::UpdateGroupRequest {
                    group: Some(tpb::Group {
                        name: group,
                        display_name,
                        ..Default::default()
                    }),
                    update_mask: Some(prost_types::FieldMask {
                        paths: vec!["display_name".into()],
                    }),
                })
                .await
                .map_err(status_error)?
                .into_inner(),
        ),
        GroupCmd::Delete { group } => {
            c.team
                .delete_group(tpb::DeleteGroupRequest {
                    name: group.clone(),
                })
                .await
                .map_err(status_error)?;
            print(g.json, &serde_json::json!({ "deleted": group }), |_| {
                format!("Deleted {group}.")
            })
        }
        GroupCmd::Add { group, emails } => {
            let mut accounts = Vec::new();
            for e in &emails {
                accounts.push(account_of(&mut c, e).await?);
            }
            show(
                c.team
                    .add_group_members(tpb::AddGroupMembersRequest { group, accounts })
                    .await
                    .map_err(status_error)?
                    .into_inner(),
            )
        }
        GroupCmd::Remove { group, emails } => {
            let mut accounts = Vec::new();
            for e in &emails {
                accounts.push(account_of(&mut c, e).await?);
            }
            show(
                c.team
                    .remove_group_members(tpb::RemoveGroupMembersRequest { group, accounts })
                    .await
                    .map_err(status_error)?
                    .into_inner(),
            )
        }
        GroupCmd::Members { group } => {
            let r = c
                .team
                .list_group_members(tpb::ListGroupMembersRequest {
                    group,
                    page_size: 1000,
                    ..Default::default()
                })
                .await
                .map_err(status_error)?
                .into_inner();
            let views: Vec<MemberView> = r.members.iter().map(MemberView::from).collect();
            print(g.json, &views, |v| {
                v.iter().map(member_line).collect::<Vec<_>>().join("\n")
            })
        }
    }
}

async fn service_account_cmd(g: &Global, cmd: ServiceAccountCmd) -> anyhow::Result<()> {
    let mut c = connect(g, true).await?;
    let sa_line = |s: &idpb::ServiceAccount| {
        format!("{:<52} {} [{}]", s.name, s.display_name, s.scopes.join(" "))
    };
    let sa_json = |s: &idpb::ServiceAccount| serde_json::json!({ "name": s.name, "display_name": s.display_name, "scopes": s.scopes });
    match cmd {
        ServiceAccountCmd::List => {
            let r = c
                .identity
                .list_service_accounts(idpb::ListServiceAccountsRequest {
                    page_size: 1000,
                    ..Default::default()
                })
                .await
                .map_err(status_error)?
                .into_inner();
            let v: Vec<_> = r.service_accounts.iter().map(sa_json).collect();
            print(g.json, &v, |_| {
                r.service_accounts
                    .iter()
                    .map(sa_line)
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        ServiceAccountCmd::Create {
            display_name,
            scopes,
        } => {
            let s = c
                .identity
                .create_service_account(idpb::CreateServiceAccountRequest {
                    service_account: Some(idpb::ServiceAccount {
                        display_name,
                        scopes,
                        ..Default::default()
                    }),
                })
                .await
                .map_err(status_error)?
                .into_inner();
            print(g.json, &sa_json(&s), |_| sa_line(&s))
        }
        ServiceAccountCmd::Delete { name } => {
            c.identity
                .delete_service_account(idpb::DeleteServiceAccountRequest { name: name.clone() })
                .await
                .map_err(status_error)?;
            print(g.json, &serde_json::json!({ "deleted": name }), |_| {
                format!("Deleted {name} and its credentials.")
            })
        }
        ServiceAccountCmd::CreateKey { name } => {
            let r = c
                .identity
                .create_key(idpb::CreateKeyRequest { parent: name })
                .await
                .map_err(status_error)?
                .into_inner();
            let key = r.key.unwrap_or_default();
            let credential = format!("{}:{}", key.client_id, r.client_secret);
            print(
                g.json,
                &serde_json::json!({ "name": key.name, "credential": credential }),
                |_| {
                    format!(
                        "Created {}. This credential is shown once:\n  {credential}",
                        key.name
                    )
                },
            )
        }
        ServiceAccountCmd::ListKeys { name } => {
            let r = c
                .identity
                .list_keys(idpb::ListKeysRequest { parent: name })
                .await
                .map_err(status_error)?
                .into_inner();
            let v: Vec<_> = r
                .keys
                .iter()
                .map(|k| serde_json::json!({ "name": k.name, "client_id": k.client_id }))
                .collect();
            print(g.json, &v, |_| {
                r.keys
                    .iter()
                    .map(|k| format!("{} (client id {})", k.name, k.client_id))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        ServiceAccountCmd::DeleteKey { key } => {
            c.identity
                .delete_key(idpb::DeleteKeyRequest { name: key.clone() })
                .await
                .map_err(status_error)?;
            print(g.json, &serde_json::json!({ "deleted": key }), |_| {
                format!("Deleted {key}; it can no longer get tokens.")
            })
        }
    }
}

fn product_name(p: &str) -> String {
    if p.starts_with("products/") {
        p.to_owned()
    } else {
        format!("products/{p}")
    }
}

fn short<'a>(name: &'a str, prefix: &str) -> &'a str {
    name.strip_prefix(prefix).unwrap_or(name)
}

async fn products_cmd(g: &Global) -> anyhow::Result<()> {
    let mut c = connect(g, true).await?;
    let r = c
        .entitlement
        .list_products(epb::ListProductsRequest {
            page_size: 1000,
            ..Default::default()
        })
        .await
        .map_err(status_error)?
        .into_inner();
    let v: Vec<_> = r
        .products
        .iter()
        .map(|p| serde_json::json!({ "name": p.name, "display_name": p.display_name, "items": p.items.iter().map(|i| i.id.clone()).collect::<Vec<_>>() }))
        .collect();
    print(g.json, &v, |_| {
        r.products
            .iter()
            .map(|p| {
                format!(
                    "{:<32} {} [{}]",
                    p.name,
                    p.display_name,
                    p.items
                        .iter()
                        .map(|i| i.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    })
}

async fn pools_cmd(g: &Global, team: &str) -> anyhow::Result<()> {
    let mut c = connect(g, true).await?;
    let pools = c
        .entitlement
        .list_pools(epb::ListPoolsRequest {
            parent: team_name(team),
        })
        .await
        .map_err(status_error)?
        .into_inner()
        .pools;
    let v: Vec<_> = pools
        .iter()
        .map(|p| serde_json::json!({ "product": p.product, "display_name": p.product_display_name, "seats": p.seats, "assigned": p.assigned, "available": p.available }))
        .collect();
    print(g.json, &v, |_| {
        let mut lines = vec![format!(
            "{:<28} {:>7} {:>9} {:>10}",
            "PRODUCT", "SEATS", "ASSIGNED", "AVAILABLE"
        )];
        lines.extend(pools.iter().map(|p| {
            format!(
                "{:<28} {:>7} {:>9} {:>10}",
                short(&p.product, "products/"),
                p.seats,
                p.assigned,
                p.available
            )
        }));
        lines.join("\n")
    })
}

async fn assign_cmd(
    g: &Global,
    team: &str,
    emails: Vec<String>,
    products: Vec<String>,
    items: Vec<String>,
) -> anyhow::Result<()> {
    let mut c = connect(g, true).await?;
    let mut accounts = Vec::new();
    for e in &emails {
        accounts.push(account_of(&mut c, e).await?);
    }
    let results = match (accounts.as_slice(), products.as_slice()) {
        ([one], _) => {
            c.entitlement
                .assign_products(epb::AssignProductsRequest {
                    parent: team_name(team),
                    account: one.clone(),
                    products: products
                        .iter()
                        .map(|p| epb::ProductSelection {
                            product: product_name(p),
                            items: items.clone(),
                        })
                        .collect(),
                    ..Default::default()
                })
                .await
        }
        (_, [product]) => {
            c.entitlement
                .assign_users(epb::AssignUsersRequest {
                    parent: team_name(team),
                    product: product_name(product),
                    items: items.clone(),
                    accounts: accounts.clone(),
                    ..Default::default()
                })
                .await
        }
        _ => bail!("assign one person several products, or several people one product"),
    }
    .map_err(status_error)?
    .into_inner()
    .results;
    let email_of = |account: &str| {
        accounts
            .iter()
            .position(|a| a == account)
            .map(|i| emails[i].clone())
            .unwrap_or_else(|| account.to_owned())
    };
    let v: Vec<_> = results
        .iter()
        .map(|r| {
            let outcome = epb::AssignOutcome::try_from(r.outcome).map(|o| o.as_str_name().trim_start_matches("ASSIGN_OUTCOME_")).unwrap_or("");
            serde_json::json!({ "email": email_of(&r.account), "product": r.product, "outcome": outcome, "reason": r.reason })
        })
        .collect();
    print(g.json, &v, |v| {
        v.iter()
            .map(|r| {
                let outcome = r["outcome"]
                    .as_str()
                    .unwrap_or_default()
                    .to_lowercase()
                    .replace('_', " ");
                let reason = r["reason"]
                    .as_str()
                    .filter(|s| !s.is_empty())
                    .map(|s| format!(": {s}"))
                    .unwrap_or_default();
                format!(
                    "{:<16} {} {}{reason}",
                    outcome,
                    r["email"].as_str().unwrap_or_default(),
                    short(r["product"].as_str().unwrap_or_default(), "products/")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    })
}

async fn unassign_cmd(g: &Global, team: &str, email: &str, product: &str) -> anyhow::Result<()> {
    let mut c = connect(g, true).await?;
    let account = account_of(&mut c, email).await?;
    let held = c
        .entitlement
        .list_assignments(epb::ListAssignmentsRequest {
            parent: team_name(team),
            account,
            product: product_name(product),
            ..Default::default()
        })
        .await
        .map_err(status_error)?
        .into_inner()
        .assignments;
    let a = held
        .first()
        .ok_or_else(|| anyhow!("{email} holds no {product} in {team}"))?;
    c.entitlement
        .delete_assignment(epb::DeleteAssignmentRequest {
            name: a.name.clone(),
        })
        .await
        .map_err(status_error)?;
    print(g.json, &serde_json::json!({ "unassigned": a.name }), |_| {
        format!("{email} no longer holds {product}; the seat is free.")
    })
}

async fn check_cmd(g: &Global, email: Option<String>, product: &str) -> anyhow::Result<()> {
    let mut c = connect(g, true).await?;
    let account = match &email {
        Some(e) => account_of(&mut c, e).await?,
        None => String::new(),
    };
    let r = c
        .entitlement
        .check_entitlement(epb::CheckEntitlementRequest {
            account,
            product: product_name(product),
            record_usage: false,
        })
        .await
        .map_err(status_error)?
        .into_inner();
    let activation = epb::ActivationType::try_from(r.activation_type)
        .map(|a| a.as_str_name().trim_start_matches("ACTIVATION_TYPE_"))
        .unwrap_or("");
    let v = serde_json::json!({ "allowed": r.allowed, "items": r.items, "activation_type": activation, "serial_number": r.serial_number, "team": r.team, "message": r.message });
    print(g.json, &v, |_| {
        if r.allowed {
            let serial = if r.serial_number.is_empty() {
                String::new()
            } else {
                format!(", serial number {}", r.serial_number)
            };
            format!(
                "allowed: {} ({}{serial}) through {}",
                r.items.join(", "),
                activation.to_lowercase().replace('_', " "),
                r.team
            )
        } else {
            format!("not allowed: {}", r.message)
        }
    })
}

async fn my_products_cmd(g: &Global) -> anyhow::Result<()> {
    let mut c = connect(g, true).await?;
    let products = c
        .entitlement
        .list_my_products(epb::ListMyProductsRequest::default())
        .await
        .map_err(status_error)?
        .into_inner()
        .products;
    let v: Vec<_> = products
        .iter()
        .map(|p| serde_json::json!({ "product": p.product, "display_name": p.display_name, "items": p.items.iter().map(|i| i.display_name.clone()).collect::<Vec<_>>(), "serial_number": p.serial_number }))
        .collect();
    print(g.json, &v, |_| {
        if products.is_empty() {
            return "You hold no products yet.".into();
        }
        products
            .iter()
            .map(|p| {
                let how = if p.serial_number.is_empty() {
                    "sign in".to_owned()
                } else {
                    format!("serial number {}", p.serial_number)
                };
                format!(
                    "{} ({how}): {}",
                    p.display_name,
                    p.items
                        .iter()
                        .map(|i| i.display_name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    })
}

async fn move_cmd(g: &Global, subscription: &str, team: &str) -> anyhow::Result<()> {
    let mut c = connect(g, true).await?;
    let s = c
        .entitlement
        .move_subscription(epb::MoveSubscriptionRequest {
            subscription: subscription.into(),
            target_team: team_name(team),
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

async fn add_product_cmd(
    g: &Global,
    id: String,
    name: String,
    items: Vec<String>,
) -> anyhow::Result<()> {
    let mut c = connect(g, true).await?;
    let items = items
        .iter()
        .map(|i| {
            let (id, kind) = i.split_once(':').unwrap_or((i.as_str(), "application"));
            let kind = match kind {
                "application" => epb::ItemKind::Application,
                "cloud-service" => epb::ItemKind::CloudService,
                "support" => epb::ItemKind::Support,
                other => {
                    bail!("unknown item kind {other:?}: use application, cloud-service or support")
                }
            };
            Ok(epb::Item {
                id: id.into(),
                display_name: id.into(),
                kind: kind as i32,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let p = c
        .entitlement
        .create_product(epb::CreateProductRequest {
            product_id: id,
            product: Some(epb::Product {
                display_name: name,
                items,
                ..Default::default()
            }),
        })
        .await
        .map_err(status_error)?
        .into_inner();
    print(g.json, &serde_json::json!({ "name": p.name }), |_| {
        format!("Added {} ({}).", p.name, p.display_name)
    })
}

async fn buy_cmd(
    g: &Global,
    owner: &str,
    seats: Vec<String>,
    serial: Option<String>,
    premium: bool,
) -> anyhow::Result<()> {
    let mut c = connect(g, true).await?;
    let owner_account = account_of(&mut c, owner).await?;
    let subscriptions = seats
        .iter()
        .map(|s| {
            let (p, n) = s
                .split_once('=')
                .ok_or_else(|| anyhow!("--seats takes product=seats, got {s:?}"))?;
            Ok(epb::Subscription {
                product: product_name(p),
                seats: n.parse().context("seats must be a number")?,
                ..Default::default()
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let activation = if serial.is_some() {
        epb::ActivationType::SerialNumber
    } else {
        epb::ActivationType::SignIn
    };
    let contract = c
        .entitlement
        .create_contract(epb::CreateContractRequest {
            contract: Some(epb::Contract {
                owner: owner_account,
                activation_type: activation as i32,
                serial_number: serial.unwrap_or_default(),
                plan: if premium {
                    epb::ContractPlan::Premium
                } else {
                    epb::ContractPlan::Standard
                } as i32,
                ..Default::default()
            }),
            subscriptions,
            request_id: String::new(),
        })
        .await
        .map_err(status_error)?
        .into_inner();
    let v = serde_json::json!({ "contract": contract.name, "team": contract.team, "subscriptions": contract.subscriptions.iter().map(|s| s.name.clone()).collect::<Vec<_>>() });
    print(g.json, &v, |_| {
        let subs = contract
            .subscriptions
            .iter()
            .map(|s| {
                format!(
                    "{} {} seats ({})",
                    short(&s.product, "products/"),
                    s.seats,
                    s.name
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        format!("Recorded {} in {}: {subs}.", contract.name, contract.team)
    })
}

/// One item of any service's Watch stream, as printed.
#[derive(Serialize)]
struct WatchLine {
    cursor: String,
    /// `checkpoint`, or the event type (`member_removed`).
    kind: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    team: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    actor: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    time: String,
    #[serde(skip)]
    last_in_commit: bool,
}

/// `GroupCreated(GroupCreated { .. })` → `group_created`.
fn event_type_of(payload: &impl std::fmt::Debug) -> String {
    let debug = format!("{payload:?}");
    let variant = debug
        .trim_start_matches("Some(")
        .split(['(', ' '])
        .next()
        .unwrap_or_default()
        .to_owned();
    let mut out = String::new();
    for (i, ch) in variant.chars().enumerate() {
        if ch.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(ch.to_ascii_lowercase());
        } else {
            out.push(ch);
        }
    }
    out
}

fn rfc3339(t: Option<&prost_types::Timestamp>) -> String {
    t.and_then(|t| {
        time::OffsetDateTime::from_unix_timestamp(t.seconds)
            .ok()
            .and_then(|d| {
                d.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
    })
    .unwrap_or_default()
}

fn event_line(
    context: Option<&allot_proto::common::EventContext>,
    payload: &impl std::fmt::Debug,
) -> WatchLine {
    let c = context.cloned().unwrap_or_default();
    WatchLine {
        cursor: c.cursor,
        kind: event_type_of(payload),
        id: c.id,
        team: c.team,
        actor: c.actor,
        time: rfc3339(c.create_time.as_ref()),
        last_in_commit: c.last_in_commit,
    }
}

fn checkpoint_line(c: allot_proto::common::Checkpoint) -> WatchLine {
    WatchLine {
        cursor: c.cursor,
        kind: "checkpoint".into(),
        id: String::new(),
        team: String::new(),
        actor: String::new(),
        time: rfc3339(c.time.as_ref()),
        last_in_commit: true,
    }
}

/// Opens one service's Watch and maps its items to `WatchLine`s.
macro_rules! watch_lines {
    ($client:expr, $pb:ident, $req:expr) => {{
        let stream = $client
            .watch($req)
            .await
            .map_err(status_error)?
            .into_inner();
        Box::pin(tokio_stream::StreamExt::map(stream, |item| {
            let item = item.map_err(status_error)?;
            Ok(match item.kind {
                Some($pb::watch_response::Kind::Event(e)) => {
                    event_line(e.context.as_ref(), &e.payload)
                }
                Some($pb::watch_response::Kind::Checkpoint(c)) => checkpoint_line(c),
                None => bail!("an empty item on the stream"),
            })
        }))
            as std::pin::Pin<Box<dyn tokio_stream::Stream<Item = anyhow::Result<WatchLine>> + Send>>
    }};
}

async fn watch_cmd(g: &Global, args: WatchArgs) -> anyhow::Result<()> {
    let mut after = args.after.clone().unwrap_or_default();
    if after.is_empty()
        && let Some(f) = &args.cursor_file
        && f.exists()
    {
        after = std::fs::read_to_string(f)
            .with_context(|| format!("reading {}", f.display()))?
            .trim()
            .to_owned();
    }
    let team = args.team.as_deref().map(team_name).unwrap_or_default();
    let start_at_now = args.from_now && after.is_empty();
    let mut c = connect(g, true).await?;
    let mut lines = match args.service {
        StreamOf::Identity => watch_lines!(
            c.identity,
            idpb,
            idpb::WatchRequest {
                after_cursor: after,
                event_types: args.types.clone(),
                start_at_now,
            }
        ),
        StreamOf::Team => watch_lines!(
            c.team,
            tpb,
            tpb::WatchRequest {
                after_cursor: after,
                event_types: args.types.clone(),
                start_at_now,
                team,
            }
        ),
        StreamOf::Entitlement => watch_lines!(
            c.entitlement,
            epb,
            epb::WatchRequest {
                after_cursor: after,
                event_types: args.types.clone(),
                start_at_now,
                team,
            }
        ),
    };
    loop {
        let next = tokio::select! {
            n = tokio_stream::StreamExt::next(&mut lines) => n,
            _ = tokio::signal::ctrl_c() => return Ok(()),
        };
        let Some(line) = next else {
            bail!("the server ended the stream (it is shutting down); run again to resume");
        };
        let line = line?;
        if line.kind != "checkpoint" || g.json {
            if g.json {
                println!("{}", serde_json::to_string(&line)?);
            } else {
                println!(
                    "{:>8}  {:<28} {:<40} {:<24} {}",
                    line.cursor, line.kind, line.team, line.time, line.actor
                );
            }
        }
        if line.last_in_commit
            && let Some(f) = &args.cursor_file
        {
            let tmp = f.with_extension("tmp");
            std::fs::write(&tmp, &line.cursor)
                .and_then(|()| std::fs::rename(&tmp, f))
                .with_context(|| format!("saving the cursor to {}", f.display()))?;
        }
    }
}

#[cfg(test)]
mod watch_tests {
    use super::*;

    #[test]
    fn event_types_are_named_as_on_the_server() {
        let e = tpb::Event {
            payload: Some(tpb::event::Payload::MemberRemoved(
                tpb::MemberRemoved::default(),
            )),
            ..Default::default()
        };
        assert_eq!(event_type_of(&e.payload), "member_removed");
        let e = epb::Event {
            payload: Some(epb::event::Payload::SeatAssigned(
                epb::SeatAssigned::default(),
            )),
            ..Default::default()
        };
        assert_eq!(event_type_of(&e.payload), "seat_assigned");
    }
}

fn import_metadata(op: &allot_proto::common::Operation) -> tpb::ImportMembersMetadata {
    use prost::Message;
    op.metadata
        .as_ref()
        .and_then(|m| tpb::ImportMembersMetadata::decode(m.value.as_slice()).ok())
        .unwrap_or_default()
}

fn outcome_word(o: i32) -> String {
    tpb::AddMemberOutcome::try_from(o)
        .map(|o| {
            o.as_str_name()
                .trim_start_matches("ADD_MEMBER_OUTCOME_")
                .to_lowercase()
                .replace('_', " ")
        })
        .unwrap_or_default()
}

#[derive(Serialize)]
struct ImportRowView {
    line: i32,
    email: String,
    outcome: String,
    message: String,
}

/// Prints a finished import: every row's outcome, then the counts.
fn print_import(g: &Global, op: &allot_proto::common::Operation) -> anyhow::Result<()> {
    use prost::Message;
    let r = match &op.result {
        Some(allot_proto::common::operation::Result::Response(r)) => {
            tpb::ImportMembersResponse::decode(r.value.as_slice())?
        }
        Some(allot_proto::common::operation::Result::Error(e)) => {
            bail!("the import failed: {}", e.message)
        }
        None => bail!("{} has not finished yet", op.name),
    };
    let rows: Vec<ImportRowView> = r
        .rows
        .iter()
        .map(|row| ImportRowView {
            line: row.line,
            email: row.email.clone(),
            outcome: outcome_word(row.outcome),
            message: row.message.clone(),
        })
        .collect();
    let view = serde_json::json!({
        "operation": op.name,
        "invited": r.invited,
        "added": r.added,
        "already_member": r.already_member,
        "invalid": r.invalid,
        "rows": rows,
    });
    print(g.json, &view, |_| {
        let mut text = format!("{:>6}  {:<40} {:<15} {}\n", "line", "email", "outcome", "");
        for row in &rows {
            text.push_str(&format!(
                "{:>6}  {:<40} {:<15} {}\n",
                row.line, row.email, row.outcome, row.message
            ));
        }
        text.push_str(&format!(
            "\n{}: {} invited, {} added, {} already members, {} invalid",
            op.name, r.invited, r.added, r.already_member, r.invalid
        ));
        text
    })
}

async fn import_cmd(g: &Global, args: ImportArgs) -> anyhow::Result<()> {
    let mut c = connect(g, true).await?;
    let op = match (&args.show, &args.file, &args.team) {
        (Some(name), _, _) => c
            .team
            .get_operation(tpb::GetOperationRequest { name: name.clone() })
            .await
            .map_err(status_error)?
            .into_inner(),
        (None, Some(file), Some(team)) => {
            let csv = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
            c.team
                .import_members(tpb::ImportMembersRequest {
                    parent: team_name(team),
                    csv,
                    validate_only: args.validate_only,
                    ..Default::default()
                })
                .await
                .map_err(status_error)?
                .into_inner()
        }
        _ => bail!("give a file and --team, or --show operations/ID"),
    };
    if args.no_wait && !op.done {
        return print(g.json, &serde_json::json!({ "operation": op.name }), |_| {
            format!(
                "started {}; see it with `allotctl import --show {}`",
                op.name, op.name
            )
        });
    }
    let total = u64::try_from(import_metadata(&op).total_rows).unwrap_or(0);
    let bar = if g.json {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(total)
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} rows  {elapsed_precise}  {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut last = op.clone();
    if !op.done {
        let mut stream = c
            .team
            .watch_operation(tpb::WatchOperationRequest {
                name: op.name.clone(),
            })
            .await
            .map_err(status_error)?
            .into_inner();
        while let Some(item) = tokio_stream::StreamExt::next(&mut stream).await {
            let now = item.map_err(status_error)?;
            bar.set_position(u64::try_from(import_metadata(&now).processed_rows).unwrap_or(0));
            let done = now.done;
            last = now;
            if done {
                break;
            }
        }
    }
    bar.finish_and_clear();
    print_import(g, &last)
}

async fn export_users_cmd(
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

fn parse_date(field: &str, s: &str) -> anyhow::Result<allot_proto::common::Date> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let d = time::Date::parse(s, &fmt).with_context(|| format!("--{field} must be YYYY-MM-DD"))?;
    Ok(allot_proto::common::Date {
        year: d.year(),
        month: i32::from(u8::from(d.month())),
        day: i32::from(d.day()),
    })
}

fn date_text(d: Option<&allot_proto::common::Date>) -> String {
    d.map(|d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day))
        .unwrap_or_default()
}

async fn usage_report_cmd(
    g: &Global,
    team: &str,
    from: &str,
    to: &str,
    as_csv: bool,
    chart: Option<std::path::PathBuf>,
) -> anyhow::Result<()> {
    let mut c = connect(g, true).await?;
    let (start, end) = (parse_date("from", from)?, parse_date("to", to)?);
    let report = c
        .entitlement
        .get_usage_report(epb::GetUsageReportRequest {
            parent: team_name(team),
            start_date: Some(start),
            end_date: Some(end),
        })
        .await
        .map_err(status_error)?
        .into_inner();
    if let Some(path) = &chart {
        draw_usage_chart(path, &report)?;
        eprintln!("drew {}", path.display());
    }
    if as_csv {
        let mut out = csv::Writer::from_writer(std::io::stdout());
        out.write_record(["date", "product", "seats", "assigned", "users"])?;
        for r in &report.rows {
            out.write_record([
                date_text(r.date.as_ref()),
                r.product.trim_start_matches("products/").to_owned(),
                r.seats.to_string(),
                r.assigned.to_string(),
                r.users.to_string(),
            ])?;
        }
        out.flush()?;
        return Ok(());
    }
    let rows: Vec<serde_json::Value> = report
        .rows
        .iter()
        .map(|r| {
            serde_json::json!({
                "date": date_text(r.date.as_ref()),
                "product": r.product.trim_start_matches("products/"),
                "seats": r.seats, "assigned": r.assigned, "users": r.users,
            })
        })
        .collect();
    print(g.json, &rows, |rows| {
        let mut text = format!(
            "{:<10}  {:<24} {:>6} {:>9} {:>6}",
            "date", "product", "seats", "assigned", "users"
        );
        for r in rows {
            text.push_str(&format!(
                "\n{:<10}  {:<24} {:>6} {:>9} {:>6}",
                r["date"].as_str().unwrap_or_default(),
                r["product"].as_str().unwrap_or_default(),
                r["seats"].to_string(),
                r["assigned"].to_string(),
                r["users"].to_string()
            ));
        }
        text
    })
}

/// A line of the usage chart: its label, colour and value.
type Series = (
    &'static str,
    plotters::style::RGBColor,
    fn(&epb::UsageRow) -> i32,
);

/// One panel per product: seats, assigned and users per day.
fn draw_usage_chart(path: &std::path::Path, report: &epb::UsageReport) -> anyhow::Result<()> {
    use plotters::prelude::*;
    let mut products: Vec<&str> = report.rows.iter().map(|r| r.product.as_str()).collect();
    products.sort_unstable();
    products.dedup();
    if products.is_empty() {
        bail!("the report has no rows to draw");
    }
    let mut days: Vec<String> = report
        .rows
        .iter()
        .map(|r| date_text(r.date.as_ref()))
        .collect();
    days.sort_unstable();
    days.dedup();
    let height = u32::try_from(products.len()).unwrap_or(1) * 300;
    let root = SVGBackend::new(path, (900, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let panels = root.split_evenly((products.len(), 1));
    for (panel, product) in panels.iter().zip(&products) {
        let rows: Vec<&epb::UsageRow> = report
            .rows
            .iter()
            .filter(|r| r.product == *product)
            .collect();
        let top = rows
            .iter()
            .map(|r| r.seats.max(r.assigned).max(r.users))
            .max()
            .unwrap_or(1)
            .max(1);
        let x_of = |r: &epb::UsageRow| {
            let d = date_text(r.date.as_ref());
            i32::try_from(days.iter().position(|x| *x == d).unwrap_or(0)).unwrap_or(0)
        };
        let n = i32::try_from(days.len()).unwrap_or(1);
        let mut chart = ChartBuilder::on(panel)
            .caption(product.trim_start_matches("products/"), ("sans-serif", 20))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(40)
            .build_cartesian_2d(0..(n - 1).max(1), 0..top + top / 10 + 1)?;
        let labels = days.clone();
        chart
            .configure_mesh()
            .x_labels(days.len().min(10))
            .x_label_formatter(&|i| {
                labels
                    .get(usize::try_from(*i).unwrap_or(0))
                    .cloned()
                    .unwrap_or_default()
            })
            .draw()?;
        let series: [Series; 3] = [
            ("seats", BLUE, |r| r.seats),
            ("assigned", GREEN, |r| r.assigned),
            ("used", RED, |r| r.users),
        ];
        for (label, color, value) in series {
            chart
                .draw_series(LineSeries::new(
                    rows.iter().map(|r| (x_of(r), value(r))),
                    color.stroke_width(2),
                ))?
                .label(label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color));
        }
        chart
            .configure_series_labels()
            .border_style(BLACK)
            .background_style(WHITE.mix(0.8))
            .draw()?;
    }
    root.present()?;
    Ok(())
}
