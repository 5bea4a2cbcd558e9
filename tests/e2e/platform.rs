//! What every server offers to tools that know nothing of Allot.

use allot_platform::testing::Backend;

use crate::harness::Env;

/// A stock gRPC client (Python's grpcio) lists the services through
/// reflection and gets SERVING from health.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_client_lists_services_and_sees_serving() {
    let env = Env::in_process(Backend::Sqlite).await;
    let address = env.urls.identity.trim_start_matches("http://").to_owned();
    let services = [
        "allot.identity.v1.IdentityService",
        "allot.team.v1.TeamService",
        "allot.entitlement.v1.EntitlementService",
        "allot.notification.v1.NotificationService",
    ];
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/stock_client.py");
    let python = std::env::var("ALLOT_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = tokio::process::Command::new(python)
        .arg(script)
        .arg(&address)
        .args(services)
        .output()
        .await
        .expect("run python3 (pip install grpcio grpcio-health-checking grpcio-reflection)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "stock client failed: {}{}",
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    for s in services {
        assert!(
            stdout.contains(&format!("service {s}\n")),
            "reflection lists {s}:\n{stdout}"
        );
        assert!(
            stdout.contains(&format!("health {s} SERVING\n")),
            "health of {s}:\n{stdout}"
        );
    }
    assert!(stdout.contains("service grpc.health.v1.Health\n"));
    assert!(stdout.contains("health (server) SERVING\n"));
    assert!(
        stdout.contains("method allot.identity.v1.IdentityService/AcceptInvitation\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("method allot.team.v1.TeamService/AddMember\n"),
        "{stdout}"
    );
    env.shutdown().await;
}

/// A megabyte-long malformed value is refused with INVALID_ARGUMENT that
/// names the field and quotes only a short prefix, so a stock client gets
/// the refusal rather than a metadata-size error.
async fn long_malformed_values_are_quoted_by_a_short_prefix(backend: Backend) {
    let env = Env::in_process(backend).await;
    let mut admin = env.admin().await;
    let long = format!("teams/{}", "Z".repeat(1 << 20));
    let err = admin
        .team
        .get_team(allot_proto::team::GetTeamRequest { name: long })
        .await
        .expect_err("malformed name");
    assert_eq!(
        err.code(),
        tonic::Code::InvalidArgument,
        "{}",
        err.message()
    );
    assert!(err.message().starts_with("name: "), "{}", err.message());
    assert!(err.message().contains("bytes)"), "{}", err.message());
    assert!(err.message().len() < 400, "{} bytes", err.message().len());
    assert!(err.details().len() < 1000, "{} bytes", err.details().len());
    env.shutdown().await;
}
crate::on_both_backends!(long_malformed_values_are_quoted_by_a_short_prefix);

/// `GetTeamRequest` as bytes: field 1 (`name`) carries anything, valid
/// UTF-8 or not, which no generated client can send.
#[derive(Clone, PartialEq, prost::Message)]
struct RawGetTeam {
    #[prost(bytes = "vec", tag = "1")]
    name: Vec<u8>,
}

/// A string field that is not UTF-8 is the caller's mistake: the answer is
/// INVALID_ARGUMENT naming the field, not INTERNAL.
async fn undecodable_requests_are_invalid_arguments(backend: Backend) {
    let env = Env::in_process(backend).await;
    let token = env.admin_token().await;
    let mut grpc = tonic::client::Grpc::new(env.team_channel());
    grpc.ready().await.expect("team is ready");
    let mut request = tonic::Request::new(RawGetTeam {
        name: b"teams/\xff\xfe".to_vec(),
    });
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("header"),
    );
    let err = grpc
        .unary::<_, allot_proto::team::Team, _>(
            request,
            tonic::codegen::http::uri::PathAndQuery::from_static(
                "/allot.team.v1.TeamService/GetTeam",
            ),
            tonic_prost::ProstCodec::default(),
        )
        .await
        .expect_err("not UTF-8");
    assert_eq!(
        err.code(),
        tonic::Code::InvalidArgument,
        "{}",
        err.message()
    );
    assert!(err.message().contains("name"), "{}", err.message());
    // The server goes on answering well-formed calls.
    env.first_team().await;
    env.shutdown().await;
}
crate::on_both_backends!(undecodable_requests_are_invalid_arguments);
