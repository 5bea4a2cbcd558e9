//! Domain values in their protobuf form, for responses and events alike.

use allot_platform::clock::timestamp;
use allot_proto::entitlement as pb;

use crate::domain::{
    ActivationType, Assignment, Billing, Contract, ContractPlan, Item, ItemKind, Pool, Product,
    Subscription,
};
use crate::service::checks::MyProduct;
use crate::service::{AssignResult, Outcome};
use crate::store::GroupAssignmentRow;

pub fn item(i: &Item) -> pb::Item {
    pb::Item {
        id: i.id.clone(),
        display_name: i.display_name.clone(),
        kind: match i.kind {
            ItemKind::Application => pb::ItemKind::Application,
            ItemKind::CloudService => pb::ItemKind::CloudService,
            ItemKind::Support => pb::ItemKind::Support,
        } as i32,
    }
}

pub fn item_from(i: &pb::Item) -> Item {
    Item {
        id: i.id.clone(),
        display_name: i.display_name.clone(),
        kind: match pb::ItemKind::try_from(i.kind) {
            Ok(pb::ItemKind::CloudService) => ItemKind::CloudService,
            Ok(pb::ItemKind::Support) => ItemKind::Support,
            _ => ItemKind::Application,
        },
    }
}

pub fn product(p: &Product) -> pb::Product {
    pb::Product {
        name: p.id.name(),
        display_name: p.display_name.clone(),
        items: p.items.iter().map(item).collect(),
        create_time: Some(timestamp(p.create_time)),
    }
}

pub fn activation(a: ActivationType) -> pb::ActivationType {
    match a {
        ActivationType::SignIn => pb::ActivationType::SignIn,
        ActivationType::SerialNumber => pb::ActivationType::SerialNumber,
    }
}

pub fn plan(p: ContractPlan) -> pb::ContractPlan {
    match p {
        ContractPlan::Standard => pb::ContractPlan::Standard,
        ContractPlan::Premium => pb::ContractPlan::Premium,
    }
}

pub fn contract(c: &Contract, subscriptions: &[Subscription]) -> pb::Contract {
    pb::Contract {
        name: c.id.name(),
        owner: c.owner.name(),
        activation_type: activation(c.activation) as i32,
        serial_number: c.serial_number.clone(),
        plan: plan(c.plan) as i32,
        billing: match c.billing {
            Billing::Term => pb::Billing::Term,
            Billing::PayPerUse => pb::Billing::PayPerUse,
        } as i32,
        collaboration_site: c.collaboration_site.clone(),
        sso_enabled: c.sso_enabled,
        team: c.team.name(),
        software_coordinator: if c.activation == ActivationType::SerialNumber {
            c.coordinator.name()
        } else {
            String::new()
        },
        create_time: Some(timestamp(c.create_time)),
        subscriptions: subscriptions.iter().map(|s| subscription(s, c)).collect(),
        end_date: c.end_day.map(crate::grpc::day_to_date),
    }
}

pub fn subscription(s: &Subscription, c: &Contract) -> pb::Subscription {
    pb::Subscription {
        name: s.id.name(),
        contract: s.contract.name(),
        product: s.product.name(),
        seats: s.seats,
        team: s.team.name(),
        create_time: Some(timestamp(s.create_time)),
        plan: plan(c.plan) as i32,
        activation_type: activation(c.activation) as i32,
        serial_number: c.serial_number.clone(),
    }
}

pub fn pool(p: &Pool, display_name: &str, waiting: i64) -> pb::Pool {
    pb::Pool {
        waiting: i32::try_from(waiting).unwrap_or(i32::MAX),
        name: format!("{}/pools/{}", p.team.name(), p.product),
        product: p.product.name(),
        product_display_name: display_name.to_owned(),
        seats: p.seats,
        assigned: p.assigned,
        available: p.available(),
        activation_type: activation(p.activation) as i32,
    }
}

