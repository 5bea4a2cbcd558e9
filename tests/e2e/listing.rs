//! What lists tell the console: members found by email or name (By User's
//! search: `ListMembers.query`, case-insensitive, with the guest filter,
//! R-ROLE-7, and a total for paging), and a person's role in each of their
//! teams (`ListTeams`, for the team switcher).

use allot_platform::testing::Backend;
use allot_proto::team as tpb;
use tonic::Code;
use tonic_types::StatusExt;

use crate::harness::{Clients, Env};

async fn search(
    admin: &mut Clients,
    team: &str,
    query: &str,
    guests: tpb::GuestFilter,
    page_size: i32,
    page_token: &str,
) -> Result<tpb::ListMembersResponse, tonic::Status> {
    admin
        .team
        .list_members(tpb::ListMembersRequest {
            parent: team.into(),
            page_size,
            page_token: page_token.into(),
            guests: guests as i32,
            query: query.into(),
        })
        .await
        .map(tonic::Response::into_inner)
}

fn emails(r: &tpb::ListMembersResponse) -> Vec<String> {
    r.members.iter().map(|m| m.email.clone()).collect()
}

/// R-ROLE-7: a search matches email, given and family name (also "given
/// family"), ignores case, takes `%` and `_` literally, respects the guest
/// filter, counts all matches and pages through them.
async fn r_role_7_admins_search_members_by_email_or_name(backend: Backend) {
    let env = Env::in_process(backend).await;
    let mut admin = env.admin().await;
    let team = env.first_team().await.name;
    let run = allot_platform::ids::new_id().to_lowercase();
    let list = format!(
        "Ada Lovelace <ada.{run}@example.com>; Grace Hopper <grace.{run}@example.com>; \
         Alan Turing <alan_{run}@example.com>; Adaline Byron <byron.{run}@example.com>"
    );
    let added = admin
        .team
        .add_members(tpb::AddMembersRequest {
            parent: team.clone(),
            addresses: list,
            ..Default::default()
        })
        .await
        .expect("add members")
        .into_inner();
    assert!(
        added.results.iter().all(|r| r.member.is_some()),
        "{added:?}"
    );
    let grace = added.results[1].member.clone().expect("grace");
    admin
        .team
        .update_member(tpb::UpdateMemberRequest {
            member: Some(tpb::Member {
                name: grace.name.clone(),
                guest: true,
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["guest".into()],
            }),
        })
        .await
        .expect("grace is a guest");

    let include = tpb::GuestFilter::Include;
    let by_email = search(&mut admin, &team, &format!("GRACE.{run}"), include, 0, "")
        .await
        .expect("by email");
    assert_eq!(emails(&by_email), [format!("grace.{run}@example.com")]);
    assert_eq!(by_email.total_size, 1);

    // "ada" is in Ada's email and name and in Adaline's given name.
    let by_name = search(&mut admin, &team, "ada", include, 0, "")
        .await
        .expect("by name");
    let found = emails(&by_name);
    assert!(
        found.contains(&format!("ada.{run}@example.com")),
        "{found:?}"
    );
    assert!(
        found.contains(&format!("byron.{run}@example.com")),
        "{found:?}"
    );
    assert!(!found.iter().any(|e| e.starts_with("grace")), "{found:?}");

    let full_name = search(&mut admin, &team, "ada lovelace", include, 0, "")
        .await
        .expect("full name");
    assert_eq!(emails(&full_name), [format!("ada.{run}@example.com")]);

    // `_` is a letter to search for, not a wildcard: only Alan's address
    // has one right after his name.
    let literal = search(&mut admin, &team, &format!("n_{run}"), include, 0, "")
        .await
        .expect("underscore");
    assert_eq!(emails(&literal), [format!("alan_{run}@example.com")]);
    let percent = search(&mut admin, &team, "%", include, 0, "")
        .await
        .expect("percent");
    assert!(percent.members.is_empty(), "{percent:?}");

    let members_only = search(&mut admin, &team, &run, tpb::GuestFilter::Exclude, 0, "")
        .await
        .expect("without guests");
    assert_eq!(members_only.total_size, 3);
    assert!(!emails(&members_only).iter().any(|e| e.starts_with("grace")));

    // Pages of one, each with the same query, find all four once.
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = search(&mut admin, &team, &run, include, 1, &token)
            .await
            .expect("page");
        assert_eq!(page.total_size, 4);
        seen.extend(emails(&page));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 4, "{seen:?}");

    let long = search(&mut admin, &team, &"a".repeat(101), include, 0, "")
        .await
        .expect_err("too long");
    assert_eq!(long.code(), Code::InvalidArgument);
    let fields: Vec<String> = long
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default();
    assert_eq!(fields, ["query"]);
    env.shutdown().await;
}
crate::on_both_backends!(r_role_7_admins_search_members_by_email_or_name);

/// R-ROLE-2: each team a person lists comes with their role in it, so a
/// console knows where they are an admin without asking team by team.
async fn r_role_2_listed_teams_carry_the_persons_role_in_each(backend: Backend) {
    let env = Env::in_process(backend).await;
    let first = env.first_team().await.name;
    let person = env.person("Rolf").await;
    let mut admin = env.admin().await;
    let second = crate::teams::new_team(&mut admin, "Second").await.name;
    crate::teams::add_account(
        &mut admin,
        &second,
        &person.account,
        tpb::Role::SecondaryAdmin,
        false,
    )
    .await
    .expect("add as a secondary admin");
    let mut theirs = person.clients.clone();
    let teams = theirs
        .team
        .list_teams(tpb::ListTeamsRequest::default())
        .await
        .expect("teams")
        .into_inner()
        .teams;
    let role_in = |name: &str| {
        teams
            .iter()
            .find(|t| t.name == name)
            .map(|t| t.member_role)
            .unwrap_or_else(|| panic!("{name} listed: {teams:?}"))
    };
    assert_eq!(role_in(&second), tpb::Role::SecondaryAdmin as i32);
    assert_eq!(role_in(&first), tpb::Role::User as i32);
    env.shutdown().await;
}
crate::on_both_backends!(r_role_2_listed_teams_carry_the_persons_role_in_each);
