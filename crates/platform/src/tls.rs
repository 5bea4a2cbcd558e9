//! TLS for the gRPC server and for calls to other services: certificates
//! and keys read from files and checked at start (a missing file, a key
//! that is not PEM, an expired certificate or one a configured CA did not
//! sign stops the process with what to fix), and the rule that plaintext
//! is for loopback only.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use serde::{Deserialize, Serialize};
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity, ServerTlsConfig};

/// How long a TLS handshake may take before the connection is dropped.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// `[tls]`: the certificate the server presents, the CA its callers and
/// peers are checked against, and whether plaintext is allowed off
/// loopback.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain the gRPC server presents. With `key_file`, the
    /// server speaks only TLS.
    pub cert_file: Option<PathBuf>,
    /// PEM private key of `cert_file`.
    pub key_file: Option<PathBuf>,
    /// When set, every caller must present a client certificate signed by
    /// this CA (between services, and from the front door).
    pub client_ca_file: Option<PathBuf>,
    /// The CA the certificates of `https://` peers are checked against;
    /// empty: the system's trusted roots.
    pub ca_file: Option<PathBuf>,
    /// The client certificate shown to peers that ask for one; default:
    /// `cert_file` and `key_file`.
    pub client_cert_file: Option<PathBuf>,
    pub client_key_file: Option<PathBuf>,
    /// Allows plaintext gRPC on an address other than loopback (only when
    /// something else, a service mesh, encrypts every connection).
    pub allow_plaintext: bool,
}

/// A TLS setting that cannot be used, with what to do about it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TlsError(String);

/// The TLS this process serves and calls with, checked.
#[derive(Debug, Clone, Default)]
pub struct Tls {
    server: Option<ServerTlsConfig>,
    client: Option<ClientTlsConfig>,
    allow_plaintext: bool,
}

impl Tls {
    /// Reads and checks every file `config` names.
    pub fn load(config: &TlsConfig) -> Result<Tls, TlsError> {
        let ca = config
            .ca_file
            .as_deref()
            .map(|p| read_certs(p, "tls.ca_file"))
            .transpose()?;
        let client_ca = config
            .client_ca_file
            .as_deref()
            .map(|p| read_certs(p, "tls.client_ca_file"))
            .transpose()?;
        let own = pair(
            config.cert_file.as_deref(),
            config.key_file.as_deref(),
            "tls.cert_file",
            "tls.key_file",
        )?;
        let server = match &own {
            None => {
                if config.client_ca_file.is_some() {
                    return Err(TlsError(
                        "tls.client_ca_file asks callers for certificates, but the server has none: set tls.cert_file and tls.key_file too".into(),
                    ));
                }
                None
            }
            Some(own) => {
                // The server's certificate must be valid now and, when a CA is
                // configured, signed by it: the peers check it against that CA.
                let anchors = ca.as_ref().or(client_ca.as_ref());
                check_certificate(&own.certs, anchors.map(|a| a.as_slice()), "tls.cert_file")?;
                let mut s = ServerTlsConfig::new()
                    .identity(Identity::from_pem(&own.cert_pem, &own.key_pem))
                    .timeout(HANDSHAKE_TIMEOUT);
                if let Some(path) = &config.client_ca_file {
                    s = s.client_ca_root(Certificate::from_pem(read(path, "tls.client_ca_file")?));
                }
                Some(s)
            }
        };
        let client_pair = pair(
            config.client_cert_file.as_deref(),
            config.client_key_file.as_deref(),
            "tls.client_cert_file",
            "tls.client_key_file",
        )?;
        if let Some(pair) = &client_pair {
            check_at(
                &pair.certs,
                ca.as_deref(),
                "tls.client_cert_file",
                SystemTime::now(),
                webpki::KeyUsage::client_auth(),
            )?;
        }
        let client_identity = client_pair.as_ref().or(own.as_ref());
        let client = if ca.is_some() || client_identity.is_some() {
            let mut c = ClientTlsConfig::new().timeout(HANDSHAKE_TIMEOUT);
            c = match &config.ca_file {
                Some(path) => c.ca_certificate(Certificate::from_pem(read(path, "tls.ca_file")?)),
                None => c.with_native_roots(),
            };
            if let Some(id) = client_identity {
                c = c.identity(Identity::from_pem(&id.cert_pem, &id.key_pem));
            }
            Some(c)
        } else {
            None
        };
        Ok(Tls {
            server,
            client,
            allow_plaintext: config.allow_plaintext,
        })
    }

