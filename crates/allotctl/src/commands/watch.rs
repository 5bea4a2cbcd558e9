//! `allotctl watch identity|team|entitlement`: a service's change events as
//! they happen, resumable with a cursor.

use allot_proto::entitlement::{self as epb};
use allot_proto::identity::{self as idpb};
use allot_proto::team::{self as tpb};
use anyhow::{Context, bail};
use clap::Args;
use serde::Serialize;

use crate::Global;
use crate::client::{connect, status_error, team_name};
use crate::output::print_json_line;

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum StreamOf {
    Identity,
    Team,
    Entitlement,
}

/// Print a service's change events as they happen (`events.read` scope,
/// or a team admin with --team). Stops with Ctrl-C.
#[derive(Debug, Args)]
pub struct WatchArgs {
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

pub async fn run(g: &Global, args: WatchArgs) -> anyhow::Result<()> {
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
                print_json_line(&line)?;
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
