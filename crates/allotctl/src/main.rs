//! `allotctl`: Allot from the command line, for admins and operators.

use std::time::Duration;

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
    /// Accept an invitation with the token from its link (no credential needed).
    Accept {
        /// The token, or the whole accept link.
        token: String,
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
}

async fn connect(g: &Global, need_credential: bool) -> anyhow::Result<Clients> {
    let channel = Endpoint::from_shared(g.server.clone())
        .with_context(|| format!("server URL {:?}", g.server))?
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .with_context(|| {
            format!(
                "cannot reach Allot at {} (is `allot dev` running?)",
                g.server
            )
        })?;
    let bearer = match (&g.credential, need_credential) {
        (Some(cred), _) => {
            let (client_id, secret) = cred
                .split_once(':')
                .ok_or_else(|| anyhow!("the credential must look like CLIENT_ID:SECRET"))?;
            let token = IdentityServiceClient::new(channel.clone())
                .create_token(idpb::CreateTokenRequest {
                    client_id: client_id.into(),
                    client_secret: secret.into(),
                    ..Default::default()
                })
                .await
                .map_err(status_error)?
                .into_inner()
                .access_token;
            Some(format!("Bearer {token}").parse()?)
        }
        (None, true) => {
            bail!("no credential: set ALLOT_CREDENTIAL=CLIENT_ID:SECRET or pass --credential")
        }
        (None, false) => None,
    };
    let b = Bearer(bearer);
    Ok(Clients {
        identity: IdentityServiceClient::with_interceptor(channel.clone(), b.clone()),
        team: TeamServiceClient::with_interceptor(channel, b),
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
        Command::Resend { team, email } => {
            let mut c = connect(g, true).await?;
            let account = c
                .identity
                .lookup_account(idpb::LookupAccountRequest {
                    email: email.clone(),
                })
                .await
                .map_err(status_error)?
                .into_inner();
            let id = account.name.trim_start_matches("accounts/");
            let m = c
                .team
                .resend_invitation(tpb::ResendInvitationRequest {
                    name: format!("{}/members/{id}", team_name(&team)),
                })
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
