//! By Group: the team's groups, their members and the products they give
//! (R-SEAT-5: each member gets a seat, now and when they join later;
//! members left without one wait, visibly, and are listed with why).

use allot_proto::entitlement as epb;
use allot_proto::team as tpb;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::products::PickQuery;
use super::user::{catalog, items_of, pool_rows};
use super::users::{MemberRow, PAGE_SIZE};
use super::{S, TeamPage, acting, fail, id_ok, not_found};
use crate::form::Posted;
use crate::refusal::Refusal;
use crate::render::{done, page, refused};
use crate::session::Visit;

#[derive(Serialize)]
struct GroupRow {
    id: String,
    name: String,
    members: i32,
    products: Vec<String>,
}

pub async fn list(State(shared): S, visit: Visit, Path(team): Path<String>) -> Response {
    let t = match TeamPage::open(&shared, visit, &team, "By Group", "groups", true).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let (groups, given, products) = tokio::join!(
        async {
            t.calls
                .team
                .clone()
                .list_groups(tpb::ListGroupsRequest {
                    parent: t.name.clone(),
                    page_size: 1000,
                    ..Default::default()
                })
                .await
        },
        async {
            t.calls
                .entitlement
                .clone()
                .list_group_assignments(epb::ListGroupAssignmentsRequest {
                    parent: t.name.clone(),
                })
                .await
        },
        catalog(&t.calls),
    );
    let (groups, given, products) = match (groups, given, products) {
        (Ok(g), Ok(a), Ok(c)) => (g.into_inner().groups, a.into_inner().group_assignments, c),
        (Err(s), ..) | (_, Err(s), _) | (.., Err(s)) => return fail(&s),
    };
    let rows: Vec<GroupRow> = groups
        .into_iter()
        .map(|g| GroupRow {
            id: g.name.rsplit('/').next().unwrap_or_default().to_owned(),
            products: given
                .iter()
                .filter(|a| a.group == g.name)
                .map(|a| {
                    products
                        .get(&a.product)
                        .map(|p| p.display_name.clone())
                        .unwrap_or_else(|| a.product.clone())
                })
                .collect(),
            name: g.display_name,
            members: g.member_count,
        })
        .collect();
    page(
        &t.visit,
        &t.chrome,
        "groups.html",
        context! { groups => rows },
    )
}

#[derive(Deserialize)]
pub struct NameForm {
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    request_id: String,
}

pub async fn create(
    State(shared): S,
    visit: Visit,
    Path(team): Path<String>,
    Posted(f): Posted<NameForm>,
) -> Response {
    let (_, mut calls) = match acting(&shared, &visit) {
        Ok(a) => a,
        Err(to) => return to,
    };
    if !id_ok(&team) {
        return not_found();
    }
    let back = format!("/teams/{team}/groups");
    match calls
        .team
        .create_group(tpb::CreateGroupRequest {
            parent: format!("teams/{team}"),
            group: Some(tpb::Group {
                display_name: f.display_name.clone(),
                ..Default::default()
            }),
            request_id: f.request_id,
        })
        .await
    {
        Ok(g) => {
            let id = g
                .into_inner()
                .name
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_owned();
            done(
                &visit,
                &format!("{back}/{id}"),
                "ok",
                "The group is created.",
            )
        }
        Err(s) => refused(
            &visit,
            &back,
            "create-group",
            &Refusal::from_status(&s, &[("group.display_name", "display_name")]),
            &[("display_name", &f.display_name)],
        ),
    }
}

#[derive(Serialize)]
struct Given {
    id: String,
    product: String,
    items: Vec<String>,
}

