//! The console's stylesheet and script, compiled into the binary and
//! served under a name that changes with their content, so browsers keep
//! them for a year and never use an old one.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

const CSS: &str = include_str!("../assets/app.css");
const JS: &str = include_str!("../assets/app.js");

/// A short hash of the assets: part of their URLs.
pub fn version() -> &'static str {
    static V: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        CSS.hash(&mut h);
        JS.hash(&mut h);
        format!("{:012x}", h.finish() & 0xffff_ffff_ffff)
    });
    &V
}

pub async fn serve(Path((v, file)): Path<(String, String)>) -> Response {
    let (body, kind) = match file.as_str() {
        "app.css" => (CSS, "text/css; charset=utf-8"),
        "app.js" => (JS, "text/javascript; charset=utf-8"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let cache = if v == version() {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    (
        [(header::CONTENT_TYPE, kind), (header::CACHE_CONTROL, cache)],
        body,
    )
        .into_response()
}
