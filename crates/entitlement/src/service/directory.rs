//! What entitlement asks the team directory: memberships and the caller's
//! standing.

use super::*;

impl Core {
    /// Memberships of `accounts` in `team` (NOT_FOUND for an unknown team).
    #[tracing::instrument(name = "entitlement.service.members", skip_all)]
    pub(crate) async fn members(
        &self,
        team: &TeamId,
        accounts: &[&AccountId],
    ) -> Result<HashMap<AccountId, MemberInfo>> {
        if accounts.is_empty() {
            return Ok(HashMap::new());
        }
        let mut names: Vec<String> = accounts.iter().map(|a| a.name()).collect();
        names.sort();
        names.dedup();
        let mut out = HashMap::new();
        for chunk in names.chunks(crate::directory::MEMBERS_PER_CALL) {
            for m in self.team.members(team, chunk).await? {
                out.insert(m.account.clone(), m);
            }
        }
        Ok(out)
    }

    /// The caller's standing in `team`.
    #[tracing::instrument(name = "entitlement.service.standing", skip_all)]
    pub(crate) async fn standing(&self, caller: &Caller, team: &TeamId) -> Result<TeamStanding> {
        Ok(self.standing_and_members(caller, team, &[]).await?.0)
    }

    /// The caller's standing and the memberships of `targets`, in one call.
    #[tracing::instrument(name = "entitlement.service.standing_and_members", skip_all)]
    pub(crate) async fn standing_and_members(
        &self,
        caller: &Caller,
        team: &TeamId,
        targets: &[&AccountId],
    ) -> Result<(TeamStanding, HashMap<AccountId, MemberInfo>)> {
        let mut ask: Vec<&AccountId> = targets.to_vec();
        if let Some(me) = caller.account() {
            ask.push(me);
        }
        if ask.is_empty() {
            // Still tell an unknown team apart.
            self.team.team_display_name(team).await?;
        }
        let members = self.members(team, &ask).await?;
        let standing = match caller.account().and_then(|me| members.get(me)) {
            Some(m) if m.admin => TeamStanding::Admin,
            Some(_) => TeamStanding::Member,
            None => TeamStanding::Outsider,
        };
        Ok((standing, members))
    }
}
