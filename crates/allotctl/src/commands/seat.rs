//! `allotctl seat list|assign|unassign|check`: a team's seats and who holds
//! them.

use allot_proto::entitlement::{self as epb};
use anyhow::{anyhow, bail};
use clap::{Args, Subcommand};

use crate::Global;
use crate::client::{account_of, connect, product_name, status_error, team_name};
use crate::output::{lines, print, short, table};

#[derive(Debug, Subcommand)]
pub enum SeatCmd {
    List(ListArgs),
    Assign(AssignArgs),
    Unassign(UnassignArgs),
    Check(CheckArgs),
}

/// Seats per product of a team: seats, assigned, available.
#[derive(Debug, Args)]
pub struct ListArgs {
    #[arg(long)]
    team: String,
}

/// Give a person products (by user), or several people one product
/// (by product, with several --email).
#[derive(Debug, Args)]
pub struct AssignArgs {
    #[arg(long)]
    team: String,
    #[arg(long = "email", required = true)]
    emails: Vec<String>,
    #[arg(long = "product", required = true)]
    products: Vec<String>,
    /// Only these items (comma separated); all when left out.
    #[arg(long, value_delimiter = ',')]
    items: Vec<String>,
}

/// Take a product away from a person (the seat becomes free).
#[derive(Debug, Args)]
pub struct UnassignArgs {
    #[arg(long)]
    team: String,
    #[arg(long)]
    email: String,
    #[arg(long)]
    product: String,
}

/// May this person use this product now?
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Whom to ask about; yourself when left out.
    #[arg(long)]
    email: Option<String>,
    #[arg(long)]
    product: String,
}

pub async fn run(g: &Global, cmd: SeatCmd) -> anyhow::Result<()> {
    match cmd {
        SeatCmd::List(a) => list(g, a).await,
        SeatCmd::Assign(a) => assign(g, a).await,
        SeatCmd::Unassign(a) => unassign(g, a).await,
        SeatCmd::Check(a) => check(g, a).await,
    }
}

/// The pool table: product, seats, assigned, available.
fn pool_table(pools: &[epb::Pool]) -> String {
    table(
        &["PRODUCT", "SEATS", "ASSIGNED", "AVAILABLE"],
        pools.iter().map(|p| {
            vec![
                short(&p.product, "products/").to_owned(),
                p.seats.to_string(),
                p.assigned.to_string(),
                p.available.to_string(),
            ]
        }),
    )
}

async fn list(g: &Global, ListArgs { team }: ListArgs) -> anyhow::Result<()> {
    let mut c = connect(g, true).await?;
    let pools = c
        .entitlement
        .list_pools(epb::ListPoolsRequest {
            parent: team_name(&team),
        })
        .await
        .map_err(status_error)?
        .into_inner()
        .pools;
    let v: Vec<_> = pools
        .iter()
        .map(|p| serde_json::json!({ "product": p.product, "display_name": p.product_display_name, "seats": p.seats, "assigned": p.assigned, "available": p.available }))
        .collect();
    print(g.json, &v, |_| pool_table(&pools))
}

async fn assign(g: &Global, a: AssignArgs) -> anyhow::Result<()> {
    let AssignArgs {
        team,
        emails,
        products,
        items,
    } = a;
    let mut c = connect(g, true).await?;
    let mut accounts = Vec::new();
    for e in &emails {
        accounts.push(account_of(&mut c, e).await?);
    }
    let results = match (accounts.as_slice(), products.as_slice()) {
        ([one], _) => {
            c.entitlement
                .assign_products(epb::AssignProductsRequest {
                    parent: team_name(&team),
                    account: one.clone(),
                    products: products
                        .iter()
                        .map(|p| epb::ProductSelection {
                            product: product_name(p),
                            items: items.clone(),
                        })
                        .collect(),
                    ..Default::default()
                })
                .await
        }
        (_, [product]) => {
            c.entitlement
                .assign_users(epb::AssignUsersRequest {
                    parent: team_name(&team),
                    product: product_name(product),
                    items: items.clone(),
                    accounts: accounts.clone(),
                    ..Default::default()
                })
                .await
        }
        _ => bail!("assign one person several products, or several people one product"),
    }
    .map_err(status_error)?
    .into_inner()
    .results;
    let email_of = |account: &str| {
        accounts
            .iter()
            .position(|a| a == account)
            .map(|i| emails[i].clone())
            .unwrap_or_else(|| account.to_owned())
    };
    let v: Vec<_> = results
        .iter()
        .map(|r| {
            let outcome = epb::AssignOutcome::try_from(r.outcome).map(|o| o.as_str_name().trim_start_matches("ASSIGN_OUTCOME_")).unwrap_or("");
            serde_json::json!({ "email": email_of(&r.account), "product": r.product, "outcome": outcome, "reason": r.reason })
        })
        .collect();
    print(g.json, &v, |v| lines(v.iter().map(assign_line)))
}

