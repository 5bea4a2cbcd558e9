//! Traces as OpenTelemetry's RPC conventions have them, exported over OTLP
//! to a real collector endpoint: one invitation is one trace, from team's
//! server span through its client span to identity's server span, and on
//! through the event to notification's handling of it; a caller's trace id
//! is in the JSON logs of the call.

use allot::ServiceKind;
use allot_platform::testing::Backend;
use allot_proto::identity as idpb;

use crate::harness::{Env, TraceSink, accept_token, unique_email};
use crate::invitations::invite;

const SERVER: i32 = 2;
const CLIENT: i32 = 3;
const CONSUMER: i32 = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_invitation_is_one_trace_across_services_and_events() {
    let sink = TraceSink::start().await;
    let endpoint = sink.url();
    let env = Env::processes(
        Backend::Sqlite,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
            ("ALLOT_LOG__FORMAT", "json"),
        ],
    )
    .await;
    let mut admin = env.admin().await;
    let team = env.first_team().await.name;
    let email = unique_email("traced");
    invite(&mut admin, &team, "Tra", "Ced", &email).await;
    let mail = env.mail_to(&email, 1).await;

    let add = |s: &crate::harness::ExportedSpan| {
        s.service == "allot-team"
            && s.kind == SERVER
            && s.name == "allot.team.v1.TeamService/AddMember"
    };
    let spans = sink.wait_for("of team's AddMember", add).await;
    let server = spans
        .iter()
        .find(|s| add(s))
        .expect("team's server span")
        .clone();
    assert_eq!(server.attribute("rpc.system"), Some("grpc"));
    assert_eq!(
        server.attribute("rpc.service"),
        Some("allot.team.v1.TeamService")
    );
    assert_eq!(server.attribute("rpc.method"), Some("AddMember"));
    assert_eq!(server.attribute("rpc.grpc.status_code"), Some("0"));
    assert_ne!(server.status, 2, "a call that succeeded is no error");
    let trace = server.trace_id.clone();

    let call = "allot.identity.v1.IdentityService/CreateInvitations";
    let spans = sink
        .wait_for("of identity's CreateInvitations in the same trace", |s| {
            s.service == "allot-identity"
                && s.kind == SERVER
                && s.name == call
                && s.trace_id == trace
        })
        .await;
    let client = spans
        .iter()
        .find(|s| s.service == "allot-team" && s.kind == CLIENT && s.name == call)
        .expect("team's client span of its call to identity");
    assert_eq!(
        client.trace_id, trace,
        "the client span is in the caller's trace"
    );
    assert_eq!(client.attribute("rpc.method"), Some("CreateInvitations"));
    let identity = spans
        .iter()
        .find(|s| s.service == "allot-identity" && s.name == call && s.trace_id == trace)
        .expect("identity's server span");
    assert_eq!(
        identity.parent_span_id, client.span_id,
        "identity's server span is the child of team's client span"
    );

    // The event carries the trace: notification's handling of
    // invitation_created continues it.
    sink.wait_for(
        "of notification handling the event in the same trace",
        |s| s.service == "allot-notification" && s.kind == CONSUMER && s.trace_id == trace,
    )
    .await;

    // A caller's trace id is in the JSON logs of its call.
    let caller_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let mut request = tonic::Request::new(idpb::AcceptInvitationRequest {
        token: accept_token(&mail[0]),
        ..Default::default()
    });
    request.metadata_mut().insert(
        "traceparent",
        format!("00-{caller_trace}-00f067aa0ba902b7-01")
            .parse()
            .expect("header"),
    );
    env.clients_with(None)
        .identity
        .accept_invitation(request)
        .await
        .expect("accept");
    let log = env.log_of(ServiceKind::Identity);
    let line = log
        .lines()
        .find(|l| l.contains("invitation accepted"))
        .unwrap_or_else(|| panic!("identity logged the acceptance:\n{log}"));
    let v: serde_json::Value = serde_json::from_str(line).expect("a JSON log line");
    let spans = v["spans"].as_array().expect("the line's spans");
    assert!(
        spans.iter().any(|s| s["trace_id"] == caller_trace),
        "the caller's trace id is in the log line: {line}"
    );
    env.shutdown().await;
}

#[test]
fn server_spans_mark_the_servers_own_failures_as_errors() {
    use allot_platform::telemetry::server_error;
    for code in ["2", "4", "12", "13", "14", "15"] {
        assert!(server_error(code), "{code} is an error");
    }
    for code in ["0", "3", "5", "6", "7", "9", "16"] {
        assert!(!server_error(code), "{code} is the caller's");
    }
}
