//! A visit's session, kept in one cookie sealed with the console's key
//! (AES-256-GCM: the browser can neither read nor change it): the person's
//! token once they signed in, the form token against cross-site posts, a
//! message for the next page, and an accept or reset token taken out of
//! the address bar.
//!
//! The console keeps nothing itself, so any number of console processes
//! serve the same visitors.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use cookie::{Cookie, CookieJar, Key, SameSite};
use serde::{Deserialize, Serialize};

use crate::Shared;

/// A signed-in person, as the console acts for them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct User {
    /// Their bearer token (from SignIn or RefreshSession).
    pub token: String,
    /// When it expires (Unix seconds).
    pub expires: i64,
    /// `accounts/{id}`.
    pub account: String,
    pub email: String,
    pub name: String,
}

impl User {
    /// The id in `accounts/{id}`.
    pub fn account_id(&self) -> &str {
        self.account
            .strip_prefix("accounts/")
            .unwrap_or(&self.account)
    }
}

/// A message for the next page (after a form was handled): shown at the
/// top, or in the form it concerns with each field's reason beside the
/// field and what was typed kept.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Flash {
    /// `ok` or `error`.
    pub kind: String,
    pub text: String,
    /// The id of the form it concerns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<String>,
    /// Form field → reason.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
    /// Form field → what was typed (short values only; never a password).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub values: BTreeMap<String, String>,
}

/// A token from a link, and which link it came from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Pending {
    /// `accept` or `reset`.
    pub kind: String,
    pub token: String,
}

impl Session {
    /// The token of a link of `kind`, if the session holds one.
    pub fn pending(&self, kind: &str) -> Option<String> {
        self.pending
            .as_ref()
            .filter(|p| p.kind == kind)
            .map(|p| p.token.clone())
    }
}

/// What the session cookie holds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Session {
    /// The token every form carries back (CSRF).
    pub csrf: String,
    pub user: Option<User>,
    pub flash: Option<Flash>,
    /// An accept or reset token taken from a link, kept here so that it
    /// leaves the address bar (and the browser's history) at once.
    pub pending: Option<Pending>,
}

impl Session {
    /// A fresh session with a new form token.
    pub fn new() -> Session {
        Session {
            csrf: random_token(),
            user: None,
            flash: None,
            pending: None,
        }
    }

    /// The session of a person who just signed in: a new form token too,
    /// so nothing from before signing in carries over.
    pub fn signed_in(user: User) -> Session {
        Session {
            user: Some(user),
            ..Session::new()
        }
    }

    pub fn with_flash(mut self, kind: &str, text: impl Into<String>) -> Session {
        self.flash = Some(Flash {
            kind: kind.into(),
            text: text.into(),
            ..Flash::default()
        });
        self
    }
}

impl Default for Session {
    fn default() -> Self {
        Session::new()
    }
}

/// 32 random bytes, URL-safe.
pub fn random_token() -> String {
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The session this request arrived with, and where the browser is.
#[derive(Debug, Clone)]
pub struct Visit {
    pub session: Session,
    /// The browser's address (the front door's `X-Real-IP` when behind it).
    pub address: String,
}

impl Visit {
    pub fn user(&self) -> Option<&User> {
        self.session.user.as_ref()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Visit {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Visit>()
            .cloned()
            .ok_or_else(|| axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response())
    }
}

/// The session a handler leaves behind, put on its response.
#[derive(Debug, Clone)]
pub struct NewSession(pub Session);

/// Seals and opens the session cookie.
#[derive(Clone)]
pub struct Cookies {
    key: Key,
    /// `__Host-allot` over HTTPS (Secure, this host only), `allot` on
    /// plain loopback HTTP.
    name: &'static str,
    secure: bool,
}

impl std::fmt::Debug for Cookies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cookies").field("name", &self.name).finish()
    }
}

impl Cookies {
    pub fn new(key: Key, secure: bool) -> Cookies {
        Cookies {
            key,
            name: if secure { "__Host-allot" } else { "allot" },
            secure,
        }
    }

    /// Over HTTPS (the cookie is `Secure`).
    pub fn secure(&self) -> bool {
        self.secure
    }

