//! The member export (R-ROLE-2, R-USE-3): every member as CSV, cells
//! neutralised against spreadsheet formulas.

use allot_platform::auth::Caller;
use allot_platform::ids::TeamId;

use crate::domain::{HeldProduct, TeamAction, export_header, export_record, rfc3339};
use crate::error::TeamError;
use crate::service::Teams;

type Result<T> = std::result::Result<T, TeamError>;

impl Teams {
    /// The team's members as CSV (R-ROLE-2: admins export), every cell
    /// neutralised so no spreadsheet runs it as a formula.
    #[tracing::instrument(name = "team.service.export_members", skip_all)]
    pub async fn export_members(
        &self,
        caller: &Caller,
        team: &TeamId,
        guests: crate::store::GuestFilter,
        include_products: bool,
    ) -> Result<Vec<u8>> {
        self.check(caller, team, TeamAction::ManageMembers).await?;
        let products = if include_products {
            Some(self.products_by_account(team).await?)
        } else {
            None
        };
        let mut out = csv::Writer::from_writer(Vec::new());
        let csv_err = |e: csv::Error| TeamError::Internal(format!("writing CSV: {e}"));
        out.write_record(export_header(products.is_some()))
            .map_err(csv_err)?;
        let mut after: Option<String> = None;
        let mut conn = self.db.conn().await?;
        loop {
            let page =
                crate::store::list_members(&mut conn, team, guests, after.as_deref(), 1000).await?;
            for m in page.iter().take(1000) {
                let held = products
                    .as_ref()
                    .map(|p| p.get(&m.account.name()).map(Vec::as_slice).unwrap_or(&[]));
                out.write_record(export_record(m, held)).map_err(csv_err)?;
            }
            if page.len() <= 1000 {
                break;
            }
            after = page.get(999).map(crate::store::member_key);
        }
        out.into_inner()
            .map_err(|e| TeamError::Internal(format!("writing CSV: {e}")))
    }
}

/// Products per member: `accounts/{id}` → `[(product id, last use)]`.
type ProductsByAccount = std::collections::HashMap<String, Vec<HeldProduct>>;

impl Teams {
    /// Each member's products in the team with their last use, from
    /// entitlement (R-USE-3).
    async fn products_by_account(&self, team: &TeamId) -> Result<ProductsByAccount> {
        use allot_proto::entitlement as epb;
        let mut out = ProductsByAccount::new();
        let mut token = String::new();
        loop {
            let page = self
                .entitlement
                .clone()
                .list_assignments(allot_platform::grpc::request(epb::ListAssignmentsRequest {
                    parent: team.name(),
                    page_size: 1000,
                    page_token: token,
                    ..Default::default()
                }))
                .await
                .map_err(|status| TeamError::Peer {
                    service: "entitlement",
                    status,
                })?
                .into_inner();
            for a in page.assignments {
                let product = a.product.trim_start_matches("products/").to_owned();
                let last = a.last_use_time.map(|t| rfc3339(t.seconds));
                out.entry(a.account).or_default().push((product, last));
            }
            if page.next_page_token.is_empty() {
                return Ok(out);
            }
            token = page.next_page_token;
        }
    }
}
