//! Notification's use cases, one file per concept: `queue` (an email for an
//! event, R-MAIL-5), `sending` (what is due, with retries) and `deliveries`
//! (operators see and retry them).

use std::sync::Arc;
use std::time::Duration;

use allot_platform::auth::{Caller, scopes};
use allot_platform::clock::{SharedClock, to_micros};
use allot_platform::db::{Db, WriteTx};
use allot_platform::grpc::IdentityClient;
use allot_platform::ids::DeliveryId;
use allot_platform::paging;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::directory::{AcceptTokens, GrpcAcceptTokens};
use crate::domain::{
    AfterFailure, DeliveryState, Failure, Params, RetryPolicy, TemplateKind, message_id,
};
use crate::error::NotificationError;
use crate::mailer::{Mailer, Outgoing};
use crate::store::{self, Delivery};
use crate::templates::{Rendered, Renderer};

type Result<T> = std::result::Result<T, NotificationError>;

mod deliveries;
mod queue;
mod sending;

/// Where mail comes from and how links are written.
#[derive(Debug, Clone)]
pub struct MailSettings {
    pub from: String,
    pub public_url: String,
    pub retry: RetryPolicy,
    /// How long a sender holds a delivery it is sending.
    pub lease: Duration,
    /// The longest one SMTP conversation may take.
    pub smtp_timeout: Duration,
}

/// A queued email's template, recipient and values.
#[derive(Debug, Clone)]
pub struct NewMail {
    pub kind: TemplateKind,
    pub recipient: String,
    pub params: Params,
    /// One email per key: the source event and, if an event causes several
    /// emails, which one.
    pub dedupe_key: String,
    pub source_event: String,
}

pub struct Notifications {
    db: Db,
    clock: SharedClock,
    renderer: Renderer,
    mailer: Mailer,
    settings: MailSettings,
    identity: IdentityClient,
    /// Accept links of invitation emails (identity).
    tokens: Arc<dyn AcceptTokens>,
    wake: Notify,
}

impl std::fmt::Debug for Notifications {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifications")
            .field("mailer", &self.mailer)
            .finish_non_exhaustive()
    }
}

impl Notifications {
    pub fn new(
        db: Db,
        clock: SharedClock,
        mailer: Mailer,
        settings: MailSettings,
        identity: IdentityClient,
    ) -> Result<Notifications> {
        let renderer = Renderer::new().map_err(|e| NotificationError::Internal(e.to_string()))?;
        Ok(Notifications {
            db,
            clock,
            renderer,
            mailer,
            settings,
            tokens: Arc::new(GrpcAcceptTokens(identity.clone())),
            identity,
            wake: Notify::new(),
        })
    }

    pub fn renderer(&self) -> &Renderer {
        &self.renderer
    }

    /// The identity service, with Allot's own token.
    pub(crate) fn identity(&self) -> IdentityClient {
        self.identity.clone()
    }

    #[tracing::instrument(name = "notification.service.begin", skip_all)]
    pub(crate) async fn begin(&self) -> Result<WriteTx> {
        Ok(self.db.begin_write().await?)
    }

    pub(crate) fn now(&self) -> i64 {
        to_micros(self.clock.now())
    }
}
