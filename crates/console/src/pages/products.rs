//! By Product (R-SEAT-7): each product's seats, assigned and available;
//! a product's people; assigning people with all or chosen items and
//! unassigning (R-SEAT-1..4); importing a CSV of assignments is in
//! `imports.rs`.

use allot_proto::entitlement as epb;
use allot_proto::team as tpb;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::user::{ItemRow, catalog, items_of, pool_rows};
use super::users::{MemberRow, PAGE_SIZE};
use super::{S, TeamPage, acting, fail, id_ok, not_found};
use crate::form::Posted;
use crate::refusal::Refusal;
use crate::render::{done, page, refused};
use crate::session::Visit;

pub async fn list(State(shared): S, visit: Visit, Path(team): Path<String>) -> Response {
    let t = match TeamPage::open(&shared, visit, &team, "By Product", "products", true).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let (pools, products) = tokio::join!(
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
    let (pools, products) = match (pools, products) {
        (Ok(p), Ok(c)) => (p.into_inner().pools, c),
        (Err(s), _) | (_, Err(s)) => return fail(&s),
    };
    page(
        &t.visit,
        &t.chrome,
        "products.html",
        context! { pools => pool_rows(pools, &products) },
    )
}

/// A person holding a seat of the product.
#[derive(Serialize)]
struct Holder {
    assignment: String,
    account: String,
    email: String,
    items: Vec<ItemRow>,
    source: &'static str,
}

#[derive(Deserialize, Default)]
pub struct PickQuery {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub page: String,
    /// The page of holders (a product's page).
    #[serde(default)]
    pub holders: String,
}

pub async fn show(
    State(shared): S,
    visit: Visit,
    Path((team, product)): Path<(String, String)>,
    Query(q): Query<PickQuery>,
) -> Response {
    if !id_ok(&product) {
        return not_found();
    }
    let mut t = match TeamPage::open(&shared, visit, &team, "Product", "products", true).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let product_name = format!("products/{product}");
    let (pool, assignments, members, products) = tokio::join!(
        async {
            t.calls
                .entitlement
                .clone()
                .get_pool(epb::GetPoolRequest {
                    name: format!("{}/pools/{product}", t.name),
                })
                .await
        },
        async {
            t.calls
                .entitlement
                .clone()
                .list_assignments(epb::ListAssignmentsRequest {
                    parent: t.name.clone(),
                    product: product_name.clone(),
                    page_size: super::users::PAGE_SIZE,
                    page_token: q.holders.clone(),
                    ..Default::default()
                })
                .await
        },
        async {
            t.calls
                .team
                .clone()
                .list_members(tpb::ListMembersRequest {
                    parent: t.name.clone(),
                    page_size: PAGE_SIZE,
                    page_token: q.page.clone(),
                    query: q.q.clone(),
                    ..Default::default()
                })
                .await
        },
        catalog(&t.calls),
    );
    let (pool, assignments, members, products) = match (pool, assignments, members, products) {
        (Ok(p), Ok(a), Ok(m), Ok(c)) => (p.into_inner(), a.into_inner(), m.into_inner(), c),
        (Err(s), ..) | (_, Err(s), ..) | (_, _, Err(s), _) | (.., Err(s)) => return fail(&s),
    };
    let holders_next = assignments.next_page_token.clone();
    let assignments = assignments.assignments;
    let catalog_entry = products.get(&product_name);
    let holders: Vec<Holder> = assignments
        .iter()
        .map(|a| Holder {
            assignment: a.name.rsplit('/').next().unwrap_or_default().to_owned(),
            account: a.account.trim_start_matches("accounts/").to_owned(),
            email: a.email.clone(),
            items: items_of(catalog_entry, &a.items),
            source: match epb::AssignmentSource::try_from(a.source) {
                Ok(epb::AssignmentSource::Group) => "group",
                Ok(epb::AssignmentSource::DirectAndGroup) => "direct and group",
                _ => "direct",
            },
        })
        .collect();
    let holding: Vec<&str> = assignments.iter().map(|a| a.account.as_str()).collect();
    let candidates: Vec<MemberRow> = members
        .members
        .iter()
        .filter(|m| !holding.contains(&m.account.as_str()))
        .map(MemberRow::of)
        .collect();
    t.chrome.title = format!("{} · {}", pool.product_display_name, t.team.display_name);
    page(
        &t.visit,
        &t.chrome,
        "product.html",
        context! {
            product => product,
            pool => context! {
                name => pool.product_display_name,
                seats => pool.seats,
                assigned => pool.assigned,
                available => pool.available,
                waiting => pool.waiting,
                activation => super::mine::activation_words(pool.activation_type, ""),
            },
            classic => pool.activation_type == epb::ActivationType::SerialNumber as i32,
            items => items_of(catalog_entry, &[]),
            holders => holders,
            holders_next => holders_next,
            holders_paged => !q.holders.is_empty(),
            candidates => candidates,
            q => q.q,
            next => members.next_page_token,
        },
    )
}

#[derive(Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    accounts: Vec<String>,
    #[serde(default)]
    items: Vec<String>,
    #[serde(default)]
    which: String,
    #[serde(default)]
    assignment: String,
    #[serde(default)]
    request_id: String,
}

