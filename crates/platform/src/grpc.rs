//! Calling other services: channels to peers, the bearer token a service
//! calls with, trace propagation, deadlines, and Watch streams as sources
//! for consumers.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use tokio::sync::Notify;
use tonic::Status;
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::consumer::{Source, SourceItem};
use crate::tls::Tls;

/// Deadline of a unary call to another service.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// A lazily connected channel to `url` (`what` names its setting in
/// errors); it reconnects by itself. `https://` is verified as `tls` says;
/// plaintext only to loopback unless `tls` allows it.
pub fn channel(tls: &Tls, url: &str, what: &str) -> Result<Channel, Status> {
    let endpoint = tls
        .endpoint(url, what)
        .map_err(|e| Status::invalid_argument(e.to_string()))?
        .connect_timeout(Duration::from_secs(5))
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(30))
        .keep_alive_while_idle(true);
    Ok(endpoint.connect_lazy())
}

type Refresh = Arc<dyn Fn() -> BoxFuture<'static, Result<(String, i64), Status>> + Send + Sync>;

/// How often a waiting token source looks at the clock again.
const RECHECK_SECONDS: i64 = 2;

/// The bearer token a service calls its peers with, refreshed before it
/// expires.
#[derive(Clone)]
pub struct TokenSource {
    current: Arc<RwLock<Option<String>>>,
    ready: Arc<Notify>,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource").finish_non_exhaustive()
    }
}

impl TokenSource {
    /// Keeps a token from `refresh` (which returns the token and its expiry
    /// in Unix seconds), renewing it at 80% of its life, until `stop`.
    pub fn spawn(
        refresh: Refresh,
        now: impl Fn() -> i64 + Send + Sync + 'static,
        stop: tokio_util::sync::CancellationToken,
    ) -> TokenSource {
        let source = TokenSource {
            current: Arc::new(RwLock::new(None)),
            ready: Arc::new(Notify::new()),
        };
        let this = source.clone();
        tokio::spawn(async move {
            let mut backoff = Duration::from_millis(100);
            loop {
                let renew_at = match refresh().await {
                    Ok((token, exp)) => {
                        if let Ok(mut c) = this.current.write() {
                            *c = Some(token);
                        }
                        this.ready.notify_waiters();
                        backoff = Duration::from_millis(100);
                        let life = (exp - now()).max(5);
                        Some(now() + life * 4 / 5)
                    }
                    Err(e) => {
                        tracing::warn!(error = %e.message(), "could not get a token for calls to other services; retrying");
                        backoff = (backoff * 2).min(Duration::from_secs(10));
                        None
                    }
                };
                // Waits by the clock tokens are judged by, looking again
                // every few seconds: a clock that jumps (a host waking from
                // sleep) renews the token at once, not after the timer.
                loop {
                    let wait = match renew_at {
                        None => backoff,
                        Some(at) if at <= now() => break,
                        Some(at) => Duration::from_secs(
                            u64::try_from((at - now()).min(RECHECK_SECONDS)).unwrap_or(1),
                        ),
                    };
                    tokio::select! {
                        () = stop.cancelled() => return,
                        () = tokio::time::sleep(wait) => {}
                    }
                    if renew_at.is_none() {
                        break;
                    }
                }
            }
        });
        source
    }

    /// The current token, if one has been obtained.
    pub fn current(&self) -> Option<String> {
        self.current.read().ok().and_then(|c| c.clone())
    }

    /// Waits until a token is available.
    pub async fn ready(&self) {
        loop {
            let notified = self.ready.notified();
            if self.current().is_some() {
                return;
            }
            notified.await;
        }
    }
}

/// A client span around every call to another service (OpenTelemetry's RPC
/// conventions: `package.Service/Method`, kind client, the gRPC status, any
/// failure an error), whose trace context the call carries.
#[derive(Clone, Debug)]
pub struct Traced<S> {
    inner: S,
}

impl<S> Traced<S> {
    pub fn new(inner: S) -> Traced<S> {
        Traced { inner }
    }
}

