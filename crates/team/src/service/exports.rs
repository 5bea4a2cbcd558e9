//! The member export (R-ROLE-2, R-USE-3): every member as CSV, cells
//! neutralised against spreadsheet formulas.

use allot_platform::auth::Caller;
use allot_platform::ids::TeamId;

use allot_platform::paging;

use crate::domain::{
    GuestFilter, Member, MemberFilter, Team, TeamAction, export_header, export_record,
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

/// A page of every team's memberships.
pub type Page<T> = (Vec<T>, String);

impl Exports<'_> {
    /// Every membership of every team, for Allot's own services to rebuild
    /// their copy of the directory (internal callers only).
    #[tracing::instrument(name = "team.service.all_members", skip_all)]
    pub async fn all_members(
        &self,
        caller: &Caller,
        page_size: i32,
        page_token: &str,
    ) -> Result<(Page<Member>, Vec<Team>)> {
        internal_only(caller)?;
        let limit = paging::page_size(if page_size == 0 { 1000 } else { page_size })?;
        let after = paging::decode_token(page_token)?;
        let mut conn = self.db.conn().await?;
        let rows = crate::store::all_members(&mut conn, after.as_deref(), limit).await?;
        let page = paging::finish(rows, limit, |m| {
            format!("{} {}", m.team.as_str(), m.account.as_str())
        });
        let mut teams: Vec<Team> = Vec::new();
        for m in &page.0 {
            if teams.last().is_none_or(|t| t.id != m.team)
                && let Some(t) = crate::store::get_team(&mut conn, &m.team).await?
            {
                teams.push(t);
            }
        }
        Ok((page, teams))
    }
}

fn internal_only(caller: &Caller) -> Result<()> {
    if caller.is_internal() {
        Ok(())
    } else {
        Err(TeamError::PermissionDenied(
            "every team's members are for Allot's own services".into(),
        ))
    }
}
