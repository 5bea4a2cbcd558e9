//! The pages, one file per part of the console; each handler reads the
//! visit, calls the API as the signed-in person, and renders or redirects.

pub mod accept;
pub mod classic;
pub mod groups;
pub mod imports;
pub mod mine;
pub mod password;
pub mod products;
pub mod reports;
pub mod settings;
pub mod sign_in;
pub mod user;
pub mod users;

use std::sync::Arc;

use allot_proto::team as tpb;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use tonic::{Code, Status};

use crate::Shared;
use crate::api::Calls;
use crate::refusal::Refusal;
use crate::render::{Chrome, TeamLink, refusal_page, signed_out};
use crate::session::{User, Visit};

pub type S = axum::extract::State<Arc<Shared>>;

pub fn routes(shared: Arc<Shared>) -> Router {
    let upload_limit = DefaultBodyLimit::max(shared.max_upload + 64 * 1024);
    Router::new()
        .route("/", get(home))
        .route("/sign-in", get(sign_in::show).post(sign_in::submit))
        .route("/sign-out", post(sign_in::sign_out))
        .route(
            "/invitations/accept",
            get(accept::show).post(accept::submit),
        )
        .route(
            "/password/forgot",
            get(password::forgot).post(password::request),
        )
        .route("/password/reset", get(password::reset).post(password::set))
        .route(
            "/account/password",
            get(password::change).post(password::save),
        )
        .route("/me/products", get(mine::show))
        .route("/teams/switch", get(settings::switch))
        .route("/teams/new", post(settings::create))
        .route("/teams/{team}", get(team_home))
        .route("/teams/{team}/users", get(users::list))
        .route("/teams/{team}/users/invite", post(users::invite))
        .route("/teams/{team}/users/invite-many", post(users::invite_many))
        .route(
            "/teams/{team}/users/import",
            post(imports::import_members).layer(upload_limit),
        )
        .route("/teams/{team}/users/export.csv", get(users::export))
        .route("/teams/{team}/users/{account}", get(user::show))
        .route("/teams/{team}/users/{account}/{action}", post(user::act))
        .route("/teams/{team}/imports/{kind}/{op}", get(imports::show))
        .route(
            "/teams/{team}/imports/{kind}/{op}/progress",
            get(imports::progress),
        )
        .route("/teams/{team}/products", get(products::list))
        .route(
            "/teams/{team}/products/import",
            post(imports::import_assignments).layer(upload_limit),
        )
        .route("/teams/{team}/products/{product}", get(products::show))
        .route(
            "/teams/{team}/products/{product}/{action}",
            post(products::act),
        )
        .route(
            "/teams/{team}/groups",
            get(groups::list).post(groups::create),
        )
        .route("/teams/{team}/groups/{group}", get(groups::show))
        .route("/teams/{team}/groups/{group}/{action}", post(groups::act))
        .route("/teams/{team}/classic", get(classic::list))
        .route("/teams/{team}/classic/{contract}", get(classic::show))
        .route(
            "/teams/{team}/classic/{contract}/{action}",
            post(classic::act),
        )
        .route("/teams/{team}/settings", get(settings::show))
        .route("/teams/{team}/settings/{action}", post(settings::act))
        .route("/teams/{team}/reports", get(reports::show))
        .route("/teams/{team}/reports/usage.csv", get(reports::usage_csv))
        .fallback(|| async {
            refusal_page(
                StatusCode::NOT_FOUND,
                "Page not found",
                "There is no such page. Use the menu to find your way.",
            )
        })
        .layer(DefaultBodyLimit::max(crate::form::FORM_LIMIT))
        .with_state(shared)
}

/// The first page: an admin's first team, else the person's products.
async fn home(axum::extract::State(shared): S, visit: Visit) -> Response {
    let Ok((_, calls)) = acting(&shared, &visit) else {
        return Redirect::to("/sign-in").into_response();
    };
    match admin_teams(&calls, &visit).await {
        Ok(teams) if !teams.is_empty() => {
            Redirect::to(&format!("/teams/{}/users", teams[0].id)).into_response()
        }
        Ok(_) => Redirect::to("/me/products").into_response(),
        Err(s) => fail(&s),
    }
}

async fn team_home(axum::extract::Path(team): axum::extract::Path<String>) -> Response {
    if !id_ok(&team) {
        return not_found();
    }
    Redirect::to(&format!("/teams/{team}/users")).into_response()
}

/// The signed-in person and clients acting as them; else to sign in.
pub fn acting(shared: &Shared, visit: &Visit) -> Result<(User, Calls), Response> {
    match visit.user() {
        Some(u) => Ok((u.clone(), shared.api.calls(Some(&u.token), &visit.address))),
        None => Err(Redirect::to("/sign-in").into_response()),
    }
}

/// An id from the address bar or a form, as the services accept one
/// (lowercase letters, digits, `-`, `_`; at most 64): nothing else goes
/// into a resource name.
pub fn id_ok(id: &str) -> bool {
    allot_platform::ids::valid_segment(id)
}

/// Ids a form sent: each empty or an id ([`id_ok`]).
pub fn form_ids_ok(ids: &[&str]) -> bool {
    ids.iter().all(|id| id.is_empty() || id_ok(id))
}

pub fn not_found() -> Response {
    refusal_page(
        StatusCode::NOT_FOUND,
        "Not found",
        "There is nothing at this address. Use the menu to find your way.",
    )
}

