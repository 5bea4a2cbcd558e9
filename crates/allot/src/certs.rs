//! A deployment's own certificate authority: `allot certs` makes the CA
//! once, then a certificate and key per service (and for the front door),
//! each naming the service's host, `localhost` and `127.0.0.1`, good for
//! both ends of a connection between services. Running it again issues
//! only what is missing or expires within [`RENEW_BEFORE`]; `--renew`
//! issues every certificate anew with the same CA.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{Context, bail};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

/// The CA's subject, followed by a part of its public key: each deployment's
/// CA has its own name, and a CA read back from its key has the same name
/// as when it was made (the certificates it issues name it as issuer).
const CA_NAME: &str = "Allot deployment CA";
/// How long the CA is valid.
pub const CA_VALIDITY: Duration = Duration::from_secs(10 * 365 * 24 * 3600);
/// How long a service certificate is valid.
pub const CERT_VALIDITY: Duration = Duration::from_secs(397 * 24 * 3600);
/// A certificate that expires sooner than this is issued again.
pub const RENEW_BEFORE: Duration = Duration::from_secs(30 * 24 * 3600);

/// A CA: its certificate as PEM, and what it signs with.
pub struct Authority {
    pub cert_pem: String,
    key: KeyPair,
}

/// A certificate and its private key, as PEM.
pub struct Issued {
    pub cert_pem: String,
    pub key_pem: String,
}

fn ca_params(key: &KeyPair) -> anyhow::Result<CertificateParams> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    let id: String = key
        .public_key_raw()
        .iter()
        .skip(1)
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect();
    params
        .distinguished_name
        .push(DnType::CommonName, format!("{CA_NAME} {id}"));
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    Ok(params)
}

impl Authority {
    /// A new CA, valid from now for [`CA_VALIDITY`].
    pub fn create() -> anyhow::Result<Authority> {
        let key = KeyPair::generate()?;
        let mut params = ca_params(&key)?;
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::minutes(5);
        params.not_after = now + CA_VALIDITY;
        let cert = params.self_signed(&key)?;
        Ok(Authority {
            cert_pem: cert.pem(),
            key,
        })
    }

    /// The CA of `cert_pem`, signing with `key_pem`.
    pub fn load(cert_pem: String, key_pem: &str) -> anyhow::Result<Authority> {
        Ok(Authority {
            cert_pem,
            key: KeyPair::from_pem(key_pem).context("the CA key is not a PEM private key")?,
        })
    }

    pub fn key_pem(&self) -> String {
        self.key.serialize_pem()
    }

    /// A certificate for `names` (host names or IP addresses), for server
    /// and client authentication, valid from `not_before` for `validity`.
    pub fn issue_at(
        &self,
        names: &[String],
        not_before: SystemTime,
        validity: Duration,
    ) -> anyhow::Result<Issued> {
        self.issue_for(names, not_before, validity, Use::ServerAndClient)
    }

