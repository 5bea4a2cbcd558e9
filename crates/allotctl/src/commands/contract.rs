//! `allotctl contract create`: record a purchase.

use allot_proto::entitlement::{self as epb};
use anyhow::{Context, anyhow};
use clap::{Args, Subcommand};

use crate::Global;
use crate::client::{account_of, connect, product_name, status_error};
use crate::output::{print, short};

#[derive(Debug, Subcommand)]
pub enum ContractCmd {
    Create(CreateArgs),
}

/// Record a purchase: a contract with subscriptions (`contracts` or
/// `admin` scope).
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The contract manager's email.
    #[arg(long)]
    owner: String,
    /// `product=seats`, repeatable.
    #[arg(long = "seats", required = true)]
    seats: Vec<String>,
    /// A serial number makes it a classic contract.
    #[arg(long)]
    serial: Option<String>,
    #[arg(long)]
    premium: bool,
}

pub async fn run(g: &Global, cmd: ContractCmd) -> anyhow::Result<()> {
    match cmd {
        ContractCmd::Create(a) => create(g, a).await,
    }
}

/// `product=seats` as a subscription.
fn parse_seats(s: &str) -> anyhow::Result<epb::Subscription> {
    let (p, n) = s
        .split_once('=')
        .ok_or_else(|| anyhow!("--seats takes product=seats, got {s:?}"))?;
    Ok(epb::Subscription {
        product: product_name(p),
        seats: n.parse().context("seats must be a number")?,
        ..Default::default()
    })
}

async fn create(g: &Global, a: CreateArgs) -> anyhow::Result<()> {
    let mut c = connect(g, true).await?;
    let owner_account = account_of(&mut c, &a.owner).await?;
    let subscriptions = a
        .seats
        .iter()
        .map(|s| parse_seats(s))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let activation = if a.serial.is_some() {
        epb::ActivationType::SerialNumber
    } else {
        epb::ActivationType::SignIn
    };
    let contract = c
        .entitlement
        .create_contract(epb::CreateContractRequest {
            contract: Some(epb::Contract {
                owner: owner_account,
                activation_type: activation as i32,
                serial_number: a.serial.unwrap_or_default(),
                plan: if a.premium {
                    epb::ContractPlan::Premium
                } else {
                    epb::ContractPlan::Standard
                } as i32,
                ..Default::default()
            }),
            subscriptions,
            request_id: String::new(),
        })
        .await
        .map_err(status_error)?
        .into_inner();
    let v = serde_json::json!({ "contract": contract.name, "team": contract.team, "subscriptions": contract.subscriptions.iter().map(|s| s.name.clone()).collect::<Vec<_>>() });
    print(g.json, &v, |_| {
        let subs = contract
            .subscriptions
            .iter()
            .map(|s| {
                format!(
                    "{} {} seats ({})",
                    short(&s.product, "products/"),
                    s.seats,
                    s.name
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        format!("Recorded {} in {}: {subs}.", contract.name, contract.team)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seats_are_product_equals_count() {
        let s = parse_seats("cad=3").expect("seats");
        assert_eq!((s.product.as_str(), s.seats), ("products/cad", 3));
        assert!(parse_seats("cad").is_err());
        assert!(parse_seats("cad=three").is_err());
    }
}
