use super::*;
use allot_proto::common::Operation;

/// R-INV-5: progress is observable, within bounds: a caller holds at
/// most `MAX_OPERATION_WATCHES_PER_CALLER` open WatchOperation streams;
/// a client that goes frees its slot even while nothing changes.
#[tokio::test]
async fn r_inv_5_operation_watches_per_caller_are_capped() {
    let slots = operation_watchers();
    let running = || async {
        Ok(Operation {
            name: "operations/long".into(),
            done: false,
            ..Default::default()
        })
    };
    let mut open = Vec::new();
    for _ in 0..MAX_OPERATION_WATCHES_PER_CALLER {
        open.push(
            watch(&slots, "accounts/a", running)
                .await
                .expect("within the cap"),
        );
    }
    let err = watch(&slots, "accounts/a", running)
        .await
        .err()
        .expect("over the cap");
    assert_eq!(err.code(), tonic::Code::ResourceExhausted);
    assert!(
        err.message().contains("16 WatchOperation"),
        "{}",
        err.message()
    );
    let _other = watch(&slots, "accounts/b", running)
        .await
        .expect("another caller has its own cap");
    drop(open.pop());
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while watch(&slots, "accounts/a", running).await.is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "a closed stream frees its slot"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
