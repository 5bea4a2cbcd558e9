//! Classic (serial-number) contracts: by user only (R-CLS-3), the cloud
//! service for three users and support for six per seat (R-CLS-4, R-CLS-5).

use allot_platform::ids::{ProductId, TeamId};

use super::*;
use crate::error::EntitlementError;

/// R-CLS-3: classic products are assigned by user only.
pub fn check_classic_by_user(pool: &Pool, how: &str) -> Result<(), EntitlementError> {
    classic_by_user_only(&pool.team, &pool.product, pool.activation, how)
}

/// Whether a refusal is a classic item limit (R-CLS-4, R-CLS-5).
pub fn is_classic_limit(kind: &str) -> bool {
    matches!(kind, "CLASSIC_CLOUD_LIMIT" | "CLASSIC_SUPPORT_LIMIT")
}

/// R-CLS-3 for a product of `team` activated by `activation`, assigned
/// `how` (by product, by group, by CSV).
pub fn classic_by_user_only(
    team: &TeamId,
    product: &ProductId,
    activation: ActivationType,
    how: &str,
) -> Result<(), EntitlementError> {
    if activation == ActivationType::SerialNumber {
        return Err(EntitlementError::Precondition {
            kind: "CLASSIC_BY_USER_ONLY",
            subject: format!("{}/pools/{}", team.name(), product),
            message: format!(
                "{product} is a classic (serial number) product: assign it by user, not {how}"
            ),
        });
    }
    Ok(())
}

/// Whether an assignment of `items` takes a seat of a pool: always on
/// sign-in pools; on classic pools only with the application, since cloud
/// services and support benefits are handed out beside the software and
/// have limits of their own (R-CLS-4, R-CLS-5).
pub fn takes_seat(activation: ActivationType, product: &Product, items: &[String]) -> bool {
    activation == ActivationType::SignIn
        || items.iter().any(|i| {
            product
                .item(i)
                .is_some_and(|it| it.kind == ItemKind::Application)
        })
}

/// Most users of one cloud service of a classic subscription (R-CLS-4).
pub const CLASSIC_CLOUD_USERS: i64 = 3;
/// Most users of support benefits per classic seat (R-CLS-5).
pub const CLASSIC_SUPPORT_USERS_PER_SEAT: i64 = 6;

/// R-CLS-4, R-CLS-5: whether one more person may hold `item` of a classic
/// pool that `holders` people hold already.
pub fn check_classic_item(pool: &Pool, item: &Item, holders: i64) -> Result<(), EntitlementError> {
    if pool.activation != ActivationType::SerialNumber {
        return Ok(());
    }
    let (limit, rule) = match item.kind {
        ItemKind::CloudService => (
            CLASSIC_CLOUD_USERS,
            "a cloud service of a classic subscription is for at most 3 users".to_owned(),
        ),
        ItemKind::Support => (
            CLASSIC_SUPPORT_USERS_PER_SEAT * i64::from(pool.seats),
            format!(
                "support benefits are for at most 6 users per seat ({} for {} seats)",
                CLASSIC_SUPPORT_USERS_PER_SEAT * i64::from(pool.seats),
                pool.seats
            ),
        ),
        ItemKind::Application => return Ok(()),
    };
    if holders >= limit {
        return Err(EntitlementError::Precondition {
            kind: if item.kind == ItemKind::CloudService {
                "CLASSIC_CLOUD_LIMIT"
            } else {
                "CLASSIC_SUPPORT_LIMIT"
            },
            subject: format!("{}/pools/{}", pool.team.name(), pool.product),
            message: format!(
                "{rule}; {holders} already hold {}: take it from someone first",
                item.display_name
            ),
        });
    }
    Ok(())
}
