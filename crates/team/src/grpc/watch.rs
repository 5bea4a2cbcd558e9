//! The event stream other services follow (R-EVT-1).

use super::*;

pub(super) async fn watch(
    g: &TeamGrpc,
    req: Request<pb::WatchRequest>,
) -> R<BoxStream<pb::WatchResponse>> {
    let caller = caller(&req)?;
    let r = req.into_inner();
    let team = if r.team.is_empty() {
        None
    } else {
        Some(TeamId::parse("team", &r.team).map_err(invalid)?)
    };
    g.app.authorize_watch(&caller, team.as_ref()).await?;
    let params = WatchParams::from_request(
        r.after_cursor,
        r.start_at_now,
        r.event_types,
        team.map(|t| t.name()),
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
