//! Handlers of contracts and their subscriptions (R-TEAM-3, R-TEAM-4, R-CLS-1).

use super::*;

pub(super) async fn create_contract(
    g: &EntitlementGrpc,
    req: Request<pb::CreateContractRequest>,
) -> R<pb::Contract> {
    let ctx = ctx(&req)?;
    let r = req.into_inner();
    let key = request_key!(ctx.caller, "CreateContract", r).map_err(invalid)?;
    let c = required("contract", r.contract)?;
    let mut violations = Vec::new();
    let owner = AccountId::parse("contract.owner", &c.owner)
        .map_err(|v| violations.push(v))
        .ok();
    let activation = match pb::ActivationType::try_from(c.activation_type) {
        Ok(pb::ActivationType::SignIn) => Some(ActivationType::SignIn),
        Ok(pb::ActivationType::SerialNumber) => Some(ActivationType::SerialNumber),
        _ => {
            violations.push(FieldViolation::new(
                "contract.activation_type",
                "must be SIGN_IN or SERIAL_NUMBER",
            ));
            None
        }
    };
    let serial = c.serial_number.trim().to_owned();
    match activation {
        Some(ActivationType::SerialNumber) if serial.is_empty() => {
            violations.push(FieldViolation::new(
                "contract.serial_number",
                "is required for SERIAL_NUMBER contracts",
            ))
        }
        Some(ActivationType::SignIn) if !serial.is_empty() => violations.push(FieldViolation::new(
            "contract.serial_number",
            "must be empty for SIGN_IN contracts",
        )),
        _ => {}
    }
    if serial.len() > 64 {
        violations.push(FieldViolation::new(
            "contract.serial_number",
            "is longer than 64 characters",
        ));
    }
    let plan = match pb::ContractPlan::try_from(c.plan) {
        Ok(pb::ContractPlan::Premium) => ContractPlan::Premium,
        Ok(pb::ContractPlan::Standard | pb::ContractPlan::Unspecified) => ContractPlan::Standard,
        Err(_) => {
            violations.push(FieldViolation::new(
                "contract.plan",
                "must be STANDARD or PREMIUM",
            ));
            ContractPlan::Standard
        }
    };
    let billing = match pb::Billing::try_from(c.billing) {
        Ok(pb::Billing::PayPerUse) => Billing::PayPerUse,
        Ok(pb::Billing::Term | pb::Billing::Unspecified) => Billing::Term,
        Err(_) => {
            violations.push(FieldViolation::new(
                "contract.billing",
                "must be TERM or PAY_PER_USE",
            ));
            Billing::Term
        }
    };
    let end_day = match c.end_date.as_ref() {
        None => None,
        Some(d) => match date_to_day("contract.end_date", Some(d)) {
            Ok(day) => {
                let today = crate::domain::day_of(g.app.now_micros());
                if let Err(v) = crate::service::renewals::check_end_day(billing, day, today) {
                    violations.push(v);
                }
                Some(day)
            }
            Err(_) => {
                violations.push(FieldViolation::new(
                    "contract.end_date",
                    "is not a calendar date",
                ));
                None
            }
        },
    };
    let mut subs = Vec::new();
    if r.subscriptions.is_empty() {
        violations.push(FieldViolation::new(
            "subscriptions",
            "a contract has at least one subscription",
        ));
    }
    for (i, s) in r.subscriptions.iter().enumerate() {
        let p = ProductId::parse(&format!("subscriptions[{i}].product"), &s.product)
            .map_err(|v| violations.push(v))
            .ok();
        let n = SeatCount::parse(&format!("subscriptions[{i}].seats"), s.seats)
            .map_err(|v| violations.push(v))
            .ok();
        if let (Some(p), Some(n)) = (p, n) {
            subs.push((p, n));
        }
    }
    let (Some(owner), Some(activation), true) = (owner, activation, violations.is_empty()) else {
        return Err(EntitlementError::Invalid(violations).into());
    };
    let new = NewContract {
        owner,
        activation,
        serial_number: serial,
        plan,
        billing,
        collaboration_site: c.collaboration_site.trim().to_owned(),
        sso_enabled: c.sso_enabled,
        end_day,
    };
    let (contract, subs) = g
        .app
        .contracts()
        .create_contract(&ctx, new, subs, key.as_ref())
        .await?;
    Ok(Response::new(convert::contract(&contract, &subs)))
}

pub(super) async fn get_contract(
    g: &EntitlementGrpc,
    req: Request<pb::GetContractRequest>,
) -> R<pb::Contract> {
    let caller = caller(&req)?;
    let id = ContractId::parse("name", &req.get_ref().name).map_err(invalid)?;
    let (c, subs) = g.app.contracts().get_contract(&caller, &id).await?;
    Ok(Response::new(convert::contract(&c, &subs)))
}

