//! Team settings: rename the team, create another (R-TEAM-1), and move a
//! subscription to another team (R-TEAM-4: only its contract's owner; a
//! refusal says how many seats to free first). Also the team switcher.

use allot_proto::entitlement as epb;
use allot_proto::team as tpb;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::user::catalog;
use super::{S, TeamPage, acting, fail, id_ok, not_found};
use crate::form::Posted;
use crate::refusal::Refusal;
use crate::render::{done, page, refused};
use crate::session::Visit;

#[derive(Deserialize)]
pub struct Switch {
    #[serde(default)]
    team: String,
}

pub async fn switch(Query(q): Query<Switch>) -> Response {
    if id_ok(&q.team) {
        Redirect::to(&format!("/teams/{}/users", q.team)).into_response()
    } else {
        Redirect::to("/").into_response()
    }
}

#[derive(Serialize)]
struct SubscriptionRow {
    id: String,
    product: String,
    seats: i32,
    serial: String,
    plan: &'static str,
}

pub async fn show(State(shared): S, visit: Visit, Path(team): Path<String>) -> Response {
    let t = match TeamPage::open(&shared, visit, &team, "Team settings", "settings", true).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let (subs, products) = tokio::join!(
        async {
            t.calls
                .entitlement
                .clone()
                .list_subscriptions(epb::ListSubscriptionsRequest {
                    team: t.name.clone(),
                    page_size: 1000,
                    ..Default::default()
                })
                .await
        },
        catalog(&t.calls),
    );
    let (subs, products) = match (subs, products) {
        (Ok(s), Ok(p)) => (s.into_inner().subscriptions, p),
        (Err(s), _) | (_, Err(s)) => return fail(&s),
    };
    let rows: Vec<SubscriptionRow> = subs
        .into_iter()
        .map(|s| SubscriptionRow {
            id: s.name.trim_start_matches("subscriptions/").to_owned(),
            product: products
                .get(&s.product)
                .map(|p| p.display_name.clone())
                .unwrap_or_else(|| s.product.clone()),
            seats: s.seats,
            serial: s.serial_number,
            plan: if s.plan == epb::ContractPlan::Premium as i32 {
                "Premium"
            } else {
                "Standard"
            },
        })
        .collect();
    let targets: Vec<_> = t
        .chrome
        .teams
        .iter()
        .filter(|x| x.id != t.id)
        .cloned()
        .collect();
    page(
        &t.visit,
        &t.chrome,
        "settings.html",
        context! {
            display_name => t.team.display_name.clone(),
            premium => t.team.plan == tpb::Plan::Premium as i32,
            members => t.team.member_count,
            subscriptions => rows,
            targets => targets,
        },
    )
}

#[derive(Deserialize)]
pub struct TeamForm {
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    subscription: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    request_id: String,
    /// The page the form was on (for a refusal).
    #[serde(default)]
    from: String,
}

/// R-TEAM-1: an admin creates another team and becomes its primary admin.
pub async fn create(State(shared): S, visit: Visit, Posted(f): Posted<TeamForm>) -> Response {
    let (_, mut calls) = match acting(&shared, &visit) {
        Ok(a) => a,
        Err(to) => return to,
    };
    let back = if id_ok(&f.from) {
        format!("/teams/{}/settings", f.from)
    } else {
        "/".to_owned()
    };
    match calls
        .team
        .create_team(tpb::CreateTeamRequest {
            team: Some(tpb::Team {
                display_name: f.display_name.clone(),
                ..Default::default()
            }),
            request_id: f.request_id,
        })
        .await
    {
        Ok(t) => {
            let t = t.into_inner();
            done(
                &visit,
                &format!("/teams/{}/settings", t.name.trim_start_matches("teams/")),
                "ok",
                format!(
                    "Team {} is created; you are its primary admin.",
                    t.display_name
                ),
            )
        }
        Err(s) => refused(
            &visit,
            &back,
            "create-team",
            &Refusal::from_status(&s, &[("team.display_name", "display_name")]),
            &[("display_name", &f.display_name)],
        ),
    }
}

pub async fn act(
    State(shared): S,
    visit: Visit,
    Path((team, action)): Path<(String, String)>,
    Posted(f): Posted<TeamForm>,
) -> Response {
    let (_, mut calls) = match acting(&shared, &visit) {
        Ok(a) => a,
        Err(to) => return to,
    };
    if !id_ok(&team) {
        return not_found();
    }
    let back = format!("/teams/{team}/settings");
    match action.as_str() {
        "rename" => match calls
            .team
            .update_team(tpb::UpdateTeamRequest {
                team: Some(tpb::Team {
                    name: format!("teams/{team}"),
                    display_name: f.display_name.clone(),
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["display_name".into()],
                }),
            })
            .await
        {
            Ok(_) => done(&visit, &back, "ok", "The team is renamed."),
            Err(s) => refused(
                &visit,
                &back,
                "rename",
                &Refusal::from_status(&s, &[("team.display_name", "display_name")]),
                &[("display_name", &f.display_name)],
            ),
        },
        "move" => {
            let form = format!("move-{}", f.subscription);
            if !id_ok(&f.subscription) || !id_ok(&f.target) {
                let mut r = Refusal::new("Choose the team to move it to.");
                r.fields.push(("target".into(), "Choose a team.".into()));
                return refused(&visit, &back, &form, &r, &[]);
            }
            match calls
                .entitlement
                .move_subscription(epb::MoveSubscriptionRequest {
                    subscription: format!("subscriptions/{}", f.subscription),
                    target_team: format!("teams/{}", f.target),
                })
                .await
            {
                Ok(_) => done(
                    &visit,
                    &back,
                    "ok",
                    "The subscription is moved. Its seats now count in the other team; assignments did not move with it.",
                ),
                Err(s) => refused(
                    &visit,
                    &back,
                    &form,
                    &Refusal::from_status(&s, &[("target_team", "target")]),
                    &[],
                ),
            }
        }
        _ => not_found(),
    }
}
