//! `allotctl group list|create|rename|delete|add|remove|members`.

use allot_proto::team::{self as tpb};
use clap::Subcommand;

use crate::Global;
use crate::client::{account_of, connect, status_error, team_name};
use crate::output::{MemberView, lines, member_table, print};

#[derive(Debug, Subcommand)]
pub enum GroupCmd {
    /// List a team's groups.
    List {
        #[arg(long)]
        team: String,
    },
    /// Create a group in a team.
    Create {
        #[arg(long)]
        team: String,
        display_name: String,
    },
    /// Rename a group.
    Rename {
        /// `teams/T/groups/G`.
        group: String,
        display_name: String,
    },
    /// Delete a group.
    Delete { group: String },
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
    Members { group: String },
}

pub async fn run(g: &Global, cmd: GroupCmd) -> anyhow::Result<()> {
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
            print(g.json, &v, |_| lines(r.groups.iter().map(group_line)))
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
            print(g.json, &views, |v| member_table(v))
        }
    }
}
