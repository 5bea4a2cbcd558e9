//! The gRPC server bootstrap: the edge middleware (request id, trace
//! context, authentication), standard health and reflection, and graceful
//! shutdown on a listener passed in (port 0 in tests).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tokio::net::TcpListener;
use tonic::body::Body;
use tonic::service::Routes;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;
use tower::{Layer, Service};
use tracing::Instrument;

use crate::auth::{AuthError, TokenVerifier, bearer};
use crate::clock::SharedClock;
use crate::db::Db;
use crate::metrics::Calls;

/// The request id of a call: the caller's `x-request-id`, or a new one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

/// Reads the request id the edge middleware stored.
pub fn request_id<T>(request: &tonic::Request<T>) -> String {
    request
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default()
}

/// The response header a write answers with: the cursor of its change in
/// the answering service's stream.
pub const WRITE_CURSOR: &str = "x-allot-cursor";

/// Methods anyone may call without a bearer token.
const PUBLIC_PREFIXES: &[&str] = &[
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1.ServerReflection/",
    "/grpc.reflection.v1alpha.ServerReflection/",
    "/allot.identity.v1.IdentityService/AcceptInvitation",
    "/allot.identity.v1.IdentityService/LookupInvitation",
    "/allot.identity.v1.IdentityService/CreateToken",
    "/allot.identity.v1.IdentityService/SignIn",
    "/allot.identity.v1.IdentityService/RequestPasswordReset",
    "/allot.identity.v1.IdentityService/ResetPassword",
    "/allot.identity.v1.IdentityService/GetSigningKeys",
];

/// The tower layer in front of every service.
#[derive(Clone)]
pub struct EdgeLayer {
    verifier: Arc<TokenVerifier>,
    clock: SharedClock,
    calls: Calls,
}

impl EdgeLayer {
    pub fn new(verifier: Arc<TokenVerifier>, clock: SharedClock) -> EdgeLayer {
        EdgeLayer {
            verifier,
            clock,
            calls: Calls::default(),
        }
    }

    /// Counts every call into `calls`.
    pub fn counting(mut self, calls: Calls) -> EdgeLayer {
        self.calls = calls;
        self
    }
}

impl<S> Layer<S> for EdgeLayer {
    type Service = EdgeService<S>;

    fn layer(&self, inner: S) -> EdgeService<S> {
        EdgeService {
            inner,
            verifier: self.verifier.clone(),
            clock: self.clock.clone(),
            calls: self.calls.clone(),
        }
    }
}

#[derive(Clone)]
pub struct EdgeService<S> {
    inner: S,
    verifier: Arc<TokenVerifier>,
    clock: SharedClock,
    calls: Calls,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S> Service<Request<Body>> for EdgeService<S>
where
    S: Service<Request<Body>, Response = Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Response<Body>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<Body>) -> Self::Future {
        // Take the service that was driven to readiness; leave a clone.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let path = req.uri().path().to_owned();
        let started = std::time::Instant::now();
        let calls = self.calls.clone();
        let request_id = req
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty() && v.len() <= 128)
            .map(str::to_owned)
            .unwrap_or_else(crate::ids::new_id);
        let span = crate::telemetry::rpc_span("server", &path);
        span.record("request_id", request_id.as_str());
        crate::telemetry::link_remote_parent(&span, req.headers());
        span.record(
            "trace_id",
            crate::telemetry::trace_id(&span, req.headers()).as_str(),
        );
        req.extensions_mut().insert(RequestId(request_id));
        let limit = crate::limits::request_limit(&path);
        let mut req = req.map(|body| crate::limits::Limited::wrap(body, limit, &path));

        if !PUBLIC_PREFIXES.iter().any(|p| path.starts_with(p)) {
            let header = req
                .headers()
                .get(http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok());
            let now = self.clock.now().unix_timestamp();
            let verified = bearer(header).and_then(|token| self.verifier.verify(token, now));
            match verified {
                Ok(caller) => {
                    span.record("caller", caller.name().as_str());
                    req.extensions_mut().insert(caller);
                }
                Err(e) => {
                    let _enter = span.enter();
                    tracing::info!(reason = %e, "refused unauthenticated call");
                    calls.record(&path, "16", started.elapsed());
                    return Box::pin(async move { Ok(unauthenticated(&e)) });
                }
            }
        }
        Box::pin(async move {
            let (response, written) =
                crate::outbox::tracking_writes(inner.call(req).instrument(span.clone())).await;
            let mut response = response?;
            undecodable_is_invalid_argument(&mut response);
            // A write answers with the cursor of its change in this
            // service's stream, for read-your-writes elsewhere.
            if let Some(cursor) = written
                && let Ok(v) = http::HeaderValue::from_str(&cursor)
            {
                response.headers_mut().insert(WRITE_CURSOR, v);
            }
            // A refusal comes in the headers; success in the trailers, after.
            let code = response
                .headers()
                .get("grpc-status")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("0");
            span.record("rpc.grpc.status_code", code);
            if crate::telemetry::server_error(code) {
                span.record("otel.status_code", "ERROR");
            }
            calls.record(&path, code, started.elapsed());
            Ok(response)
        })
    }
}

