//! Notification's use cases: queue an email for an event, send what is due
//! with retries, and let operators see and retry deliveries.

use std::sync::Arc;
use std::time::Duration;

use allot_platform::auth::{Caller, scopes};
use allot_platform::clock::{SharedClock, from_micros, to_micros};
use allot_platform::db::{Db, WriteTx};
use allot_platform::grpc::{IdentityClient, request};
use allot_platform::ids::DeliveryId;
use allot_platform::paging;
use allot_proto::identity as idpb;
use futures::StreamExt;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tonic::Code;

use crate::domain::{
    AfterFailure, DeliveryState, Failure, Params, RetryPolicy, TemplateKind, message_id,
};
use crate::error::NotificationError;
use crate::mailer::{Mailer, Outgoing};
use crate::render::{Rendered, Renderer};
use crate::store::{self, Delivery};

type Result<T> = std::result::Result<T, NotificationError>;

/// How many emails are in flight at once.
const CONCURRENCY: usize = 16;
/// How long a claimed delivery is held before another worker may take it.
/// How often the queue is looked at when nothing wakes the worker.
const POLL: Duration = Duration::from_millis(500);
/// How long a gathering email waits for more of its request's events.
const GATHER_MICROS: i64 = 1_000_000;

/// Where mail comes from and how links are written.
#[derive(Debug, Clone)]
pub struct MailSettings {
    pub from: String,
    pub public_url: String,
    pub retry: RetryPolicy,
    /// How long a sender holds a delivery it is sending.
    pub lease: Duration,
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
    wake: Notify,
}

impl std::fmt::Debug for Notifications {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifications")
            .field("mailer", &self.mailer)
            .finish_non_exhaustive()
    }
}

/// What one attempt came to.
enum Attempt {
    Sent,
    Failed(Failure, String),
    /// A newer email replaced this one (a resent invitation), or what it
    /// announces no longer holds.
    Superseded(String),
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

    /// Queues an email inside the caller's transaction; an event seen again
    /// queues nothing (R-MAIL-5).
    #[tracing::instrument(name = "notification.service.enqueue", skip_all)]
    pub async fn enqueue(&self, tx: &mut WriteTx, mail: NewMail) -> Result<bool> {
        self.enqueue_at(tx, mail, self.now()).await
    }

    async fn enqueue_at(&self, tx: &mut WriteTx, mail: NewMail, send_at: i64) -> Result<bool> {
        let subject = self.subject(mail.kind, &mail.params)?;
        let id = DeliveryId::generate();
        let delivery = Delivery {
            message_id: message_id(&id),
            id,
            dedupe_key: mail.dedupe_key,
            template: mail.kind.name().to_owned(),
            recipient: mail.recipient,
            subject,
            params: mail.params,
            state: DeliveryState::Pending,
            attempts: 0,
            last_error: String::new(),
            source_event: mail.source_event,
            create_time: self.now(),
            next_attempt_time: send_at,
            send_time: None,
        };
        Ok(store::enqueue(tx.conn(), &delivery).await?)
    }

    /// The subject for the delivery log. A template that cannot be rendered
    /// does not stop the email from being queued: sending it fails, and it
    /// waits in the dead letter list for a fix and a retry (R-MAIL-5).
    fn subject(&self, kind: TemplateKind, params: &Params) -> Result<String> {
        Ok(self.renderer.subject(kind, params).unwrap_or_else(|e| {
            tracing::error!(template = kind.name(), error = %e, "email subject cannot be rendered; queued anyway");
            String::new()
        }))
    }

    /// Queues an email that gathers several events (the products one
    /// request gave a person): the first event queues it a moment ahead,
    /// later ones add to its `list` while it is untouched, or queue a new
    /// one when it is already on its way.
    #[tracing::instrument(name = "notification.service.enqueue_gathered", skip_all)]
    pub async fn enqueue_gathered(
        &self,
        tx: &mut WriteTx,
        mail: NewMail,
        list: &str,
        source_key: &str,
    ) -> Result<()> {
        let now = self.now();
        let mut key = mail.dedupe_key.clone();
        for round in 0..8 {
            match store::find_by_dedupe(tx.conn(), &key).await? {
                None => {
                    let mut mail = mail.clone();
                    mail.dedupe_key = key;
                    self.enqueue_at(tx, mail, now + GATHER_MICROS).await?;
                    return Ok(());
                }
                Some(existing) => {
                    let mut params = existing.params.clone();
                    let already = existing.source_event.split(' ').any(|s| s == source_key);
                    if already {
                        return Ok(());
                    }
                    let entry = mail
                        .params
                        .get(list)
                        .and_then(|v| v.as_array())
                        .cloned()
                        .unwrap_or_default();
                    if let Some(serde_json::Value::Array(items)) = params.get_mut(list) {
                        items.extend(entry);
                    }
                    let subject = self.subject(mail.kind, &params)?;
                    let sources = format!("{} {source_key}", existing.source_event);
                    if store::merge(tx.conn(), &existing.id, &params, &subject, &sources, now)
                        .await?
                    {
                        return Ok(());
                    }
                    key = format!("{}#{}", mail.dedupe_key, round + 1);
                }
            }
        }
        Err(NotificationError::Internal(format!(
            "could not gather email {}",
            mail.dedupe_key
        )))
    }

