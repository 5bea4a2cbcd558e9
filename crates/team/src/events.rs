//! Team's events, built from domain values: the service layer names the
//! change, this file gives it its protobuf shape.

use allot_platform::outbox::{ChangeMeta, NewEvent};
use allot_proto::team as pb;
use allot_proto::team::event::Payload;

use crate::convert;
use crate::domain::{Group, Member, Role, Team};

pub(crate) fn team_created(meta: &ChangeMeta, team: &Team) -> NewEvent {
    meta.event("team_created", Some(team.id.name()), |context| pb::Event {
        context: Some(context),
        payload: Some(Payload::TeamCreated(pb::TeamCreated {
            team: Some(convert::team(team)),
        })),
    })
}

pub(crate) fn team_updated(meta: &ChangeMeta, team: &Team) -> NewEvent {
    meta.event("team_updated", Some(team.id.name()), |context| pb::Event {
        context: Some(context),
        payload: Some(Payload::TeamUpdated(pb::TeamUpdated {
            team: Some(convert::team(team)),
        })),
    })
}

pub(crate) fn member_updated(meta: &ChangeMeta, m: &Member, previous: (Role, bool)) -> NewEvent {
    meta.event("member_updated", Some(m.team.name()), |context| pb::Event {
        context: Some(context),
        payload: Some(Payload::MemberUpdated(pb::MemberUpdated {
            member: Some(convert::member(m)),
            previous_role: convert::role(previous.0) as i32,
            previous_guest: previous.1,
        })),
    })
}

pub(crate) fn member_added(meta: &ChangeMeta, m: &Member) -> NewEvent {
    meta.event("member_added", Some(m.team.name()), |context| pb::Event {
        context: Some(context),
        payload: Some(Payload::MemberAdded(pb::MemberAdded {
            member: Some(convert::member(m)),
        })),
    })
}

pub(crate) fn member_removed(meta: &ChangeMeta, m: &Member) -> NewEvent {
    meta.event("member_removed", Some(m.team.name()), |context| pb::Event {
        context: Some(context),
        payload: Some(Payload::MemberRemoved(pb::MemberRemoved {
            member: Some(convert::member(m)),
        })),
    })
}

pub(crate) fn group_updated(meta: &ChangeMeta, group: &Group) -> NewEvent {
    meta.event("group_updated", Some(group.team.name()), |context| {
        pb::Event {
            context: Some(context),
            payload: Some(Payload::GroupUpdated(pb::GroupUpdated {
                group: Some(convert::group(group)),
            })),
        }
    })
}

/// `group_deleted`, naming the accounts that were its members.
pub(crate) fn group_deleted(meta: &ChangeMeta, group: &Group, accounts: &[String]) -> NewEvent {
    meta.event("group_deleted", Some(group.team.name()), |context| {
        pb::Event {
            context: Some(context),
            payload: Some(Payload::GroupDeleted(pb::GroupDeleted {
                group: Some(convert::group(group)),
                accounts: accounts.iter().map(|a| format!("accounts/{a}")).collect(),
            })),
        }
    })
}

/// `group_members_added` (or `_removed`) for the accounts whose membership
/// changed; none when nothing did.
pub(crate) fn group_members_event(
    meta: &ChangeMeta,
    group: &Group,
    accounts: Vec<String>,
    added: bool,
) -> Option<NewEvent> {
    if accounts.is_empty() {
        return None;
    }
    let team = Some(group.team.name());
    let g = Some(convert::group(group));
    Some(if added {
        meta.event("group_members_added", team, |context| pb::Event {
            context: Some(context),
            payload: Some(Payload::GroupMembersAdded(pb::GroupMembersAdded {
                group: g,
                accounts,
            })),
        })
    } else {
        meta.event("group_members_removed", team, |context| pb::Event {
            context: Some(context),
            payload: Some(Payload::GroupMembersRemoved(pb::GroupMembersRemoved {
                group: g,
                accounts,
            })),
        })
    })
}

/// `group_created` for a new group.
pub(crate) fn group_created_event(meta: &ChangeMeta, group: &Group) -> NewEvent {
    meta.event("group_created", Some(group.team.name()), |context| {
        pb::Event {
            context: Some(context),
            payload: Some(Payload::GroupCreated(pb::GroupCreated {
                group: Some(convert::group(group)),
            })),
        }
    })
}

/// R-INV-5, R-MAIL-3: an import finished; its creator is mailed the
/// summary. The operation carries the counts and the first few problem
/// rows, never every row, so the event stays small whatever the file held.
pub(crate) fn operation_finished(
    meta: &ChangeMeta,
    team: &allot_platform::ids::TeamId,
    view: &crate::service::operations::ImportView,
    summary: String,
    creator_email: String,
    team_display_name: String,
) -> NewEvent {
    let mut trimmed = view.clone();
    trimmed
        .rows
        .retain(|r| r.outcome == crate::domain::ImportOutcome::Invalid.code());
    trimmed.rows.truncate(allot_platform::jobs::EVENT_ROWS);
    let operation = convert::import_operation(&trimmed);
    meta.event("operation_finished", Some(team.name()), |context| {
        pb::Event {
            context: Some(context),
            payload: Some(Payload::OperationFinished(pb::OperationFinished {
                operation: Some(operation),
                summary,
                creator_email,
                team_display_name,
            })),
        }
    })
}
