//! The entitlement service's rows of the authorization table, and the products and contracts they act on.

use super::*;

/// Products, a sign-in contract and a classic contract of the primary
/// admin in team A, for the entitlement rows.
pub struct Shelf {
    pub contract: epb::Contract,
    pub classic: epb::Contract,
}

impl World {
    pub async fn stock(&self) -> Shelf {
        for id in ["alpha", "legacy"] {
            self.scoped["catalog"]
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
        }
        let contract = self
            .buy(epb::ActivationType::SignIn, "", "alpha", 10_000)
            .await;
        let classic = self
            .buy(epb::ActivationType::SerialNumber, "SN-A", "legacy", 10)
            .await;
        assert_eq!(contract.team, self.team, "the primary admin's newest team");
        Shelf { contract, classic }
    }

    async fn buy(
        &self,
        activation: epb::ActivationType,
        serial: &str,
        product: &str,
        seats: i32,
    ) -> epb::Contract {
        self.scoped["contracts"]
            .clone()
            .entitlement
            .create_contract(epb::CreateContractRequest {
                contract: Some(epb::Contract {
                    owner: self.primary.account.clone(),
                    activation_type: activation as i32,
                    serial_number: serial.into(),
                    ..Default::default()
                }),
                subscriptions: vec![epb::Subscription {
                    product: format!("products/{product}"),
                    seats,
                    ..Default::default()
                }],
                request_id: String::new(),
            })
            .await
            .expect("contract")
            .into_inner()
    }

    /// A fresh member of team A holding a seat of alpha.
    pub async fn fresh_assignment(&self) -> String {
        let account = self.fresh_member().await;
        self.primary
            .clients
            .clone()
            .entitlement
            .assign_products(epb::AssignProductsRequest {
                parent: self.team.clone(),
                account,
                products: vec![epb::ProductSelection {
                    product: "products/alpha".into(),
                    items: vec![],
                }],
                ..Default::default()
            })
            .await
            .expect("assign")
            .into_inner()
            .results[0]
            .assignment
            .clone()
            .expect("assignment")
            .name
    }
}

