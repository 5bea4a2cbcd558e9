//! One person of a team (R-SEAT-7: their products with their items): assign
//! products with all or chosen items, change items, unassign (R-SEAT-4);
//! change their role (R-ROLE-3, R-ROLE-5), hand over the primary admin
//! role (R-ROLE-4), the guest flag (R-ROLE-6, R-ROLE-7), resend or revoke
//! their invitation (R-INV-3, R-INV-7), remove them (R-TEAM-5).

use std::collections::BTreeMap;

use allot_proto::entitlement as epb;
use allot_proto::team as tpb;
use axum::extract::{Path, State};
use axum::response::Response;
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::users::MemberRow;
use super::{S, TeamPage, acting, fail, id_ok, not_found};
use crate::api::Calls;
use crate::form::Posted;
use crate::refusal::Refusal;
use crate::render::{done, page, refused};
use crate::session::Visit;

/// An item of a product, and whether this person has it.
#[derive(Serialize, Clone)]
pub struct ItemRow {
    pub id: String,
    pub name: String,
    pub kind: &'static str,
    pub held: bool,
}

/// One of the person's products.
#[derive(Serialize)]
struct Held {
    /// The assignment's id.
    id: String,
    product: String,
    name: String,
    items: Vec<ItemRow>,
    /// `direct`, `group` or `direct and group`.
    source: &'static str,
    groups: usize,
}

/// A product the team has seats of.
#[derive(Serialize)]
pub struct PoolRow {
    pub id: String,
    pub name: String,
    pub seats: i32,
    pub assigned: i32,
    pub available: i32,
    pub waiting: i32,
    pub activation: String,
    pub items: Vec<ItemRow>,
}

/// Every product of the catalog, by `products/{id}`.
pub async fn catalog(calls: &Calls) -> Result<BTreeMap<String, epb::Product>, tonic::Status> {
    let mut out = BTreeMap::new();
    let mut token = String::new();
    loop {
        let r = calls
            .entitlement
            .clone()
            .list_products(epb::ListProductsRequest {
                page_size: 1000,
                page_token: token,
            })
            .await?
            .into_inner();
        for p in r.products {
            out.insert(p.name.clone(), p);
        }
        if r.next_page_token.is_empty() || out.len() >= 10_000 {
            return Ok(out);
        }
        token = r.next_page_token;
    }
}

pub fn items_of(product: Option<&epb::Product>, held: &[String]) -> Vec<ItemRow> {
    product
        .map(|p| {
            p.items
                .iter()
                .map(|i| ItemRow {
                    id: i.id.clone(),
                    name: i.display_name.clone(),
                    kind: super::mine::item_kind_words(i.kind),
                    held: held.contains(&i.id),
                })
                .collect()
        })
        .unwrap_or_default()
}

pub fn pool_rows(pools: Vec<epb::Pool>, catalog: &BTreeMap<String, epb::Product>) -> Vec<PoolRow> {
    pools
        .into_iter()
        .map(|p| PoolRow {
            id: p.product.trim_start_matches("products/").to_owned(),
            items: items_of(catalog.get(&p.product), &[]),
            name: p.product_display_name,
            seats: p.seats,
            assigned: p.assigned,
            available: p.available,
            waiting: p.waiting,
            activation: super::mine::activation_words(p.activation_type, ""),
        })
        .collect()
}

