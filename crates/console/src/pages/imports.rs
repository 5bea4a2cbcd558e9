//! Importing a CSV file: people into the team (R-INV-5) or seats to
//! people (R-SEAT-3, by CSV), each a job whose progress the page shows
//! live (a stream from the job's WatchOperation), then each row's outcome
//! with its line number.

use std::convert::Infallible;
use std::time::Duration;

use allot_proto::common::Operation;
use allot_proto::entitlement as epb;
use allot_proto::team as tpb;
use axum::extract::{Path, Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::{Stream, StreamExt};
use minijinja::context;
use prost::Message;
use serde::{Deserialize, Serialize};

use super::{S, TeamPage, acting, fail, id_ok, not_found};
use crate::form::Upload;
use crate::refusal::Refusal;
use crate::render::{go, page, refused};
use crate::session::Visit;

/// Rows of outcomes on one page.
const ROWS_PAGE: i32 = 200;

/// Which job: people into the team, or seats to people.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Members,
    Assignments,
}

impl Kind {
    fn parse(s: &str) -> Option<Kind> {
        match s {
            "members" => Some(Kind::Members),
            "assignments" => Some(Kind::Assignments),
            _ => None,
        }
    }

    fn path(self) -> &'static str {
        match self {
            Kind::Members => "members",
            Kind::Assignments => "assignments",
        }
    }
}

/// A job's progress as the page shows it.
#[derive(Serialize, Default, Debug)]
struct Progress {
    total: i32,
    processed: i32,
    done: bool,
    failed: String,
}

fn progress_of(kind: Kind, op: &Operation) -> Progress {
    let (total, processed) = match (kind, op.metadata.as_ref()) {
        (Kind::Members, Some(m)) => tpb::ImportMembersMetadata::decode(m.value.as_slice())
            .map(|m| (m.total_rows, m.processed_rows))
            .unwrap_or_default(),
        (Kind::Assignments, Some(m)) => epb::ImportAssignmentsMetadata::decode(m.value.as_slice())
            .map(|m| (m.total_rows, m.processed_rows))
            .unwrap_or_default(),
        _ => (0, 0),
    };
    let failed = match &op.result {
        Some(allot_proto::common::operation::Result::Error(e)) => e.message.clone(),
        _ => String::new(),
    };
    Progress {
        total,
        processed,
        done: op.done,
        failed,
    }
}

pub async fn import_members(
    State(shared): S,
    visit: Visit,
    Path(team): Path<String>,
    upload: Upload,
) -> Response {
    start(&shared, visit, &team, Kind::Members, upload).await
}

pub async fn import_assignments(
    State(shared): S,
    visit: Visit,
    Path(team): Path<String>,
    upload: Upload,
) -> Response {
    start(&shared, visit, &team, Kind::Assignments, upload).await
}

async fn start(
    shared: &crate::Shared,
    visit: Visit,
    team: &str,
    kind: Kind,
    upload: Upload,
) -> Response {
    let (_, mut calls) = match acting(shared, &visit) {
        Ok(a) => a,
        Err(to) => return to,
    };
    if !id_ok(team) {
        return not_found();
    }
    let back = match kind {
        Kind::Members => format!("/teams/{team}/users"),
        Kind::Assignments => format!("/teams/{team}/products"),
    };
    let form = format!("import-{}", kind.path());
    if upload.file.is_empty() {
        let mut r = Refusal::new("Choose a CSV file to import.");
        r.fields.push(("file".into(), "Choose a file.".into()));
        return refused(&visit, &back, &form, &r, &[]);
    }
    let parent = format!("teams/{team}");
    let validate_only = upload.field("validate_only") == "on";
    let request_id = upload.field("request_id").to_owned();
    let started = match kind {
        Kind::Members => {
            calls
                .team
                .import_members(tpb::ImportMembersRequest {
                    parent,
                    csv: upload.file.to_vec(),
                    validate_only,
                    request_id,
                })
                .await
        }
        Kind::Assignments => {
            calls
                .entitlement
                .import_assignments(epb::ImportAssignmentsRequest {
                    parent,
                    csv: upload.file.to_vec(),
                    validate_only,
                    request_id,
                    ..Default::default()
                })
                .await
        }
    };
    match started {
        Ok(op) => {
            let id = op
                .into_inner()
                .name
                .trim_start_matches("operations/")
                .to_owned();
            go(
                &format!("/teams/{team}/imports/{}/{id}", kind.path()),
                visit.session.clone(),
            )
        }
        Err(s) => {
            let r = Refusal::from_status(&s, &[("csv", "file")]);
            refused(&visit, &back, &form, &r, &[])
        }
    }
}

async fn get_operation(
    calls: &mut crate::api::Calls,
    kind: Kind,
    name: String,
) -> Result<Operation, tonic::Status> {
    match kind {
        Kind::Members => calls
            .team
            .get_operation(tpb::GetOperationRequest { name })
            .await
            .map(tonic::Response::into_inner),
        Kind::Assignments => calls
            .entitlement
            .get_operation(epb::GetOperationRequest { name })
            .await
            .map(tonic::Response::into_inner),
    }
}

/// The finished job's counts by outcome.
fn summary(kind: Kind, op: &Operation) -> Vec<(&'static str, i32)> {
    let Some(allot_proto::common::operation::Result::Response(any)) = &op.result else {
        return Vec::new();
    };
    let all = match kind {
        Kind::Members => tpb::ImportMembersResponse::decode(any.value.as_slice())
            .map(|r| {
                vec![
                    ("invited", r.invited),
                    ("added", r.added),
                    ("already a member", r.already_member),
                    ("invalid", r.invalid),
                ]
            })
            .unwrap_or_default(),
        Kind::Assignments => epb::ImportAssignmentsResponse::decode(any.value.as_slice())
            .map(|r| {
                vec![
                    ("assigned", r.assigned),
                    ("invited and assigned", r.invited),
                    ("already assigned", r.already_assigned),
                    ("no seat", r.no_seat),
                    ("invalid", r.invalid),
                ]
            })
            .unwrap_or_default(),
    };
    all.into_iter().filter(|(_, n)| *n > 0).collect()
}