pub fn entitlement_cases() -> Vec<Case> {
    vec![
        Case {
            rpc: "EntitlementService.CreateProduct",
            scope: Some("catalog"),
            allowed: SCOPED_SERVICE_ACCOUNT,
            allowed_code: Code::Ok,
            call: call!(|_w, c| ok(c
                .entitlement
                .create_product(epb::CreateProductRequest {
                    product_id: format!("p{}", &allot_platform::ids::new_id()[..24]),
                    product: Some(epb::Product {
                        display_name: "P".into(),
                        items: vec![epb::Item {
                            id: "desktop".into(),
                            display_name: "D".into(),
                            kind: epb::ItemKind::Application as i32
                        }],
                        ..Default::default()
                    }),
                })
                .await)),
        },
        Case {
            rpc: "EntitlementService.PublishRelease",
            scope: Some("catalog"),
            allowed: SCOPED_SERVICE_ACCOUNT,
            allowed_code: Code::Ok,
            call: call!(|w, c| ok(c
                .entitlement
                .publish_release(epb::PublishReleaseRequest {
                    parent: w.shelf().contract.subscriptions[0].product.clone(),
                    release: Some(epb::Release {
                        version: format!("v{}", &allot_platform::ids::new_id()[..24]),
                        ..Default::default()
                    }),
                    ..Default::default()
                })
                .await)),
        },
        Case {
            rpc: "EntitlementService.UpdateProduct",
            scope: Some("catalog"),
            allowed: SCOPED_SERVICE_ACCOUNT,
            allowed_code: Code::Ok,
            call: call!(|_w, c| ok(c
                .entitlement
                .update_product(epb::UpdateProductRequest {
                    product: Some(epb::Product {
                        name: "products/alpha".into(),
                        display_name: "alpha".into(),
                        ..Default::default()
                    }),
                    update_mask: Some(prost_types::FieldMask {
                        paths: vec!["display_name".into()]
                    }),
                })
                .await)),
        },
        Case {
            rpc: "EntitlementService.CreateContract",
            scope: Some("contracts"),
            allowed: SCOPED_SERVICE_ACCOUNT,
            allowed_code: Code::Ok,
            call: call!(|w, c| ok(c
                .entitlement
                .create_contract(epb::CreateContractRequest {
                    contract: Some(epb::Contract {
                        owner: w.primary.account.clone(),
                        activation_type: epb::ActivationType::SignIn as i32,
                        ..Default::default()
                    }),
                    subscriptions: vec![epb::Subscription {
                        product: "products/alpha".into(),
                        seats: 1,
                        ..Default::default()
                    }],
                    request_id: String::new(),
                })
                .await)),
        },
        Case {
            rpc: "EntitlementService.CreateSubscription",
            scope: Some("contracts"),
            allowed: SCOPED_SERVICE_ACCOUNT,
            allowed_code: Code::Ok,
            call: call!(|w, c| ok(c
                .entitlement
                .create_subscription(epb::CreateSubscriptionRequest {
                    parent: w.shelf().contract.name.clone(),
                    subscription: Some(epb::Subscription {
                        product: "products/alpha".into(),
                        seats: 1,
                        ..Default::default()
                    }),
                    ..Default::default()
                })
                .await)),
        },
        Case {
            rpc: "EntitlementService.AddSeats",
            scope: Some("contracts"),
            allowed: SCOPED_SERVICE_ACCOUNT,
            allowed_code: Code::Ok,
            call: call!(|w, c| ok(c
                .entitlement
                .add_seats(epb::AddSeatsRequest {
                    subscription: w.shelf().contract.subscriptions[0].name.clone(),
                    seats: 1,
                    ..Default::default()
                })
                .await)),
        },
        Case {
            rpc: "EntitlementService.SetSoftwareCoordinator",
            scope: Some("contracts"),
            // The contract manager only: the primary admin owns it here.
            allowed: &[Who::PrimaryAdmin],
            allowed_code: Code::Ok,
            call: call!(|w, c| ok(c
                .entitlement
                .set_software_coordinator(epb::SetSoftwareCoordinatorRequest {
                    contract: w.shelf().classic.name.clone(),
                    software_coordinator: w.primary.account.clone(),
                })
                .await)),
        },
        Case {
            rpc: "EntitlementService.SetContractManager",
            scope: Some("contracts"),
            // R-CLS-1: the contract manager, or commerce for a reseller.
            allowed: &[Who::PrimaryAdmin, Who::ServiceAccountWithScope],
            allowed_code: Code::Ok,
            call: call!(|w, c| ok(c
                .entitlement
                .set_contract_manager(epb::SetContractManagerRequest {
                    contract: w.shelf().classic.name.clone(),
                    contract_manager: w.primary.account.clone(),
                })
                .await)),
        },
        Case {
            rpc: "EntitlementService.MoveSubscription",
            scope: Some("contracts"),
            allowed: &[Who::PrimaryAdmin],
            allowed_code: Code::Ok,
            call: call!(|w, c| {
                // Contracts land in the owner's newest team, and the first
                // one there gives the owner a seat (R-SEAT-6): buy twice so
                // the seat comes out of the first and the second can move.
                w.buy(epb::ActivationType::SignIn, "", "alpha", 1).await;
                let fresh = w.buy(epb::ActivationType::SignIn, "", "alpha", 1).await;
                // R-TEAM-4: into another team the owner administers.
                let target = w
                    .primary
                    .clients
                    .clone()
                    .team
                    .create_team(tpb::CreateTeamRequest {
                        team: Some(tpb::Team {
                            display_name: "Team A2".into(),
                            ..Default::default()
                        }),
                        ..Default::default()
                    })
                    .await
                    .expect("another team of the owner's")
                    .into_inner()
                    .name;
                ok(c.entitlement
                    .move_subscription(epb::MoveSubscriptionRequest {
                        subscription: fresh.subscriptions[0].name.clone(),
                        target_team: target,
                    })
                    .await)
            }),
        },
        Case {
            rpc: "EntitlementService.AssignProducts",
            scope: Some("contracts"),
            allowed: TEAM_ADMINS,
            allowed_code: Code::Ok,
            call: call!(|w, c| {
                let account = w.fresh_member().await;
                ok(c.entitlement
                    .assign_products(epb::AssignProductsRequest {
                        parent: w.team.clone(),
                        account,
                        products: vec![epb::ProductSelection {
                            product: "products/alpha".into(),
                            items: vec![],
                        }],
                        ..Default::default()
                    })
                    .await)
            }),
        },
        Case {
            rpc: "EntitlementService.ImportAssignments (validate only)",
            scope: Some("contracts"),
            allowed: TEAM_ADMINS,
            allowed_code: Code::Ok,
            call: call!(|w, c| ok(c
                .entitlement
                .import_assignments(epb::ImportAssignmentsRequest {
                    parent: w.team.clone(),
                    csv: format!("email,product\n{},alpha\n", w.user.email).into_bytes(),
                    validate_only: true,
                    ..Default::default()
                })
                .await)),
        },
        Case {
            // R-CLS-7: a classic contract's access is the manager's (here
            // the primary admin) and the coordinator's alone.
            rpc: "EntitlementService.AssignProducts (classic)",
            scope: Some("contracts"),
            allowed: &[Who::PrimaryAdmin, Who::Coordinator],
            allowed_code: Code::Ok,
            call: call!(|w, c| {
                // Earlier rows appoint others; Cory coordinates again.
                w.primary
                    .clients
                    .clone()
                    .entitlement
                    .set_software_coordinator(epb::SetSoftwareCoordinatorRequest {
                        contract: w.shelf().classic.name.clone(),
                        software_coordinator: w.coordinator.account.clone(),
                    })
                    .await
                    .expect("appoint the coordinator");
                let account = w.fresh_member().await;
                ok(c.entitlement
                    .assign_products(epb::AssignProductsRequest {
                        parent: w.team.clone(),
                        account,
                        products: vec![epb::ProductSelection {
                            product: "products/legacy".into(),
                            items: vec![],
                        }],
                        ..Default::default()
                    })
                    .await)
            }),
        },
        Case {
            rpc: "EntitlementService.AssignUsers",
            scope: Some("contracts"),
            allowed: TEAM_ADMINS,
            allowed_code: Code::Ok,
            call: call!(|w, c| {
                let account = w.fresh_member().await;
                ok(c.entitlement
                    .assign_users(epb::AssignUsersRequest {
                        parent: w.team.clone(),
                        product: "products/alpha".into(),
                        items: vec![],
                        accounts: vec![account],
                        ..Default::default()
                    })
                    .await)
            }),
        },
        Case {
            rpc: "EntitlementService.CreateGroupAssignment",
            scope: Some("contracts"),
            allowed: TEAM_ADMINS,
            allowed_code: Code::Ok,
            call: call!(|w, c| {
                let group = w.fresh_group().await;
                ok(c.entitlement
                    .create_group_assignment(epb::CreateGroupAssignmentRequest {
                        parent: w.team.clone(),
                        group_assignment: Some(epb::GroupAssignment {
                            group,
                            product: "products/alpha".into(),
                            ..Default::default()
                        }),
                        ..Default::default()
                    })
                    .await)
            }),
        },
        Case {
            rpc: "EntitlementService.DeleteGroupAssignment",
            scope: Some("contracts"),
            allowed: TEAM_ADMINS,
            allowed_code: Code::Ok,
            call: call!(|w, c| {
                let group = w.fresh_group().await;
                let ga = w
                    .primary
                    .clients
                    .clone()
                    .entitlement
                    .create_group_assignment(epb::CreateGroupAssignmentRequest {
                        parent: w.team.clone(),
                        group_assignment: Some(epb::GroupAssignment {
                            group,
                            product: "products/alpha".into(),
                            ..Default::default()
                        }),
                        ..Default::default()
                    })
                    .await
                    .expect("group assignment")
                    .into_inner()
                    .group_assignment
                    .expect("group assignment");
                ok(c.entitlement
                    .delete_group_assignment(epb::DeleteGroupAssignmentRequest { name: ga.name })
                    .await)
            }),
        },
        Case {
            rpc: "EntitlementService.UpdateAssignment",
            scope: Some("contracts"),
            allowed: TEAM_ADMINS,
            allowed_code: Code::Ok,
            call: call!(|w, c| {
                let name = w.fresh_assignment().await;
                ok(c.entitlement
                    .update_assignment(epb::UpdateAssignmentRequest {
                        assignment: Some(epb::Assignment {
                            name,
                            items: vec!["desktop".into()],
                            ..Default::default()
                        }),
                        update_mask: None,
                    })
                    .await)
            }),
        },
        Case {
            rpc: "EntitlementService.DeleteAssignment",
            scope: Some("contracts"),
            allowed: TEAM_ADMINS,
            allowed_code: Code::Ok,
            call: call!(|w, c| {
                let name = w.fresh_assignment().await;
                ok(c.entitlement
                    .delete_assignment(epb::DeleteAssignmentRequest { name })
                    .await)
            }),
        },
        Case {
            rpc: "EntitlementService.CheckEntitlement (with usage)",
            scope: Some("entitlements.check"),
            // A person about themselves; licensing back ends with the scope.
            allowed: &[Who::User, Who::ServiceAccountWithScope],
            allowed_code: Code::Ok,
            call: call!(|w, c| ok(c
                .entitlement
                .check_entitlement(epb::CheckEntitlementRequest {
                    account: w.user.account.clone(),
                    product: "products/alpha".into(),
                    record_usage: true,
                })
                .await)),
        },
    ]
}
