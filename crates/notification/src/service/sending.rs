//! Sending what is due: concurrent attempts, retries with backoff, and
//! dead letters, so every email goes out once even after an outage (R-MAIL-5).

use super::*;
use crate::directory::AcceptToken;

/// How many emails are in flight at once.
const CONCURRENCY: usize = 16;
/// How often the queue is looked at when nothing wakes the worker.
const POLL: Duration = Duration::from_millis(500);

/// What one attempt came to.
enum Attempt {
    Sent,
    Failed(Failure, String),
    /// A newer email replaced this one (a resent invitation), or what it
    /// announces no longer holds.
    Superseded(String),
}

impl Notifications {
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

    /// Adds what is not stored with the delivery: the link of an
    /// invitation (for the generation the email is about) or of a password
    /// reset, with its token fetched from identity.
    async fn complete_params(
        &self,
        kind: TemplateKind,
        stored: &Params,
    ) -> std::result::Result<Params, Attempt> {
        let text = |key: &str| {
            stored
                .get(key)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned()
        };
        let (param, path, what, answer) = match kind {
            TemplateKind::Invitation => {
                let generation = stored
                    .get("generation")
                    .and_then(serde_json::Value::as_i64)
                    .and_then(|g| i32::try_from(g).ok())
                    .unwrap_or(1);
                let answer = self
                    .tokens
                    .accept_token(&text("invitation"), generation)
                    .await;
                ("accept_url", "invitations/accept", "accept link", answer)
            }
            TemplateKind::PasswordReset => {
                let answer = self.tokens.reset_token(&text("reset")).await;
                ("reset_url", "password/reset", "reset link", answer)
            }
            _ => return Ok(stored.clone()),
        };
        let token = match answer {
            AcceptToken::Token(token) => token,
            AcceptToken::Superseded(why) => return Err(Attempt::Superseded(why)),
            AcceptToken::Unavailable(why) => {
                return Err(Attempt::Failed(
                    Failure::Transient,
                    format!("identity could not give the {what}: {why}"),
                ));
            }
        };
        let mut params = stored.clone();
        params.insert(
            param.into(),
            format!(
                "{}/{path}?token={token}",
                self.settings.public_url.trim_end_matches('/')
            )
            .into(),
        );
        Ok(params)
    }
}
