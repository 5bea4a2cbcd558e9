//! By User: the team's members with their status (R-INV-7), role and
//! guest flag (R-ROLE-7), found by a search and paged; inviting one
//! person (R-INV-1) or several at once (R-INV-4); the user export
//! (R-USE-3). Importing a CSV file is in `imports.rs`.

use allot_proto::team as tpb;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use futures::StreamExt;
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::{S, TeamPage, acting, fail, role_words, seconds};
use crate::form::Posted;
use crate::refusal::Refusal;
use crate::render::{done, download, page, refused};
use crate::session::Visit;

/// Members on one page.
pub const PAGE_SIZE: i32 = 50;

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    /// `include` (default), `exclude` or `only`.
    #[serde(default)]
    guests: String,
    #[serde(default)]
    page: String,
    /// The position of the page's first member (for "51–100 of 5,000").
    #[serde(default)]
    from: i32,
}

/// A member as a row shows them.
#[derive(Serialize)]
pub struct MemberRow {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: &'static str,
    pub admin: bool,
    pub guest: bool,
    /// `active`, `invited` or `expired`.
    pub status: &'static str,
    pub expires: i64,
}

impl MemberRow {
    pub fn of(m: &tpb::Member) -> MemberRow {
        let status = match tpb::MemberState::try_from(m.state) {
            Ok(tpb::MemberState::Active) => "active",
            Ok(tpb::MemberState::InvitationExpired) => "expired",
            _ => "invited",
        };
        MemberRow {
            id: m.account.trim_start_matches("accounts/").to_owned(),
            name: format!("{} {}", m.given_name, m.family_name)
                .trim()
                .to_owned(),
            email: m.email.clone(),
            role: role_words(m.role),
            admin: super::is_admin(m.role),
            guest: m.guest,
            status,
            expires: seconds(m.invitation_expire_time.as_ref()),
        }
    }
}

fn guest_filter(s: &str) -> tpb::GuestFilter {
    match s {
        "exclude" => tpb::GuestFilter::Exclude,
        "only" => tpb::GuestFilter::Only,
        _ => tpb::GuestFilter::Include,
    }
}

pub async fn list(
    State(shared): S,
    visit: Visit,
    Path(team): Path<String>,
    Query(q): Query<ListQuery>,
) -> Response {
    let mut t = match TeamPage::open(&shared, visit, &team, "By User", "users", true).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let answer = t
        .calls
        .team
        .list_members(tpb::ListMembersRequest {
            parent: t.name.clone(),
            page_size: PAGE_SIZE,
            page_token: q.page.clone(),
            guests: guest_filter(&q.guests) as i32,
            query: q.q.clone(),
        })
        .await;
    let (rows, next, total, search_error) = match answer {
        Ok(r) => {
            let r = r.into_inner();
            (
                r.members.iter().map(MemberRow::of).collect::<Vec<_>>(),
                r.next_page_token,
                r.total_size,
                None,
            )
        }
        Err(s) if s.code() == tonic::Code::InvalidArgument => (
            Vec::new(),
            String::new(),
            0,
            Some(Refusal::from_status(&s, &[("query", "q")])),
        ),
        Err(s) => return fail(&s),
    };
    let from = q.from.clamp(0, 1_000_000);
    page(
        &t.visit,
        &t.chrome,
        "users.html",
        context! {
            members => rows,
            q => q.q,
            guests => match guest_filter(&q.guests) {
                tpb::GuestFilter::Exclude => "exclude",
                tpb::GuestFilter::Only => "only",
                _ => "include",
            },
            next => next,
            first => from + 1,
            last => from + rows_len(&next, from, total),
            next_from => from + PAGE_SIZE,
            total => total,
            search_error => search_error,
            is_paged => !q.page.is_empty(),
        },
    )
}

/// The position of a page's last member.
fn rows_len(next: &str, from: i32, total: i32) -> i32 {
    if next.is_empty() {
        (total - from).max(0)
    } else {
        PAGE_SIZE
    }
}

#[derive(Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    given_name: String,
    #[serde(default)]
    family_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    guest: Option<String>,
    #[serde(default)]
    request_id: String,
}

fn role_of(s: &str) -> tpb::Role {
    match s {
        "secondary-admin" => tpb::Role::SecondaryAdmin,
        "sso-admin" => tpb::Role::SsoAdmin,
        _ => tpb::Role::User,
    }
}

