//! The member export (R-ROLE-2, R-USE-3): every member as CSV, cells
//! neutralised against spreadsheet formulas.

use allot_platform::auth::Caller;
use allot_platform::ids::TeamId;

use allot_platform::paging;

use crate::domain::{
    GuestFilter, Member, MemberFilter, Team, TeamAction, authorize, export_header, export_record,
};
use crate::error::TeamError;
use crate::service::Exports;

type Result<T> = std::result::Result<T, TeamError>;

impl Exports<'_> {
    /// The team's members as CSV (R-ROLE-2: admins export), every cell
    /// neutralised so no spreadsheet runs it as a formula.
    #[tracing::instrument(name = "team.service.export_members", skip_all)]
    pub async fn export_members(
        &self,
        caller: &Caller,
        team: &TeamId,
        guests: GuestFilter,
        include_products: bool,
    ) -> Result<Vec<u8>> {
        self.check(caller, team, TeamAction::ManageMembers).await?;
        let products = if include_products {
            Some(self.entitlement.products_by_account(team).await?)
        } else {
            None
        };
        let mut out = csv::Writer::from_writer(Vec::new());
        let csv_err = |e: csv::Error| TeamError::Internal(format!("writing CSV: {e}"));
        out.write_record(export_header(products.is_some()))
            .map_err(csv_err)?;
        let mut after: Option<String> = None;
        let mut conn = self.db.conn().await?;
        let filter = MemberFilter { guests, text: None };
        loop {
            let page = crate::store::list_members(&mut conn, team, &filter, after.as_deref(), 1000)
                .await?;
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

/// A page of every team's memberships: the members, the page token, and
/// where team's stream was once the page was read.
pub type Page<T> = (Vec<T>, String);

impl Exports<'_> {
    /// Every membership of every team, for Allot's own services to rebuild
    /// their copy of the directory (internal callers only), with the teams
    /// of the page and team's stream position after reading it: a copy that
    /// has applied the stream up to the last page's position is exact.
    #[tracing::instrument(name = "team.service.all_members", skip_all)]
    pub async fn all_members(
        &self,
        caller: &Caller,
        page_size: i32,
        page_token: &str,
    ) -> Result<(Page<Member>, Vec<Team>, i64)> {
        authorize(caller, None, TeamAction::ReadDirectory)?;
        let limit = paging::page_size(if page_size == 0 { 1000 } else { page_size })?;
        let after = paging::decode_token(page_token)?;
        let mut conn = self.db.conn().await?;
        let rows = crate::store::all_members(&mut conn, after.as_deref(), limit).await?;
        let page = paging::finish(rows, limit, |m| {
            format!("{} {}", m.team.as_str(), m.account.as_str())
        });
        let mut ids: Vec<&TeamId> = page.0.iter().map(|m| &m.team).collect();
        ids.dedup();
        let teams = crate::store::get_teams(&mut conn, &ids).await?;
        Ok((page, teams, self.outbox.head()))
    }
}
