//! The gRPC API as the console calls it: the services' channels, and
//! clients that act as the signed-in person (their bearer token) and pass
//! on the browser's address (for identity's sign-in throttle).

use std::time::Duration;

use allot_platform::grpc::Traced;
use allot_platform::tls::Tls;
use allot_proto::entitlement::entitlement_service_client::EntitlementServiceClient;
use allot_proto::identity::identity_service_client::IdentityServiceClient;
use allot_proto::team::team_service_client::TeamServiceClient;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// The longest the console waits for one call: a page answers within it.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the services are.
#[derive(Debug, Clone)]
pub struct ServiceUrls {
    pub identity: String,
    pub team: String,
    pub entitlement: String,
}

/// One lazily connected channel per service.
#[derive(Clone, Debug)]
pub struct Api {
    identity: Traced<Channel>,
    team: Traced<Channel>,
    entitlement: Traced<Channel>,
}

impl Api {
    pub fn connect(tls: &Tls, urls: &ServiceUrls) -> anyhow::Result<Api> {
        let ch = |url: &str, what: &str| {
            allot_platform::grpc::channel(tls, url, what)
                .map(Traced::new)
                .map_err(|s| anyhow::anyhow!(s.message().to_owned()))
        };
        Ok(Api {
            identity: ch(&urls.identity, "peers.identity")?,
            team: ch(&urls.team, "peers.team")?,
            entitlement: ch(&urls.entitlement, "peers.entitlement")?,
        })
    }

    /// Clients acting as the person whose token this is (none: calls that
    /// need no token, like signing in), from the browser at `address`.
    pub fn calls(&self, token: Option<&str>, address: &str) -> Calls {
        let who = Caller::new(token, address);
        Calls {
            identity: IdentityServiceClient::with_interceptor(self.identity.clone(), who.clone()),
            team: TeamServiceClient::with_interceptor(self.team.clone(), who.clone()),
            entitlement: EntitlementServiceClient::with_interceptor(self.entitlement.clone(), who),
        }
    }
}

type Authed = InterceptedService<Traced<Channel>, Caller>;

/// Typed clients for one visit.
#[derive(Clone)]
pub struct Calls {
    pub identity: IdentityServiceClient<Authed>,
    pub team: TeamServiceClient<Authed>,
    pub entitlement: EntitlementServiceClient<Authed>,
}

/// Adds the person's token, the browser's address and a deadline to
/// every call.
#[derive(Clone)]
pub struct Caller {
    token: Option<MetadataValue<Ascii>>,
    address: Option<MetadataValue<Ascii>>,
}

impl Caller {
    fn new(token: Option<&str>, address: &str) -> Caller {
        Caller {
            token: token.and_then(|t| format!("Bearer {t}").parse().ok()),
            address: address.parse().ok(),
        }
    }
}

impl Interceptor for Caller {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(t) = &self.token {
            req.metadata_mut().insert("authorization", t.clone());
        }
        if let Some(a) = &self.address {
            req.metadata_mut().insert("x-real-ip", a.clone());
        }
        req.set_timeout(CALL_TIMEOUT);
        Ok(req)
    }
}