/// A request that does not decode (a string field that is not UTF-8, a
/// broken length) is the caller's mistake: INVALID_ARGUMENT, naming the
/// field as prost does (`GetTeamRequest.name: invalid string value`),
/// instead of the INTERNAL tonic answers with.
fn undecodable_is_invalid_argument(response: &mut Response<Body>) {
    let headers = response.headers_mut();
    let internal = headers
        .get("grpc-status")
        .is_some_and(|v| v.as_bytes() == b"13");
    let undecodable = headers.get("grpc-message").is_some_and(|v| {
        let m = v.as_bytes();
        m.starts_with(b"failed to decode Protobuf message")
            || m.starts_with(b"failed%20to%20decode%20Protobuf%20message")
    });
    if internal && undecodable {
        headers.insert("grpc-status", http::HeaderValue::from_static("3"));
    }
}

fn unauthenticated(e: &AuthError) -> Response<Body> {
    tonic::Status::unauthenticated(e.to_string()).into_http()
}

/// Calls one connection may have in flight at once; more wait their turn.
pub const CALLS_PER_CONNECTION: usize = 64;
/// HTTP/2 streams one connection may open at once (open Watch streams too).
pub const STREAMS_PER_CONNECTION: u32 = 256;
/// The longest a handler may take to answer.
pub const HANDLER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// How often health asks each service's database whether it answers.
pub const HEALTH_INTERVAL: std::time::Duration = std::time::Duration::from_secs(2);

/// Serves `routes` plus health and reflection on `listener` until `shutdown`
/// completes, then drains in-flight calls. `services` are the hosted
/// services' health names, each with its database. Health says NOT_SERVING
/// until the verifier trusts a signing key (before that every call would
/// fail), and for a service whose database does not answer; the whole
/// server (`""`) serves only when every service does.
pub async fn serve(
    listener: TcpListener,
    routes: Routes,
    services: Vec<(&'static str, Db)>,
    edge: EdgeLayer,
    tls: Option<tonic::transport::ServerTlsConfig>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), tonic::transport::Error> {
    let (reporter, health_service) = tonic_health::server::health_reporter();
    let health_names: Vec<&'static str> = services.iter().map(|(name, _)| *name).collect();
    reporter
        .set_service_status("", ServingStatus::NotServing)
        .await;
    set_all(&reporter, &health_names, ServingStatus::NotServing).await;
    let verifier = edge.verifier.clone();
    let watch_reporter = reporter.clone();
    let watcher = tokio::spawn(async move {
        verifier.ready().await;
        watch_databases(&watch_reporter, &services).await;
    });
    let routes = routes
        .add_service(health_service)
        .add_service(reflection_v1())
        .add_service(reflection_v1alpha());
    let addr = listener.local_addr().ok();
    tracing::info!(address = ?addr, services = ?health_names, tls = tls.is_some(), "serving gRPC");
    let mut builder = tonic::transport::Server::builder();
    if let Some(tls) = tls {
        builder = builder.tls_config(tls)?;
    }
    let result = builder
        // No connection holds the server: a bounded number of calls in
        // flight per connection, and a deadline for every handler (Watch
        // and WatchOperation streams answer at once and are not cut).
        .concurrency_limit_per_connection(CALLS_PER_CONNECTION)
        .max_concurrent_streams(Some(STREAMS_PER_CONNECTION))
        .timeout(HANDLER_TIMEOUT)
        .layer(edge)
        .add_routes(routes)
        // Without TCP_NODELAY, a response written in parts waits on the
        // peer's delayed ACK: tens of milliseconds per call.
        .serve_with_incoming_shutdown(
            tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)),
            async move {
                shutdown.await;
                watcher.abort();
                reporter
                    .set_service_status("", ServingStatus::NotServing)
                    .await;
                set_all(&reporter, &health_names, ServingStatus::NotServing).await;
            },
        )
        .await;
    tracing::info!(address = ?addr, "server stopped");
    result
}

/// Keeps each service's health in step with its database, checking every
/// [`HEALTH_INTERVAL`]; logs each change once.
async fn watch_databases(reporter: &HealthReporter, services: &[(&'static str, Db)]) {
    let mut last: Vec<Option<bool>> = vec![None; services.len()];
    loop {
        let mut all = true;
        for (i, (name, db)) in services.iter().enumerate() {
            let answers = match db.ping().await {
                Ok(()) => true,
                Err(e) => {
                    if last[i] != Some(false) {
                        tracing::warn!(service = *name, error = %e, "database not answering; health says NOT_SERVING");
                    }
                    false
                }
            };
            if last[i] != Some(answers) {
                if answers && last[i].is_some() {
                    tracing::info!(service = *name, "database answers again");
                }
                let status = if answers {
                    ServingStatus::Serving
                } else {
                    ServingStatus::NotServing
                };
                reporter.set_service_status(*name, status).await;
                last[i] = Some(answers);
            }
            all &= answers;
        }
        let overall = if all {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        };
        reporter.set_service_status("", overall).await;
        tokio::time::sleep(HEALTH_INTERVAL).await;
    }
}

async fn set_all(reporter: &HealthReporter, names: &[&'static str], status: ServingStatus) {
    for name in names {
        reporter.set_service_status(*name, status).await;
    }
}

fn reflection_v1() -> tonic_reflection::server::v1::ServerReflectionServer<
    impl tonic_reflection::server::v1::ServerReflection,
> {
    #[allow(clippy::expect_used)]
    tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(allot_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .expect("the descriptor sets are generated at build time and always parse")
}

fn reflection_v1alpha() -> tonic_reflection::server::v1alpha::ServerReflectionServer<
    impl tonic_reflection::server::v1alpha::ServerReflection,
> {
    #[allow(clippy::expect_used)]
    tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(allot_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()
        .expect("the descriptor sets are generated at build time and always parse")
}

/// Completes on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C received, shutting down"),
        () = term => tracing::info!("SIGTERM received, shutting down"),
    }
}
