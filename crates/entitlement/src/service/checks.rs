//! The entitlement check and a person's own products (R-USE-1, R-SEAT-8).

use super::*;

/// R-SEAT-8: one product a person may use, with the items they hold and
/// how it activates.
#[derive(Debug, Clone)]
pub struct MyProduct {
    pub product: String,
    pub display_name: String,
    pub items: Vec<Item>,
    pub activation: ActivationType,
    pub serial_number: String,
    pub team: String,
}

impl Checks<'_> {
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
    pub fn my_products(&self, caller: &Caller, account: &AccountId) -> Result<Vec<MyProduct>> {
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
                MyProduct {
                    product,
                    display_name: info.display_name.clone(),
                    items: info
                        .items
                        .iter()
                        .filter(|i| grant.items.contains(&i.id))
                        .cloned()
                        .collect(),
                    activation: pool.activation,
                    serial_number: pool.serial_number,
                    team: grant.team.clone(),
                }
            })
            .collect())
    }
}
