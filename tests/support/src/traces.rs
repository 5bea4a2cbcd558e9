//! A trace collector for tests: a real OTLP/gRPC endpoint (the protocol
//! Jaeger and the OpenTelemetry Collector take) on a loopback port, keeping
//! every span the services export.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;

/// One exported span, flattened.
#[derive(Debug, Clone)]
pub struct ExportedSpan {
    /// `service.name` of the process that exported it (`allot-team`).
    pub service: String,
    pub name: String,
    /// OTLP's kind: 2 server, 3 client, 5 consumer.
    pub kind: i32,
    pub trace_id: String,
    pub span_id: String,
    pub parent_span_id: String,
    /// OTLP's status code: 2 is error.
    pub status: i32,
    pub attributes: Vec<(String, String)>,
}

impl ExportedSpan {
    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Clone, Default)]
struct Store(Arc<Mutex<Vec<ExportedSpan>>>);

fn text(v: Option<&opentelemetry_proto::tonic::common::v1::AnyValue>) -> String {
    match v.and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(s)) => s.clone(),
        Some(Value::IntValue(i)) => i.to_string(),
        Some(Value::BoolValue(b)) => b.to_string(),
        Some(Value::DoubleValue(d)) => d.to_string(),
        _ => String::new(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[async_trait::async_trait]
impl TraceService for Store {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = Vec::new();
        for rs in request.into_inner().resource_spans {
            let service = rs
                .resource
                .as_ref()
                .and_then(|r| r.attributes.iter().find(|a| a.key == "service.name"))
                .map(|a| text(a.value.as_ref()))
                .unwrap_or_default();
            for ss in rs.scope_spans {
                for s in ss.spans {
                    spans.push(ExportedSpan {
                        service: service.clone(),
                        name: s.name,
                        kind: s.kind,
                        trace_id: hex(&s.trace_id),
                        span_id: hex(&s.span_id),
                        parent_span_id: hex(&s.parent_span_id),
                        status: s.status.map(|st| st.code).unwrap_or_default(),
                        attributes: s
                            .attributes
                            .iter()
                            .map(|a| (a.key.clone(), text(a.value.as_ref())))
                            .collect(),
                    });
                }
            }
        }
        self.0.lock().expect("span store").extend(spans);
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

/// The collector; stops with the test's runtime.
pub struct TraceSink {
    port: u16,
    store: Store,
}

impl TraceSink {
    pub async fn start() -> TraceSink {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind port 0");
        let port = listener.local_addr().expect("address").port();
        let store = Store::default();
        let service = TraceServiceServer::new(store.clone());
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
        );
        TraceSink { port, store }
    }

    /// `http://127.0.0.1:{port}` for `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Waits until a span `matches`, and returns every span so far.
    pub async fn wait_for(
        &self,
        what: &str,
        matches: impl Fn(&ExportedSpan) -> bool,
    ) -> Vec<ExportedSpan> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let spans = self.store.0.lock().expect("span store").clone();
            if spans.iter().any(&matches) {
                return spans;
            }
            assert!(
                Instant::now() < deadline,
                "no span {what} among {:#?}",
                spans
                    .iter()
                    .map(|s| (&s.service, &s.name, s.kind))
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