    fn issue_for(
        &self,
        names: &[String],
        not_before: SystemTime,
        validity: Duration,
        usage: Use,
    ) -> anyhow::Result<Issued> {
        let Some(first) = names.first() else {
            bail!("a certificate needs at least one name");
        };
        let mut params = CertificateParams::new(names.to_vec())?;
        params.distinguished_name.push(DnType::CommonName, first);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = match usage {
            Use::ServerAndClient => vec![
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ],
            Use::ServerOnly => vec![ExtendedKeyUsagePurpose::ServerAuth],
        };
        let from = time::OffsetDateTime::from(not_before);
        params.not_before = from;
        params.not_after = from + validity;
        let key = KeyPair::generate()?;
        let issuer = Issuer::new(ca_params(&self.key)?, &self.key);
        let cert = params.signed_by(&key, &issuer)?;
        Ok(Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// [`Authority::issue_at`] from a few minutes ago (clocks differ) for
    /// [`CERT_VALIDITY`].
    pub fn issue(&self, names: &[String]) -> anyhow::Result<Issued> {
        self.issue_at(
            names,
            SystemTime::now() - Duration::from_secs(300),
            CERT_VALIDITY,
        )
    }
}

/// What a certificate may be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// A service: it serves, and calls the others with it.
    ServerAndClient,
    /// Only serves (a database): it cannot pass a service's client check.
    ServerOnly,
}

/// The names a service's certificate carries: its host, `localhost`,
/// `127.0.0.1` and `extra`.
pub fn names_for(host: &str, extra: &[String]) -> Vec<String> {
    let mut names = vec![host.to_owned(), "localhost".into(), "127.0.0.1".into()];
    for n in extra {
        if !names.contains(n) {
            names.push(n.clone());
        }
    }
    names
}

/// What `allot certs` wrote.
#[derive(Debug, Default)]
pub struct Written {
    pub created_ca: bool,
    pub issued: Vec<String>,
    pub kept: Vec<String>,
}

/// Writes `dir/ca.pem` and `dir/ca.key` (once), and for each host
/// `dir/<host>/{cert.pem,key.pem,ca.pem}`; keys are written mode 0600. A
/// certificate is kept while it is valid for [`RENEW_BEFORE`] more and
/// carries every name asked for.
pub fn write(
    dir: &Path,
    hosts: &[String],
    extra: &[String],
    renew: bool,
) -> anyhow::Result<Written> {
    write_for(dir, hosts, extra, renew, Use::ServerAndClient)
}

/// [`write`] with a given use of the certificates.
pub fn write_for(
    dir: &Path,
    hosts: &[String],
    extra: &[String],
    renew: bool,
    usage: Use,
) -> anyhow::Result<Written> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut written = Written::default();
    let (ca_cert, ca_key) = (dir.join("ca.pem"), dir.join("ca.key"));
    if ca_cert.exists() && !ca_key.exists() {
        bail!(
            "{} exists but {} does not: put the CA's key back (a new CA would break every copy of ca.pem handed out), or move ca.pem away to start a new CA",
            ca_cert.display(),
            ca_key.display()
        );
    }
    let ca = if ca_key.exists() {
        let cert = std::fs::read_to_string(&ca_cert)
            .with_context(|| format!("reading {}", ca_cert.display()))?;
        let key = std::fs::read_to_string(&ca_key)
            .with_context(|| format!("reading {}", ca_key.display()))?;
        Authority::load(cert, &key)?
    } else {
        let ca = Authority::create()?;
        write_file(&ca_cert, &ca.cert_pem, 0o644)?;
        write_file(&ca_key, &ca.key_pem(), 0o600)?;
        written.created_ca = true;
        ca
    };
    let anchors = pem_certs(&ca.cert_pem)?;
    for host in hosts {
        let folder = dir.join(host);
        let cert_file = folder.join("cert.pem");
        let current = std::fs::read_to_string(&cert_file).ok();
        let names = names_for(host, extra);
        let still_good = current.as_deref().is_some_and(|pem| {
            pem_certs(pem).is_ok_and(|chain| {
                allot_platform::tls::check_certificate_at(
                    &chain,
                    Some(&anchors),
                    host,
                    SystemTime::now() + RENEW_BEFORE,
                )
                .is_ok()
                    && names_all_in(&chain, &names)
            })
        });
        if still_good && !renew {
            written.kept.push(host.clone());
            continue;
        }
        let issued = ca.issue_for(
            &names,
            SystemTime::now() - Duration::from_secs(300),
            CERT_VALIDITY,
            usage,
        )?;
        std::fs::create_dir_all(&folder)?;
        write_file(&folder.join("key.pem"), &issued.key_pem, 0o600)?;
        write_file(&cert_file, &issued.cert_pem, 0o644)?;
        write_file(&folder.join("ca.pem"), &ca.cert_pem, 0o644)?;
        written.issued.push(host.clone());
    }
    Ok(written)
}

