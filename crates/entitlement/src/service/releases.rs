//! Product releases and their news (R-MAIL-4): publishing a release of a
//! product tells each software coordinator of a classic contract holding
//! it, once, through one `release_news` event per coordinator.

use std::collections::BTreeMap;

use allot_platform::error::FieldViolation;
use allot_platform::idempotency::{self, RequestKey};
use allot_platform::ids::{AccountId, ProductId, TeamId};
use sqlx::AnyConnection;

use crate::domain::{Action, authorize};
use crate::error::EntitlementError;
use crate::service::{Ctx, Releases};

type Result<T> = std::result::Result<T, EntitlementError>;

/// The longest release version.
pub const MAX_VERSION_CHARS: usize = 64;
/// The longest release notes.
pub const MAX_NOTES_CHARS: usize = 4000;

/// A published release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub product: ProductId,
    pub version: String,
    pub notes: String,
    pub publish_time: i64,
}

impl Release {
    /// `products/{product}/releases/{version}`.
    pub fn name(&self) -> String {
        format!("{}/releases/{}", self.product.name(), self.version)
    }
}

/// A release version: letters, digits and `.-_+`, 1 to 64 of them.
pub fn parse_version(field: &str, v: &str) -> std::result::Result<String, FieldViolation> {
    let ok = (1..=MAX_VERSION_CHARS).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-_+".contains(&b));
    if ok {
        Ok(v.to_owned())
    } else {
        Err(FieldViolation::new(
            field,
            format!(
                "{} is not a version: 1 to {MAX_VERSION_CHARS} letters, digits or . - _ +",
                allot_platform::error::quote(v)
            ),
        ))
    }
}

/// Release notes: free text with line breaks, at most 4,000 characters.
pub fn parse_notes(field: &str, notes: &str) -> std::result::Result<String, FieldViolation> {
    let notes = notes.trim();
    if notes.chars().count() > MAX_NOTES_CHARS {
        return Err(FieldViolation::new(
            field,
            format!("is longer than {MAX_NOTES_CHARS} characters"),
        ));
    }
    if notes
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(FieldViolation::new(
            field,
            "must not contain control characters other than line breaks and tabs",
        ));
    }
    Ok(notes.to_owned())
}

async fn get_release(
    conn: &mut AnyConnection,
    product: &ProductId,
    version: &str,
) -> Result<Option<Release>> {
    let row: Option<(String, i64)> = sqlx::query_as(
        "SELECT notes, publish_time FROM product_releases WHERE product_id = $1 AND version = $2",
    )
    .bind(product.as_str())
    .bind(version)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|(notes, publish_time)| Release {
        product: product.clone(),
        version: version.to_owned(),
        notes,
        publish_time,
    }))
}

/// Records a release; false when that version was published already.
async fn insert_release(conn: &mut AnyConnection, r: &Release) -> Result<bool> {
    let n = sqlx::query(
        "INSERT INTO product_releases (product_id, version, notes, publish_time) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (product_id, version) DO NOTHING",
    )
    .bind(r.product.as_str())
    .bind(&r.version)
    .bind(&r.notes)
    .bind(r.publish_time)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// The coordinators of classic contracts with a subscription of `product`:
/// each with their team and one contract they coordinate.
async fn coordinators_of(
    conn: &mut AnyConnection,
    product: &ProductId,
) -> Result<BTreeMap<AccountId, (TeamId, String)>> {
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT DISTINCT c.software_coordinator, c.team_id, c.id FROM contracts c \
         JOIN subscriptions s ON s.contract_id = c.id \
         WHERE s.product_id = $1 AND c.activation_type = 'SERIAL_NUMBER' \
         ORDER BY c.software_coordinator, c.id",
    )
    .bind(product.as_str())
    .fetch_all(conn)
    .await?;
    let mut out = BTreeMap::new();
    for (coordinator, team, contract) in rows {
        out.entry(AccountId::from_db(coordinator))
            .or_insert((TeamId::from_db(team), format!("contracts/{contract}")));
    }
    Ok(out)
}

impl Releases<'_> {
    /// R-MAIL-4: publishes a release (the catalog's back end only); each
    /// coordinator of a classic contract holding the product gets one
    /// `release_news` event, so one email, in the same commit.
    #[tracing::instrument(name = "entitlement.service.publish_release", skip_all)]
    pub async fn publish_release(
        &self,
        ctx: &Ctx,
        product: &ProductId,
        version: String,
        notes: String,
        key: Option<&RequestKey>,
    ) -> Result<Release> {
        authorize(&ctx.caller, Action::ManageCatalog)?;
        let meta = self.meta(ctx);
        let (display_name, coordinators) = {
            let mut conn = self.outbox().db().conn().await?;
            let p = crate::store::get_product(&mut conn, product)
                .await?
                .ok_or_else(|| EntitlementError::not_found("product", product.name()))?;
            (p.display_name, coordinators_of(&mut conn, product).await?)
        };
        // Their addresses, from the team service, one call per team.
        let mut by_team: BTreeMap<TeamId, Vec<&AccountId>> = BTreeMap::new();
        for (account, (team, _)) in &coordinators {
            by_team.entry(team.clone()).or_default().push(account);
        }
        let mut emails: BTreeMap<AccountId, String> = BTreeMap::new();
        for (team, accounts) in by_team {
            for (account, m) in self.members(&team, &accounts).await? {
                emails.insert(account, m.email);
            }
        }
        let release = Release {
            product: product.clone(),
            version,
            notes,
            publish_time: meta.now_micros,
        };
        let mut tx = self.begin().await?;
        if let Some(first) = idempotency::replayed(tx.conn(), key, meta.now_micros).await? {
            let first = get_release(tx.conn(), product, &first).await?;
            tx.commit().await?;
            return first
                .ok_or_else(|| EntitlementError::Internal("a remembered release is gone".into()));
        }
        if !insert_release(tx.conn(), &release).await? {
            return Err(EntitlementError::AlreadyExists(format!(
                "release {} is published already",
                release.name()
            )));
        }
        let events: Vec<_> = coordinators
            .iter()
            .filter_map(|(account, (team, contract))| {
                let email = emails.get(account)?;
                Some(crate::events::release_news(
                    &meta,
                    team,
                    &release,
                    &display_name,
                    (account, email),
                    contract,
                ))
            })
            .collect();
        idempotency::remember_if(tx.conn(), key, &release.version, meta.now_micros).await?;
        self.commit(tx, &events).await?;
        tracing::info!(release = %release.name(), coordinators = events.len(), "release published");
        Ok(release)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_mail_4_release_versions_and_notes_are_bounded() {
        assert!(parse_version("v", "2027.1-beta+3").is_ok());
        for bad in ["", "has space", &"9".repeat(65)] {
            assert!(parse_version("v", bad).is_err(), "{bad:?}");
        }
        assert!(parse_notes("n", "Line one\nLine two").is_ok());
        assert!(parse_notes("n", &"x".repeat(4001)).is_err());
        assert!(parse_notes("n", "bell\u{7}").is_err());
    }
}
