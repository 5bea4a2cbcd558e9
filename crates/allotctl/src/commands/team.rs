//! `allotctl team list|create|rename|show`.

use allot_proto::team::{self as tpb};
use clap::Subcommand;
use serde::Serialize;

use crate::Global;
use crate::client::{connect, status_error, team_name};
use crate::output::{print, table};

#[derive(Debug, Subcommand)]
pub enum TeamCmd {
    /// List the teams you belong to.
    List,
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

#[derive(Serialize)]
struct TeamView {
    name: String,
    display_name: String,
    primary_admin: String,
    members: i32,
}

impl From<&tpb::Team> for TeamView {
    fn from(t: &tpb::Team) -> Self {
        TeamView {
            name: t.name.clone(),
            display_name: t.display_name.clone(),
            primary_admin: t.primary_admin.clone(),
            members: t.member_count,
        }
    }
}

fn team_line(t: &tpb::Team) -> String {
    format!(
        "{:<44} {} ({} members, primary admin {})",
        t.name, t.display_name, t.member_count, t.primary_admin
    )
}

pub async fn run(g: &Global, cmd: TeamCmd) -> anyhow::Result<()> {
    let mut c = connect(g, true).await?;
    let t = match cmd {
        TeamCmd::List => {
            let r = c
                .team
                .list_teams(tpb::ListTeamsRequest::default())
                .await
                .map_err(status_error)?
                .into_inner();
            let views: Vec<TeamView> = r.teams.iter().map(TeamView::from).collect();
            return print(g.json, &views, |v| {
                if v.is_empty() {
                    return "You belong to no team yet.".into();
                }
                table(
                    &["NAME", "DISPLAY NAME", "MEMBERS"],
                    v.iter().map(|t| {
                        vec![
                            t.name.clone(),
                            t.display_name.clone(),
                            t.members.to_string(),
                        ]
                    }),
                )
            });
        }
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
    print(g.json, &TeamView::from(&t), |_| team_line(&t))
}