/// Whether the first certificate of `chain` is valid for every one of
/// `names`.
fn names_all_in(chain: &[CertificateDer<'static>], names: &[String]) -> bool {
    let Some(leaf) = chain.first() else {
        return false;
    };
    let Ok(cert) = webpki::EndEntityCert::try_from(leaf) else {
        return false;
    };
    names.iter().all(|n| {
        // A wildcard name is checked through a name it covers.
        let probe = match n.strip_prefix("*.") {
            Some(rest) => format!("wildcard-probe.{rest}"),
            None => n.clone(),
        };
        rustls_pki_types::ServerName::try_from(probe.as_str())
            .is_ok_and(|name| cert.verify_is_valid_for_subject_name(&name).is_ok())
    })
}

fn pem_certs(pem: &str) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    Ok(CertificateDer::pem_slice_iter(pem.as_bytes()).collect::<Result<_, _>>()?)
}

/// Writes `path` through a temporary file, so a reader never sees half a
/// key, with `mode` from the start.
fn write_file(path: &Path, contents: &str, mode: u32) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp: PathBuf = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .with_context(|| format!("writing {}", tmp.display()))?;
    f.write_all(contents.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn issued_certificates_verify_against_their_ca_and_expire() {
        let ca = Authority::create().unwrap();
        let anchors = pem_certs(&ca.cert_pem).unwrap();
        let good = ca.issue(&names_for("team", &[])).unwrap();
        let chain = pem_certs(&good.cert_pem).unwrap();
        allot_platform::tls::check_certificate(&chain, Some(&anchors), "team").unwrap();

        let old = ca
            .issue_at(
                &names_for("team", &[]),
                SystemTime::now() - Duration::from_secs(3 * 86400),
                Duration::from_secs(86400),
            )
            .unwrap();
        let e = allot_platform::tls::check_certificate(
            &pem_certs(&old.cert_pem).unwrap(),
            Some(&anchors),
            "tls.cert_file",
        )
        .unwrap_err();
        assert!(e.to_string().contains("expired"), "{e}");

        let other = Authority::create().unwrap();
        let e = allot_platform::tls::check_certificate(
            &chain,
            Some(&pem_certs(&other.cert_pem).unwrap()),
            "tls.cert_file",
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("not signed by the configured CA"),
            "{e}"
        );
    }

    #[test]
    fn a_ca_without_its_key_is_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), &["team".to_owned()], &[], false).unwrap();
        std::fs::rename(dir.path().join("ca.key"), dir.path().join("offline.key")).unwrap();
        let e = write(dir.path(), &["team".to_owned()], &[], true)
            .err()
            .unwrap();
        assert!(e.to_string().contains("put the CA's key back"), "{e}");
    }

    #[test]
    fn a_ca_read_back_from_its_key_issues_certificates_its_pem_trusts() {
        let dir = tempfile::tempdir().unwrap();
        let hosts = vec!["identity".to_owned()];
        let first = write(dir.path(), &hosts, &[], false).unwrap();
        assert!(first.created_ca);
        assert_eq!(first.issued, hosts);
        let again = write(dir.path(), &hosts, &[], false).unwrap();
        assert_eq!(again.kept, hosts, "a valid certificate is kept");
        let named = write(dir.path(), &hosts, &["allot.example.com".into()], false).unwrap();
        assert_eq!(named.issued, hosts, "a new name is a new certificate");
        let renewed = write(dir.path(), &hosts, &[], true).unwrap();
        assert!(!renewed.created_ca);
        assert_eq!(renewed.issued, hosts);
        let ca = pem_certs(&std::fs::read_to_string(dir.path().join("ca.pem")).unwrap()).unwrap();
        let cert =
            pem_certs(&std::fs::read_to_string(dir.path().join("identity/cert.pem")).unwrap())
                .unwrap();
        allot_platform::tls::check_certificate(&cert, Some(&ca), "identity").unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("identity/key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
