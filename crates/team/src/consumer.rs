//! Team's reactions to identity's events: the bootstrap administrator gets
//! the first team; a person's activation and names reach their memberships.

use std::sync::Arc;

use allot_platform::consumer::{HandleError, Handler};
use allot_platform::db::WriteTx;
use allot_platform::outbox::NewEvent;
use allot_proto::identity as idpb;
use allot_proto::identity::event::Payload;

use crate::app::Teams;
use crate::error::TeamError;

/// The durable name of this consumer's cursor.
pub const CONSUMER: &str = "team.identity-events";

pub struct IdentityEvents {
    pub app: Arc<Teams>,
}

fn handle_error(e: TeamError) -> HandleError {
    match e {
        TeamError::Db(_) | TeamError::Peer { .. } => HandleError::Transient(e.to_string()),
        other => HandleError::Permanent(other.to_string()),
    }
}

impl Handler<idpb::Event> for IdentityEvents {
    async fn handle(
        &self,
        tx: &mut WriteTx,
        event: &idpb::Event,
    ) -> Result<Vec<NewEvent>, HandleError> {
        let id = event
            .context
            .as_ref()
            .map(|c| c.id.as_str())
            .unwrap_or_default();
        let result = match &event.payload {
            Some(Payload::AccountCreated(c)) if c.bootstrap => match &c.account {
                Some(a) => self.app.create_bootstrap_team(tx, a).await,
                None => Ok(Vec::new()),
            },
            Some(
                Payload::AccountActivated(idpb::AccountActivated { account: Some(a) })
                | Payload::AccountUpdated(idpb::AccountUpdated { account: Some(a) }),
            ) => self.app.refresh_person(tx, a, id).await,
            _ => Ok(Vec::new()),
        };
        result.map_err(handle_error)
    }
}
