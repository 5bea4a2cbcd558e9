//! Accepting an invitation (R-AUTH-1): the link's token leaves the address
//! bar at once (it is kept in the sealed session); a new person chooses a
//! password and may correct their names, a person with a password just
//! joins; an expired or used link says what to do.

use allot_proto::identity as idpb;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;

use super::{S, seconds};
use crate::form::Posted;
use crate::refusal::Refusal;
use crate::render::{Chrome, go, page, refusal_page, refused};
use crate::session::{Session, User, Visit};

#[derive(Deserialize)]
pub struct Link {
    #[serde(default)]
    token: String,
}

const PAGE: &str = "/invitations/accept";

pub async fn show(State(shared): S, visit: Visit, Query(link): Query<Link>) -> Response {
    if !link.token.is_empty() {
        // Out of the address bar before anything is shown.
        let mut session = visit.session.clone();
        session.pending = Some(crate::session::Pending {
            kind: "accept".into(),
            token: link.token,
        });
        return go(PAGE, session);
    }
    let Some(token) = visit.session.pending("accept") else {
        return refusal_page(
            StatusCode::BAD_REQUEST,
            "Open the link from your invitation",
            "This page needs the link from your invitation email. Open the email and select its link again.",
        );
    };
    let mut calls = shared.api.calls(None, &visit.address);
    match calls
        .identity
        .lookup_invitation(idpb::LookupInvitationRequest { token })
        .await
    {
        Ok(r) => {
            let r = r.into_inner();
            let inv = r.invitation.unwrap_or_default();
            let chrome = Chrome::new(&visit, "Accept your invitation", "accept");
            page(
                &visit,
                &chrome,
                "accept.html",
                context! {
                    team => inv.team_display_name,
                    inviter => inv.inviter_display_name,
                    email => inv.email,
                    expires => seconds(inv.expire_time.as_ref()),
                    given_name => r.given_name,
                    family_name => r.family_name,
                    has_password => r.has_password,
                },
            )
        }
        Err(s) => {
            let r = Refusal::from(s.clone());
            let heading = match s.code() {
                tonic::Code::NotFound => "This link does not work",
                _ => "This invitation cannot be accepted",
            };
            let text = if s.code() == tonic::Code::NotFound {
                "No invitation has this link. Check that you opened the whole link from the newest email, or ask a team admin to invite you again."
                    .to_owned()
            } else {
                r.message
            };
            refusal_page(StatusCode::GONE, heading, &text)
        }
    }
}

#[derive(Deserialize)]
pub struct AcceptForm {
    #[serde(default)]
    given_name: String,
    #[serde(default)]
    family_name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

pub async fn submit(State(shared): S, visit: Visit, Posted(f): Posted<AcceptForm>) -> Response {
    let Some(token) = visit.session.pending("accept") else {
        return go(PAGE, visit.session.clone());
    };
    let typed = [
        ("given_name", f.given_name.as_str()),
        ("family_name", f.family_name.as_str()),
    ];
    if f.password != f.confirm {
        let mut r = Refusal::new("Please correct the marked fields.");
        r.fields
            .push(("confirm".into(), "Does not match the password.".into()));
        return refused(&visit, PAGE, "accept", &r, &typed);
    }
    let mut calls = shared.api.calls(None, &visit.address);
    let accepted = calls
        .identity
        .accept_invitation(idpb::AcceptInvitationRequest {
            token,
            password: f.password.clone(),
            given_name: f.given_name.clone(),
            family_name: f.family_name.clone(),
        })
        .await;
    let accepted = match accepted {
        Ok(a) => a.into_inner(),
        Err(s) => {
            let r = Refusal::from_status(
                &s,
                &[
                    ("password", "password"),
                    ("given_name", "given_name"),
                    ("family_name", "family_name"),
                ],
            );
            return refused(&visit, PAGE, "accept", &r, &typed);
        }
    };
    let team = accepted
        .invitation
        .map(|i| i.team_display_name)
        .unwrap_or_default();
    let email = accepted.account.map(|a| a.email).unwrap_or_default();
    let welcome = format!("Welcome to {team}.");
    if f.password.is_empty() {
        // They had a password: they joined, and sign in as always.
        return go(
            "/sign-in",
            Session::new().with_flash("ok", format!("You joined {team}. Sign in to continue.")),
        );
    }
    // A new person: signed in with the password they just chose.
    match calls
        .identity
        .sign_in(idpb::SignInRequest {
            email,
            password: f.password,
        })
        .await
    {
        Ok(r) => {
            let r = r.into_inner();
            let account = r.account.unwrap_or_default();
            let user = User {
                token: r.access_token,
                expires: seconds(r.expire_time.as_ref()),
                name: format!("{} {}", account.given_name, account.family_name)
                    .trim()
                    .to_owned(),
                account: account.name,
                email: account.email,
            };
            go("/", Session::signed_in(user).with_flash("ok", welcome))
        }
        Err(_) => go(
            "/sign-in",
            Session::new().with_flash("ok", format!("{welcome} Sign in with your new password.")),
        ),
    }
}
