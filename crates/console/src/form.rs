//! Reading what a form posts: every form carries the session's token
//! (`_csrf`), checked before anything else is read, so a page of another
//! site can make a browser post nothing that takes effect.

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;

use crate::session::Visit;

/// The most bytes an ordinary form may post.
pub const FORM_LIMIT: usize = 256 * 1024;

/// A checked form: its fields, and the visit it came with.
#[derive(Debug)]
pub struct Posted<T>(pub T);

#[derive(Deserialize)]
struct Token {
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

fn token_matches(visit: &Visit, sent: &str) -> bool {
    let expected = visit.session.csrf.as_bytes();
    !sent.is_empty() && bool::from(expected.ct_eq(sent.as_bytes()))
}

/// The answer to a post without the session's form token: nothing done.
pub fn forged() -> Response {
    crate::render::refusal_page(
        axum::http::StatusCode::FORBIDDEN,
        "This form has expired",
        "The form came from an older page or from another site, so nothing was changed. Go back, reload the page and try again.",
    )
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Posted<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let visit = req
            .extensions()
            .get::<Visit>()
            .cloned()
            .ok_or_else(forged)?;
        let body = Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let token: Token = serde_html_form::from_bytes(&body).map_err(|_| forged())?;
        if !token_matches(&visit, &token.csrf) {
            tracing::info!(
                sent = !token.csrf.is_empty(),
                "post refused: its form token is not this session's"
            );
            return Err(forged());
        }
        serde_html_form::from_bytes(&body).map(Posted).map_err(|e| {
            crate::render::refusal_page(
                axum::http::StatusCode::BAD_REQUEST,
                "The form could not be read",
                &format!("Nothing was changed ({e}). Reload the page and try again."),
            )
        })
    }
}

/// A posted file (a CSV import) and the form's other fields.
#[derive(Debug, Default)]
pub struct Upload {
    pub file_name: String,
    pub file: Bytes,
    pub fields: Vec<(String, String)>,
}

impl Upload {
    pub fn field(&self, name: &str) -> &str {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    }
}

impl<S: Send + Sync> FromRequest<S> for Upload {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let visit = req
            .extensions()
            .get::<Visit>()
            .cloned()
            .ok_or_else(forged)?;
        // Nobody uploads before signing in: nothing of the file is read.
        if visit.user().is_none() {
            return Err(axum::response::Redirect::to("/sign-in").into_response());
        }
        let mut parts = Multipart::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let mut upload = Upload::default();
        let too_big = |e: axum::extract::multipart::MultipartError| {
            crate::render::refusal_page(
                e.status(),
                "The file could not be read",
                &format!("Nothing was changed: {}.", e.body_text()),
            )
        };
        // The form token comes first (the forms put it there), and is
        // checked before the file is read.
        let mut checked = false;
        while let Some(field) = parts.next_field().await.map_err(too_big)? {
            let name = field.name().unwrap_or_default().to_owned();
            if name == "_csrf" {
                let sent = field.text().await.map_err(too_big)?;
                if !token_matches(&visit, &sent) {
                    tracing::info!("upload refused: its form token is not this session's");
                    return Err(forged());
                }
                checked = true;
            } else if !checked {
                tracing::info!("upload refused: the form token does not come first");
                return Err(forged());
            } else if name == "file" {
                upload.file_name = field.file_name().unwrap_or_default().to_owned();
                upload.file = field.bytes().await.map_err(too_big)?;
            } else if upload.fields.len() < 20 {
                let text = field.text().await.map_err(too_big)?;
                upload.fields.push((name, text.chars().take(200).collect()));
            }
        }
        if !checked {
            return Err(forged());
        }
        Ok(upload)
    }
}
