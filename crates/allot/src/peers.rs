//! How a process reaches the other services: their URLs, the token it
//! calls them with, and the ended sessions it learns from identity.

use std::net::SocketAddr;
use std::sync::Arc;

use allot_identity::IdentityService;
use allot_platform::Config;
use allot_platform::auth::{INTERNAL_SERVICE_ACCOUNT, TokenVerifier};
use allot_platform::clock::SharedClock;
use allot_platform::grpc::{
    CallAuth, EntitlementClient, IdentityClient, TeamClient, TokenSource, channel, request,
};
use allot_platform::hosting::{MissingPeer, Peers};
use allot_platform::tls::Tls;
use allot_proto::entitlement::entitlement_service_client::EntitlementServiceClient;
use allot_proto::identity::identity_service_client::IdentityServiceClient;
use allot_proto::team::team_service_client::TeamServiceClient;
use anyhow::anyhow;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::ServiceKind;
use crate::trust::{EndedSessions, spawn_key_fetcher};

/// The URL of a peer: configured, or this process when it hosts the service.
pub(crate) fn peer_url(
    config: &Config,
    kind: ServiceKind,
    hosted: &[ServiceKind],
    own: &str,
) -> anyhow::Result<String> {
    let configured = match kind {
        ServiceKind::Identity => &config.peers.identity,
        ServiceKind::Team => &config.peers.team,
        ServiceKind::Entitlement => &config.peers.entitlement,
        ServiceKind::Notification => &config.peers.notification,
    };
    match configured.as_deref().filter(|u| !u.is_empty()) {
        Some(url) => Ok(url.to_owned()),
        None if hosted.contains(&kind) => Ok(own.to_owned()),
        None => Err(anyhow!(
            "peers.{name} (ALLOT_PEERS__{upper}) is required: where the {name} service listens",
            name = kind.name(),
            upper = kind.name().to_uppercase()
        )),
    }
}

/// How this process reaches itself: on loopback when it listens on every
/// interface (the certificate `allot certs` makes names 127.0.0.1).
pub(crate) fn own_url(addr: SocketAddr, tls: bool) -> String {
    let scheme = if tls { "https" } else { "http" };
    if addr.ip().is_unspecified() {
        format!("{scheme}://127.0.0.1:{}", addr.port())
    } else {
        format!("{scheme}://{addr}")
    }
}

/// The token this process calls its peers with: issued here when it hosts
/// identity, else obtained from identity with the internal secret (and
/// identity's signing keys followed meanwhile).
#[allow(clippy::too_many_arguments)]
pub(crate) fn call_tokens(
    identity: Option<&IdentityService>,
    config: &Config,
    services: &[ServiceKind],
    own_url: &str,
    tls: &Tls,
    internal_secret: &str,
    verifier: &Arc<TokenVerifier>,
    clock: &SharedClock,
    stop: &CancellationToken,
    tasks: &mut Vec<JoinHandle<()>>,
) -> anyhow::Result<TokenSource> {
    let internal_secret = internal_secret.to_owned();
    Ok(match identity {
        Some(svc) => {
            let app = svc.app.clone();
            TokenSource::spawn(
                Arc::new(move || {
                    let r = app
                        .tokens()
                        .issue_internal_token()
                        .map_err(tonic::Status::from);
                    Box::pin(async move { r })
                }),
                clock_seconds(clock.clone()),
                stop.clone(),
            )
        }
        None => {
            let url = peer_url(config, ServiceKind::Identity, services, own_url)?;
            let ch = channel(tls, &url, "peers.identity")?;
            spawn_key_fetcher(ch.clone(), verifier.clone(), stop.clone(), tasks);
            let secret = internal_secret.clone();
            TokenSource::spawn(
                Arc::new(move || {
                    let mut client = IdentityServiceClient::new(ch.clone());
                    let secret = secret.clone();
                    Box::pin(async move {
                        let r = client
                            .create_token(request(allot_proto::identity::CreateTokenRequest {
                                client_id: INTERNAL_SERVICE_ACCOUNT.into(),
                                client_secret: secret,
                                ..Default::default()
                            }))
                            .await?
                            .into_inner();
                        Ok((
                            r.access_token,
                            r.expire_time.map(|t| t.seconds).unwrap_or_default(),
                        ))
                    })
                }),
                clock_seconds(clock.clone()),
                stop.clone(),
            )
        }
    })
}

/// R-AUTH-2: where this process learns which sessions ended: from identity
/// in this process, or by asking it.
pub(crate) fn ended_sessions(
    identity: Option<&IdentityService>,
    peers: &ProcessPeers<'_>,
) -> anyhow::Result<EndedSessions> {
    Ok(match identity {
        Some(svc) => {
            let app = svc.app.clone();
            Arc::new(move |after| {
                let app = app.clone();
                Box::pin(async move {
                    app.passwords()
                        .ended_sessions(&allot_platform::auth::Caller::system(), after)
                        .await
                        .map_err(|e| e.to_string())
                })
            })
        }
        None => {
            let client = peers.identity().map_err(|e| anyhow!(e.0))?;
            Arc::new(move |after| {
                let mut client = client.clone();
                Box::pin(async move {
                    let r = client
                        .list_ended_sessions(request(
                            allot_proto::identity::ListEndedSessionsRequest { after_time: after },
                        ))
                        .await
                        .map_err(|s| s.message().to_owned())?;
                    Ok(r.into_inner()
                        .sessions
                        .into_iter()
                        .map(|s| (s.session_id, s.expire_time, s.end_time))
                        .collect())
                })
            })
        }
    })
}

/// The other services as this process reaches them: at their configured
/// URL, or at its own address for those it hosts, with Allot's own token.
pub(crate) struct ProcessPeers<'a> {
    pub(crate) config: &'a Config,
    pub(crate) hosted: &'a [ServiceKind],
    pub(crate) own_url: &'a str,
    pub(crate) tls: &'a Tls,
    pub(crate) tokens: TokenSource,
}

impl ProcessPeers<'_> {
    fn channel(
        &self,
        kind: ServiceKind,
    ) -> Result<allot_platform::grpc::Traced<tonic::transport::Channel>, MissingPeer> {
        let url = peer_url(self.config, kind, self.hosted, self.own_url)
            .map_err(|e| MissingPeer(e.to_string()))?;
        let what = format!("peers.{}", kind.name());
        channel(self.tls, &url, &what)
            .map(allot_platform::grpc::Traced::new)
            .map_err(|e| MissingPeer(e.message().to_owned()))
    }
}

impl Peers for ProcessPeers<'_> {
    fn identity(&self) -> Result<IdentityClient, MissingPeer> {
        Ok(IdentityServiceClient::with_interceptor(
            self.channel(ServiceKind::Identity)?,
            CallAuth::new(self.tokens.clone()),
        ))
    }

    fn team(&self) -> Result<TeamClient, MissingPeer> {
        Ok(TeamServiceClient::with_interceptor(
            self.channel(ServiceKind::Team)?,
            CallAuth::new(self.tokens.clone()),
        ))
    }

    fn entitlement(&self) -> Result<EntitlementClient, MissingPeer> {
        Ok(EntitlementServiceClient::with_interceptor(
            self.channel(ServiceKind::Entitlement)?,
            CallAuth::new(self.tokens.clone()),
        ))
    }
}

pub(crate) fn clock_seconds(clock: SharedClock) -> impl Fn() -> i64 + Send + Sync + 'static {
    move || clock.now().unix_timestamp()
}
