//! The gRPC face of entitlement. Methods not built yet answer UNIMPLEMENTED.

use std::sync::Arc;

use allot_platform::auth::{caller, scopes};
use allot_platform::outbox::WatchParams;
use allot_proto::entitlement as pb;
use allot_proto::entitlement::entitlement_service_server::EntitlementService as Service;
use tonic::codegen::BoxStream;
use tonic::{Request, Response, Status};

use crate::EntitlementService;

#[derive(Debug, Clone)]
pub struct EntitlementGrpc {
    service: Arc<EntitlementService>,
}

impl EntitlementGrpc {
    pub fn new(service: Arc<EntitlementService>) -> EntitlementGrpc {
        EntitlementGrpc { service }
    }
}

#[tonic::async_trait]
impl Service for EntitlementGrpc {
    async fn watch(
        &self,
        req: Request<pb::WatchRequest>,
    ) -> Result<Response<BoxStream<pb::WatchResponse>>, Status> {
        let caller = caller(&req)?;
        if !(caller.is_internal() || caller.has_scope(scopes::EVENTS_READ)) {
            return Err(Status::permission_denied(
                "watching entitlement events needs the `events.read` scope",
            ));
        }
        let r = req.into_inner();
        let team = (!r.team.is_empty()).then_some(r.team);
        let params = WatchParams::from_request(r.after_cursor, r.start_at_now, r.event_types, team);
        let stream = self
            .service
            .outbox
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
}