/// Why an assignment by product left people out.
#[derive(Serialize)]
struct Left {
    email: String,
    reason: String,
}

pub async fn act(
    State(shared): S,
    visit: Visit,
    Path((team, product, action)): Path<(String, String, String)>,
    Posted(f): Posted<ActionForm>,
) -> Response {
    let (_, mut calls) = match acting(&shared, &visit) {
        Ok(a) => a,
        Err(to) => return to,
    };
    if !id_ok(&team) || !id_ok(&product) || !super::form_ids_ok(&[&f.assignment]) {
        return not_found();
    }
    let parent = format!("teams/{team}");
    let back = format!("/teams/{team}/products/{product}");
    match action.as_str() {
        "assign" => {
            let items = if f.which == "all" {
                Vec::new()
            } else {
                f.items
            };
            let mut problems = Refusal::new("Please correct the marked fields.");
            if f.accounts.is_empty() {
                problems
                    .fields
                    .push(("accounts".into(), "Choose at least one person.".into()));
            }
            if f.which != "all" && items.is_empty() {
                problems
                    .fields
                    .push(("items".into(), "Choose at least one item, or all.".into()));
            }
            if !problems.fields.is_empty() {
                return refused(&visit, &back, "assign", &problems, &[]);
            }
            let accounts: Vec<String> = f
                .accounts
                .iter()
                .filter(|a| id_ok(a))
                .map(|a| format!("accounts/{a}"))
                .collect();
            let answer = calls
                .entitlement
                .assign_users(epb::AssignUsersRequest {
                    parent,
                    product: format!("products/{product}"),
                    items,
                    accounts,
                    request_id: f.request_id,
                })
                .await;
            match answer {
                Ok(r) => {
                    let results = r.into_inner().results;
                    let assigned = results
                        .iter()
                        .filter(|r| {
                            matches!(
                                epb::AssignOutcome::try_from(r.outcome),
                                Ok(epb::AssignOutcome::Assigned
                                    | epb::AssignOutcome::AlreadyAssigned)
                            )
                        })
                        .count();
                    let failed: Vec<&epb::AssignResult> = results
                        .iter()
                        .filter(|r| {
                            !matches!(
                                epb::AssignOutcome::try_from(r.outcome),
                                Ok(epb::AssignOutcome::Assigned
                                    | epb::AssignOutcome::AlreadyAssigned)
                            )
                        })
                        .collect();
                    let emails = super::emails_of(
                        &calls,
                        &format!("teams/{team}"),
                        failed.iter().map(|r| r.account.clone()).collect(),
                    )
                    .await;
                    let left: Vec<Left> = failed
                        .iter()
                        .map(|r| Left {
                            email: emails.get(&r.account).cloned().unwrap_or(r.account.clone()),
                            reason: super::seat_reason(&r.reason),
                        })
                        .collect();
                    if left.is_empty() {
                        done(&visit, &back, "ok", format!("Assigned to {assigned}."))
                    } else {
                        let names: Vec<String> = left
                            .iter()
                            .map(|l| format!("{} ({})", l.email, l.reason))
                            .collect();
                        let text = format!(
                            "Assigned to {assigned}; not to {}: {}.",
                            left.len(),
                            crate::render::some_of(&names)
                        );
                        refused(&visit, &back, "assign", &Refusal::new(text), &[])
                    }
                }
                Err(s) => refused(
                    &visit,
                    &back,
                    "assign",
                    &Refusal::from_status(&s, &[("accounts", "accounts"), ("items", "items")]),
                    &[],
                ),
            }
        }
        "unassign" => match calls
            .entitlement
            .delete_assignment(epb::DeleteAssignmentRequest {
                name: format!("{parent}/assignments/{}", f.assignment),
            })
            .await
        {
            Ok(_) => done(&visit, &back, "ok", "Unassigned: the seat is free."),
            Err(s) => refused(&visit, &back, "holders", &Refusal::from(s), &[]),
        },
        _ => not_found(),
    }
}
