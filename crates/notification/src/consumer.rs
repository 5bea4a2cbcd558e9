//! Emails as reactions to other services' events.

use std::collections::BTreeMap;
use std::sync::Arc;

use allot_platform::consumer::{HandleError, Handler};
use allot_platform::db::WriteTx;
use allot_platform::outbox::NewEvent;
use allot_proto::identity as idpb;
use allot_proto::identity::event::Payload;

use crate::app::{NewMail, Notifications, human_time};
use crate::domain::TemplateKind;
use crate::error::NotificationError;

/// The durable name of the cursor on identity's stream.
pub const IDENTITY_CONSUMER: &str = "notification.identity-events";

pub struct IdentityMail {
    pub app: Arc<Notifications>,
}

fn handle_error(e: NotificationError) -> HandleError {
    match e {
        NotificationError::Db(_) => HandleError::Transient(e.to_string()),
        other => HandleError::Permanent(other.to_string()),
    }
}

/// R-MAIL-1: the invitation email, for a new invitation and each resend.
fn invitation_mail(event_id: &str, invitation: &idpb::Invitation, given_name: &str) -> NewMail {
    let expires = invitation
        .expire_time
        .as_ref()
        .map(|t| human_time(t.seconds.saturating_mul(1_000_000)))
        .unwrap_or_default();
    let params: BTreeMap<String, String> = [
        ("given_name", given_name.to_owned()),
        ("inviter", invitation.inviter_display_name.clone()),
        ("team", invitation.team_display_name.clone()),
        ("expires", expires),
        ("invitation", invitation.name.clone()),
        ("generation", invitation.generation.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    NewMail {
        kind: TemplateKind::Invitation,
        recipient: invitation.email.clone(),
        params,
        dedupe_key: format!("identity/{event_id}"),
        source_event: format!("identity/{event_id}"),
    }
}

impl Handler<idpb::Event> for IdentityMail {
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
        let mail = match &event.payload {
            Some(
                Payload::InvitationCreated(idpb::InvitationCreated {
                    invitation: Some(i),
                    given_name,
                    ..
                })
                | Payload::InvitationResent(idpb::InvitationResent {
                    invitation: Some(i),
                    given_name,
                    ..
                }),
            ) => Some(invitation_mail(id, i, given_name)),
            _ => None,
        };
        if let Some(mail) = mail {
            self.app.enqueue(tx, mail).await.map_err(handle_error)?;
        }
        Ok(Vec::new())
    }

    fn after_commit(&self) {
        self.app.wake();
    }
}
