//! The member export (R-ROLE-2, R-USE-3): every member as CSV, cells
//! neutralised against spreadsheet formulas.

use allot_platform::auth::Caller;
use allot_platform::ids::TeamId;

use crate::domain::TeamAction;
use crate::error::TeamError;
use crate::service::Teams;

type Result<T> = std::result::Result<T, TeamError>;

impl Teams {
    /// The team's members as CSV (R-ROLE-2: admins export), every cell
    /// neutralised so no spreadsheet runs it as a formula.
    pub async fn export_members(
        &self,
        caller: &Caller,
        team: &TeamId,
        guests: crate::store::GuestFilter,
        include_products: bool,
    ) -> Result<Vec<u8>> {
        use allot_platform::csvfile::neutralise as neutralise_cell;
        self.check(caller, team, TeamAction::ManageMembers).await?;
        let products = if include_products {
            Some(self.products_by_account(team).await?)
        } else {
            None
        };
        let mut out = csv::Writer::from_writer(Vec::new());
        let csv_err = |e: csv::Error| TeamError::Internal(format!("writing CSV: {e}"));
        let mut header = vec![
            "email",
            "first name",
            "last name",
            "role",
            "guest",
            "state",
            "joined",
        ];
        if products.is_some() {
            header.extend(["products", "last used"]);
        }
        out.write_record(&header).map_err(csv_err)?;
        let mut after: Option<String> = None;
        let mut conn = self.db.conn().await?;
        loop {
            let page =
                crate::store::list_members(&mut conn, team, guests, after.as_deref(), 1000).await?;
            for m in page.iter().take(1000) {
                let mut record = vec![
                    neutralise_cell(m.email.as_str()),
                    neutralise_cell(&m.given_name),
                    neutralise_cell(&m.family_name),
                    m.role.as_db().to_lowercase(),
                    m.guest.to_string(),
                    m.state.as_db().to_lowercase(),
                    rfc3339(allot_platform::clock::timestamp(m.create_time).seconds),
                ];
                if let Some(products) = &products {
                    let held = products.get(&m.account.name()).cloned().unwrap_or_default();
                    record.push(neutralise_cell(
                        &held
                            .iter()
                            .map(|(p, _)| p.as_str())
                            .collect::<Vec<_>>()
                            .join(";"),
                    ));
                    record.push(neutralise_cell(
                        &held
                            .iter()
                            .map(|(p, t)| format!("{p} {}", t.as_deref().unwrap_or("never")))
                            .collect::<Vec<_>>()
                            .join(";"),
                    ));
                }
                out.write_record(&record).map_err(csv_err)?;
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

/// A timestamp as RFC 3339, empty when it is not one.
fn rfc3339(seconds: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// Products per member: `accounts/{id}` → `[(product id, last use)]`.
type ProductsByAccount = std::collections::HashMap<String, Vec<(String, Option<String>)>>;

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
