//! Connecting to Allot: the channel, the credential exchanged for a bearer
//! token, the three service clients, and names resolved on the server.

use std::time::Duration;

use allot_proto::entitlement::entitlement_service_client::EntitlementServiceClient;
use allot_proto::identity::identity_service_client::IdentityServiceClient;
use allot_proto::identity::{self as idpb};
use allot_proto::team::team_service_client::TeamServiceClient;
use anyhow::{Context, anyhow, bail};
use tonic::metadata::MetadataValue;
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};

use crate::Global;
use crate::contexts::{self, Contexts};

/// Adds the bearer token to every call.
#[derive(Clone)]
pub struct Bearer(Option<MetadataValue<tonic::metadata::Ascii>>);

impl Interceptor for Bearer {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(v) = &self.0 {
            req.metadata_mut().insert("authorization", v.clone());
        }
        req.set_timeout(Duration::from_secs(30));
        Ok(req)
    }
}

type Authed = InterceptedService<Channel, Bearer>;

/// One client per service, sharing a channel and a bearer token.
pub struct Clients {
    pub identity: IdentityServiceClient<Authed>,
    pub team: TeamServiceClient<Authed>,
    pub entitlement: EntitlementServiceClient<Authed>,
}

/// Whether the server's address is plaintext (`http://`), for the hints
/// refusals carry.
static PLAINTEXT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

async fn channel(g: &Global) -> anyhow::Result<Channel> {
    let mut endpoint = Endpoint::from_shared(g.server.clone())
        .with_context(|| format!("server URL {:?}", g.server))?
        .connect_timeout(Duration::from_secs(5));
    let https = endpoint.uri().scheme_str() == Some("https");
    PLAINTEXT.store(!https, std::sync::atomic::Ordering::Relaxed);
    if https {
        let tls = match &g.ca_file {
            Some(path) => {
                let pem = std::fs::read(path)
                    .with_context(|| format!("reading the CA file {}", path.display()))?;
                ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem))
            }
            None => ClientTlsConfig::new().with_native_roots(),
        };
        endpoint = endpoint.tls_config(tls)?;
    } else if g.ca_file.is_some() {
        bail!(
            "--ca-file is set but {} is plaintext: use https://",
            g.server
        );
    } else if g.credential.is_some() && !endpoint.uri().host().is_some_and(is_loopback) {
        bail!(
            "refusing to send your credential in plaintext to {}: use https:// (plaintext is for loopback only)",
            g.server
        );
    }
    endpoint.connect().await.map_err(|e| {
        let cause = error_chain(&e);
        let hint = if cause.contains("certificate") || cause.contains("UnknownIssuer") {
            "the server's certificate is not trusted: pass the CA that issued it with --ca-file (ALLOT_CA_FILE)"
        } else if https {
            "is the address right, and does it speak TLS?"
        } else if cause.contains("connection reset") || cause.contains("connection closed") || cause.contains("broken pipe") {
            "the server may speak TLS: use https://"
        } else {
            "is `allot dev` running?"
        };
        // A server out of reach is a reason to try again later: exit 8.
        anyhow::Error::new(crate::errors::StatusError {
            code: tonic::Code::Unavailable,
            text: format!("cannot reach Allot at {}: {cause} ({hint})", g.server),
            message: format!("cannot reach Allot at {}: {cause}", g.server),
            violations: Vec::new(),
            reason: None,
        })
    })
}

/// `localhost`, `127.0.0.1`, `[::1]`: where plaintext may carry a
/// credential.
fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// An error and its causes on one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Exchanges the credential for a bearer token: the context's, while it
/// has a while to live, or a new one, which the context keeps.
pub async fn token_for(g: &Global) -> anyhow::Result<String> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let path = contexts::path()?;
    if let Some(name) = g.context.as_deref().filter(|_| !g.overridden) {
        let stored = Contexts::load(&path)?;
        if let Some(token) = stored
            .contexts
            .get(name)
            .and_then(|c| c.fresh_token(g.credential.as_deref(), now))
        {
            return Ok(token.to_owned());
        }
    }
    let (token, expires) = new_token(g).await?;
    if let Some(name) = g.context.as_deref().filter(|_| !g.overridden) {
        let mut stored = Contexts::load(&path)?;
        if let Some(c) = stored.contexts.get_mut(name) {
            c.token = Some(token.clone());
            c.token_expires = expires;
            stored.save(&path)?;
        }
    }
    Ok(token)
}

