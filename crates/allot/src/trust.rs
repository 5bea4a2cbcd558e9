//! What every process trusts, kept in step with identity: its signing
//! keys (exactly those it publishes) and the sign-in sessions that ended
//! (R-AUTH-2), whose tokens are refused.

use std::sync::Arc;
use std::time::Duration;

use allot_platform::auth::TokenVerifier;
use allot_platform::clock::SharedClock;
use allot_platform::grpc::request;
use allot_proto::identity::identity_service_client::IdentityServiceClient;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How often every process asks which sign-in sessions ended (R-AUTH-2):
/// a token of a session that ended stops working everywhere within about
/// this long.
pub const SESSION_POLL: Duration = Duration::from_secs(1);

/// Sessions that ended at or after a time (microseconds): `(session,
/// until, ended_at)`.
pub(crate) type EndedSessions = Arc<
    dyn Fn(
            i64,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<Vec<(String, i64, i64)>, String>> + Send>,
        > + Send
        + Sync,
>;

/// Feeds the verifier the sessions that ended, every [`SESSION_POLL`].
pub(crate) fn follow_ended_sessions(
    ended: EndedSessions,
    verifier: Arc<TokenVerifier>,
    clock: SharedClock,
    stop: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        // Sessions end at most one token lifetime before they matter no
        // more; starting from zero, the first answer has every one still
        // alive.
        let mut after = 0i64;
        loop {
            match ended(after).await {
                Ok(sessions) => {
                    let now = clock.now().unix_timestamp();
                    if let Some((_, _, last)) = sessions.last() {
                        after = after.max(*last);
                    }
                    let pairs: Vec<(String, i64)> = sessions
                        .into_iter()
                        .map(|(s, until, _)| (s, until))
                        .collect();
                    verifier.end_sessions(&pairs, now);
                }
                Err(e) => {
                    tracing::debug!(error = %e, "could not ask which sessions ended; trying again");
                }
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(SESSION_POLL) => {}
            }
        }
    })
}

/// How often the other services ask identity for its signing keys (also
/// whenever a token names a key they do not know): a key removed from
/// identity is distrusted everywhere within this long.
pub const KEY_REFRESH: Duration = Duration::from_secs(60);

/// Keeps the verifier's keys in step with identity's signing keys.
pub(crate) fn spawn_key_fetcher(
    ch: tonic::transport::Channel,
    verifier: Arc<TokenVerifier>,
    stop: CancellationToken,
    tasks: &mut Vec<JoinHandle<()>>,
) {
    tasks.push(tokio::spawn(async move {
        let mut client = IdentityServiceClient::new(ch);
        loop {
            let wait = match client
                .get_signing_keys(request(allot_proto::identity::GetSigningKeysRequest {}))
                .await
            {
                Ok(r) => {
                    let mut keys = Vec::new();
                    for k in r.into_inner().keys {
                        if let Ok(public) = <[u8; 32]>::try_from(k.public_key.as_slice()) {
                            if !verifier.knows_key(&k.key_id) {
                                tracing::info!(key_id = %k.key_id, "trusting identity's signing key");
                            }
                            keys.push((k.key_id, public));
                        }
                    }
                    // Exactly what identity publishes: a key removed after a
                    // rotation stops being trusted here too.
                    verifier.replace_keys(&keys);
                    KEY_REFRESH
                }
                Err(e) => {
                    tracing::warn!(error = %e.message(), "could not fetch identity's signing keys; retrying");
                    Duration::from_secs(1)
                }
            };
            tokio::select! {
                () = stop.cancelled() => break,
                () = tokio::time::sleep(wait) => {}
                // A token names a key not seen yet: identity rotated keys.
                () = verifier.unknown_key_seen() => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }));
}
