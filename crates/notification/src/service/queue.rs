//! Queueing an email for an event, once per event (R-MAIL-5), and gathering
//! a request's events into one email.

use super::*;

/// How long a gathering email waits for more of its request's events.
const GATHER_MICROS: i64 = 1_000_000;

impl Notifications {
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
}
