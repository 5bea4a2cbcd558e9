//! Deliveries as operators see them: list, get, and retry a dead letter.

use super::*;

impl Notifications {
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
