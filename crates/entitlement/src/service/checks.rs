//! The entitlement check and a person's own products (R-USE-1, R-SEAT-8).

use super::*;

impl Entitlements {
    /// R-USE-1: may `account` use `product` now; optionally records the
    /// launch.
    pub fn check(
        &self,
        caller: &Caller,
        account: &AccountId,
        product: &ProductId,
        record: bool,
    ) -> Result<Answer> {
        authorize(caller, Action::Check { account })?;
        let answer = self.projection.check(account.as_str(), product.as_str());
        if record && let Answer::Allowed { grant, .. } = &answer {
            let now = self.now();
            self.usage.record(UsageRecord {
                team: grant.team.clone(),
                account: account.as_str().to_owned(),
                product: product.as_str().to_owned(),
                time: now,
                day: day_of(now),
            });
        }
        Ok(answer)
    }

    /// R-SEAT-8: a person's products with their items and activation.
    pub fn my_products(&self, caller: &Caller, account: &AccountId) -> Result<Vec<pb::MyProduct>> {
        authorize(caller, Action::Check { account })?;
        Ok(self
            .projection
            .products_of(account.as_str())
            .into_iter()
            .map(|(product, info, grant, pool)| {
                let pool = pool.unwrap_or(crate::projection::PoolInfo {
                    activation: ActivationType::SignIn,
                    serial_number: String::new(),
                });
                pb::MyProduct {
                    product: format!("products/{product}"),
                    display_name: info.display_name.clone(),
                    items: info
                        .items
                        .iter()
                        .filter(|i| grant.items.contains(&i.id))
                        .map(convert::item)
                        .collect(),
                    activation_type: convert::activation(pool.activation) as i32,
                    serial_number: pool.serial_number,
                    team: format!("teams/{}", grant.team),
                }
            })
            .collect())
    }
}
