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
    // Half a megabyte: under the request limit, so the name itself is judged.
    let long = format!("teams/{}", "Z".repeat(1 << 19));
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

/// Nothing unbounded: a request over its method's limit (1 MiB unless the
/// method takes a file) is refused with RESOURCE_EXHAUSTED naming the
/// limit, and a repeated field over its limit with INVALID_ARGUMENT naming
/// the field, before any work; meanwhile other calls keep answering.
async fn oversized_requests_are_refused_fast_while_others_keep_answering(backend: Backend) {
    use allot_proto::entitlement as epb;
    use allot_proto::team as tpb;
    use tonic_types::StatusExt;
    let env = Env::in_process(backend).await;
    let admin = env.admin().await;
    let team = env.first_team().await.name;
    let selection = |i: usize| epb::ProductSelection {
        product: format!("products/p{i}"),
        items: vec![],
    };
    let huge = epb::AssignProductsRequest {
        parent: team.clone(),
        account: "accounts/x".into(),
        products: (0..400_000).map(selection).collect(),
        ..Default::default()
    };
    let started = std::time::Instant::now();
    let mut refusals = Vec::new();
    for _ in 0..4 {
        let (mut c, r) = (admin.entitlement.clone(), huge.clone());
        refusals.push(tokio::spawn(async move { c.assign_products(r).await }));
    }
    // Other calls answer while the large ones are refused.
    for _ in 0..20 {
        admin
            .team
            .clone()
            .get_team(tpb::GetTeamRequest { name: team.clone() })
            .await
            .expect("an ordinary call still answers");
    }
    for r in refusals {
        let err = r.await.expect("task").expect_err("too large");
        assert_eq!(
            err.code(),
            tonic::Code::ResourceExhausted,
            "{}",
            err.message()
        );
        let info = err.get_details_error_info().expect("ErrorInfo");
        assert_eq!(info.reason, "REQUEST_TOO_LARGE");
        assert_eq!(
            info.metadata.get("limit_bytes").map(String::as_str),
            Some("1048576")
        );
    }
    eprintln!(
        "4 requests of {} bytes refused in {:?}",
        prost::Message::encoded_len(&huge),
        started.elapsed()
    );

    // Under the byte limit but over a repeated field's limit.
    let err = admin
        .entitlement
        .clone()
        .assign_products(epb::AssignProductsRequest {
            products: (0..101).map(selection).collect(),
            ..huge.clone()
        })
        .await
        .expect_err("too many products");
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert!(err.message().starts_with("products: "), "{}", err.message());
    let catalog = env.service_account(&["catalog"]).await;
    let err = catalog
        .entitlement
        .clone()
        .create_product(epb::CreateProductRequest {
            product_id: "wide".into(),
            product: Some(epb::Product {
                display_name: "Wide".into(),
                items: (0..5000)
                    .map(|i| epb::Item {
                        id: format!("i{i}"),
                        display_name: "x".into(),
                        kind: epb::ItemKind::Application as i32,
                    })
                    .collect(),
                ..Default::default()
            }),
        })
        .await
        .expect_err("too many items");
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert!(
        err.message().starts_with("product.items: "),
        "{}",
        err.message()
    );
    env.shutdown().await;
}
crate::on_both_backends!(oversized_requests_are_refused_fast_while_others_keep_answering);

/// `on_behalf_of` lets Allot's own services act for an admin; anyone else
/// who sets it is refused, and nothing changes.
async fn on_behalf_of_is_only_for_allots_own_services(backend: Backend) {
    use allot_proto::team as tpb;
    let env = Env::in_process(backend).await;
    let admin = env.admin().await;
    let team = env.first_team().await.name;
    let someone = env.person("Sue").await;
    let fresh = crate::harness::unique_email("behalf");
    let err = admin
        .team
        .clone()
        .add_members(tpb::AddMembersRequest {
            parent: team.clone(),
            addresses: fresh.clone(),
            on_behalf_of: someone.account.clone(),
            ..Default::default()
        })
        .await
        .expect_err("not Allot itself");
    assert_eq!(
        err.code(),
        tonic::Code::PermissionDenied,
        "{}",
        err.message()
    );
    assert!(err.message().contains("on_behalf_of"), "{}", err.message());
    let members = admin
        .team
        .clone()
        .list_members(tpb::ListMembersRequest {
            parent: team,
            page_size: 100,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .members;
    assert!(!members.iter().any(|m| m.email.eq_ignore_ascii_case(&fresh)));
    env.shutdown().await;
}
crate::on_both_backends!(on_behalf_of_is_only_for_allots_own_services);
