//! `allotctl service-account list|create|delete|create-key|list-keys|delete-key`
//! (operators, `admin` scope).

use allot_proto::identity::{self as idpb};
use clap::Subcommand;

use crate::Global;
use crate::client::{connect, status_error};
use crate::output::{lines, print};

#[derive(Debug, Subcommand)]
pub enum ServiceAccountCmd {
    /// List the service accounts.
    List,
    /// Create a service account with scopes (catalog, contracts, guests,
    /// accounts.read, events.read, entitlements.check, act_as, admin).
    Create {
        display_name: String,
        #[arg(long = "scope")]
        scopes: Vec<String>,
    },
    /// Delete a service account and its credentials.
    Delete { name: String },
    /// Create a credential; its secret is shown once.
    CreateKey { name: String },
    /// List a service account's credentials.
    ListKeys { name: String },
    /// Delete a credential; it can no longer get tokens.
    DeleteKey { key: String },
}

pub async fn run(g: &Global, cmd: ServiceAccountCmd) -> anyhow::Result<()> {
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
                lines(r.service_accounts.iter().map(sa_line))
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
                lines(
                    r.keys
                        .iter()
                        .map(|k| format!("{} (client id {})", k.name, k.client_id)),
                )
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