    /// The session in the request's cookie, if it is there and sealed by
    /// this key.
    pub fn open(&self, headers: &HeaderMap) -> Option<Session> {
        let mut jar = CookieJar::new();
        for value in headers.get_all(header::COOKIE) {
            let Ok(text) = value.to_str() else { continue };
            for c in Cookie::split_parse(text.to_owned()).flatten() {
                if c.name() == self.name {
                    jar.add_original(c);
                }
            }
        }
        let opened = jar.private(&self.key).get(self.name)?;
        serde_json::from_str(opened.value()).ok()
    }

    /// The `Set-Cookie` value that stores `session`.
    pub fn seal(&self, session: &Session) -> Option<HeaderValue> {
        let json = serde_json::to_string(session).ok()?;
        let mut jar = CookieJar::new();
        let mut c = Cookie::new(self.name, json);
        c.set_http_only(true);
        c.set_secure(self.secure);
        c.set_same_site(SameSite::Lax);
        c.set_path("/");
        jar.private_mut(&self.key).add(c);
        let sealed = jar.get(self.name)?;
        HeaderValue::from_str(&sealed.to_string()).ok()
    }
}

/// How long before its token expires a signed-in session is renewed.
const RENEW_BEFORE_SECONDS: i64 = 30 * 60;

/// Opens the session (or starts one), renews a token near its end, hands
/// the visit to the page, and stores whatever session the page leaves.
pub async fn layer(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut req: Request,
    next: Next,
) -> Response {
    let opened = shared.cookies.open(req.headers());
    let mut dirty = opened.is_none();
    let mut session = opened.unwrap_or_default();
    let address = shared.client_address(req.headers(), peer);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    if let Some(user) = &session.user {
        if user.expires <= now {
            session = Session::new().with_flash("error", "Your session ended. Sign in again.");
            dirty = true;
        } else if user.expires - now < RENEW_BEFORE_SECONDS {
            session = match crate::pages::sign_in::renew(&shared, user, &address).await {
                Some(renewed) => Session {
                    user: Some(renewed),
                    ..session
                },
                None => Session::new().with_flash("error", "Your session ended. Sign in again."),
            };
            dirty = true;
        }
    }
    req.extensions_mut().insert(Visit {
        session: session.clone(),
        address,
    });
    let mut resp = next.run(req).await;
    if let Some(NewSession(new)) = resp.extensions_mut().remove::<NewSession>() {
        dirty |= new != session;
        session = new;
    }
    if dirty && let Some(v) = shared.cookies.seal(&session) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Key {
        Key::from(&[7u8; 64])
    }

    fn request_with(cookie: &HeaderValue) -> HeaderMap {
        let pair = cookie
            .to_str()
            .expect("ascii")
            .split(';')
            .next()
            .expect("name=value")
            .to_owned();
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_str(&pair).expect("header"),
        );
        h
    }

    #[test]
    fn a_session_cookie_is_sealed_and_opens_only_with_its_key() {
        let cookies = Cookies::new(key(), true);
        let session = Session::signed_in(User {
            token: "t".into(),
            expires: 1,
            account: "accounts/a".into(),
            email: "ada@example.com".into(),
            name: "Ada".into(),
        });
        let sealed = cookies.seal(&session).expect("sealed");
        let text = sealed.to_str().expect("ascii");
        assert!(text.starts_with("__Host-allot="), "{text}");
        for attr in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
            assert!(text.contains(attr), "{attr} in {text}");
        }
        assert!(!text.contains("ada@example.com"), "the content is sealed");
        assert_eq!(cookies.open(&request_with(&sealed)), Some(session));
        let other = Cookies::new(Key::from(&[8u8; 64]), true);
        assert_eq!(other.open(&request_with(&sealed)), None);
    }

    #[test]
    fn a_changed_cookie_does_not_open() {
        let cookies = Cookies::new(key(), false);
        let sealed = cookies.seal(&Session::new()).expect("sealed");
        let text = sealed.to_str().expect("ascii");
        assert!(!text.contains("Secure"), "plain loopback HTTP: {text}");
        let pair = text.split(';').next().expect("pair");
        let (name, value) = pair.split_once('=').expect("=");
        let mut bytes = value.as_bytes().to_vec();
        let last = bytes.len() - 2;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        let tampered = format!("{name}={}", String::from_utf8(bytes).expect("utf8"));
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_str(&tampered).expect("header"),
        );
        assert_eq!(cookies.open(&h), None);
    }
}
