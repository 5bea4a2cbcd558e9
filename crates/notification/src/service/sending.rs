//! Sending what is due: concurrent attempts, retries with backoff, and
//! dead letters, so every email goes out once even after an outage (R-MAIL-5).

use std::collections::HashMap;

use super::*;
use crate::directory::AcceptToken;

/// How many emails are in flight at once (the mail server's connections
/// are pooled and reused).
const CONCURRENCY: usize = 32;
/// The most due emails taken per pass (fewer when the lease is short
/// against the SMTP timeout, see [`crate::domain::claim_per_pass`]).
const MOST_PER_PASS: usize = 512;
/// Attempts recorded together.
const RECORD_EVERY: usize = 64;

/// The invitation and generation an invitation email is about.
fn invitation_of(params: &Params) -> (String, i32) {
    let generation = params
        .get("generation")
        .and_then(serde_json::Value::as_i64)
        .and_then(|g| i32::try_from(g).ok())
        .unwrap_or(1);
    let name = params
        .get("invitation")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_owned();
    (name, generation)
}
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
    /// They are claimed together, the tokens of their links fetched with
    /// one call, written and sent [`CONCURRENCY`] at a time over the mail
    /// server's pooled connections, and recorded a group of
    /// [`RECORD_EVERY`] at a time (a crash resends at most that many, with
    /// the same Message-ID).
    #[tracing::instrument(name = "notification.service.send_due", skip_all)]
    pub async fn send_due(&self) -> Result<usize> {
        let now = self.now();
        let due = {
            let mut conn = self.db.conn().await?;
            let per_pass = crate::domain::claim_per_pass(
                self.settings.lease,
                self.settings.smtp_timeout,
                CONCURRENCY,
                MOST_PER_PASS,
            );
            store::due(&mut conn, now, i64::try_from(per_pass).unwrap_or(i64::MAX)).await?
        };
        let count = due.len();
        if due.is_empty() {
            return Ok(0);
        }
        let lease = now + i64::try_from(self.settings.lease.as_micros()).unwrap_or(i64::MAX);
        let claimed = {
            let ids: Vec<&DeliveryId> = due.iter().map(|d| &d.id).collect();
            let mut tx = self.db.begin_write().await?;
            let got = store::claim_all(tx.conn(), &ids, now, lease).await?;
            tx.commit().await?;
            got
        };
        let mine: Vec<Delivery> = due
            .into_iter()
            .filter(|d| claimed.contains(d.id.as_str()))
            .collect();
        let tokens = self.prefetch_tokens(&mine).await;
        for group in mine.chunks(RECORD_EVERY) {
            let mut outcomes: Vec<(&Delivery, Attempt)> = Vec::with_capacity(group.len());
            for wave in group.chunks(CONCURRENCY) {
                let attempts: Vec<_> = wave.iter().map(|d| self.deliver(d, &tokens)).collect();
                let done = futures::future::join_all(attempts).await;
                outcomes.extend(wave.iter().zip(done));
            }
            if let Err(e) = self.record(outcomes).await {
                tracing::warn!(error = %e, "recording delivery attempts failed; their leases run out and they are tried again");
            }
        }
        Ok(count)
    }

    /// The accept tokens of the invitation emails among `due`, asked for in
    /// one call.
    async fn prefetch_tokens(&self, due: &[Delivery]) -> HashMap<(String, i32), AcceptToken> {
        let asks: Vec<(String, i32)> = due
            .iter()
            .filter(|d| TemplateKind::from_name(&d.template) == Some(TemplateKind::Invitation))
            .map(|d| invitation_of(&d.params))
            .collect();
        if asks.is_empty() {
            return HashMap::new();
        }
        let answers = self.tokens.accept_tokens(&asks).await;
        asks.into_iter().zip(answers).collect()
    }

    /// Records what a group of attempts came to: the sent ones in one
    /// statement, the others one by one (retry times differ).
    async fn record(&self, outcomes: Vec<(&Delivery, Attempt)>) -> Result<()> {
        let done = self.now();
        let mut sent = Vec::new();
        let mut tx = self.db.begin_write().await?;
        for (d, outcome) in outcomes {
            let attempts = d.attempts + 1;
            let (state, error, next) = match outcome {
                Attempt::Sent => {
                    tracing::info!(delivery = %d.id, template = %d.template, recipient = %d.recipient, attempts, "email sent");
                    sent.push(&d.id);
                    continue;
                }
                Attempt::Superseded(why) => {
                    tracing::info!(delivery = %d.id, reason = %why, "email not sent: superseded");
                    (DeliveryState::Superseded, why, done)
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
                            (DeliveryState::Pending, why, at)
                        }
                        AfterFailure::GiveUp => {
                            tracing::error!(delivery = %d.id, recipient = %d.recipient, attempts, error = %why, "email given up: in the dead letter list, retry it with RetryDelivery");
                            (DeliveryState::Dead, why, done)
                        }
                    }
                }
            };
            store::record(tx.conn(), &d.id, state, attempts, &error, next, None).await?;
        }
        store::record_sent(tx.conn(), &sent, done).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Writes and sends one email.
    async fn deliver(&self, d: &Delivery, tokens: &HashMap<(String, i32), AcceptToken>) -> Attempt {
        let Some(kind) = TemplateKind::from_name(&d.template) else {
            return Attempt::Failed(
                Failure::Permanent,
                format!("unknown template {}", d.template),
            );
        };
        let params = match self.complete_params(kind, &d.params, tokens).await {
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
        tokens: &HashMap<(String, i32), AcceptToken>,
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
                let ask = invitation_of(stored);
                let answer = match tokens.get(&ask) {
                    Some(known) => known.clone(),
                    None => self.tokens.accept_token(&ask.0, ask.1).await,
                };
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
