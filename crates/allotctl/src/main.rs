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
