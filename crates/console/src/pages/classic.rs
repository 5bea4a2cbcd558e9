//! Classic user management (serial-number contracts): each contract's
//! manager and software coordinator (R-CLS-1), who has access to its
//! products, services and support benefits (R-CLS-3..5), changed only by
//! those two (R-CLS-7; other admins see it).

use allot_proto::entitlement as epb;
use allot_proto::team as tpb;
use axum::extract::{Path, State};
use axum::response::Response;
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::user::{ItemRow, catalog, items_of};
use super::{S, TeamPage, acting, fail, id_ok, not_found};
use crate::api::Calls;
use crate::form::Posted;
use crate::refusal::Refusal;
use crate::render::{done, page, refused};
use crate::session::Visit;

#[derive(Serialize)]
struct ContractRow {
    id: String,
    serial: String,
    products: Vec<String>,
    seats: i32,
    manager: String,
    coordinator: String,
}

async fn classic_contracts(t: &TeamPage) -> Result<Vec<epb::Contract>, tonic::Status> {
    let mine = if super::is_admin(t.me.role) {
        String::new()
    } else {
        t.user.account.clone()
    };
    let r = t
        .calls
        .entitlement
        .clone()
        .list_contracts(epb::ListContractsRequest {
            team: t.name.clone(),
            account: mine,
            page_size: 1000,
            ..Default::default()
        })
        .await?;
    Ok(r.into_inner()
        .contracts
        .into_iter()
        .filter(|c| c.activation_type == epb::ActivationType::SerialNumber as i32)
        .collect())
}

pub async fn list(State(shared): S, visit: Visit, Path(team): Path<String>) -> Response {
    let t = match TeamPage::open(&shared, visit, &team, "Classic", "classic", false).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let contracts = match classic_contracts(&t).await {
        Ok(c) => c,
        Err(s) => return fail(&s),
    };
    let products = catalog(&t.calls).await.unwrap_or_default();
    let people = super::emails_of(
        &t.calls,
        &t.name,
        contracts
            .iter()
            .flat_map(|c| [c.owner.clone(), c.software_coordinator.clone()])
            .collect(),
    )
    .await;
    let rows: Vec<ContractRow> = contracts
        .into_iter()
        .map(|c| ContractRow {
            id: c.name.trim_start_matches("contracts/").to_owned(),
            serial: c.serial_number.clone(),
            products: c
                .subscriptions
                .iter()
                .map(|s| {
                    products
                        .get(&s.product)
                        .map(|p| p.display_name.clone())
                        .unwrap_or_else(|| s.product.clone())
                })
                .collect(),
            seats: c.subscriptions.iter().map(|s| s.seats).sum(),
            manager: people.get(&c.owner).cloned().unwrap_or(c.owner.clone()),
            coordinator: people
                .get(&c.software_coordinator)
                .cloned()
                .unwrap_or(c.software_coordinator.clone()),
        })
        .collect();
    page(
        &t.visit,
        &t.chrome,
        "classic.html",
        context! { contracts => rows },
    )
}

#[derive(Serialize)]
struct Access {
    assignment: String,
    email: String,
    product: String,
    items: Vec<ItemRow>,
}

#[derive(Serialize)]
struct Product {
    id: String,
    name: String,
    seats: i32,
    items: Vec<ItemRow>,
}

pub async fn show(
    State(shared): S,
    visit: Visit,
    Path((team, contract)): Path<(String, String)>,
) -> Response {
    if !id_ok(&contract) {
        return not_found();
    }
    let mut t = match TeamPage::open(&shared, visit, &team, "Classic", "classic", false).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let name = format!("contracts/{contract}");
    let (got, access, products) = tokio::join!(
        async {
            t.calls
                .entitlement
                .clone()
                .get_contract(epb::GetContractRequest { name: name.clone() })
                .await
        },
        async {
            t.calls
                .entitlement
                .clone()
                .list_assignments(epb::ListAssignmentsRequest {
                    parent: t.name.clone(),
                    contract: name.clone(),
                    page_size: 1000,
                    ..Default::default()
                })
                .await
        },
        catalog(&t.calls),
    );
    let (got, access, products) = match (got, access, products) {
        (Ok(c), Ok(a), Ok(p)) => (c.into_inner(), a.into_inner().assignments, p),
        (Err(s), ..) | (_, Err(s), _) | (.., Err(s)) => return fail(&s),
    };
    if got.team != t.name {
        return not_found();
    }
    let people = super::emails_of(
        &t.calls,
        &t.name,
        vec![got.owner.clone(), got.software_coordinator.clone()],
    )
    .await;
    let rows: Vec<Access> = access
        .iter()
        .map(|a| Access {
            assignment: a.name.rsplit('/').next().unwrap_or_default().to_owned(),
            email: a.email.clone(),
            product: products
                .get(&a.product)
                .map(|p| p.display_name.clone())
                .unwrap_or_else(|| a.product.clone()),
            items: items_of(products.get(&a.product), &a.items),
        })
        .collect();
    let offered: Vec<Product> = got
        .subscriptions
        .iter()
        .map(|s| Product {
            id: s.product.trim_start_matches("products/").to_owned(),
            name: products
                .get(&s.product)
                .map(|p| p.display_name.clone())
                .unwrap_or_else(|| s.product.clone()),
            seats: s.seats,
            items: items_of(products.get(&s.product), &[]),
        })
        .collect();
    let manages = t.user.account == got.owner || t.user.account == got.software_coordinator;
    t.chrome.title = format!("Contract {} · {}", got.serial_number, t.team.display_name);
    page(
        &t.visit,
        &t.chrome,
        "contract.html",
        context! {
            contract => context! {
                id => contract,
                serial => got.serial_number,
                manager => people.get(&got.owner).cloned().unwrap_or(got.owner.clone()),
                coordinator => people
                    .get(&got.software_coordinator)
                    .cloned()
                    .unwrap_or(got.software_coordinator.clone()),
            },
            is_manager => t.user.account == got.owner,
            manages => manages,
            access => rows,
            products => offered,
        },
    )
}