/// One row's outcome.
#[derive(Serialize)]
struct RowOutcome {
    line: i32,
    email: String,
    product: String,
    outcome: &'static str,
    message: String,
}

fn member_outcome(o: i32) -> &'static str {
    match tpb::AddMemberOutcome::try_from(o) {
        Ok(tpb::AddMemberOutcome::Invited) => "invited",
        Ok(tpb::AddMemberOutcome::Added) => "added",
        Ok(tpb::AddMemberOutcome::AlreadyMember) => "already a member",
        _ => "invalid",
    }
}

fn assign_outcome(o: i32) -> &'static str {
    match epb::AssignOutcome::try_from(o) {
        Ok(epb::AssignOutcome::Assigned) => "assigned",
        Ok(epb::AssignOutcome::AlreadyAssigned) => "already assigned",
        Ok(epb::AssignOutcome::NoSeat) => "no seat",
        _ => "refused",
    }
}

#[derive(Deserialize, Default)]
pub struct RowsQuery {
    #[serde(default)]
    rows: String,
}

pub async fn show(
    State(shared): S,
    visit: Visit,
    Path((team, kind, op)): Path<(String, String, String)>,
    Query(q): Query<RowsQuery>,
) -> Response {
    let (Some(kind), true) = (Kind::parse(&kind), id_ok(&op)) else {
        return not_found();
    };
    let section = match kind {
        Kind::Members => "users",
        Kind::Assignments => "products",
    };
    let mut t = match TeamPage::open(&shared, visit, &team, "Import", section, true).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let name = format!("operations/{op}");
    let operation = match get_operation(&mut t.calls, kind, name.clone()).await {
        Ok(o) => o,
        Err(s) => return fail(&s),
    };
    let p = progress_of(kind, &operation);
    let (rows, next) = if operation.done {
        let listed = match kind {
            Kind::Members => t
                .calls
                .team
                .list_import_rows(tpb::ListImportRowsRequest {
                    name,
                    page_size: ROWS_PAGE,
                    page_token: q.rows.clone(),
                })
                .await
                .map(|r| {
                    let r = r.into_inner();
                    let rows = r
                        .rows
                        .into_iter()
                        .map(|row| RowOutcome {
                            line: row.line,
                            email: row.email,
                            product: String::new(),
                            outcome: member_outcome(row.outcome),
                            message: row.message,
                        })
                        .collect::<Vec<_>>();
                    (rows, r.next_page_token)
                }),
            Kind::Assignments => t
                .calls
                .entitlement
                .list_import_rows(epb::ListImportRowsRequest {
                    name,
                    page_size: ROWS_PAGE,
                    page_token: q.rows.clone(),
                })
                .await
                .map(|r| {
                    let r = r.into_inner();
                    let rows = r
                        .rows
                        .into_iter()
                        .map(|row| RowOutcome {
                            line: row.line,
                            email: row.email,
                            product: row.product.trim_start_matches("products/").to_owned(),
                            outcome: assign_outcome(row.outcome),
                            message: row.message,
                        })
                        .collect::<Vec<_>>();
                    (rows, r.next_page_token)
                }),
        };
        match listed {
            Ok(l) => l,
            Err(s) => return fail(&s),
        }
    } else {
        (Vec::new(), String::new())
    };
    let counts = summary(kind, &operation);
    page(
        &t.visit,
        &t.chrome,
        "import.html",
        context! {
            kind => kind.path(),
            op => op,
            progress => p,
            rows => rows,
            counts => counts,
            next => next,
            is_paged => !q.rows.is_empty(),
        },
    )
}

/// The job's progress as server-sent events (`progress`), until it is
/// done; the page's script moves its progress bar and reloads at the end.
async fn progress_events(
    calls: crate::api::Calls,
    kind: Kind,
    name: String,
) -> Result<impl Stream<Item = Result<Event, Infallible>> + Send + 'static, tonic::Status> {
    let mut calls = calls;
    let stream: futures::stream::BoxStream<'static, Result<Operation, tonic::Status>> = match kind {
        Kind::Members => calls
            .team
            .watch_operation(tpb::WatchOperationRequest { name })
            .await?
            .into_inner()
            .boxed(),
        Kind::Assignments => calls
            .entitlement
            .watch_operation(epb::WatchOperationRequest { name })
            .await?
            .into_inner()
            .boxed(),
    };
    Ok(stream
        .take_while(|r| futures::future::ready(r.is_ok()))
        .filter_map(move |r| {
            futures::future::ready(r.ok().map(|op| {
                let p = progress_of(kind, &op);
                Ok(Event::default()
                    .event("progress")
                    .data(serde_json::to_string(&p).unwrap_or_default()))
            }))
        }))
}

pub async fn progress(
    State(shared): S,
    visit: Visit,
    Path((team, kind, op)): Path<(String, String, String)>,
) -> Response {
    let (_, calls) = match acting(&shared, &visit) {
        Ok(a) => a,
        Err(to) => return to,
    };
    let (Some(kind), true, true) = (Kind::parse(&kind), id_ok(&op), id_ok(&team)) else {
        return not_found();
    };
    match progress_events(calls, kind, format!("operations/{op}")).await {
        Ok(events) => Sse::new(events)
            .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
            .into_response(),
        Err(s) => fail(&s),
    }
}
