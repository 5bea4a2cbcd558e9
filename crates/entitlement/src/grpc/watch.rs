//! The event stream other services follow (R-EVT-1).

use super::*;

pub(super) async fn watch(
    g: &EntitlementGrpc,
    req: Request<pb::WatchRequest>,
) -> R<BoxStream<pb::WatchResponse>> {
    let caller = caller(&req)?;
    g.app.reactions().authorize_watch(&caller)?;
    let r = req.into_inner();
    let team = optional("team", &r.team, TeamId::parse)?.map(|t| t.name());
    let params = WatchParams::from_request(
        r.after_cursor,
        r.start_at_now,
        r.event_types,
        team,
        caller.name(),
    );
    let stream = g
        .app
        .outbox()
        .watch_events(
            params,
            |e| pb::WatchResponse {
                kind: Some(pb::watch_response::Kind::Event(e)),
            },
            |c| pb::WatchResponse {
                kind: Some(pb::watch_response::Kind::Checkpoint(c)),
            },
        )
        .await?;
    Ok(Response::new(stream))
}