/// One assignment result: outcome, email, product, and why.
fn assign_line(r: &serde_json::Value) -> String {
    let outcome = r["outcome"]
        .as_str()
        .unwrap_or_default()
        .to_lowercase()
        .replace('_', " ");
    let reason = r["reason"]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(|s| format!(": {s}"))
        .unwrap_or_default();
    format!(
        "{:<16} {} {}{reason}",
        outcome,
        r["email"].as_str().unwrap_or_default(),
        short(r["product"].as_str().unwrap_or_default(), "products/")
    )
}

async fn unassign(g: &Global, a: UnassignArgs) -> anyhow::Result<()> {
    let UnassignArgs {
        team,
        email,
        product,
    } = a;
    let mut c = connect(g, true).await?;
    let account = account_of(&mut c, &email).await?;
    let held = c
        .entitlement
        .list_assignments(epb::ListAssignmentsRequest {
            parent: team_name(&team),
            account,
            product: product_name(&product),
            ..Default::default()
        })
        .await
        .map_err(status_error)?
        .into_inner()
        .assignments;
    let a = held
        .first()
        .ok_or_else(|| anyhow!("{email} holds no {product} in {team}"))?;
    c.entitlement
        .delete_assignment(epb::DeleteAssignmentRequest {
            name: a.name.clone(),
        })
        .await
        .map_err(status_error)?;
    print(g.json, &serde_json::json!({ "unassigned": a.name }), |_| {
        format!("{email} no longer holds {product}; the seat is free.")
    })
}

async fn check(g: &Global, CheckArgs { email, product }: CheckArgs) -> anyhow::Result<()> {
    let mut c = connect(g, true).await?;
    let account = match &email {
        Some(e) => account_of(&mut c, e).await?,
        None => String::new(),
    };
    let r = c
        .entitlement
        .check_entitlement(epb::CheckEntitlementRequest {
            account,
            product: product_name(&product),
            record_usage: false,
        })
        .await
        .map_err(status_error)?
        .into_inner();
    let activation = epb::ActivationType::try_from(r.activation_type)
        .map(|a| a.as_str_name().trim_start_matches("ACTIVATION_TYPE_"))
        .unwrap_or("");
    let v = serde_json::json!({ "allowed": r.allowed, "items": r.items, "activation_type": activation, "serial_number": r.serial_number, "team": r.team, "message": r.message });
    print(g.json, &v, |_| {
        if r.allowed {
            let serial = if r.serial_number.is_empty() {
                String::new()
            } else {
                format!(", serial number {}", r.serial_number)
            };
            format!(
                "allowed: {} ({}{serial}) through {}",
                r.items.join(", "),
                activation.to_lowercase().replace('_', " "),
                r.team
            )
        } else {
            format!("not allowed: {}", r.message)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pools_print_as_a_table() {
        let pool = epb::Pool {
            product: "products/cad".into(),
            seats: 3,
            assigned: 2,
            available: 1,
            ..Default::default()
        };
        let t = pool_table(&[pool]);
        let rows: Vec<Vec<&str>> = t.lines().map(|l| l.split_whitespace().collect()).collect();
        assert_eq!(rows[0], ["PRODUCT", "SEATS", "ASSIGNED", "AVAILABLE"]);
        assert_eq!(rows[1], ["cad", "3", "2", "1"]);
    }

    #[test]
    fn assignment_results_read_as_lines() {
        let r = serde_json::json!({ "email": "ada@example.com", "product": "products/cad", "outcome": "NO_SEAT", "reason": "all 3 seats are taken" });
        assert_eq!(
            assign_line(&r),
            format!(
                "{:<16} ada@example.com cad: all 3 seats are taken",
                "no seat"
            )
        );
    }
}