impl<S, B, R> tower::Service<http::Request<B>> for Traced<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: std::fmt::Display,
    B: Send + 'static,
{
    type Response = http::Response<R>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<http::Response<R>, S::Error>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<B>) -> Self::Future {
        use tracing::Instrument;
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let path = req.uri().path().to_owned();
        let span = crate::telemetry::rpc_span("client", &path);
        span.record("server.address", req.uri().host().unwrap_or_default());
        crate::telemetry::inject_into_headers(&span, req.headers_mut());
        Box::pin(
            async move {
                let span = tracing::Span::current();
                match inner.call(req).await {
                    Ok(response) => {
                        // A refusal comes in the headers; success in the
                        // trailers, which this span does not wait for.
                        let code = response
                            .headers()
                            .get("grpc-status")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("0")
                            .to_owned();
                        span.record("rpc.grpc.status_code", code.as_str());
                        if code != "0" {
                            span.record("otel.status_code", "ERROR");
                        }
                        Ok(response)
                    }
                    Err(e) => {
                        span.record("otel.status_code", "ERROR");
                        tracing::debug!(error = %e, "call failed");
                        Err(e)
                    }
                }
            }
            .instrument(span),
        )
    }
}

/// Adds the bearer token to every outgoing call (its trace context comes
/// from [`Traced`], inside the client span).
#[derive(Clone, Debug)]
pub struct CallAuth {
    tokens: TokenSource,
}

impl CallAuth {
    pub fn new(tokens: TokenSource) -> CallAuth {
        CallAuth { tokens }
    }
}

impl Interceptor for CallAuth {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, Status> {
        let token = self
            .tokens
            .current()
            .ok_or_else(|| Status::unavailable("no token yet for calls to other services"))?;
        let value = format!("Bearer {token}")
            .parse()
            .map_err(|_| Status::internal("token is not a valid header value"))?;
        req.metadata_mut().insert("authorization", value);
        Ok(req)
    }
}

pub type AuthedChannel = InterceptedService<Traced<Channel>, CallAuth>;

pub type IdentityClient =
    allot_proto::identity::identity_service_client::IdentityServiceClient<AuthedChannel>;
pub type TeamClient = allot_proto::team::team_service_client::TeamServiceClient<AuthedChannel>;
pub type EntitlementClient =
    allot_proto::entitlement::entitlement_service_client::EntitlementServiceClient<AuthedChannel>;
pub type NotificationClient =
    allot_proto::notification::notification_service_client::NotificationServiceClient<
        AuthedChannel,
    >;

/// A unary request with the standard deadline.
pub fn request<T>(message: T) -> tonic::Request<T> {
    let mut r = tonic::Request::new(message);
    r.set_timeout(CALL_TIMEOUT);
    r
}

macro_rules! watch_source {
    ($client:ty, $module:ident) => {
        impl Source for $client {
            type Event = allot_proto::$module::Event;

            fn open(
                &self,
                after_cursor: Option<String>,
                event_types: &'static [&'static str],
            ) -> BoxFuture<
                'static,
                Result<BoxStream<'static, Result<SourceItem<Self::Event>, Status>>, Status>,
            > {
                let mut client = self.clone();
                Box::pin(async move {
                    let request = allot_proto::$module::WatchRequest {
                        after_cursor: after_cursor.unwrap_or_default(),
                        event_types: event_types.iter().map(|t| (*t).to_owned()).collect(),
                        ..Default::default()
                    };
                    let stream = client.watch(request).await?.into_inner();
                    Ok(stream
                        .map(|item| {
                            use allot_proto::$module::watch_response::Kind;
                            match item?.kind {
                                Some(Kind::Event(event)) => {
                                    let ctx = event.context.clone().unwrap_or_default();
                                    Ok(SourceItem::Event {
                                        cursor: ctx.cursor,
                                        id: ctx.id,
                                        traceparent: ctx.traceparent,
                                        event,
                                    })
                                }
                                Some(Kind::Checkpoint(c)) => {
                                    Ok(SourceItem::Checkpoint { cursor: c.cursor })
                                }
                                None => Err(Status::internal("empty watch response")),
                            }
                        })
                        .boxed())
                })
            }
        }
    };
}

watch_source!(IdentityClient, identity);
watch_source!(TeamClient, team);
watch_source!(EntitlementClient, entitlement);

/// A file as a server stream of pieces of at most 64 KiB, for the
/// `Export…` RPCs; `wrap` makes each piece the response message.
pub fn chunked<T: Send + 'static>(
    bytes: Vec<u8>,
    wrap: impl Fn(Vec<u8>) -> T,
) -> std::pin::Pin<Box<dyn futures::Stream<Item = Result<T, Status>> + Send>> {
    let pieces: Vec<Result<T, Status>> = bytes
        .chunks(64 * 1024)
        .map(|c| Ok(wrap(c.to_vec())))
        .collect();
    Box::pin(futures::stream::iter(pieces))
}
