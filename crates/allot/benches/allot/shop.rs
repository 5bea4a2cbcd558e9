//! What every benchmark stands on: a shop with a product, a contract and
//! members.

use super::*;

/// A shop: a product, a contract with `seats`, and clients.
pub struct Shop {
    pub env: Env,
    pub owner: harness::Person,
    pub team: String,
    pub commerce: Clients,
    pub catalog: Clients,
}

impl Shop {
    pub async fn open(backend: Backend) -> Shop {
        Self::open_with(backend, |_| {}).await
    }

    pub async fn open_with(
        backend: Backend,
        change: impl FnOnce(&mut allot_platform::Config),
    ) -> Shop {
        let env = Env::in_process_with(backend, change).await;
        let catalog = env.service_account(&["catalog"]).await;
        let commerce = env.service_account(&["contracts"]).await;
        let owner = env.person("Owner").await;
        let team = env
            .internal()
            .await
            .team
            .ensure_owner_team(tpb::EnsureOwnerTeamRequest {
                owner: owner.account.clone(),
                always_create: false,
            })
            .await
            .expect("team")
            .into_inner()
            .name;
        Shop {
            env,
            owner,
            team,
            commerce,
            catalog,
        }
    }

    pub async fn product(&self, id: &str, seats: i32) {
        self.catalog
            .clone()
            .entitlement
            .create_product(epb::CreateProductRequest {
                product_id: id.into(),
                product: Some(epb::Product {
                    display_name: id.into(),
                    items: vec![epb::Item {
                        id: "desktop".into(),
                        display_name: "Desktop".into(),
                        kind: epb::ItemKind::Application as i32,
                    }],
                    ..Default::default()
                }),
            })
            .await
            .expect("product");
        self.commerce
            .clone()
            .entitlement
            .create_contract(epb::CreateContractRequest {
                contract: Some(epb::Contract {
                    owner: self.owner.account.clone(),
                    activation_type: epb::ActivationType::SignIn as i32,
                    ..Default::default()
                }),
                subscriptions: vec![epb::Subscription {
                    product: format!("products/{id}"),
                    seats,
                    ..Default::default()
                }],
                request_id: String::new(),
            })
            .await
            .expect("contract");
    }

    /// `count` members of the owner's team, added in one list.
    pub async fn members(&self, count: usize) -> Vec<String> {
        let addresses: Vec<String> = (0..count)
            .map(|i| harness::unique_email(&format!("m{i}")))
            .collect();
        self.owner
            .clients
            .clone()
            .team
            .add_members(tpb::AddMembersRequest {
                parent: self.team.clone(),
                addresses: addresses.join(";"),
                ..Default::default()
            })
            .await
            .expect("members")
            .into_inner()
            .results
            .into_iter()
            .map(|r| r.member.expect("member").account)
            .collect()
    }
}

pub async fn assign_one(
    c: &Clients,
    team: &str,
    account: &str,
    product: &str,
) -> Result<String, tonic::Status> {
    c.clone()
        .entitlement
        .assign_products(epb::AssignProductsRequest {
            parent: team.into(),
            account: account.into(),
            products: vec![epb::ProductSelection {
                product: format!("products/{product}"),
                items: vec![],
            }],
            ..Default::default()
        })
        .await
        .map(|r| {
            r.into_inner().results[0]
                .assignment
                .clone()
                .expect("assignment")
                .name
        })
}
