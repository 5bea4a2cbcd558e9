//! Limits every server applies before a handler runs: how large a request
//! may be (only the import methods take large files), so no caller can make
//! a worker decode and check megabytes it was never meant to send.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use tonic::Status;
use tonic::body::Body;

/// The largest request of an ordinary method: far above any list the API
/// takes (1,000 names, 100 items) and far below what would hold a worker.
pub const MAX_REQUEST_BYTES: usize = 1 << 20;

/// The methods that take a file, and so up to `jobs::MAX_REQUEST_BYTES`.
const FILE_METHODS: &[&str] = &[
    "/allot.team.v1.TeamService/ImportMembers",
    "/allot.entitlement.v1.EntitlementService/ImportAssignments",
];

/// The request size limit of a method, by its gRPC path.
pub fn request_limit(path: &str) -> usize {
    if FILE_METHODS.contains(&path) {
        crate::jobs::MAX_REQUEST_BYTES
    } else {
        MAX_REQUEST_BYTES
    }
}

/// A request body that fails with RESOURCE_EXHAUSTED, naming the limit, as
/// soon as more than `limit` bytes arrived: the refusal costs at most the
/// limit, however much the caller sends.
pub struct Limited {
    inner: Body,
    limit: usize,
    seen: usize,
    method: String,
}

impl Limited {
    pub fn wrap(inner: Body, limit: usize, method: &str) -> Body {
        Body::new(Limited {
            inner,
            limit,
            seen: 0,
            method: method.to_owned(),
        })
    }
}

/// RESOURCE_EXHAUSTED for a request over its method's limit.
pub fn too_large(method: &str, limit: usize) -> Status {
    crate::error::resource_exhausted(
        "REQUEST_TOO_LARGE",
        format!(
            "the request is larger than the {limit} bytes {method} accepts; send less per call"
        ),
        &[("limit_bytes", i64::try_from(limit).unwrap_or(i64::MAX))],
    )
}

impl HttpBody for Limited {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let this = self.get_mut();
        match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    this.seen = this.seen.saturating_add(data.len());
                    if this.seen > this.limit {
                        return Poll::Ready(Some(Err(too_large(&this.method, this.limit))));
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            other => Poll::Ready(other),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_file_methods_take_large_requests() {
        assert_eq!(
            request_limit("/allot.team.v1.TeamService/ImportMembers"),
            crate::jobs::MAX_REQUEST_BYTES
        );
        assert_eq!(
            request_limit("/allot.team.v1.TeamService/AddMembers"),
            MAX_REQUEST_BYTES
        );
    }
}