/// A new token for the credential, and when it expires (Unix seconds).
pub async fn new_token(g: &Global) -> anyhow::Result<(String, i64)> {
    let cred = g.credential.as_deref().ok_or_else(|| {
        anyhow!("no credential: run `allotctl login`, set ALLOT_CREDENTIAL=CLIENT_ID:SECRET or pass --credential")
    })?;
    let (client_id, secret) = cred
        .split_once(':')
        .ok_or_else(|| anyhow!("the credential must look like CLIENT_ID:SECRET"))?;
    let r = IdentityServiceClient::new(channel(g).await?)
        .create_token(idpb::CreateTokenRequest {
            client_id: client_id.into(),
            client_secret: secret.into(),
            ..Default::default()
        })
        .await
        .map_err(status_error)?
        .into_inner();
    Ok((
        r.access_token,
        r.expire_time.map(|t| t.seconds).unwrap_or_default(),
    ))
}

/// Connects to the server; with a credential (required when
/// `need_credential`), every call carries its bearer token.
pub async fn connect(g: &Global, need_credential: bool) -> anyhow::Result<Clients> {
    let channel = channel(g).await?;
    let bearer = if need_credential || g.credential.is_some() {
        Some(format!("Bearer {}", token_for(g).await?).parse()?)
    } else {
        None
    };
    let b = Bearer(bearer);
    Ok(Clients {
        identity: IdentityServiceClient::with_interceptor(channel.clone(), b.clone()),
        team: TeamServiceClient::with_interceptor(channel.clone(), b.clone()),
        entitlement: EntitlementServiceClient::with_interceptor(channel, b),
    })
}

/// A gRPC refusal in words: the message, and the fields it names.
pub fn status_error(s: tonic::Status) -> anyhow::Error {
    use tonic_types::StatusExt;
    let mut text = format!("{:?}: {}", s.code(), s.message());
    // A transport failure says what happened in its causes.
    if let Some(source) = std::error::Error::source(&s) {
        text.push_str(": ");
        text.push_str(&error_chain(source));
    }
    // A broken connection means different things for each scheme: nginx
    // answers plaintext on its TLS port with HTTP/1.1 400 or a closed
    // connection; a TLS 1.3 server that wants a client certificate says so
    // only after the client thinks the handshake is done.
    let broken = [
        "h2 protocol error",
        "connection closed",
        "broken pipe",
        "connection reset",
        "CertificateRequired",
    ];
    if broken.iter().any(|b| text.contains(b)) {
        if PLAINTEXT.load(std::sync::atomic::Ordering::Relaxed) {
            text.push_str(" (does the server speak TLS? then use https:// and --ca-file)");
        } else {
            text.push_str(" (the connection was cut: a service behind the front door admits only other services; use the front door's address)");
        }
    }
    let mut violations = Vec::new();
    if let Some(br) = s.get_details_bad_request() {
        for v in br.field_violations {
            text.push_str(&format!("\n  {}: {}", v.field, v.description));
            violations.push((v.field, v.description));
        }
    }
    let reason = s.get_details_error_info().map(|i| i.reason);
    anyhow::Error::new(crate::errors::StatusError {
        code: s.code(),
        text,
        message: s.message().to_owned(),
        violations,
        reason,
    })
}

/// `teams/ID` for `teams/ID` or just the id.
pub fn team_name(t: &str) -> String {
    if t.starts_with("teams/") {
        t.to_owned()
    } else {
        format!("teams/{t}")
    }
}

/// `products/ID` for `products/ID` or just the id.
pub fn product_name(p: &str) -> String {
    if p.starts_with("products/") {
        p.to_owned()
    } else {
        format!("products/{p}")
    }
}

/// The account of an email address.
pub async fn account_of(c: &mut Clients, email: &str) -> anyhow::Result<String> {
    Ok(c.identity
        .lookup_account(idpb::LookupAccountRequest {
            email: email.into(),
        })
        .await
        .map_err(status_error)?
        .into_inner()
        .name)
}

/// `teams/T/members/A` for an email address.
pub async fn member_of(c: &mut Clients, team: &str, email: &str) -> anyhow::Result<String> {
    let account = account_of(c, email).await?;
    Ok(format!(
        "{}/members/{}",
        team_name(team),
        account.trim_start_matches("accounts/")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plaintext_is_for_loopback() {
        assert!(is_loopback("127.0.0.1"));
        assert!(is_loopback("[::1]"));
        assert!(is_loopback("localhost"));
        assert!(!is_loopback("allot.example.com"));
        assert!(!is_loopback("10.1.2.3"));
    }

    #[test]
    fn names_take_an_id_or_a_full_name() {
        assert_eq!(team_name("t1"), "teams/t1");
        assert_eq!(team_name("teams/t1"), "teams/t1");
        assert_eq!(product_name("cad"), "products/cad");
        assert_eq!(product_name("products/cad"), "products/cad");
    }
}