    /// Wakes the sender after new mail was committed.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Sends due mail until `stop`.
    pub fn spawn_sender(self: &Arc<Self>, stop: CancellationToken) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            loop {
                let idle = match this.send_due().await {
                    Ok(0) => this.idle_for().await,
                    Ok(_) => Duration::ZERO,
                    Err(e) => {
                        tracing::warn!(error = %e, "mail queue could not be read; retrying");
                        Duration::from_secs(1)
                    }
                };
                if idle.is_zero() {
                    if stop.is_cancelled() {
                        break;
                    }
                    continue;
                }
                tokio::select! {
                    () = stop.cancelled() => break,
                    () = this.wake.notified() => {}
                    () = tokio::time::sleep(idle) => {}
                }
            }
        })
    }

    /// How long nothing is due (at most the poll interval).
    async fn idle_for(&self) -> Duration {
        let next = match self.db.conn().await {
            Ok(mut c) => store::next_due(&mut c).await.ok().flatten(),
            Err(_) => None,
        };
        match next {
            Some(t) => {
                let wait = u64::try_from(t - self.now()).unwrap_or(0);
                Duration::from_micros(wait)
                    .min(POLL)
                    .max(Duration::from_millis(5))
            }
            None => POLL,
        }
    }

    /// Sends every delivery that is due now; returns how many were tried.
    #[tracing::instrument(name = "notification.service.send_due", skip_all)]
    pub async fn send_due(&self) -> Result<usize> {
        let now = self.now();
        let due = {
            let mut conn = self.db.conn().await?;
            store::due(&mut conn, now, 256).await?
        };
        let count = due.len();
        futures::stream::iter(due)
            .for_each_concurrent(CONCURRENCY, |d| async move {
                if let Err(e) = self.attempt(d).await {
                    tracing::warn!(error = %e, "recording a delivery attempt failed; it will be tried again");
                }
            })
            .await;
        Ok(count)
    }

    async fn attempt(&self, d: Delivery) -> Result<()> {
        let now = self.now();
        let lease = now + i64::try_from(self.settings.lease.as_micros()).unwrap_or(i64::MAX);
        {
            let mut tx = self.db.begin_write().await?;
            let claimed = store::claim(tx.conn(), &d.id, now, lease).await?;
            tx.commit().await?;
            if !claimed {
                return Ok(());
            }
        }
        let outcome = self.deliver(&d).await;
        let attempts = d.attempts + 1;
        let done = self.now();
        let (state, error, next, sent) = match outcome {
            Attempt::Sent => {
                tracing::info!(delivery = %d.id, template = %d.template, recipient = %d.recipient, attempts, "email sent");
                (DeliveryState::Sent, String::new(), done, Some(done))
            }
            Attempt::Superseded(why) => {
                tracing::info!(delivery = %d.id, reason = %why, "email not sent: superseded");
                (DeliveryState::Superseded, why, done, None)
            }
            Attempt::Failed(failure, why) => {
                match self.settings.retry.after_failure(
                    u32::try_from(attempts).unwrap_or(u32::MAX),
                    Duration::from_micros(u64::try_from(done - d.create_time).unwrap_or(0)),
                    failure,
                ) {
                    AfterFailure::RetryIn(delay) => {
                        tracing::warn!(delivery = %d.id, recipient = %d.recipient, attempts, retry_in = ?delay, error = %why, "email not sent; will retry");
                        let at = done + i64::try_from(delay.as_micros()).unwrap_or(i64::MAX);
                        (DeliveryState::Pending, why, at, None)
                    }
                    AfterFailure::GiveUp => {
                        tracing::error!(delivery = %d.id, recipient = %d.recipient, attempts, error = %why, "email given up: in the dead letter list, retry it with RetryDelivery");
                        (DeliveryState::Dead, why, done, None)
                    }
                }
            }
        };
        let mut tx = self.db.begin_write().await?;
        store::record(tx.conn(), &d.id, state, attempts, &error, next, sent).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Writes and sends one email.
    async fn deliver(&self, d: &Delivery) -> Attempt {
        let Some(kind) = TemplateKind::from_name(&d.template) else {
            return Attempt::Failed(
                Failure::Permanent,
                format!("unknown template {}", d.template),
            );
        };
        let params = match self.complete_params(kind, &d.params).await {
            Ok(p) => p,
            Err(a) => return a,
        };
        let content: Rendered = match self.renderer.render(kind, &params) {
            Ok(c) => c,
            Err(e) => {
                return Attempt::Failed(
                    Failure::Permanent,
                    format!("template {}: {e}", d.template),
                );
            }
        };
        let mail = Outgoing {
            delivery_id: d.id.as_str(),
            message_id: &d.message_id,
            from: &self.settings.from,
            to: &d.recipient,
            content: &content,
        };
        match self.mailer.send(&mail).await {
            Ok(()) => Attempt::Sent,
            Err((failure, why)) => Attempt::Failed(failure, why),
        }
    }

    /// Adds what is not stored with the delivery: an invitation's accept
    /// link, fetched from identity for the generation the email is about.
    async fn complete_params(
        &self,
        kind: TemplateKind,
        stored: &Params,
    ) -> std::result::Result<Params, Attempt> {
        let mut params = stored.clone();
        if kind == TemplateKind::Invitation {
            let name = stored
                .get("invitation")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned();
            let generation = stored
                .get("generation")
                .and_then(serde_json::Value::as_i64)
                .and_then(|g| i32::try_from(g).ok())
                .unwrap_or(1);
            let answer = self
                .identity
                .clone()
                .get_invitation_token(request(idpb::GetInvitationTokenRequest {
                    name,
                    generation,
                }))
                .await;
            match answer {
                Ok(r) => {
                    let token = r.into_inner().token;
                    params.insert(
                        "accept_url".into(),
                        format!(
                            "{}/invitations/accept?token={token}",
                            self.settings.public_url.trim_end_matches('/')
                        )
                        .into(),
                    );
                }
                Err(s) if matches!(s.code(), Code::FailedPrecondition | Code::NotFound) => {
                    return Err(Attempt::Superseded(s.message().to_owned()));
                }
                Err(s) => {
                    return Err(Attempt::Failed(
                        Failure::Transient,
                        format!("identity could not give the accept link: {}", s.message()),
                    ));
                }
            }
        }
        Ok(params)
    }

    // ---- operators --------------------------------------------------------

    fn authorize(&self, caller: &Caller) -> Result<()> {
        if caller.is_internal() || caller.has_scope(scopes::ADMIN) {
            return Ok(());
        }
        Err(NotificationError::PermissionDenied(
            "deliveries can be seen and retried with the `admin` scope".into(),
        ))
    }

    #[tracing::instrument(name = "notification.service.list", skip_all)]
    pub async fn list(
        &self,
        caller: &Caller,
        state: Option<DeliveryState>,
        recipient: Option<&str>,
        page_size: i32,
        page_token: &str,
    ) -> Result<(Vec<Delivery>, String)> {
        self.authorize(caller)?;
        let limit = paging::page_size(page_size)?;
        let before = paging::decode_token(page_token)?;
        let mut conn = self.db.conn().await?;
        let rows = store::list(&mut conn, state, recipient, before.as_deref(), limit).await?;
        Ok(paging::finish(rows, limit, |d| d.id.as_str().to_owned()))
    }

    #[tracing::instrument(name = "notification.service.get", skip_all)]
    pub async fn get(&self, caller: &Caller, id: &DeliveryId) -> Result<Delivery> {
        self.authorize(caller)?;
        let mut conn = self.db.conn().await?;
        store::get(&mut conn, id)
            .await?
            .ok_or_else(|| NotificationError::not_found("delivery", id.name()))
    }

    /// R-MAIL-5: a dead delivery goes back in the queue, same Message-ID.
    #[tracing::instrument(name = "notification.service.retry", skip_all)]
    pub async fn retry(&self, caller: &Caller, id: &DeliveryId) -> Result<Delivery> {
        self.authorize(caller)?;
        let mut tx = self.db.begin_write().await?;
        let d = store::get(tx.conn(), id)
            .await?
            .ok_or_else(|| NotificationError::not_found("delivery", id.name()))?;
        if d.state != DeliveryState::Dead {
            return Err(NotificationError::Precondition {
                kind: "NOT_DEAD",
                subject: id.name(),
                message: format!(
                    "only dead deliveries can be retried; this one is {}",
                    d.state.as_db().to_lowercase()
                ),
            });
        }
        store::requeue(tx.conn(), id, self.now()).await?;
        let d = store::get(tx.conn(), id)
            .await?
            .ok_or_else(|| NotificationError::not_found("delivery", id.name()))?;
        tx.commit().await?;
        self.wake();
        Ok(d)
    }
}

/// "29 November 2026, 10:00 UTC".
pub fn human_time(micros: i64) -> String {
    let t = from_micros(micros);
    let format = time::macros::format_description!(
        "[day padding:none] [month repr:long] [year], [hour]:[minute] UTC"
    );
    t.format(&format).unwrap_or_else(|_| t.to_string())
}