    /// The server's TLS, if it speaks TLS.
    pub fn server(&self) -> Option<ServerTlsConfig> {
        self.server.clone()
    }

    /// Whether the server speaks TLS.
    pub fn serves_tls(&self) -> bool {
        self.server.is_some()
    }

    /// Refuses a plaintext server on an address other than loopback.
    pub fn check_listen(&self, addr: SocketAddr) -> Result<(), TlsError> {
        if self.server.is_some() || self.allow_plaintext || addr.ip().is_loopback() {
            return Ok(());
        }
        Err(TlsError(format!(
            "refusing to serve plaintext gRPC on {addr}: set tls.cert_file and tls.key_file (ALLOT_TLS__CERT_FILE, ALLOT_TLS__KEY_FILE; `allot certs` makes them), listen on 127.0.0.1, or set tls.allow_plaintext = true if a service mesh encrypts every connection"
        )))
    }

    /// An endpoint for `url`: `https://` is verified against `tls.ca_file`
    /// (and shows the client certificate); `http://` only to loopback,
    /// unless plaintext is allowed.
    pub fn endpoint(&self, url: &str, what: &str) -> Result<Endpoint, TlsError> {
        let endpoint = Endpoint::from_shared(url.to_owned()).map_err(|e| {
            TlsError(format!(
                "{what} {:?} is not a URL: {e}",
                crate::redact::url(url)
            ))
        })?;
        match endpoint.uri().scheme_str() {
            Some("https") => {
                let tls = self
                    .client
                    .clone()
                    .unwrap_or_else(|| ClientTlsConfig::new().with_native_roots());
                endpoint
                    .tls_config(tls)
                    .map_err(|e| TlsError(format!("{what} {:?}: {e}", crate::redact::url(url))))
            }
            Some("http") => {
                let host = endpoint.uri().host().unwrap_or_default();
                if self.allow_plaintext || is_loopback_host(host) {
                    Ok(endpoint)
                } else {
                    Err(TlsError(format!(
                        "{what} {:?} is plaintext to another host: use https:// with tls.ca_file, or set tls.allow_plaintext = true if a service mesh encrypts every connection",
                        crate::redact::url(url)
                    )))
                }
            }
            _ => Err(TlsError(format!(
                "{what} {:?} must start with https:// (or http:// on loopback)",
                crate::redact::url(url)
            ))),
        }
    }
}

/// `localhost`, `127.0.0.1`, `[::1]`.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

/// A certificate chain and its key, as PEM and parsed.
struct Pair {
    cert_pem: Vec<u8>,
    key_pem: Vec<u8>,
    certs: Vec<CertificateDer<'static>>,
}

fn pair(
    cert: Option<&Path>,
    key: Option<&Path>,
    cert_name: &str,
    key_name: &str,
) -> Result<Option<Pair>, TlsError> {
    match (cert, key) {
        (None, None) => Ok(None),
        (Some(_), None) => Err(TlsError(format!(
            "{cert_name} is set but {key_name} is not: set both, or neither"
        ))),
        (None, Some(_)) => Err(TlsError(format!(
            "{key_name} is set but {cert_name} is not: set both, or neither"
        ))),
        (Some(c), Some(k)) => {
            let certs = read_certs(c, cert_name)?;
            let key_pem = read(k, key_name)?;
            PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
                TlsError(format!(
                    "{key_name} {} holds no PEM private key ({e}): give the key that belongs to {cert_name}",
                    k.display()
                ))
            })?;
            Ok(Some(Pair {
                cert_pem: read(c, cert_name)?,
                key_pem,
                certs,
            }))
        }
    }
}

fn read(path: &Path, name: &str) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| {
        TlsError(format!(
            "{name} {} cannot be read ({e}): check the path and that this process's user may read it",
            path.display()
        ))
    })
}

fn read_certs(path: &Path, name: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read(path, name)?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError(format!("{name} {}: not PEM ({e})", path.display())))?;
    if certs.is_empty() {
        return Err(TlsError(format!(
            "{name} {} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            path.display()
        )));
    }
    Ok(certs)
}