pub async fn show(
    State(shared): S,
    visit: Visit,
    Path((team, group)): Path<(String, String)>,
    Query(q): Query<PickQuery>,
) -> Response {
    if !id_ok(&group) {
        return not_found();
    }
    let mut t = match TeamPage::open(&shared, visit, &team, "Group", "groups", true).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let name = format!("{}/groups/{group}", t.name);
    let (got, members, candidates, given, pools, products) = tokio::join!(
        async {
            t.calls
                .team
                .clone()
                .get_group(tpb::GetGroupRequest { name: name.clone() })
                .await
        },
        async {
            t.calls
                .team
                .clone()
                .list_group_members(tpb::ListGroupMembersRequest {
                    group: name.clone(),
                    page_size: 1000,
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
        async {
            t.calls
                .entitlement
                .clone()
                .list_group_assignments(epb::ListGroupAssignmentsRequest {
                    parent: t.name.clone(),
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
    let got = match got {
        Ok(g) => g.into_inner(),
        Err(s) => return fail(&s),
    };
    let (members, candidates, given, pools, products) =
        match (members, candidates, given, pools, products) {
            (Ok(m), Ok(c), Ok(g), Ok(p), Ok(cat)) => (
                m.into_inner().members,
                c.into_inner(),
                g.into_inner().group_assignments,
                p.into_inner().pools,
                cat,
            ),
            (Err(s), ..)
            | (_, Err(s), ..)
            | (_, _, Err(s), ..)
            | (_, _, _, Err(s), _)
            | (.., Err(s)) => return fail(&s),
        };
    let in_group: Vec<&str> = members.iter().map(|m| m.account.as_str()).collect();
    let pick: Vec<MemberRow> = candidates
        .members
        .iter()
        .filter(|m| !in_group.contains(&m.account.as_str()))
        .map(MemberRow::of)
        .collect();
    let mine: Vec<Given> = given
        .iter()
        .filter(|a| a.group == name)
        .map(|a| {
            let p = products.get(&a.product);
            Given {
                id: a.name.rsplit('/').next().unwrap_or_default().to_owned(),
                product: p
                    .map(|p| p.display_name.clone())
                    .unwrap_or_else(|| a.product.clone()),
                items: items_of(p, &a.items)
                    .into_iter()
                    .filter(|i| a.items.is_empty() || i.held)
                    .map(|i| i.name)
                    .collect(),
            }
        })
        .collect();
    let given_products: Vec<&str> = given
        .iter()
        .filter(|a| a.group == name)
        .map(|a| a.product.as_str())
        .collect();
    let assignable = pool_rows(
        pools
            .into_iter()
            .filter(|p| {
                !given_products.contains(&p.product.as_str())
                    && p.activation_type != epb::ActivationType::SerialNumber as i32
            })
            .collect(),
        &products,
    );
    t.chrome.title = format!("{} · {}", got.display_name, t.team.display_name);
    page(
        &t.visit,
        &t.chrome,
        "group.html",
        context! {
            group => context! { id => group, name => got.display_name },
            members => members.iter().map(MemberRow::of).collect::<Vec<_>>(),
            candidates => pick,
            given => mine,
            assignable => assignable,
            q => q.q,
            next => candidates.next_page_token,
        },
    )
}

#[derive(Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    accounts: Vec<String>,
    #[serde(default)]
    account: String,
    #[serde(default)]
    product: String,
    #[serde(default)]
    items: Vec<String>,
    #[serde(default)]
    which: String,
    #[serde(default)]
    assignment: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    request_id: String,
}

pub async fn act(
    State(shared): S,
    visit: Visit,
    Path((team, group, action)): Path<(String, String, String)>,
    Posted(f): Posted<ActionForm>,
) -> Response {
    let (_, mut calls) = match acting(&shared, &visit) {
        Ok(a) => a,
        Err(to) => return to,
    };
    if !id_ok(&team)
        || !id_ok(&group)
        || !super::form_ids_ok(&[&f.product, &f.assignment, &f.account])
    {
        return not_found();
    }
    let parent = format!("teams/{team}");
    let name = format!("{parent}/groups/{group}");
    let back = format!("/teams/{team}/groups/{group}");
    let accounts = |list: &[String]| -> Vec<String> {
        list.iter()
            .filter(|a| id_ok(a))
            .map(|a| format!("accounts/{a}"))
            .collect()
    };
    match action.as_str() {
        "add" => {
            if f.accounts.is_empty() {
                let mut r = Refusal::new("Choose at least one person.");
                r.fields
                    .push(("accounts".into(), "Choose at least one person.".into()));
                return refused(&visit, &back, "add-members", &r, &[]);
            }
            match calls
                .team
                .add_group_members(tpb::AddGroupMembersRequest {
                    group: name,
                    accounts: accounts(&f.accounts),
                })
                .await
            {
                Ok(_) => done(
                    &visit,
                    &back,
                    "ok",
                    "Added to the group; they get the group's products as seats allow.",
                ),
                Err(s) => refused(&visit, &back, "add-members", &Refusal::from(s), &[]),
            }
        }
        "remove" => match calls
            .team
            .remove_group_members(tpb::RemoveGroupMembersRequest {
                group: name,
                accounts: accounts(std::slice::from_ref(&f.account)),
            })
            .await
        {
            Ok(_) => done(
                &visit,
                &back,
                "ok",
                "Removed from the group; seats they held only through it are free.",
            ),
            Err(s) => refused(&visit, &back, "members", &Refusal::from(s), &[]),
        },
        "assign" => {
            let items = if f.which == "all" {
                Vec::new()
            } else {
                f.items
            };
            let form = format!("assign-{}", f.product);
            if f.which != "all" && items.is_empty() {
                let mut r = Refusal::new("Choose at least one item, or all of them.");
                r.fields
                    .push(("items".into(), "Choose at least one item.".into()));
                return refused(&visit, &back, &form, &r, &[]);
            }
            match calls
                .entitlement
                .create_group_assignment(epb::CreateGroupAssignmentRequest {
                    parent,
                    group_assignment: Some(epb::GroupAssignment {
                        group: name,
                        product: format!("products/{}", f.product),
                        items,
                        ..Default::default()
                    }),
                    request_id: f.request_id,
                })
                .await
            {
                Ok(r) => {
                    let waiting: Vec<epb::AssignResult> = r
                        .into_inner()
                        .results
                        .into_iter()
                        .filter(|r| {
                            r.outcome == epb::AssignOutcome::NoSeat as i32
                                || r.outcome == epb::AssignOutcome::Refused as i32
                        })
                        .collect();
                    if waiting.is_empty() {
                        return done(
                            &visit,
                            &back,
                            "ok",
                            "The group gives this product to each member.",
                        );
                    }
                    let emails = super::emails_of(
                        &calls,
                        &format!("teams/{team}"),
                        waiting.iter().map(|w| w.account.clone()).collect(),
                    )
                    .await;
                    let who: Vec<String> = waiting
                        .iter()
                        .map(|w| {
                            let email =
                                emails.get(&w.account).cloned().unwrap_or(w.account.clone());
                            format!("{email} ({})", super::seat_reason(&w.reason))
                        })
                        .collect();
                    done(
                        &visit,
                        &back,
                        "warn",
                        format!(
                            "The group gives this product. {} without a seat for now, seated in the order they joined as soon as one frees: {}.",
                            if who.len() == 1 {
                                "1 member waits".to_owned()
                            } else {
                                format!("{} members wait", who.len())
                            },
                            crate::render::some_of(&who)
                        ),
                    )
                }
                Err(s) => refused(&visit, &back, &form, &Refusal::from(s), &[]),
            }
        }
        "unassign" => match calls
            .entitlement
            .delete_group_assignment(epb::DeleteGroupAssignmentRequest {
                name: format!("{parent}/groupAssignments/{}", f.assignment),
            })
            .await
        {
            Ok(_) => done(
                &visit,
                &back,
                "ok",
                "The group no longer gives this product; seats held only through it are free.",
            ),
            Err(s) => refused(&visit, &back, "given", &Refusal::from(s), &[]),
        },
        "rename" => match calls
            .team
            .update_group(tpb::UpdateGroupRequest {
                group: Some(tpb::Group {
                    name,
                    display_name: f.display_name.clone(),
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["display_name".into()],
                }),
            })
            .await
        {
            Ok(_) => done(&visit, &back, "ok", "The group is renamed."),
            Err(s) => refused(
                &visit,
                &back,
                "rename",
                &Refusal::from_status(&s, &[("group.display_name", "display_name")]),
                &[("display_name", &f.display_name)],
            ),
        },
        "delete" => match calls
            .team
            .delete_group(tpb::DeleteGroupRequest { name })
            .await
        {
            Ok(_) => done(
                &visit,
                &format!("/teams/{team}/groups"),
                "ok",
                "The group is deleted.",
            ),
            Err(s) => refused(&visit, &back, "delete", &Refusal::from(s), &[]),
        },
        _ => not_found(),
    }
}
