//! `allotctl invitation send|resend|accept`: bringing people into a team.

use allot_proto::identity::{self as idpb};
use allot_proto::team::{self as tpb};
use anyhow::bail;
use clap::{Args, Subcommand};
use serde::Serialize;

use crate::Global;
use crate::client::{connect, member_of, status_error, team_name};
use crate::output::{MemberView, lines, print};

#[derive(Debug, Subcommand)]
pub enum InvitationCmd {
    Send(SendArgs),
    Resend(ResendArgs),
    Accept(AcceptArgs),
}

/// Invite a person into a team (or several, with --emails).
#[derive(Debug, Args)]
pub struct SendArgs {
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

/// Send a pending invitation again (the old link stops working).
#[derive(Debug, Args)]
pub struct ResendArgs {
    #[arg(long)]
    team: String,
    /// The invited person's email address.
    #[arg(long)]
    email: String,
}

/// Accept an invitation with the token from its link (no credential needed).
#[derive(Debug, Args)]
pub struct AcceptArgs {
    /// The token, or the whole accept link. A token may start with `-`
    /// (it is base64url), so it is never read as a flag.
    #[arg(allow_hyphen_values = true)]
    token: String,
}

#[derive(Serialize)]
struct InviteView {
    input: String,
    outcome: String,
    member: Option<MemberView>,
    problems: Vec<String>,
}

pub async fn run(g: &Global, cmd: InvitationCmd) -> anyhow::Result<()> {
    match cmd {
        InvitationCmd::Send(a) => send(g, a).await,
        InvitationCmd::Resend(ResendArgs { team, email }) => {
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
        InvitationCmd::Accept(AcceptArgs { token }) => {
            let token = token.rsplit("token=").next().unwrap_or(&token).to_owned();
            let mut c = connect(g, false).await?;
            let r = c
                .identity
                .accept_invitation(idpb::AcceptInvitationRequest {
                    token,
                    ..Default::default()
                })
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
    }
}

async fn send(g: &Global, a: SendArgs) -> anyhow::Result<()> {
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
    print(g.json, &views, |v| lines(v.iter().map(outcome_line)))
}

fn outcome_line(x: &InviteView) -> String {
    match x.outcome.as_str() {
        "INVITED" => format!("invited   {}: an invitation email is on its way", x.input),
        "ADDED" => format!("added     {}: already had an account", x.input),
        "ALREADY_MEMBER" => format!("unchanged {}: already a member", x.input),
        _ => format!("refused   {}: {}", x.input, x.problems.join("; ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_outcome_reads_as_a_sentence() {
        let view = |outcome: &str| InviteView {
            input: "ada@example.com".into(),
            outcome: outcome.into(),
            member: None,
            problems: vec!["not an email address".into(), "too long".into()],
        };
        assert_eq!(
            outcome_line(&view("INVITED")),
            "invited   ada@example.com: an invitation email is on its way"
        );
        assert_eq!(
            outcome_line(&view("ALREADY_MEMBER")),
            "unchanged ada@example.com: already a member"
        );
        assert_eq!(
            outcome_line(&view("INVALID")),
            "refused   ada@example.com: not an email address; too long"
        );
    }
}