pub async fn show(
    State(shared): S,
    visit: Visit,
    Path((team, account)): Path<(String, String)>,
) -> Response {
    if !id_ok(&account) {
        return not_found();
    }
    let mut t = match TeamPage::open(&shared, visit, &team, "Person", "users", true).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let member_name = format!("{}/members/{account}", t.name);
    let (member, assignments, pools, products) = tokio::join!(
        async {
            t.calls
                .team
                .clone()
                .get_member(tpb::GetMemberRequest { name: member_name })
                .await
        },
        async {
            t.calls
                .entitlement
                .clone()
                .list_assignments(epb::ListAssignmentsRequest {
                    parent: t.name.clone(),
                    account: format!("accounts/{account}"),
                    page_size: 1000,
                    ..Default::default()
                })
                .await
        },
        async {
            t.calls
                .entitlement
                .clone()
                .list_pools(epb::ListPoolsRequest {
                    parent: t.name.clone(),
                })
                .await
        },
        catalog(&t.calls),
    );
    let member = match member {
        Ok(m) => m.into_inner(),
        Err(s) => return fail(&s),
    };
    let (assignments, pools, products) = match (assignments, pools, products) {
        (Ok(a), Ok(p), Ok(c)) => (a.into_inner().assignments, p.into_inner().pools, c),
        (Err(s), _, _) | (_, Err(s), _) | (_, _, Err(s)) => return fail(&s),
    };
    let held: Vec<Held> = assignments
        .iter()
        .map(|a| {
            let product = products.get(&a.product);
            Held {
                id: a.name.rsplit('/').next().unwrap_or_default().to_owned(),
                product: a.product.trim_start_matches("products/").to_owned(),
                name: product
                    .map(|p| p.display_name.clone())
                    .unwrap_or_else(|| a.product.clone()),
                items: items_of(product, &a.items),
                source: match epb::AssignmentSource::try_from(a.source) {
                    Ok(epb::AssignmentSource::Group) => "group",
                    Ok(epb::AssignmentSource::DirectAndGroup) => "direct and group",
                    _ => "direct",
                },
                groups: a.groups.len(),
            }
        })
        .collect();
    let held_products: Vec<String> = assignments.iter().map(|a| a.product.clone()).collect();
    let assignable: Vec<PoolRow> = pool_rows(
        pools
            .into_iter()
            .filter(|p| !held_products.contains(&p.product))
            .collect(),
        &products,
    );
    let row = MemberRow::of(&member);
    t.chrome.title = format!("{} · {}", row.name, t.team.display_name);
    let i_am_primary = t.me.role == tpb::Role::PrimaryAdmin as i32;
    let premium = t.team.plan == tpb::Plan::Premium as i32;
    page(
        &t.visit,
        &t.chrome,
        "user.html",
        context! {
            member => row,
            held => held,
            assignable => assignable,
            is_self => t.user.account_id() == account,
            may_make_primary => t.me.role == tpb::Role::PrimaryAdmin as i32
                || t.me.role == tpb::Role::SecondaryAdmin as i32,
            i_am_primary => i_am_primary,
            premium => premium,
        },
    )
}

#[derive(Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    product: String,
    #[serde(default)]
    items: Vec<String>,
    /// `all` or `chosen`.
    #[serde(default)]
    which: String,
    #[serde(default)]
    assignment: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    guest: String,
    #[serde(default)]
    request_id: String,
}

