//! Classic user management in the browser (R-CLS-1, R-CLS-7): the contract
//! manager appoints a software coordinator and gives a member access to
//! the contract's product with chosen services and support benefits.

use allot_platform::testing::Backend;

use super::{admin_account, admin_signs_in, assert_accessible, first_team_id, squash};
use crate::entitlement::{Shop, classic_contract};
use crate::harness::{Browser, Env};

/// R-CLS-1: the contract manager (the administrator, who owns it) appoints
/// a coordinator by email, and gives another member the application and
/// support but not the cloud service; an email that is no member's is
/// refused beside its field.
async fn r_cls_1_console_the_manager_appoints_a_coordinator_and_grants_access(backend: Backend) {
    let shop = Shop::on(Env::with_console(backend).await).await;
    let env = &shop.env;
    shop.product("cls").await;
    let owner = admin_account(env).await;
    let contract = shop
        .buy(&owner, classic_contract("SN-4711"), &[("cls", 2)])
        .await;
    let contract_id = contract.name.trim_start_matches("contracts/").to_owned();
    let team = first_team_id(env).await;
    let coordinator = env.person("Cora").await;
    let user = env.person("Uli").await;

    let b = Browser::start("r_cls_1_classic").await;
    admin_signs_in(&b, env).await;
    b.open(&format!("{}/teams/{team}/classic", env.console_url()))
        .await;
    let list = squash(&b.wait_text("SN-4711").await);
    assert!(list.contains("SN-4711 Product cls 2"), "{list}");
    b.shot("classic").await;
    assert_accessible(&b).await;
    b.click(&format!("a[href$='/classic/{contract_id}']")).await;
    b.wait_text("Contract SN-4711").await;

    b.fill("#coordinator-email", "nobody@example.com").await;
    b.click("#coordinator button[type=submit]").await;
    b.wait_text("Is not the email of a member of this team")
        .await;
    b.fill("#coordinator-email", &coordinator.email).await;
    b.click("#coordinator button[type=submit]").await;
    b.wait_text("The software coordinator is changed").await;
    let facts = squash(&b.text_of("dl.facts").await);
    assert!(
        facts.contains(&format!("Software coordinator {}", coordinator.email)),
        "{facts}"
    );

    let grant = "#grant-cls";
    b.fill(&format!("{grant} input[name=email]"), &user.email)
        .await;
    b.click(&format!("{grant} input[name=items][value=render]"))
        .await;
    b.click(&format!("{grant} button[type=submit]")).await;
    b.wait_text("Assigned.").await;
    let mine = b
        .client()
        .execute(
            "const f = [...document.querySelectorAll('form[id^=access-]')].find(f => f.textContent.includes(arguments[0]));
             return [...f.querySelectorAll('input[name=items]:checked')].map(i => i.value);",
            vec![serde_json::json!(user.email)],
        )
        .await
        .expect("items");
    assert_eq!(
        mine,
        serde_json::json!(["desktop", "support"]),
        "the application and support, not the cloud service"
    );
    b.shot("contract").await;
    assert_accessible(&b).await;
    b.close().await;
    shop.env.shutdown().await;
}
crate::on_both_backends!(r_cls_1_console_the_manager_appoints_a_coordinator_and_grants_access);