/// Checks that the first certificate of `chain` is valid now and, with
/// `anchors`, that one of them signed it (through the rest of `chain`).
pub fn check_certificate(
    chain: &[CertificateDer<'static>],
    anchors: Option<&[CertificateDer<'static>]>,
    name: &str,
) -> Result<(), TlsError> {
    check_certificate_at(chain, anchors, name, SystemTime::now())
}

/// [`check_certificate`] at a given time (`allot certs` asks whether a
/// certificate is still valid a month from now).
pub fn check_certificate_at(
    chain: &[CertificateDer<'static>],
    anchors: Option<&[CertificateDer<'static>]>,
    name: &str,
    at: SystemTime,
) -> Result<(), TlsError> {
    check_at(chain, anchors, name, at, webpki::KeyUsage::server_auth())
}

fn check_at(
    chain: &[CertificateDer<'static>],
    anchors: Option<&[CertificateDer<'static>]>,
    name: &str,
    at: SystemTime,
    usage: webpki::KeyUsage,
) -> Result<(), TlsError> {
    let Some(leaf) = chain.first() else {
        return Err(TlsError(format!("{name} holds no certificate")));
    };
    let leaf = webpki::EndEntityCert::try_from(leaf)
        .map_err(|e| TlsError(format!("{name} is not a certificate Allot can use: {e}")))?;
    let trust: Vec<rustls_pki_types::TrustAnchor<'_>> = anchors
        .unwrap_or_default()
        .iter()
        .map(webpki::anchor_from_trusted_cert)
        .collect::<Result<_, _>>()
        .map_err(|e| {
            TlsError(format!(
                "the CA file holds a certificate that is not a CA: {e}"
            ))
        })?;
    let time = UnixTime::since_unix_epoch(
        at.duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default(),
    );
    let result = leaf.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &trust,
        &chain[1..],
        time,
        usage,
        None,
        None,
    );
    match result {
        Ok(_) => Ok(()),
        // Without a CA to check against, only the dates are checked (webpki
        // looks at them before it looks for the issuer).
        Err(webpki::Error::UnknownIssuer) if anchors.is_none() => Ok(()),
        Err(webpki::Error::CertExpired { not_after, .. }) => Err(TlsError(format!(
            "{name} expired at {} (Unix seconds): issue a new certificate (`allot certs --renew`) and restart",
            not_after.as_secs()
        ))),
        Err(webpki::Error::CertNotValidYet { not_before, .. }) => Err(TlsError(format!(
            "{name} is not valid before {} (Unix seconds): check this host's clock",
            not_before.as_secs()
        ))),
        Err(webpki::Error::UnknownIssuer | webpki::Error::InvalidSignatureForPublicKey) => {
            Err(TlsError(format!(
                "{name} is not signed by the configured CA (tls.ca_file or tls.client_ca_file): give the CA that issued it, or a certificate that CA issued"
            )))
        }
        Err(e) => Err(TlsError(format!("{name} cannot be used: {e}"))),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_are_recognised() {
        assert!(is_loopback_host("127.0.0.1"));
        assert!(is_loopback_host("[::1]"));
        assert!(is_loopback_host("localhost"));
        assert!(!is_loopback_host("identity"));
        assert!(!is_loopback_host("10.0.0.1"));
    }

    #[test]
    fn plaintext_peers_are_refused_off_loopback() {
        let tls = Tls::default();
        assert!(tls.endpoint("http://127.0.0.1:1", "peers.team").is_ok());
        let e = tls
            .endpoint("http://team:50051", "peers.team")
            .expect_err("plaintext to another host");
        assert!(e.to_string().contains("https://"), "{e}");
        let allowed = Tls {
            allow_plaintext: true,
            ..Tls::default()
        };
        assert!(allowed.endpoint("http://team:50051", "peers.team").is_ok());
    }

    #[test]
    fn plaintext_servers_are_refused_off_loopback() {
        let tls = Tls::default();
        assert!(tls.check_listen("127.0.0.1:50051".parse().unwrap()).is_ok());
        let e = tls
            .check_listen("0.0.0.0:50051".parse().unwrap())
            .expect_err("plaintext on every interface");
        assert!(e.to_string().contains("tls.cert_file"), "{e}");
    }

    #[test]
    fn a_missing_file_says_which_setting() {
        let e = Tls::load(&TlsConfig {
            cert_file: Some("/nonexistent/cert.pem".into()),
            key_file: Some("/nonexistent/key.pem".into()),
            ..TlsConfig::default()
        })
        .expect_err("missing file");
        assert!(
            e.to_string()
                .contains("tls.cert_file /nonexistent/cert.pem"),
            "{e}"
        );
    }
}
