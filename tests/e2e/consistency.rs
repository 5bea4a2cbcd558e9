//! Entitlement authorizes from its own copy of the team directory, kept
//! from team's events. A caller who has seen a team change passes its
//! cursor (`x-allot-team-cursor`, from the change's `x-allot-cursor`) and
//! is answered only once the copy has it: a role just taken away is never
//! honoured for them, even while team's events are held up.

use allot_platform::testing::Backend;
use allot_proto::entitlement as epb;
use allot_proto::team as tpb;
use tonic::Code;

use crate::entitlement::Shop;
use allot::ServiceKind;

use crate::harness::{Env, Gate};

/// `request` with the team cursor a caller saw.
fn after<T>(request: T, cursor: &str) -> tonic::Request<T> {
    let mut r = tonic::Request::new(request);
    r.metadata_mut()
        .insert("x-allot-team-cursor", cursor.parse().expect("ascii"));
    r
}

/// The cursor a team write answered with.
fn cursor_of<T>(answer: &tonic::Response<T>) -> String {
    answer
        .metadata()
        .get("x-allot-cursor")
        .and_then(|v| v.to_str().ok())
        .expect("a team write answers with its cursor")
        .to_owned()
}

/// Gives `account` `role` in `team`, answering with team's answer.
async fn set_role(
    by: &crate::harness::Clients,
    team: &str,
    account: &str,
    role: tpb::Role,
) -> Result<tonic::Response<tpb::Member>, tonic::Status> {
    by.team
        .clone()
        .update_member(tpb::UpdateMemberRequest {
            member: Some(tpb::Member {
                name: format!("{team}/members/{}", account.trim_start_matches("accounts/")),
                role: role as i32,
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["role".into()],
            }),
        })
        .await
}

/// R-ROLE-2: a secondary admin demoted to user assigns no more seats once
/// the caller passes the demotion's cursor: while team's events cannot
/// reach entitlement the call waits and answers UNAVAILABLE (never
/// honouring the old role); once they arrive it is PERMISSION_DENIED.
async fn r_role_2_a_role_taken_away_is_never_honoured_after_its_cursor(backend: Backend) {
    let mut shop = Shop::on(Env::processes(backend, &[]).await).await;
    // Entitlement reaches team through a gate the test can close.
    let team_url = shop.env.urls.team.trim_start_matches("http://").to_owned();
    let gate = Gate::start(team_url).await;
    let gated = format!("http://127.0.0.1:{}", gate.port);
    shop.env
        .restart_with(
            ServiceKind::Entitlement,
            &[("ALLOT_PEERS__TEAM", gated.as_str())],
        )
        .await;
    shop.product("rw").await;
    let team = shop.sign_in(&[("rw", 5)]).await.team;
    let owner = shop.owner.clients.clone();
    let ada = shop.member(&owner, &team, "Ada").await;
    let bob = shop.member(&owner, &team, "Bob").await;
    let cy = shop.member(&owner, &team, "Cy").await;
    let promoted = set_role(&owner, &team, &ada.account, tpb::Role::SecondaryAdmin)
        .await
        .expect("promote");
    let assign = |cursor: String| {
        let mut ada = ada.clients.entitlement.clone();
        let (team, bob) = (team.clone(), bob.account.clone());
        async move {
            ada.assign_products(after(
                epb::AssignProductsRequest {
                    parent: team,
                    account: bob,
                    products: vec![epb::ProductSelection {
                        product: "products/rw".into(),
                        items: Vec::new(),
                    }],
                    ..Default::default()
                },
                &cursor,
            ))
            .await
        }
    };
    // With the promotion's cursor she is an admin at once.
    assign(cursor_of(&promoted))
        .await
        .expect("a fresh secondary admin assigns");

    // Team's events stop reaching entitlement; team demotes her.
    gate.close().await;
    let demoted = set_role(&owner, &team, &ada.account, tpb::Role::User)
        .await
        .expect("demote");
    let seen = cursor_of(&demoted);
    let held = assign(seen.clone()).await.expect_err("not honoured");
    assert_eq!(held.code(), Code::Unavailable, "{held:?}");
    assert!(
        held.message().contains("has not yet seen the team changes"),
        "the call waited for the demotion to reach the copy: {held:?}"
    );
    let pool = crate::entitlement::pool(&owner, &team, "rw").await;
    assert_eq!(
        pool.assigned, 2,
        "the owner's seat and Bob's only: {pool:?}"
    );
    // Team is out of reach, yet the owner still assigns: entitlement
    // authorizes from its copy, not by asking team.
    owner
        .entitlement
        .clone()
        .assign_products(epb::AssignProductsRequest {
            parent: team.clone(),
            account: cy.account.clone(),
            products: vec![epb::ProductSelection {
                product: "products/rw".into(),
                items: Vec::new(),
            }],
            ..Default::default()
        })
        .await
        .expect("the copy answers while team is unreachable");

    // The events arrive (the consumer reconnects with its backoff): the
    // demotion is in force.
    gate.reopen();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let refused = loop {
        let e = assign(seen.clone())
            .await
            .expect_err("a user assigns nothing");
        if e.code() != Code::Unavailable || std::time::Instant::now() > deadline {
            break e;
        }
    };
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");

    // A cursor that is not one is refused naming the header.
    let bad = assign("soon".into()).await.expect_err("bad cursor");
    assert_eq!(bad.code(), Code::InvalidArgument, "{bad:?}");
    shop.env.shutdown().await;
}
crate::on_both_backends!(r_role_2_a_role_taken_away_is_never_honoured_after_its_cursor);
