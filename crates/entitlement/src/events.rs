//! Entitlement's events, built from domain values: the service layer
//! names the change, this file gives it its protobuf shape.

use std::collections::HashMap;

use allot_platform::ids::{AccountId, TeamId};
use allot_platform::outbox::{ChangeMeta, NewEvent};
use allot_proto::entitlement as pb;
use allot_proto::entitlement::event::Payload;

use crate::convert;
use crate::domain::{Assignment, Contract, Product, Subscription};
use crate::service::releases::Release;
use crate::store::GroupAssignmentRow;

pub(crate) fn product_changed(meta: &ChangeMeta, p: &Product) -> NewEvent {
    meta.event("product_changed", None, |context| pb::Event {
        context: Some(context),
        payload: Some(Payload::ProductChanged(pb::ProductChanged {
            product: Some(convert::product(p)),
        })),
    })
}

pub(crate) fn subscription_created(meta: &ChangeMeta, s: &Subscription, c: &Contract) -> NewEvent {
    meta.event("subscription_created", Some(s.team.name()), |context| {
        pb::Event {
            context: Some(context),
            payload: Some(Payload::SubscriptionCreated(pb::SubscriptionCreated {
                subscription: Some(convert::subscription(s, c)),
            })),
        }
    })
}

/// `contract_updated`: team follows the contract's manager and
/// coordinator from it (R-CLS-1, R-CLS-6).
pub(crate) fn contract_updated(meta: &ChangeMeta, c: &Contract) -> NewEvent {
    meta.event("contract_updated", Some(c.team.name()), |context| {
        pb::Event {
            context: Some(context),
            payload: Some(Payload::ContractUpdated(pb::ContractUpdated {
                contract: Some(convert::contract(c, &[])),
            })),
        }
    })
}

pub(crate) fn seat_assigned(meta: &ChangeMeta, a: &Assignment, product: &Product) -> NewEvent {
    let items = product
        .items
        .iter()
        .filter(|i| a.items.contains(&i.id))
        .map(convert::item)
        .collect();
    meta.event("seat_assigned", Some(a.team.name()), |context| pb::Event {
        context: Some(context),
        payload: Some(Payload::SeatAssigned(pb::SeatAssigned {
            assignment: Some(convert::assignment(a)),
            product_display_name: product.display_name.clone(),
            items,
        })),
    })
}

/// R-EVT-1: a kept seat's sources changed.
pub(crate) fn sources_changed(meta: &ChangeMeta, a: &Assignment, before: &Assignment) -> NewEvent {
    meta.event("sources_changed", Some(a.team.name()), |context| {
        pb::Event {
            context: Some(context),
            payload: Some(Payload::SourcesChanged(pb::SourcesChanged {
                assignment: Some(convert::assignment(a)),
                previous_direct: before.direct,
                previous_groups: before
                    .groups
                    .iter()
                    .map(|g| format!("{}/groupAssignments/{g}", a.team.name()))
                    .collect(),
            })),
        }
    })
}

pub(crate) fn items_changed(meta: &ChangeMeta, a: &Assignment, previous: &[String]) -> NewEvent {
    meta.event("items_changed", Some(a.team.name()), |context| pb::Event {
        context: Some(context),
        payload: Some(Payload::ItemsChanged(pb::ItemsChanged {
            assignment: Some(convert::assignment(a)),
            previous_items: previous.to_vec(),
        })),
    })
}

pub(crate) fn seat_unassigned(meta: &ChangeMeta, a: &Assignment) -> NewEvent {
    meta.event("seat_unassigned", Some(a.team.name()), |context| {
        pb::Event {
            context: Some(context),
            payload: Some(Payload::SeatUnassigned(pb::SeatUnassigned {
                assignment: Some(convert::assignment(a)),
            })),
        }
    })
}

