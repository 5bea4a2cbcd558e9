//! What every answer carries against the usual attacks on a web page: a
//! strict Content Security Policy (only the console's own script and
//! style, no inline code, no frames), no referrer to other sites, no
//! caching of pages, and posts from other sites refused before any page
//! sees them.

use axum::extract::Request;
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::Response;

/// The policy: scripts, styles, images and connections from the console
/// only; forms post to it only; it is never framed.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The headers of every answer; `https` adds Strict-Transport-Security.
pub async fn headers(https: bool, req: Request, next: Next) -> Response {
    let is_asset = req.uri().path().starts_with("/assets/");
    if req.method() != Method::GET && req.method() != Method::HEAD && cross_site(&req) {
        tracing::info!(
            origin = ?req.headers().get(header::ORIGIN),
            site = ?req.headers().get("sec-fetch-site"),
            "post refused: it comes from another site"
        );
        return crate::form::forged();
    }
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=()"),
    );
    if !is_asset {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if https {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    resp
}

/// A post that the browser says comes from another site (Fetch Metadata),
/// or whose `Origin` is not this host.
fn cross_site(req: &Request) -> bool {
    let h = req.headers();
    // The browser's own word wins where it gives one.
    if let Some(site) = h.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return !matches!(site, "same-origin" | "none");
    }
    match (
        h.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
        h.get(header::HOST).and_then(|v| v.to_str().ok()),
    ) {
        (Some("null"), _) => true,
        (Some(origin), Some(host)) => {
            let authority = origin
                .split_once("://")
                .map(|(_, rest)| rest)
                .unwrap_or(origin);
            !authority.eq_ignore_ascii_case(host)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    fn post(headers: &[(&str, &str)]) -> Request {
        let mut b = axum::http::Request::builder()
            .method(Method::POST)
            .uri("/x");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(Body::empty()).expect("request")
    }

    #[test]
    fn posts_from_other_sites_are_recognised() {
        assert!(cross_site(&post(&[("sec-fetch-site", "cross-site")])));
        assert!(cross_site(&post(&[("sec-fetch-site", "same-site")])));
        assert!(!cross_site(&post(&[("sec-fetch-site", "same-origin")])));
        assert!(cross_site(&post(&[
            ("origin", "https://evil.example"),
            ("host", "allot.example.com")
        ])));
        assert!(!cross_site(&post(&[
            ("origin", "https://allot.example.com"),
            ("host", "allot.example.com")
        ])));
        assert!(cross_site(&post(&[("origin", "null"), ("host", "a")])));
        // A same-origin form under a strict referrer policy says `null`.
        assert!(!cross_site(&post(&[
            ("origin", "null"),
            ("sec-fetch-site", "same-origin")
        ])));
        // A client that sends neither (curl) relies on the form token.
        assert!(!cross_site(&post(&[])));
    }
}