pub async fn act(
    State(shared): S,
    visit: Visit,
    Path((team, account, action)): Path<(String, String, String)>,
    Posted(f): Posted<ActionForm>,
) -> Response {
    let (_, mut calls) = match acting(&shared, &visit) {
        Ok(a) => a,
        Err(to) => return to,
    };
    if !id_ok(&team) || !id_ok(&account) || !super::form_ids_ok(&[&f.product, &f.assignment]) {
        return not_found();
    }
    let parent = format!("teams/{team}");
    let person = format!("accounts/{account}");
    let member = format!("{parent}/members/{account}");
    let back = format!("/teams/{team}/users/{account}");
    let refuse = |form: &str, s: tonic::Status, fields: &[(&str, &str)]| {
        refused(&visit, &back, form, &Refusal::from_status(&s, fields), &[])
    };
    match action.as_str() {
        "assign" => {
            let items = if f.which == "all" {
                Vec::new()
            } else {
                f.items
            };
            if f.which != "all" && items.is_empty() {
                let mut r = Refusal::new("Choose at least one item, or all of them.");
                r.fields
                    .push(("items".into(), "Choose at least one item.".into()));
                return refused(&visit, &back, &format!("assign-{}", f.product), &r, &[]);
            }
            let answer = calls
                .entitlement
                .assign_products(epb::AssignProductsRequest {
                    parent,
                    account: person,
                    products: vec![epb::ProductSelection {
                        product: format!("products/{}", f.product),
                        items,
                    }],
                    request_id: f.request_id,
                })
                .await;
            let form = format!("assign-{}", f.product);
            match answer {
                Ok(r) => assign_outcome(&visit, &back, &form, r.into_inner()),
                Err(s) => refuse(&form, s, &[("products.", "items")]),
            }
        }
        "items" => {
            let form = format!("items-{}", f.assignment);
            let none_left = f.items.is_empty();
            let answer = calls
                .entitlement
                .update_assignment(epb::UpdateAssignmentRequest {
                    assignment: Some(epb::Assignment {
                        name: format!("{parent}/assignments/{}", f.assignment),
                        items: f.items,
                        ..Default::default()
                    }),
                    update_mask: Some(prost_types::FieldMask {
                        paths: vec!["items".into()],
                    }),
                })
                .await;
            match answer {
                // R-SEAT-4: removing the last item frees the seat.
                Ok(_) if none_left => done(&visit, &back, "ok", "No item left: the seat is free."),
                Ok(_) => done(&visit, &back, "ok", "The items are changed."),
                Err(s) => refuse(&form, s, &[("assignment.items", "items")]),
            }
        }
        "unassign" => {
            let answer = calls
                .entitlement
                .delete_assignment(epb::DeleteAssignmentRequest {
                    name: format!("{parent}/assignments/{}", f.assignment),
                })
                .await;
            match answer {
                Ok(_) => done(&visit, &back, "ok", "Unassigned: the seat is free."),
                Err(s) => refuse(&format!("items-{}", f.assignment), s, &[]),
            }
        }
        "role" | "guest" => {
            let role = match f.role.as_str() {
                "secondary-admin" => tpb::Role::SecondaryAdmin,
                "sso-admin" => tpb::Role::SsoAdmin,
                _ => tpb::Role::User,
            };
            let answer = calls
                .team
                .update_member(tpb::UpdateMemberRequest {
                    member: Some(tpb::Member {
                        name: member,
                        role: role as i32,
                        guest: f.guest == "on",
                        ..Default::default()
                    }),
                    update_mask: Some(prost_types::FieldMask {
                        paths: vec![action.clone()],
                    }),
                })
                .await;
            match answer {
                Ok(_) if action == "role" => done(&visit, &back, "ok", "The role is changed."),
                Ok(_) => done(&visit, &back, "ok", "The guest flag is changed."),
                Err(s) => refuse(
                    &action,
                    s,
                    &[("member.role", "role"), ("member.guest", "guest")],
                ),
            }
        }
        "primary" => {
            let answer = calls
                .team
                .transfer_primary_admin(tpb::TransferPrimaryAdminRequest {
                    team: parent,
                    new_primary_admin: person,
                })
                .await;
            match answer {
                Ok(_) => done(
                    &visit,
                    &back,
                    "ok",
                    "This person is now the primary admin; the former primary admin is a secondary admin.",
                ),
                Err(s) => refuse("primary", s, &[]),
            }
        }
        "resend" => match calls
            .team
            .resend_invitation(tpb::ResendInvitationRequest { name: member })
            .await
        {
            Ok(_) => done(
                &visit,
                &back,
                "ok",
                "A new invitation is on its way; the old link no longer works.",
            ),
            Err(s) => refuse("invitation", s, &[]),
        },
        "revoke" => match calls
            .team
            .revoke_invitation(tpb::RevokeInvitationRequest { name: member })
            .await
        {
            Ok(_) => done(
                &visit,
                &format!("/teams/{team}/users"),
                "ok",
                "The invitation is revoked: its link no longer works, and the person is off the team.",
            ),
            Err(s) => refuse("invitation", s, &[]),
        },
        "remove" => match calls
            .team
            .remove_member(tpb::RemoveMemberRequest { name: member })
            .await
        {
            Ok(_) => done(
                &visit,
                &format!("/teams/{team}/users"),
                "ok",
                "Removed from the team; their seats in it are free.",
            ),
            Err(s) => refuse("remove", s, &[]),
        },
        _ => not_found(),
    }
}

/// The outcome of assigning one product (R-SEAT-2: a full pool says its
/// figures).
pub fn assign_outcome(visit: &Visit, back: &str, form: &str, r: epb::AssignResponse) -> Response {
    let Some(result) = r.results.into_iter().next() else {
        return done(visit, back, "ok", "Nothing to assign.");
    };
    match epb::AssignOutcome::try_from(result.outcome) {
        Ok(epb::AssignOutcome::Assigned) => done(visit, back, "ok", "Assigned."),
        Ok(epb::AssignOutcome::AlreadyAssigned) => done(
            visit,
            back,
            "ok",
            "Already assigned; the items are updated.",
        ),
        _ => refused(
            visit,
            back,
            form,
            &Refusal::new(format!(
                "Not assigned: {}.",
                result.reason.trim_end_matches('.')
            )),
            &[],
        ),
    }
}
