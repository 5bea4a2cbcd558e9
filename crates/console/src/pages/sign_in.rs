//! Signing in and out (R-AUTH-2): email and password for a session whose
//! token the console keeps sealed in its cookie, renewed while the person
//! works, ended everywhere when they sign out.

use allot_proto::identity as idpb;
use axum::extract::{Query, State};
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;
use tonic::Code;
use tonic_types::StatusExt;

use super::S;
use crate::Shared;
use crate::form::Posted;
use crate::refusal::Refusal;
use crate::render::{Chrome, go, page, refused};
use crate::session::{Session, User, Visit};

#[derive(Deserialize, Default)]
pub struct Next {
    #[serde(default)]
    next: String,
}

/// Only a path of the console: never another site. No second slash or
/// backslash after the first (`//host`, `/\\host`), and no space or
/// control character anywhere (browsers drop a tab from `/\t/host`).
fn local(next: &str) -> &str {
    let bytes = next.as_bytes();
    let ok = bytes.first() == Some(&b'/')
        && !matches!(bytes.get(1), Some(b'/' | b'\\'))
        && !next.contains('\\')
        && bytes.iter().all(|b| *b > 0x20 && *b != 0x7f);
    if ok { next } else { "/" }
}

pub async fn show(visit: Visit, Query(q): Query<Next>) -> Response {
    if visit.user().is_some() {
        return go(local(&q.next), visit.session.clone());
    }
    let chrome = Chrome::new(&visit, "Sign in", "sign-in");
    page(
        &visit,
        &chrome,
        "sign_in.html",
        context! { next => local(&q.next) },
    )
}

#[derive(Deserialize)]
pub struct SignInForm {
    email: String,
    password: String,
    #[serde(default)]
    next: String,
}

pub async fn submit(State(shared): S, visit: Visit, Posted(f): Posted<SignInForm>) -> Response {
    let mut calls = shared.api.calls(None, &visit.address);
    let answer = calls
        .identity
        .sign_in(idpb::SignInRequest {
            email: f.email.clone(),
            password: f.password,
        })
        .await;
    match answer {
        Ok(r) => {
            let r = r.into_inner();
            match user_of(r) {
                Some(user) => go(local(&f.next), Session::signed_in(user)),
                None => refused(
                    &visit,
                    "/sign-in",
                    "sign-in",
                    &Refusal::new("Signing in failed; try again."),
                    &[("email", &f.email)],
                ),
            }
        }
        Err(s) => {
            let refusal = match s.code() {
                Code::Unauthenticated => Refusal::new("Wrong email or password."),
                Code::ResourceExhausted => {
                    let wait = s
                        .get_details_error_info()
                        .and_then(|i| i.metadata.get("retry_after_seconds").cloned())
                        .and_then(|w| w.parse::<i64>().ok())
                        .unwrap_or(60);
                    Refusal::new(format!(
                        "Too many failed attempts. Wait {} before trying again, or reset your password.",
                        wait_words(wait)
                    ))
                }
                _ => Refusal::from_status(&s, &[("email", "email"), ("password", "password")]),
            };
            let to = format!("/sign-in?next={}", urlencode(local(&f.next)));
            refused(&visit, &to, "sign-in", &refusal, &[("email", &f.email)])
        }
    }
}

/// `95` as `2 minutes`.
pub fn wait_words(seconds: i64) -> String {
    match seconds {
        s if s < 60 => format!("{s} second{}", if s == 1 { "" } else { "s" }),
        s => {
            let m = (s + 59) / 60;
            format!("{m} minute{}", if m == 1 { "" } else { "s" })
        }
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn user_of(r: idpb::SignInResponse) -> Option<User> {
    let account = r.account?;
    Some(User {
        token: r.access_token,
        expires: r.expire_time.map(|t| t.seconds).unwrap_or_default(),
        name: format!("{} {}", account.given_name, account.family_name)
            .trim()
            .to_owned(),
        account: account.name,
        email: account.email,
    })
}

#[derive(Deserialize)]
pub struct Nothing {}

/// Ends the session at identity, so its token stops working everywhere,
/// and forgets it here.
pub async fn sign_out(State(shared): S, visit: Visit, Posted(_): Posted<Nothing>) -> Response {
    if let Some(u) = visit.user() {
        let mut calls = shared.api.calls(Some(&u.token), &visit.address);
        if let Err(s) = calls.identity.sign_out(idpb::SignOutRequest {}).await {
            tracing::info!(code = ?s.code(), "sign-out at identity failed; the cookie is dropped anyway");
        }
    }
    go(
        "/sign-in",
        Session::new().with_flash("ok", "You are signed out."),
    )
}

/// A new token for `user`'s session, or `None` when it ended.
pub async fn renew(shared: &Shared, user: &User, address: &str) -> Option<User> {
    let mut calls = shared.api.calls(Some(&user.token), address);
    match calls
        .identity
        .refresh_session(idpb::RefreshSessionRequest {})
        .await
    {
        Ok(r) => user_of(r.into_inner()),
        Err(s) if s.code() == Code::Unavailable => Some(user.clone()),
        Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_signing_in_only_a_console_path_is_followed() {
        assert_eq!(local("/teams/x/users"), "/teams/x/users");
        assert_eq!(local("https://evil.example/"), "/");
        assert_eq!(local("//evil.example/"), "/");
        assert_eq!(local("/\\evil.example"), "/");
        assert_eq!(local("/\t/evil.example"), "/");
        assert_eq!(local("/ /evil.example"), "/");
        assert_eq!(local("/\u{7f}/evil.example"), "/");
        assert_eq!(local("evil.example"), "/");
    }

    #[test]
    fn waits_read_as_words() {
        assert_eq!(wait_words(1), "1 second");
        assert_eq!(wait_words(30), "30 seconds");
        assert_eq!(wait_words(61), "2 minutes");
        assert_eq!(wait_words(900), "15 minutes");
    }
}