/// `contract_created`, with the display names of its products for the
/// owner's email.
pub(crate) fn contract_created(
    meta: &ChangeMeta,
    contract: &Contract,
    subs: &[Subscription],
    product_display_names: HashMap<String, String>,
) -> NewEvent {
    meta.event("contract_created", Some(contract.team.name()), |context| {
        pb::Event {
            context: Some(context),
            payload: Some(Payload::ContractCreated(pb::ContractCreated {
                contract: Some(convert::contract(contract, subs)),
                owner_email: contract.owner_email.clone(),
                product_display_names,
            })),
        }
    })
}

pub(crate) fn subscription_resized(
    meta: &ChangeMeta,
    sub: &Subscription,
    contract: &Contract,
    previous_seats: i32,
) -> NewEvent {
    meta.event("subscription_resized", Some(sub.team.name()), |context| {
        pb::Event {
            context: Some(context),
            payload: Some(Payload::SubscriptionResized(pb::SubscriptionResized {
                subscription: Some(convert::subscription(sub, contract)),
                previous_seats,
            })),
        }
    })
}

/// R-TEAM-4: `subscription_moved`, told to the team it moved to.
pub(crate) fn subscription_moved(
    meta: &ChangeMeta,
    sub: &Subscription,
    contract: &Contract,
    previous_team: &TeamId,
) -> NewEvent {
    meta.event("subscription_moved", Some(sub.team.name()), |context| {
        pb::Event {
            context: Some(context),
            payload: Some(Payload::SubscriptionMoved(pb::SubscriptionMoved {
                subscription: Some(convert::subscription(sub, contract)),
                previous_team: previous_team.name(),
            })),
        }
    })
}

pub(crate) fn group_assignment_changed(
    meta: &ChangeMeta,
    ga: &GroupAssignmentRow,
    deleted: bool,
) -> NewEvent {
    meta.event(
        "group_assignment_changed",
        Some(ga.team.name()),
        |context| pb::Event {
            context: Some(context),
            payload: Some(Payload::GroupAssignmentChanged(
                pb::GroupAssignmentChanged {
                    group_assignment: Some(convert::group_assignment(ga)),
                    deleted,
                },
            )),
        },
    )
}

/// R-MAIL-4: a renewal reminder `days` before the contract's end.
pub(crate) fn renewal_due(
    meta: &ChangeMeta,
    c: &Contract,
    subs: &[Subscription],
    days: i64,
) -> NewEvent {
    meta.event("renewal_due", Some(c.team.name()), |context| pb::Event {
        context: Some(context),
        payload: Some(Payload::RenewalDue(pb::RenewalDue {
            contract: Some(convert::contract(c, subs)),
            owner_email: c.owner_email.clone(),
            days_before: i32::try_from(days).unwrap_or(i32::MAX),
        })),
    })
}

/// R-MAIL-4: a release's news for one software coordinator of `contract`.
pub(crate) fn release_news(
    meta: &ChangeMeta,
    team: &TeamId,
    release: &Release,
    product_display_name: &str,
    (coordinator, email): (&AccountId, &String),
    contract: &str,
) -> NewEvent {
    meta.event("release_news", Some(team.name()), |context| pb::Event {
        context: Some(context),
        payload: Some(Payload::ReleaseNews(pb::ReleaseNews {
            release: Some(convert::release(release)),
            product_display_name: product_display_name.to_owned(),
            coordinator: coordinator.name(),
            coordinator_email: email.clone(),
            contract: contract.to_owned(),
        })),
    })
}

/// R-SEAT-3 by CSV, R-MAIL-3: an assignment import finished; its creator is
/// mailed the summary. The operation carries the counts and the first few
/// problem rows, never every row, so the event stays small whatever the
/// file held.
pub(crate) fn operation_finished(
    meta: &ChangeMeta,
    team: &TeamId,
    view: &crate::service::operations::ImportView,
    summary: String,
    creator_email: String,
    team_display_name: String,
) -> NewEvent {
    let mut trimmed = view.clone();
    trimmed
        .rows
        .retain(|r| !crate::domain::ImportOutcome::is_success(r.outcome));
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
