//! Service logic against a real SQLite database and a team directory
//! answered from memory, so no team server is needed.

use std::collections::HashMap;
use std::sync::Mutex;

use allot_platform::Config;
use allot_platform::auth::{Principal, scopes};
use allot_platform::clock::SystemClock;
use allot_platform::db::Db;
use allot_platform::ids::ServiceAccountId;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::directory::{Added, TeamDirectory};
use crate::domain::{Billing, ContractPlan};

/// Teams and their members, held in memory.
#[derive(Default)]
struct Directory {
    teams: Mutex<HashMap<TeamId, Vec<MemberInfo>>>,
}

impl Directory {
    fn team_of(&self, team: &TeamId) -> Result<Vec<MemberInfo>> {
        self.teams
            .lock()
            .expect("directory")
            .get(team)
            .cloned()
            .ok_or_else(|| EntitlementError::not_found("team", team.name()))
    }
}

#[async_trait::async_trait]
impl TeamDirectory for Directory {
    async fn team_display_name(&self, team: &TeamId) -> Result<String> {
        self.team_of(team).map(|_| format!("Team {team}"))
    }

    async fn members(&self, team: &TeamId, accounts: &[String]) -> Result<Vec<MemberInfo>> {
        Ok(self
            .team_of(team)?
            .into_iter()
            .filter(|m| accounts.contains(&m.account.name()))
            .collect())
    }

    async fn group_members(
        &self,
        team: &TeamId,
        _group: &allot_platform::ids::GroupId,
        _page_token: &str,
    ) -> Result<(Vec<MemberInfo>, String)> {
        self.team_of(team).map(|m| (m, String::new()))
    }

    async fn ensure_owner_team(&self, owner: &AccountId) -> Result<TeamId> {
        let teams = self.teams.lock().expect("directory");
        teams
            .iter()
            .find(|(_, members)| members.iter().any(|m| &m.account == owner && m.admin))
            .map(|(team, _)| team.clone())
            .ok_or_else(|| EntitlementError::not_found("team", owner.name()))
    }

    async fn add_members(
        &self,
        _team: &TeamId,
        _addresses: &str,
        _on_behalf_of: Option<&AccountId>,
    ) -> Result<Vec<Added>> {
        Ok(Vec::new())
    }
}

fn commerce() -> Ctx {
    Ctx {
        caller: Caller {
            principal: Principal::ServiceAccount(ServiceAccountId::from_db("shop".into())),
            actor: None,
            scopes: vec![scopes::CATALOG.into(), scopes::CONTRACTS.into()],
            expires_at: i64::MAX,
            session: None,
        },
        request_id: "test".into(),
    }
}

fn person(account: &AccountId) -> Caller {
    Caller {
        principal: Principal::Account(account.clone()),
        actor: None,
        scopes: Vec::new(),
        expires_at: i64::MAX,
        session: None,
    }
}

/// A running entitlement service on a fresh SQLite database, with `owner`
/// the primary admin of `team`.
async fn service(
    dir: &tempfile::TempDir,
    team: &TeamId,
    owner: &AccountId,
) -> (crate::EntitlementService, CancellationToken) {
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("e.db").display());
    let db = Db::connect(&url, 2).await.expect("sqlite");
    db.migrate(crate::MIGRATIONS).await.expect("migrate");
    let directory = Directory::default();
    directory.teams.lock().expect("directory").insert(
        team.clone(),
        vec![MemberInfo {
            account: owner.clone(),
            email: "owner@example.com".into(),
            admin: true,
        }],
    );
    let service = crate::EntitlementService::build_with_directory(
        &Config::default(),
        db,
        SystemClock::shared(),
        Arc::new(directory),
    )
    .await
    .expect("build");
    let stop = CancellationToken::new();
    service.app.outbox().spawn(stop.clone());
    service.spawn_own(&stop);
    (service, stop)
}

async fn buy(app: &Entitlements, owner: &AccountId, seats: i32) -> Contract {
    let cad = ProductId::from_db("cad".into());
    if app
        .catalog()
        .get_product(&commerce().caller, &cad)
        .await
        .is_err()
    {
        app.catalog()
            .create_product(&commerce(), cad.clone(), "CAD".into(), Vec::new())
            .await
            .expect("product");
    }
    let new = NewContract {
        owner: owner.clone(),
        activation: ActivationType::SignIn,
        serial_number: String::new(),
        plan: ContractPlan::Standard,
        billing: Billing::Term,
        collaboration_site: String::new(),
        sso_enabled: false,
        end_day: None,
    };
    app.contracts()
        .create_contract(
            &commerce(),
            new,
            vec![(cad, SeatCount::parse("seats", seats).unwrap())],
            None,
        )
        .await
        .expect("contract")
        .0
}

#[tokio::test]
async fn r_team_3_a_purchase_lands_in_the_team_the_directory_names() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (team, owner) = (TeamId::generate(), AccountId::generate());
    let (service, stop) = service(&dir, &team, &owner).await;
    let contract = buy(&service.app, &owner, 3).await;
    assert_eq!(contract.team, team);
    let (pool, _, _) = service
        .app
        .pools()
        .get_pool(&person(&owner), &team, &ProductId::from_db("cad".into()))
        .await
        .expect("the admin reads the pool");
    assert_eq!(pool.seats, 3);
    stop.cancel();
}

#[tokio::test]
async fn r_seat_6_the_owner_takes_a_seat_of_their_purchase() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (team, owner) = (TeamId::generate(), AccountId::generate());
    let (service, stop) = service(&dir, &team, &owner).await;
    buy(&service.app, &owner, 2).await;
    let (pool, _, _) = service
        .app
        .pools()
        .get_pool(&person(&owner), &team, &ProductId::from_db("cad".into()))
        .await
        .expect("pool");
    assert_eq!((pool.seats, pool.assigned), (2, 1));
    let answer = service
        .app
        .checks()
        .check(
            &person(&owner),
            &owner,
            &ProductId::from_db("cad".into()),
            false,
        )
        .expect("check");
    assert!(
        matches!(answer, crate::projection::Answer::Allowed { .. }),
        "the owner may launch what they bought"
    );
    stop.cancel();
}

#[tokio::test]
async fn r_role_2_an_outsider_of_the_directory_reads_no_pool() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (team, owner) = (TeamId::generate(), AccountId::generate());
    let (service, stop) = service(&dir, &team, &owner).await;
    buy(&service.app, &owner, 1).await;
    let stranger = AccountId::generate();
    let err = service
        .app
        .pools()
        .get_pool(&person(&stranger), &team, &ProductId::from_db("cad".into()))
        .await
        .expect_err("an outsider");
    assert!(
        matches!(err, EntitlementError::PermissionDenied(_)),
        "{err:?}"
    );
    stop.cancel();
}