pub fn assignment(a: &Assignment) -> pb::Assignment {
    let source = match (a.direct, a.groups.is_empty()) {
        (true, true) => pb::AssignmentSource::Direct,
        (true, false) => pb::AssignmentSource::DirectAndGroup,
        (false, _) => pb::AssignmentSource::Group,
    };
    pb::Assignment {
        name: a.name(),
        account: a.account.name(),
        product: a.product.name(),
        items: a.items.clone(),
        source: source as i32,
        groups: a
            .groups
            .iter()
            .map(|g| format!("{}/groupAssignments/{g}", a.team.name()))
            .collect(),
        create_time: Some(timestamp(a.create_time)),
        email: a.email.clone(),
        last_use_time: None,
    }
}

pub fn group_assignment(g: &GroupAssignmentRow) -> pb::GroupAssignment {
    pb::GroupAssignment {
        name: format!("{}/groupAssignments/{}", g.team.name(), g.id),
        group: format!("{}/groups/{}", g.team.name(), g.group),
        product: g.product.name(),
        items: g.items.clone(),
        create_time: Some(timestamp(g.create_time)),
    }
}

/// A release as the API shows it.
pub fn release(r: &crate::service::releases::Release) -> pb::Release {
    pb::Release {
        name: r.name(),
        version: r.version.clone(),
        notes: r.notes.clone(),
        publish_time: Some(allot_platform::clock::timestamp(r.publish_time)),
    }
}

fn assign_outcome(o: Outcome) -> pb::AssignOutcome {
    match o {
        Outcome::Assigned => pb::AssignOutcome::Assigned,
        Outcome::AlreadyAssigned => pb::AssignOutcome::AlreadyAssigned,
        Outcome::NoSeat => pb::AssignOutcome::NoSeat,
        Outcome::Refused => pb::AssignOutcome::Refused,
    }
}

/// One requested seat's outcome as the API shows it.
pub fn assign_result(r: &AssignResult) -> pb::AssignResult {
    pb::AssignResult {
        account: r.account.name(),
        product: r.product.name(),
        outcome: assign_outcome(r.outcome) as i32,
        assignment: r.assignment.as_ref().map(assignment),
        reason: r.reason.clone(),
    }
}

/// R-SEAT-8: one of a person's products as the API shows it.
pub fn my_product(p: &MyProduct) -> pb::MyProduct {
    pb::MyProduct {
        product: format!("products/{}", p.product),
        display_name: p.display_name.clone(),
        items: p.items.iter().map(item).collect(),
        activation_type: activation(p.activation) as i32,
        serial_number: p.serial_number.clone(),
        team: format!("teams/{}", p.team),
    }
}

/// One imported row as the API lists it.
pub fn import_row(r: &allot_platform::jobs::RowOutcome) -> pb::ImportAssignmentRow {
    pb::ImportAssignmentRow {
        line: i32::try_from(r.line).unwrap_or(i32::MAX),
        email: r.email.clone(),
        product: r.detail.clone(),
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
    let metadata = pb::ImportAssignmentsMetadata {
        team: allot_platform::ids::TeamId::from_db(job.scope.clone()).name(),
        total_rows: i32::try_from(job.total_rows).unwrap_or(i32::MAX),
        processed_rows: i32::try_from(job.processed).unwrap_or(i32::MAX),
        validate_only: job.validate_only,
    };
    let result = match &job.error {
        _ if !job.done => None,
        Some((code, message)) => Some(cpb::operation::Result::Error(cpb::OperationError {
            code: *code,
            message: message.clone(),
        })),
        None => {
            let c = v.counts.unwrap_or_default();
            Some(cpb::operation::Result::Response(jobs::any(
                "allot.entitlement.v1.ImportAssignmentsResponse",
                &pb::ImportAssignmentsResponse {
                    assigned: c.assigned,
                    already_assigned: c.already_assigned,
                    no_seat: c.no_seat,
                    invalid: c.invalid,
                    invited: c.invited,
                    rows: v.rows.iter().map(import_row).collect(),
                },
            )))
        }
    };
    cpb::Operation {
        name: job.name(),
        metadata: Some(jobs::any(
            "allot.entitlement.v1.ImportAssignmentsMetadata",
            &metadata,
        )),
        done: job.done,
        result,
        create_time: Some(timestamp(job.create_time)),
        update_time: Some(timestamp(job.update_time)),
        creator: job.creator.clone(),
    }
}
