//! Seat pools: a team's seats per product (R-SEAT-1).

use super::*;

impl Pools<'_> {
    #[tracing::instrument(name = "entitlement.service.get_pool", skip_all)]
    pub async fn get_pool(
        &self,
        caller: &Caller,
        team: &TeamId,
        product: &ProductId,
    ) -> Result<(Pool, String, i64)> {
        let standing = self.standing(caller, team).await?;
        authorize(caller, Action::ReadSeats { standing })?;
        let mut conn = self.db.conn().await?;
        let pool = store::get_pool(&mut conn, team, product)
            .await?
            .ok_or_else(|| {
                EntitlementError::not_found("pool", format!("{}/pools/{product}", team.name()))
            })?;
        let name = store::get_product(&mut conn, product)
            .await?
            .map(|p| p.display_name)
            .unwrap_or_default();
        let waiting = crate::service::waiting::waiting(&mut conn, team, product).await?;
        Ok((pool, name, waiting))
    }

    /// R-SEAT-7: per product, seats, assigned and available.
    #[tracing::instrument(name = "entitlement.service.list_pools", skip_all)]
    pub async fn list_pools(
        &self,
        caller: &Caller,
        team: &TeamId,
    ) -> Result<Vec<(Pool, String, i64)>> {
        let standing = self.standing(caller, team).await?;
        authorize(caller, Action::ReadSeats { standing })?;
        let mut conn = self.db.conn().await?;
        let pools = store::list_pools(&mut conn, team).await?;
        let mut out = Vec::with_capacity(pools.len());
        for p in pools {
            let name = store::get_product(&mut conn, &p.product)
                .await?
                .map(|x| x.display_name)
                .unwrap_or_default();
            let waiting = crate::service::waiting::waiting(&mut conn, team, &p.product).await?;
            out.push((p, name, waiting));
        }
        Ok(out)
    }
}