/// A page that could not be shown because the API refused.
pub fn fail(status: &Status) -> Response {
    let r = Refusal::from(status.clone());
    match status.code() {
        Code::Unauthenticated => signed_out(),
        Code::PermissionDenied => refusal_page(
            StatusCode::FORBIDDEN,
            "Not yours to see",
            "This page belongs to a team you are not an admin of, or asks for something your role does not allow. Nothing was changed.",
        ),
        Code::NotFound => not_found(),
        Code::InvalidArgument => {
            refusal_page(StatusCode::BAD_REQUEST, "Not understood", &r.message)
        }
        Code::Unavailable | Code::DeadlineExceeded => {
            refusal_page(StatusCode::SERVICE_UNAVAILABLE, "Try again", &r.message)
        }
        _ => refusal_page(StatusCode::BAD_GATEWAY, "Something went wrong", &r.message),
    }
}

/// The teams the person is an admin of, for the switcher (one call: each
/// team comes with the person's role in it).
async fn admin_teams(calls: &Calls, visit: &Visit) -> Result<Vec<TeamLink>, Status> {
    if visit.user().is_none() {
        return Ok(Vec::new());
    }
    let teams = calls
        .team
        .clone()
        .list_teams(tpb::ListTeamsRequest {
            page_size: 100,
            ..Default::default()
        })
        .await?
        .into_inner()
        .teams;
    Ok(teams
        .into_iter()
        .filter(|t| is_admin(t.member_role))
        .map(|t| TeamLink {
            id: t.name.trim_start_matches("teams/").to_owned(),
            display_name: t.display_name,
        })
        .collect())
}

pub fn is_admin(role: i32) -> bool {
    matches!(
        tpb::Role::try_from(role),
        Ok(tpb::Role::PrimaryAdmin | tpb::Role::SecondaryAdmin | tpb::Role::SsoAdmin)
    )
}

/// An admin page of one team: the person, the team, its layout.
pub struct TeamPage {
    pub visit: Visit,
    pub user: User,
    pub calls: Calls,
    /// `teams/{id}`.
    pub name: String,
    pub id: String,
    pub team: tpb::Team,
    /// The person's own membership.
    pub me: tpb::Member,
    pub chrome: Chrome,
}

impl TeamPage {
    /// Opens `team` for its admins (`admin_only`) or any member; a
    /// stranger's team, or a member who is no admin, gets a page saying
    /// so and nothing else.
    pub async fn open(
        shared: &Shared,
        visit: Visit,
        team: &str,
        title: &str,
        section: &'static str,
        admin_only: bool,
    ) -> Result<TeamPage, Response> {
        if !id_ok(team) {
            return Err(not_found());
        }
        let (user, calls) = acting(shared, &visit)?;
        let name = format!("teams/{team}");
        let (got, member, teams) = tokio::join!(
            async {
                calls
                    .team
                    .clone()
                    .get_team(tpb::GetTeamRequest { name: name.clone() })
                    .await
            },
            async {
                calls
                    .team
                    .clone()
                    .get_member(tpb::GetMemberRequest {
                        name: format!("{name}/members/{}", user.account_id()),
                    })
                    .await
            },
            admin_teams(&calls, &visit),
        );
        let member = match member {
            Ok(m) => m.into_inner(),
            Err(s) if s.code() == Code::NotFound => {
                return Err(fail(&Status::permission_denied("not a member")));
            }
            Err(s) => return Err(fail(&s)),
        };
        let got = got.map_err(|s| fail(&s))?.into_inner();
        let admin = is_admin(member.role);
        if admin_only && !admin {
            return Err(refusal_page(
                StatusCode::FORBIDDEN,
                "For admins",
                "This page is for the team's admins. Your products are under My products.",
            ));
        }
        let mut chrome = Chrome::new(&visit, format!("{title} · {}", got.display_name), section);
        chrome.team = Some(TeamLink {
            id: team.to_owned(),
            display_name: got.display_name.clone(),
        });
        chrome.teams = teams.map_err(|s| fail(&s))?;
        chrome.admin = admin;
        Ok(TeamPage {
            visit,
            user,
            calls,
            id: team.to_owned(),
            name,
            team: got,
            me: member,
            chrome,
        })
    }

    /// A path under this team.
    pub fn path(&self, rest: &str) -> String {
        format!("/teams/{}/{rest}", self.id)
    }
}

/// Emails of a team's members by `accounts/{id}`.
pub async fn emails_of(
    calls: &Calls,
    team: &str,
    accounts: Vec<String>,
) -> std::collections::BTreeMap<String, String> {
    let mut accounts = accounts;
    accounts.sort();
    accounts.dedup();
    accounts.truncate(1000);
    if accounts.is_empty() {
        return Default::default();
    }
    calls
        .team
        .clone()
        .batch_get_members(tpb::BatchGetMembersRequest {
            parent: team.to_owned(),
            accounts,
        })
        .await
        .map(|r| {
            r.into_inner()
                .members
                .into_iter()
                .map(|m| (m.account, m.email))
                .collect()
        })
        .unwrap_or_default()
}

/// Why a person got no seat, in an admin's words: a full pool with its
/// figures (R-SEAT-2), without the pool's resource name.
pub fn seat_reason(reason: &str) -> String {
    let reason = reason.trim().trim_end_matches('.');
    match (reason.strip_prefix("no seat left in "), reason.find(": ")) {
        (Some(_), Some(at)) => format!("no seat free: {}", &reason[at + 2..]),
        _ => reason.to_owned(),
    }
}

/// The words for a role.
pub fn role_words(role: i32) -> &'static str {
    match tpb::Role::try_from(role) {
        Ok(tpb::Role::PrimaryAdmin) => "Primary admin",
        Ok(tpb::Role::SecondaryAdmin) => "Secondary admin",
        Ok(tpb::Role::SsoAdmin) => "SSO admin",
        _ => "User",
    }
}

/// Seconds of a protobuf time, 0 when unset.
pub fn seconds(t: Option<&prost_types::Timestamp>) -> i64 {
    t.map(|t| t.seconds).unwrap_or_default()
}
