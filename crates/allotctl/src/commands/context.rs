//! `allotctl context`: the stored contexts (`allotctl login` makes them).

use clap::Subcommand;
use serde::Serialize;

use crate::Global;
use crate::contexts::{self, Contexts};
use crate::output::{print, table};

#[derive(Debug, Subcommand)]
pub enum ContextCmd {
    /// The stored contexts; `*` marks the current one.
    List,
    /// Make a context the current one.
    Use { name: String },
    /// Forget a context.
    Delete { name: String },
}

#[derive(Serialize)]
struct ContextView {
    name: String,
    current: bool,
    server: String,
    ca_file: Option<String>,
    signed_in: bool,
}

pub fn run(g: &Global, cmd: ContextCmd) -> anyhow::Result<()> {
    let path = contexts::path()?;
    let mut stored = Contexts::load(&path)?;
    match cmd {
        ContextCmd::List => {
            let views: Vec<ContextView> = stored
                .contexts
                .iter()
                .map(|(name, c)| ContextView {
                    name: name.clone(),
                    current: stored.current.as_deref() == Some(name),
                    server: c.server.clone(),
                    ca_file: c.ca_file.as_ref().map(|p| p.display().to_string()),
                    signed_in: c.credential.is_some(),
                })
                .collect();
            print(g.json, &views, |v| {
                if v.is_empty() {
                    return "No context yet: `allotctl login --server … --credential …` makes one."
                        .into();
                }
                table(
                    &["", "NAME", "SERVER", "CA", "SIGNED IN"],
                    v.iter().map(|c| {
                        vec![
                            if c.current { "*".into() } else { String::new() },
                            c.name.clone(),
                            c.server.clone(),
                            c.ca_file.clone().unwrap_or_else(|| "system roots".into()),
                            if c.signed_in {
                                "yes".into()
                            } else {
                                "no".into()
                            },
                        ]
                    }),
                )
            })
        }
        ContextCmd::Use { name } => {
            stored.pick(Some(&name))?;
            stored.current = Some(name.clone());
            stored.save(&path)?;
            print(g.json, &serde_json::json!({ "current": name }), |_| {
                format!("Context {name:?} is current.")
            })
        }
        ContextCmd::Delete { name } => {
            stored.pick(Some(&name))?;
            stored.contexts.remove(&name);
            if stored.current.as_deref() == Some(name.as_str()) {
                stored.current = None;
            }
            stored.save(&path)?;
            print(g.json, &serde_json::json!({ "deleted": name }), |_| {
                format!("Context {name:?} is gone.")
            })
        }
    }
}
