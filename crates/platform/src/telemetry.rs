//! Logs and traces: `tracing` everywhere, printed as text or JSON, and
//! exported over OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set. Trace
//! context crosses service calls in W3C `traceparent` metadata and goes
//! with every event (`EventContext.traceparent`), so the handling of an
//! event continues the trace of the call that caused it. Spans follow
//! OpenTelemetry's RPC conventions: a server span per call, a client span
//! per call to another service, named `package.Service/Method`, with
//! `rpc.system`, `rpc.service`, `rpc.method` and `rpc.grpc.status_code`,
//! and failures marked as errors.

use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::LogConfig;

/// Flushes exported spans when dropped at shutdown.
#[derive(Debug)]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(p) = self.provider.take()
            && let Err(e) = p.shutdown()
        {
            eprintln!("could not flush traces: {e}");
        }
    }
}

/// Installs the global subscriber once per process. `service` names the
/// process in exported traces.
pub fn init(log: &LogConfig, service: &str) -> TelemetryGuard {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&log.filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let provider = otlp_provider(service);
    let otel_layer = provider
        .as_ref()
        .map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer("allot")));
    let registry = tracing_subscriber::registry().with(filter).with(otel_layer);
    let result = if log.format == "json" {
        // Each line carries its spans' fields: the call's `trace_id` and
        // `request_id` among them.
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_current_span(false)
                    .with_span_list(true),
            )
            .try_init()
    } else {
        registry
            .with(tracing_subscriber::fmt::layer().with_target(false))
            .try_init()
    };
    if result.is_err() {
        // Already installed (tests start many servers in one process).
    }
    TelemetryGuard { provider }
}

fn otlp_provider(service: &str) -> Option<SdkTracerProvider> {
    let endpoint = std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").ok()?;
    if endpoint.is_empty() {
        return None;
    }
    let exporter = match opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .build()
    {
        Ok(e) => e,
        Err(e) => {
            eprintln!("OpenTelemetry export to {endpoint} disabled: {e}");
            return None;
        }
    };
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            opentelemetry_sdk::Resource::builder()
                .with_service_name(format!("allot-{service}"))
                .build(),
        )
        .build();
    opentelemetry::global::set_tracer_provider(provider.clone());
    Some(provider)
}

struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

struct HeaderInjector<'a>(&'a mut http::HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(k), Ok(v)) = (
            http::HeaderName::from_bytes(key.as_bytes()),
            http::HeaderValue::from_str(&value),
        ) {
            self.0.insert(k, v);
        }
    }
}

struct OneValue<'a>(&'a str);

impl Extractor for OneValue<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        (key == "traceparent" && !self.0.is_empty()).then_some(self.0)
    }

    fn keys(&self) -> Vec<&str> {
        vec!["traceparent"]
    }
}

/// The current span's W3C `traceparent`, empty when it is not traced (no
/// exporter configured).
pub fn current_traceparent() -> String {
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let cx = tracing::Span::current().context();
    let mut carrier = std::collections::HashMap::new();
    opentelemetry::global::get_text_map_propagator(|p| p.inject_context(&cx, &mut carrier));
    carrier.remove("traceparent").unwrap_or_default()
}

/// Makes `span` continue the trace of `traceparent` (an event's).
pub fn continue_trace(span: &tracing::Span, traceparent: &str) {
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    if traceparent.is_empty() {
        return;
    }
    let cx = opentelemetry::global::get_text_map_propagator(|p| p.extract(&OneValue(traceparent)));
    let _ = span.set_parent(cx);
}

/// The trace id of `span` (32 hex digits): its OpenTelemetry trace when
/// traces are exported; else the caller's from `traceparent`, or a new one,
/// so logs of one call always share an id.
pub fn trace_id(span: &tracing::Span, headers: &http::HeaderMap) -> String {
    use opentelemetry::trace::TraceContextExt;
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let cx = span.context();
    let otel = cx.span().span_context().clone();
    if otel.is_valid() {
        return otel.trace_id().to_string();
    }
    headers
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split('-').nth(1))
        .filter(|id| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string())
}

/// Puts `span`'s trace context into outgoing request headers.
pub fn inject_into_headers(span: &tracing::Span, headers: &mut http::HeaderMap) {
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let cx = span.context();
    opentelemetry::global::get_text_map_propagator(|p| {
        p.inject_context(&cx, &mut HeaderInjector(headers));
    });
}

/// The span of one gRPC call, named and attributed as OpenTelemetry's RPC
/// conventions say; `kind` is `server` or `client`. The status, the
/// peer's address, the trace and request ids and the caller are recorded
/// as they become known.
pub fn rpc_span(kind: &'static str, path: &str) -> tracing::Span {
    let (service, method) = rpc_names(path);
    tracing::info_span!(
        "grpc",
        otel.name = %path.trim_start_matches('/'),
        otel.kind = kind,
        otel.status_code = tracing::field::Empty,
        rpc.system = "grpc",
        rpc.service = %service,
        rpc.method = %method,
        rpc.grpc.status_code = tracing::field::Empty,
        server.address = tracing::field::Empty,
        trace_id = tracing::field::Empty,
        request_id = tracing::field::Empty,
        caller = tracing::field::Empty,
    )
}

/// `/pkg.Service/Method` as (`pkg.Service`, `Method`).
pub fn rpc_names(path: &str) -> (&str, &str) {
    let trimmed = path.trim_start_matches('/');
    trimmed.split_once('/').unwrap_or((trimmed, ""))
}

/// Whether a server span with this gRPC status is an error, as
/// OpenTelemetry's conventions say: the server's own failures, not the
/// caller's mistakes (NOT_FOUND, INVALID_ARGUMENT, … are not).
pub fn server_error(code: &str) -> bool {
    matches!(code, "2" | "4" | "12" | "13" | "14" | "15")
}

/// Makes `span` a child of the trace context in incoming request headers.
pub fn link_remote_parent(span: &tracing::Span, headers: &http::HeaderMap) {
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let cx =
        opentelemetry::global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(headers)));
    let _ = span.set_parent(cx);
}
