//! Read your writes across services: a call may carry a cursor of team's
//! stream (`x-allot-team-cursor`, as a team write answers in
//! `x-allot-cursor`), and is then answered only once entitlement's copy of
//! the team directory has applied team's changes up to it: a role just
//! taken away is never honoured by a caller who has seen it taken.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::future::BoxFuture;
use tonic::body::Body;
use tonic::server::NamedService;

use crate::directory::DirectoryCopy;

/// The request header that carries a cursor of team's stream.
pub const TEAM_CURSOR: &str = "x-allot-team-cursor";

/// How long a call waits for the copy to catch up before it answers
/// UNAVAILABLE (team's events reach it within milliseconds when all is
/// well).
const CATCH_UP: Duration = Duration::from_secs(5);

/// The entitlement service behind the team-cursor wait.
#[derive(Clone)]
pub struct AfterTeamCursor<S> {
    inner: S,
    copy: Option<Arc<DirectoryCopy>>,
}

impl<S> AfterTeamCursor<S> {
    pub fn new(inner: S, copy: Option<Arc<DirectoryCopy>>) -> Self {
        AfterTeamCursor { inner, copy }
    }
}

impl<S: NamedService> NamedService for AfterTeamCursor<S> {
    const NAME: &'static str = S::NAME;
}

/// The position a request asks for: none, or the cursor, or why the
/// header is wrong.
fn wanted(headers: &http::HeaderMap) -> Option<Result<i64, ()>> {
    let value = headers.get(TEAM_CURSOR)?;
    Some(
        value
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse::<i64>().ok())
            .filter(|p| *p >= 0)
            .ok_or(()),
    )
}

impl<S> tower::Service<http::Request<Body>> for AfterTeamCursor<S>
where
    S: tower::Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<http::Response<Body>, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let copy = self.copy.clone();
        let wanted = wanted(req.headers());
        Box::pin(async move {
            let position = match wanted {
                Some(Err(())) => {
                    let refusal = allot_platform::error::invalid_argument(&[
                        allot_platform::error::FieldViolation::new(
                            TEAM_CURSOR,
                            "is not a cursor of team's stream (send back a team answer's x-allot-cursor)",
                        ),
                    ]);
                    return Ok(refusal.into_http());
                }
                Some(Ok(position)) => position,
                None => return inner.call(req).await,
            };
            let caught_up = match copy {
                Some(copy) => copy.reached(position, CATCH_UP).await,
                None => true,
            };
            if !caught_up {
                tracing::warn!(
                    position,
                    "a call waited for team's changes that did not arrive"
                );
                return Ok(tonic::Status::unavailable(format!(
                    "entitlement has not yet seen the team changes up to {position} that this call follows; retry in a moment"
                ))
                .into_http());
            }
            inner.call(req).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_team_cursor_is_read_from_its_header() {
        let mut h = http::HeaderMap::new();
        assert_eq!(wanted(&h), None);
        h.insert(TEAM_CURSOR, http::HeaderValue::from_static("42"));
        assert_eq!(wanted(&h), Some(Ok(42)));
        h.insert(TEAM_CURSOR, http::HeaderValue::from_static("latest"));
        assert_eq!(wanted(&h), Some(Err(())));
        h.insert(TEAM_CURSOR, http::HeaderValue::from_static("-1"));
        assert_eq!(wanted(&h), Some(Err(())));
    }
}
