//! Seat assignments and where a seat comes from: given directly or
//! through a group (R-SEAT-3..5).

use allot_platform::ids::{AccountId, AssignmentId, GroupAssignmentId, ProductId, TeamId};

use crate::error::EntitlementError;

/// A seat of one product held by one member of one team. R-TEAM-5: it
/// belongs to that team, so when its holder leaves the team it is deleted and
/// the seat freed, while their assignments in other teams stay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub id: AssignmentId,
    pub team: TeamId,
    pub account: AccountId,
    pub email: String,
    pub product: ProductId,
    pub items: Vec<String>,
    pub direct: bool,
    /// Group assignments it comes from.
    pub groups: Vec<GroupAssignmentId>,
    pub create_time: i64,
}

/// What unassigning a seat does (R-SEAT-4, R-SEAT-5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unassign {
    /// The seat is freed.
    Free,
    /// The seat also comes from groups: it stays, as theirs only.
    KeepForGroups,
}

impl Assignment {
    /// R-SEAT-5: a seat that comes only from groups cannot be unassigned
    /// (FROM_GROUP: change the group instead); one that is also direct
    /// keeps its group sources; any other is freed.
    pub fn unassign(&self) -> Result<Unassign, EntitlementError> {
        match (self.direct, self.groups.is_empty()) {
            (_, true) => Ok(Unassign::Free),
            (true, false) => Ok(Unassign::KeepForGroups),
            (false, false) => Err(EntitlementError::Precondition {
                kind: "FROM_GROUP",
                subject: self.name(),
                message: "this seat comes from a group assignment; remove the person from the group or delete the group assignment".into(),
            }),
        }
    }

    pub fn name(&self) -> String {
        format!("{}/assignments/{}", self.team.name(), self.id)
    }
}

/// How a seat is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Direct,
    /// Through this group assignment.
    Group(GroupAssignmentId),
}

/// The most products one AssignProducts call names.
pub const MAX_SELECTIONS: usize = 100;
