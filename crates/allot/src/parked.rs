//! `allot parked`: the operator's view of events a consumer parked (it
//! could not handle them and retrying would not help), and the way to have
//! the running service handle them again once the cause is fixed.

use allot::ServiceKind;
use allot_platform::clock::from_micros;
use allot_platform::parked::{self, ParkedEvent, Selection};
use allot_platform::{Config, Db};
use anyhow::Context;
use time::format_description::well_known::Rfc3339;

#[derive(clap::Subcommand)]
pub enum Action {
    /// Lists parked events, oldest first, with the reason each failed.
    List {
        /// Only this service's database (default: every service's).
        #[arg(long)]
        service: Option<ServiceKind>,
        /// Only this consumer's events.
        #[arg(long)]
        consumer: Option<String>,
    },
    /// Asks the running service to handle parked events again (within a
    /// few seconds); those that fail again stay, with their new reason.
    Retry {
        /// Only this service's database (default: every service's).
        #[arg(long)]
        service: Option<ServiceKind>,
        /// Only this consumer's events.
        #[arg(long)]
        consumer: Option<String>,
        /// Every parked event of the selection instead of named ones.
        #[arg(long, conflicts_with = "event_ids")]
        all: bool,
        /// The events to retry, as `list` shows them.
        #[arg(required_unless_present = "all")]
        event_ids: Vec<String>,
    },
}

pub async fn run(config: &Config, action: Action) -> anyhow::Result<()> {
    match action {
        Action::List { service, consumer } => {
            let mut rows = Vec::new();
            for kind in services(service) {
                let db = connect(config, kind).await?;
                let found = parked::list(&db, consumer.as_deref())
                    .await
                    .with_context(|| unreadable(kind))?;
                rows.extend(found.into_iter().map(|p| (kind, p)));
            }
            print(&rows);
            Ok(())
        }
        Action::Retry {
            service,
            consumer,
            all: _,
            event_ids,
        } => {
            let selection = Selection {
                consumer,
                event_ids,
            };
            let mut selected = 0;
            for kind in services(service) {
                let db = connect(config, kind).await?;
                selected += parked::request_retry(&db, &selection, time::OffsetDateTime::now_utc())
                    .await
                    .with_context(|| unreadable(kind))?;
            }
            anyhow::ensure!(
                selected > 0,
                "no parked event matches; `allot parked list` shows them"
            );
            println!(
                "asked for {selected} parked event(s) to be handled again; \
                 `allot parked list` shows those that still fail"
            );
            Ok(())
        }
    }
}

fn services(only: Option<ServiceKind>) -> Vec<ServiceKind> {
    only.map_or_else(|| ServiceKind::ALL.to_vec(), |k| vec![k])
}

async fn connect(config: &Config, kind: ServiceKind) -> anyhow::Result<Db> {
    Db::connect(&config.database_url_for(kind.name()), 1)
        .await
        .with_context(|| format!("connecting to the {} database", kind.name()))
}

fn unreadable(kind: ServiceKind) -> String {
    format!(
        "reading parked events of the {} database (has `allot` run against it once?)",
        kind.name()
    )
}

fn print(rows: &[(ServiceKind, ParkedEvent)]) {
    if rows.is_empty() {
        println!("no parked events");
        return;
    }
    println!("SERVICE\tCONSUMER\tEVENT\tPARKED\tRETRY\tREASON");
    for (kind, p) in rows {
        let when = |micros: i64| {
            from_micros(micros)
                .format(&Rfc3339)
                .unwrap_or_else(|_| micros.to_string())
        };
        println!(
            "{}\t{}\t{}\t{}\t{}\t{}",
            kind.name(),
            p.consumer,
            p.event_id,
            when(p.park_time),
            if p.retry_time.is_some() { "asked" } else { "-" },
            p.reason.replace(['\n', '\t'], " ")
        );
    }
}