/// R-INV-1: invites one person (or adds an existing account, who is
/// invited the same way).
pub async fn invite(
    State(shared): S,
    visit: Visit,
    Path(team): Path<String>,
    Posted(f): Posted<InviteForm>,
) -> Response {
    let (_, mut calls) = match acting(&shared, &visit) {
        Ok(a) => a,
        Err(to) => return to,
    };
    if !super::id_ok(&team) {
        return super::not_found();
    }
    let back = format!("/teams/{team}/users");
    let answer = calls
        .team
        .add_member(tpb::AddMemberRequest {
            parent: format!("teams/{team}"),
            who: Some(tpb::add_member_request::Who::Person(tpb::Person {
                given_name: f.given_name.clone(),
                family_name: f.family_name.clone(),
                email: f.email.clone(),
            })),
            role: role_of(&f.role) as i32,
            guest: f.guest.is_some(),
            request_id: f.request_id.clone(),
        })
        .await;
    match answer {
        Ok(m) => {
            let m = m.into_inner();
            done(
                &visit,
                &back,
                "ok",
                format!("Invited {}. The invitation email is on its way.", m.email),
            )
        }
        Err(s) => {
            let r = Refusal::from_status(
                &s,
                &[
                    ("person.given_name", "given_name"),
                    ("person.family_name", "family_name"),
                    ("person.email", "email"),
                    ("person", "email"),
                    ("role", "role"),
                    ("guest", "guest"),
                ],
            );
            refused(
                &visit,
                &back,
                "invite",
                &r,
                &[
                    ("given_name", &f.given_name),
                    ("family_name", &f.family_name),
                    ("email", &f.email),
                ],
            )
        }
    }
}

#[derive(Deserialize)]
pub struct InviteManyForm {
    #[serde(default)]
    addresses: String,
    #[serde(default)]
    request_id: String,
}

#[derive(Serialize)]
struct Outcome {
    input: String,
    /// `invited`, `added`, `already` or `invalid`.
    outcome: &'static str,
    reason: String,
}

/// R-INV-4: a semicolon list (or `Name <email>` pasted from a mail
/// client); each address gets its own outcome.
pub async fn invite_many(
    State(shared): S,
    visit: Visit,
    Path(team): Path<String>,
    Posted(f): Posted<InviteManyForm>,
) -> Response {
    let mut t = match TeamPage::open(&shared, visit, &team, "Invitations sent", "users", true).await
    {
        Ok(t) => t,
        Err(r) => return r,
    };
    let answer = t
        .calls
        .team
        .add_members(tpb::AddMembersRequest {
            parent: t.name.clone(),
            addresses: f.addresses.clone(),
            request_id: f.request_id.clone(),
            ..Default::default()
        })
        .await;
    match answer {
        Ok(r) => {
            let outcomes: Vec<Outcome> = r
                .into_inner()
                .results
                .into_iter()
                .map(|r| Outcome {
                    outcome: match tpb::AddMemberOutcome::try_from(r.outcome) {
                        Ok(tpb::AddMemberOutcome::Invited) => "invited",
                        Ok(tpb::AddMemberOutcome::Added) => "added",
                        Ok(tpb::AddMemberOutcome::AlreadyMember) => "already",
                        _ => "invalid",
                    },
                    reason: r
                        .violations
                        .iter()
                        .map(|v| v.description.clone())
                        .collect::<Vec<_>>()
                        .join("; "),
                    input: r.input,
                })
                .collect();
            page(
                &t.visit,
                &t.chrome,
                "invited.html",
                context! { outcomes => outcomes },
            )
        }
        Err(s) => {
            let r = Refusal::from_status(&s, &[("addresses", "addresses")]);
            let back = t.path("users");
            refused(
                &t.visit,
                &back,
                "invite-many",
                &r,
                &[("addresses", &f.addresses)],
            )
        }
    }
}

#[derive(Deserialize, Default)]
pub struct ExportQuery {
    #[serde(default)]
    products: Option<String>,
    #[serde(default)]
    guests: String,
}

/// R-USE-3: the member list as CSV, cells safe from spreadsheet formulas
/// (the service writes them so).
pub async fn export(
    State(shared): S,
    visit: Visit,
    Path(team): Path<String>,
    Query(q): Query<ExportQuery>,
) -> Response {
    let (_, mut calls) = match acting(&shared, &visit) {
        Ok(a) => a,
        Err(to) => return to,
    };
    if !super::id_ok(&team) {
        return super::not_found();
    }
    let stream = calls
        .team
        .export_members(tpb::ExportMembersRequest {
            parent: format!("teams/{team}"),
            guests: guest_filter(&q.guests) as i32,
            include_products: q.products.is_some(),
        })
        .await;
    let mut stream = match stream {
        Ok(s) => s.into_inner(),
        Err(s) => return fail(&s),
    };
    let mut csv = Vec::new();
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(c) => csv.extend_from_slice(&c.chunk),
            Err(s) => return fail(&s),
        }
    }
    download("users.csv", "text/csv; charset=utf-8", csv)
}
