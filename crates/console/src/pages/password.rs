//! Passwords (R-AUTH-2): asking for a reset link (the same answer whether
//! or not the address has an account), choosing a new password with it
//! (the link's token leaves the address bar at once), and changing one's
//! password, which ends every session.

use allot_proto::identity as idpb;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;
use tonic::Code;
use tonic_types::StatusExt;

use super::{S, acting};
use crate::form::Posted;
use crate::refusal::Refusal;
use crate::render::{Chrome, go, page, refusal_page, refused};
use crate::session::{Session, Visit};

pub async fn forgot(visit: Visit) -> Response {
    let chrome = Chrome::new(&visit, "Reset your password", "sign-in");
    page(&visit, &chrome, "forgot.html", context! {})
}

#[derive(Deserialize)]
pub struct ForgotForm {
    email: String,
}

pub async fn request(State(shared): S, visit: Visit, Posted(f): Posted<ForgotForm>) -> Response {
    let mut calls = shared.api.calls(None, &visit.address);
    match calls
        .identity
        .request_password_reset(idpb::RequestPasswordResetRequest {
            email: f.email.clone(),
        })
        .await
    {
        Ok(_) => go(
            "/sign-in",
            visit.session.clone().with_flash(
                "ok",
                format!("If {} has an Allot account, a link to choose a new password is on its way. It works for one hour.", f.email.trim()),
            ),
        ),
        Err(s) => {
            let r = if s.code() == Code::ResourceExhausted {
                let wait = s
                    .get_details_error_info()
                    .and_then(|i| i.metadata.get("retry_after_seconds").cloned())
                    .and_then(|w| w.parse::<i64>().ok())
                    .unwrap_or(3600);
                Refusal::new(format!(
                    "Too many reset requests from your network. Try again in {}.",
                    super::sign_in::wait_words(wait)
                ))
            } else {
                Refusal::from_status(&s, &[("email", "email")])
            };
            refused(&visit, "/password/forgot", "forgot", &r, &[("email", &f.email)])
        }
    }
}

#[derive(Deserialize)]
pub struct Link {
    #[serde(default)]
    token: String,
}

const RESET: &str = "/password/reset";

pub async fn reset(visit: Visit, Query(link): Query<Link>) -> Response {
    if !link.token.is_empty() {
        let mut session = visit.session.clone();
        session.pending = Some(crate::session::Pending {
            kind: "reset".into(),
            token: link.token,
        });
        return go(RESET, session);
    }
    if visit.session.pending("reset").is_none() {
        return refusal_page(
            StatusCode::BAD_REQUEST,
            "Open the link from the email",
            "This page needs the link from your password reset email. Ask for a new one if it is lost.",
        );
    }
    let chrome = Chrome::new(&visit, "Choose a new password", "sign-in");
    page(&visit, &chrome, "reset.html", context! {})
}

#[derive(Deserialize)]
pub struct NewPassword {
    password: String,
    confirm: String,
    #[serde(default)]
    current: String,
}

fn mismatch(visit: &Visit, to: &str, form: &str) -> Response {
    let mut r = Refusal::new("Please correct the marked fields.");
    r.fields
        .push(("confirm".into(), "Does not match the password.".into()));
    refused(visit, to, form, &r, &[])
}

pub async fn set(State(shared): S, visit: Visit, Posted(f): Posted<NewPassword>) -> Response {
    let Some(token) = visit.session.pending("reset") else {
        return go(RESET, visit.session.clone());
    };
    if f.password != f.confirm {
        return mismatch(&visit, RESET, "reset");
    }
    let mut calls = shared.api.calls(None, &visit.address);
    match calls
        .identity
        .reset_password(idpb::ResetPasswordRequest {
            token,
            new_password: f.password,
        })
        .await
    {
        Ok(_) => go(
            "/sign-in",
            Session::new().with_flash("ok", "Your password is changed. Sign in with it."),
        ),
        Err(s) => {
            let r =
                Refusal::from_status(&s, &[("new_password", "password"), ("token", "password")]);
            refused(&visit, RESET, "reset", &r, &[])
        }
    }
}

pub async fn change(State(shared): S, visit: Visit) -> Response {
    if let Err(to) = acting(&shared, &visit) {
        return to;
    }
    let chrome = Chrome::new(&visit, "Change your password", "account");
    page(&visit, &chrome, "password.html", context! {})
}

pub async fn save(State(shared): S, visit: Visit, Posted(f): Posted<NewPassword>) -> Response {
    let (_, mut calls) = match acting(&shared, &visit) {
        Ok(a) => a,
        Err(to) => return to,
    };
    const PAGE: &str = "/account/password";
    if f.password != f.confirm {
        return mismatch(&visit, PAGE, "change");
    }
    match calls
        .identity
        .change_password(idpb::ChangePasswordRequest {
            current_password: f.current,
            new_password: f.password,
        })
        .await
    {
        // Every session ended, this one too.
        Ok(_) => go(
            "/sign-in",
            Session::new().with_flash(
                "ok",
                "Your password is changed and you are signed out everywhere. Sign in with the new one.",
            ),
        ),
        Err(s) => {
            let r = Refusal::from_status(
                &s,
                &[("new_password", "password"), ("current_password", "current")],
            );
            refused(&visit, PAGE, "change", &r, &[])
        }
    }
}
