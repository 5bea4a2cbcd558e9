//! Groups of a team's members.

use super::*;

#[derive(Debug, Clone)]
pub struct Group {
    pub id: GroupId,
    pub team: TeamId,
    pub display_name: String,
    pub create_time: i64,
    pub member_count: i64,
}

impl Group {
    /// `teams/{team}/groups/{group}`.
    pub fn name(&self) -> String {
        format!("{}/groups/{}", self.team.name(), self.id)
    }
}