pub(super) async fn list_contracts(
    g: &EntitlementGrpc,
    req: Request<pb::ListContractsRequest>,
) -> R<pb::ListContractsResponse> {
    let caller = caller(&req)?;
    let r = req.into_inner();
    let account = optional("account", &r.account, AccountId::parse)?;
    let team = optional("team", &r.team, TeamId::parse)?;
    let (rows, next) = g
        .app
        .contracts()
        .list_contracts(
            &caller,
            account.as_ref(),
            team.as_ref(),
            r.page_size,
            &r.page_token,
        )
        .await?;
    Ok(Response::new(pb::ListContractsResponse {
        contracts: rows.iter().map(|(c, s)| convert::contract(c, s)).collect(),
        next_page_token: next,
    }))
}

pub(super) async fn set_software_coordinator(
    g: &EntitlementGrpc,
    req: Request<pb::SetSoftwareCoordinatorRequest>,
) -> R<pb::Contract> {
    let ctx = ctx(&req)?;
    let r = req.get_ref();
    let id = ContractId::parse("contract", &r.contract).map_err(invalid)?;
    let who = AccountId::parse("software_coordinator", &r.software_coordinator).map_err(invalid)?;
    let c = g
        .app
        .contracts()
        .set_software_coordinator(&ctx, &id, &who)
        .await?;
    Ok(Response::new(convert::contract(&c, &[])))
}

pub(super) async fn set_contract_manager(
    g: &EntitlementGrpc,
    req: Request<pb::SetContractManagerRequest>,
) -> R<pb::Contract> {
    let ctx = ctx(&req)?;
    let r = req.get_ref();
    let id = ContractId::parse("contract", &r.contract).map_err(invalid)?;
    let who = AccountId::parse("contract_manager", &r.contract_manager).map_err(invalid)?;
    let c = g
        .app
        .contracts()
        .set_contract_manager(&ctx, &id, &who)
        .await?;
    Ok(Response::new(convert::contract(&c, &[])))
}

pub(super) async fn create_subscription(
    g: &EntitlementGrpc,
    req: Request<pb::CreateSubscriptionRequest>,
) -> R<pb::Subscription> {
    let ctx = ctx(&req)?;
    let r = req.into_inner();
    let key = request_key!(ctx.caller, "CreateSubscription", r).map_err(invalid)?;
    let contract = ContractId::parse("parent", &r.parent).map_err(invalid)?;
    let s = required("subscription", r.subscription)?;
    let product = product_ref("subscription.product", &s.product)?;
    let seats = SeatCount::parse("subscription.seats", s.seats).map_err(invalid)?;
    let (sub, c) = g
        .app
        .contracts()
        .create_subscription(&ctx, &contract, &product, seats, key.as_ref())
        .await?;
    Ok(Response::new(convert::subscription(&sub, &c)))
}

pub(super) async fn get_subscription(
    g: &EntitlementGrpc,
    req: Request<pb::GetSubscriptionRequest>,
) -> R<pb::Subscription> {
    let caller = caller(&req)?;
    let id = SubscriptionId::parse("name", &req.get_ref().name).map_err(invalid)?;
    let (s, c) = g.app.contracts().get_subscription(&caller, &id).await?;
    Ok(Response::new(convert::subscription(&s, &c)))
}

pub(super) async fn list_subscriptions(
    g: &EntitlementGrpc,
    req: Request<pb::ListSubscriptionsRequest>,
) -> R<pb::ListSubscriptionsResponse> {
    let caller = caller(&req)?;
    let r = req.into_inner();
    let team = optional("team", &r.team, TeamId::parse)?;
    let contract = optional("contract", &r.contract, ContractId::parse)?;
    let (rows, next) = g
        .app
        .contracts()
        .list_subscriptions(
            &caller,
            team.as_ref(),
            contract.as_ref(),
            r.page_size,
            &r.page_token,
        )
        .await?;
    Ok(Response::new(pb::ListSubscriptionsResponse {
        subscriptions: rows
            .iter()
            .map(|(s, c)| convert::subscription(s, c))
            .collect(),
        next_page_token: next,
    }))
}

pub(super) async fn add_seats(
    g: &EntitlementGrpc,
    req: Request<pb::AddSeatsRequest>,
) -> R<pb::Subscription> {
    let ctx = ctx(&req)?;
    let r = req.get_ref();
    let id = SubscriptionId::parse("subscription", &r.subscription).map_err(invalid)?;
    let seats = SeatCount::parse("seats", r.seats).map_err(invalid)?;
    let key = request_key!(ctx.caller, "AddSeats", *r).map_err(invalid)?;
    let (s, c) = g
        .app
        .contracts()
        .add_seats(&ctx, &id, seats, key.as_ref())
        .await?;
    Ok(Response::new(convert::subscription(&s, &c)))
}

pub(super) async fn move_subscription(
    g: &EntitlementGrpc,
    req: Request<pb::MoveSubscriptionRequest>,
) -> R<pb::Subscription> {
    let ctx = ctx(&req)?;
    let r = req.get_ref();
    let id = SubscriptionId::parse("subscription", &r.subscription).map_err(invalid)?;
    let target = TeamId::parse("target_team", &r.target_team).map_err(invalid)?;
    let (s, c) = g
        .app
        .contracts()
        .move_subscription(&ctx, &id, &target)
        .await?;
    Ok(Response::new(convert::subscription(&s, &c)))
}
