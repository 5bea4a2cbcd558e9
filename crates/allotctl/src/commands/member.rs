//! `allotctl member list|role|guest|make-primary|remove`.

use allot_proto::team::{self as tpb};
use clap::{Args, Subcommand};

use crate::Global;
use crate::client::{account_of, connect, member_of, status_error, team_name};
use crate::output::{MemberView, member_table, print};

#[derive(Debug, Subcommand)]
pub enum MemberCmd {
    List(ListArgs),
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

/// List the members of a team.
#[derive(Debug, Args)]
pub struct ListArgs {
    #[arg(long)]
    team: String,
    /// Leave guests out.
    #[arg(long)]
    no_guests: bool,
    /// Only members whose email or name contains this text (any case).
    #[arg(long, default_value = "")]
    search: String,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum RoleArg {
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

pub async fn run(g: &Global, cmd: MemberCmd) -> anyhow::Result<()> {
    let mut c = connect(g, true).await?;
    let (role, guest, mask) = match &cmd {
        MemberCmd::Role { role, .. } => (role.pb() as i32, false, "role"),
        MemberCmd::Guest { off, .. } => (0, !off, "guest"),
        _ => (0, false, ""),
    };
    match cmd {
        MemberCmd::List(ListArgs {
            team,
            no_guests,
            search,
        }) => {
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
                        query: search.clone(),
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
            print(g.json, &views, |v| member_table(v))
        }
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
            print(g.json, &view, |v| member_table(std::slice::from_ref(v)))
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
