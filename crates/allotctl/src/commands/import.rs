//! `allotctl import FILE --team T` and `allotctl import --show operations/ID`:
//! people from a CSV file, with a progress bar and each row's outcome.

use allot_proto::team::{self as tpb};
use anyhow::{Context, bail};
use clap::Args;
use serde::Serialize;

use crate::Global;
use crate::client::{connect, status_error, team_name};
use crate::output::print;

/// Import people from a CSV file into a team (header row naming
/// `email`, optionally `first name` and `last name`), with a progress bar
/// and each row's outcome at the end.
#[derive(Debug, Args)]
pub struct ImportArgs {
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

pub async fn run(g: &Global, args: ImportArgs) -> anyhow::Result<()> {
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