#[derive(Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    product: String,
    #[serde(default)]
    items: Vec<String>,
    #[serde(default)]
    assignment: String,
    #[serde(default)]
    request_id: String,
}

/// The member of `team` with exactly this email.
async fn member_by_email(
    calls: &Calls,
    team: &str,
    email: &str,
) -> Result<Option<String>, tonic::Status> {
    let email = email.trim();
    if email.is_empty() {
        return Ok(None);
    }
    let r = calls
        .team
        .clone()
        .list_members(tpb::ListMembersRequest {
            parent: team.to_owned(),
            query: email.to_owned(),
            page_size: 10,
            ..Default::default()
        })
        .await?;
    Ok(r.into_inner()
        .members
        .into_iter()
        .find(|m| m.email.eq_ignore_ascii_case(email))
        .map(|m| m.account))
}

pub async fn act(
    State(shared): S,
    visit: Visit,
    Path((team, contract, action)): Path<(String, String, String)>,
    Posted(f): Posted<ActionForm>,
) -> Response {
    let (_, mut calls) = match acting(&shared, &visit) {
        Ok(a) => a,
        Err(to) => return to,
    };
    if !id_ok(&team) || !id_ok(&contract) || !super::form_ids_ok(&[&f.product, &f.assignment]) {
        return not_found();
    }
    let parent = format!("teams/{team}");
    let name = format!("contracts/{contract}");
    let back = format!("/teams/{team}/classic/{contract}");
    let form = match action.as_str() {
        "grant" => format!("grant-{}", f.product),
        "items" | "revoke" => format!("access-{}", f.assignment),
        other => other.to_owned(),
    };
    let needs_person = matches!(action.as_str(), "coordinator" | "manager" | "grant");
    let person = if needs_person {
        match member_by_email(&calls, &parent, &f.email).await {
            Ok(Some(a)) => a,
            Ok(None) => {
                let mut r = Refusal::new("Please correct the marked fields.");
                r.fields.push((
                    "email".into(),
                    "Is not the email of a member of this team.".into(),
                ));
                return refused(&visit, &back, &form, &r, &[("email", &f.email)]);
            }
            Err(s) => return refused(&visit, &back, &form, &Refusal::from(s), &[]),
        }
    } else {
        String::new()
    };
    let answer: Result<&str, tonic::Status> = match action.as_str() {
        "coordinator" => calls
            .entitlement
            .set_software_coordinator(epb::SetSoftwareCoordinatorRequest {
                contract: name,
                software_coordinator: person,
            })
            .await
            .map(|_| "The software coordinator is changed."),
        "manager" => calls
            .entitlement
            .set_contract_manager(epb::SetContractManagerRequest {
                contract: name,
                contract_manager: person,
            })
            .await
            .map(|_| "The contract manager is changed; they are an admin of the team."),
        "grant" => {
            let answer = calls
                .entitlement
                .assign_products(epb::AssignProductsRequest {
                    parent,
                    account: person,
                    products: vec![epb::ProductSelection {
                        product: format!("products/{}", f.product),
                        items: f.items,
                    }],
                    request_id: f.request_id,
                })
                .await;
            return match answer {
                Ok(r) => super::user::assign_outcome(&visit, &back, &form, r.into_inner()),
                Err(s) => refused(
                    &visit,
                    &back,
                    &form,
                    &Refusal::from(s),
                    &[("email", &f.email)],
                ),
            };
        }
        "items" => {
            let none_left = f.items.is_empty();
            calls
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
                .await
                .map(|_| {
                    if none_left {
                        "Nothing left to use: the access is removed and the seat is free."
                    } else {
                        "The access is changed."
                    }
                })
        }
        "revoke" => calls
            .entitlement
            .delete_assignment(epb::DeleteAssignmentRequest {
                name: format!("{parent}/assignments/{}", f.assignment),
            })
            .await
            .map(|_| "The access is removed; the seat is free."),
        _ => return not_found(),
    };
    match answer {
        Ok(text) => done(&visit, &back, "ok", text),
        Err(s) => refused(
            &visit,
            &back,
            &form,
            &Refusal::from(s),
            &[("email", &f.email)],
        ),
    }
}
