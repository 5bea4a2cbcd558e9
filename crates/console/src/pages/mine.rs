//! My products (R-SEAT-8): what the signed-in person may use, with each
//! product's items and how it is activated (by signing in, or its serial
//! number).

use allot_proto::entitlement as epb;
use allot_proto::team as tpb;
use axum::extract::State;
use axum::response::Response;
use minijinja::context;
use serde::Serialize;

use super::{S, acting, fail};
use crate::render::{Chrome, page};
use crate::session::Visit;

#[derive(Serialize)]
struct Row {
    name: String,
    items: Vec<String>,
    activation: String,
    team: String,
}

pub fn item_kind_words(kind: i32) -> &'static str {
    match epb::ItemKind::try_from(kind) {
        Ok(epb::ItemKind::Application) => "application",
        Ok(epb::ItemKind::CloudService) => "cloud service",
        Ok(epb::ItemKind::Support) => "support",
        _ => "item",
    }
}

pub fn activation_words(kind: i32, serial: &str) -> String {
    match epb::ActivationType::try_from(kind) {
        Ok(epb::ActivationType::SerialNumber) => format!("Serial number {serial}"),
        _ => "Sign in".into(),
    }
}

pub async fn show(State(shared): S, visit: Visit) -> Response {
    let (_, calls) = match acting(&shared, &visit) {
        Ok(a) => a,
        Err(to) => return to,
    };
    let (products, teams) = tokio::join!(
        async {
            calls
                .entitlement
                .clone()
                .list_my_products(epb::ListMyProductsRequest::default())
                .await
        },
        async {
            calls
                .team
                .clone()
                .list_teams(tpb::ListTeamsRequest {
                    page_size: 100,
                    ..Default::default()
                })
                .await
        },
    );
    let products = match products {
        Ok(p) => p.into_inner().products,
        Err(s) => return fail(&s),
    };
    let teams = teams.map(|t| t.into_inner().teams).unwrap_or_default();
    let rows: Vec<Row> = products
        .into_iter()
        .map(|p| Row {
            items: p
                .items
                .iter()
                .map(|i| format!("{} ({})", i.display_name, item_kind_words(i.kind)))
                .collect(),
            activation: activation_words(p.activation_type, &p.serial_number),
            team: teams
                .iter()
                .find(|t| t.name == p.team)
                .map(|t| t.display_name.clone())
                .unwrap_or(p.team),
            name: p.display_name,
        })
        .collect();
    let mut chrome = Chrome::new(&visit, "My products", "mine");
    chrome.teams = super::admin_teams(&calls, &visit).await.unwrap_or_default();
    chrome.team = chrome.teams.first().cloned();
    chrome.admin = chrome.team.is_some();
    page(
        &visit,
        &chrome,
        "my_products.html",
        context! { products => rows },
    )
}
