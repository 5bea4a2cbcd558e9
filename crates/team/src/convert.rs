//! Domain values in their protobuf form, for responses and events alike.

use allot_platform::clock::timestamp;
use allot_proto::team as pb;

use crate::domain::{Group, Member, MemberState, MemberStatus, Plan, Role, Team};

pub fn team(t: &Team) -> pb::Team {
    pb::Team {
        name: t.id.name(),
        display_name: t.display_name.clone(),
        primary_admin: t
            .primary_admin
            .as_ref()
            .map(|a| a.name())
            .unwrap_or_default(),
        plan: plan(t.plan) as i32,
        owner: t.owner.as_ref().map(|a| a.name()).unwrap_or_default(),
        create_time: Some(timestamp(t.create_time)),
        member_count: i32::try_from(t.member_count).unwrap_or(i32::MAX),
        member_role: pb::Role::Unspecified as i32,
    }
}

pub fn plan(p: Plan) -> pb::Plan {
    match p {
        Plan::Standard => pb::Plan::Standard,
        Plan::Premium => pb::Plan::Premium,
    }
}

pub fn role(r: Role) -> pb::Role {
    match r {
        Role::PrimaryAdmin => pb::Role::PrimaryAdmin,
        Role::SecondaryAdmin => pb::Role::SecondaryAdmin,
        Role::SsoAdmin => pb::Role::SsoAdmin,
        Role::User => pb::Role::User,
    }
}

pub fn role_from(r: pb::Role) -> Option<Role> {
    match r {
        pb::Role::Unspecified => None,
        pb::Role::PrimaryAdmin => Some(Role::PrimaryAdmin),
        pb::Role::SecondaryAdmin => Some(Role::SecondaryAdmin),
        pb::Role::SsoAdmin => Some(Role::SsoAdmin),
        pb::Role::User => Some(Role::User),
    }
}

/// A member as admins read it now (R-INV-7: an expired invitation shows).
pub fn member_at(m: &Member, now_micros: i64) -> pb::Member {
    let state = match m.status(now_micros) {
        MemberStatus::Invited => pb::MemberState::Invited,
        MemberStatus::InvitationExpired => pb::MemberState::InvitationExpired,
        MemberStatus::Active => pb::MemberState::Active,
    };
    pb::Member {
        state: state as i32,
        ..member(m)
    }
}

/// A member as stored (INVITED or ACTIVE), for events.
pub fn member(m: &Member) -> pb::Member {
    pb::Member {
        name: format!("{}/members/{}", m.team.name(), m.account),
        account: m.account.name(),
        email: m.email.as_str().to_owned(),
        given_name: m.given_name.clone(),
        family_name: m.family_name.clone(),
        role: role(m.role) as i32,
        guest: m.guest,
        state: match m.state {
            MemberState::Invited => pb::MemberState::Invited,
            MemberState::Active => pb::MemberState::Active,
        } as i32,
        create_time: Some(timestamp(m.create_time)),
        invitation: m.invitation.clone().unwrap_or_default(),
        invitation_expire_time: m
            .invitation_expire_time
            .filter(|_| m.state == MemberState::Invited)
            .map(timestamp),
    }
}

pub fn group(g: &Group) -> pb::Group {
    pb::Group {
        name: g.name(),
        display_name: g.display_name.clone(),
        member_count: i32::try_from(g.member_count).unwrap_or(i32::MAX),
        create_time: Some(timestamp(g.create_time)),
    }
}

pub fn plan_from(p: pb::Plan) -> Option<Plan> {
    match p {
        pb::Plan::Unspecified => None,
        pb::Plan::Standard => Some(Plan::Standard),
        pb::Plan::Premium => Some(Plan::Premium),
    }
}

/// One imported row as the API lists it.
pub fn import_row(r: &allot_platform::jobs::RowOutcome) -> pb::ImportRowResult {
    pb::ImportRowResult {
        line: i32::try_from(r.line).unwrap_or(i32::MAX),
        email: r.email.clone(),
        outcome: r.outcome,
        message: r.message.clone(),
    }
}

/// An import job as a long-running operation (AIP-151): its metadata, and
/// once done its error or its counts and rows.
pub fn import_operation(
    v: &crate::service::operations::ImportView,
) -> allot_proto::common::Operation {
    use allot_platform::jobs;
    use allot_proto::common as cpb;
    let job = &v.job;
    let metadata = pb::ImportMembersMetadata {
        team: allot_platform::ids::TeamId::from_db(job.scope.clone()).name(),
        total_rows: i32::try_from(job.total_rows).unwrap_or(i32::MAX),
        processed_rows: i32::try_from(job.processed).unwrap_or(i32::MAX),
        validate_only: job.validate_only,
    };
    let result = match (&job.error, &v.counts) {
        _ if !job.done => None,
        (Some((code, message)), _) => Some(cpb::operation::Result::Error(cpb::OperationError {
            code: *code,
            message: message.clone(),
        })),
        (None, c) => {
            let c = c.unwrap_or_default();
            Some(cpb::operation::Result::Response(jobs::any(
                "allot.team.v1.ImportMembersResponse",
                &pb::ImportMembersResponse {
                    invited: c.invited,
                    added: c.added,
                    already_member: c.already_member,
                    invalid: c.invalid,
                    rows: v.rows.iter().map(import_row).collect(),
                },
            )))
        }
    };
    cpb::Operation {
        name: job.name(),
        metadata: Some(jobs::any("allot.team.v1.ImportMembersMetadata", &metadata)),
        done: job.done,
        result,
        create_time: Some(timestamp(job.create_time)),
        update_time: Some(timestamp(job.update_time)),
        creator: job.creator.clone(),
    }
}
