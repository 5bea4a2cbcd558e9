//! Bearer tokens: identity signs them (Ed25519 JWTs); every service verifies
//! them locally with identity's public keys. The edge middleware turns the
//! `authorization` header into a [`Caller`] in the request's extensions.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ids::{AccountId, ServiceAccountId};

/// What a token may do beyond a person's own team roles.
pub mod scopes {
    /// Allot's own services calling each other.
    pub const INTERNAL: &str = "internal";
    /// Operators: service accounts, deliveries, every team.
    pub const ADMIN: &str = "admin";
    /// Managing the product catalog.
    pub const CATALOG: &str = "catalog";
    /// Recording purchases: contracts and subscriptions.
    pub const CONTRACTS: &str = "contracts";
    /// Collaboration products adding guests to teams.
    pub const GUESTS: &str = "guests";
    /// Reading accounts.
    pub const ACCOUNTS_READ: &str = "accounts.read";
    /// Following the change streams.
    pub const EVENTS_READ: &str = "events.read";
    /// Asking entitlement checks for any person (licensing back ends).
    pub const ENTITLEMENTS_CHECK: &str = "entitlements.check";
    /// Acting for a person.
    pub const ACT_AS: &str = "act_as";

    /// Every scope a credential may carry.
    pub const ALL: &[&str] = &[
        INTERNAL,
        ADMIN,
        CATALOG,
        CONTRACTS,
        GUESTS,
        ACCOUNTS_READ,
        EVENTS_READ,
        ENTITLEMENTS_CHECK,
        ACT_AS,
    ];
}

const ISSUER: &str = "allot";
const AUDIENCE: &str = "allot";

/// The claims of an Allot bearer token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// `accounts/{id}` or `serviceAccounts/{id}`: whose rights apply.
    pub sub: String,
    /// Space-separated scopes.
    #[serde(default)]
    pub scope: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    /// The service account acting for `sub` (RFC 8693 `act`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<Actor>,
    /// The sign-in session this token belongs to (R-AUTH-2): signing out
    /// or changing the password ends it, and its tokens stop working.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Actor {
    pub sub: String,
}

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Account(AccountId),
    ServiceAccount(ServiceAccountId),
}

impl Principal {
    pub fn name(&self) -> String {
        match self {
            Principal::Account(a) => a.name(),
            Principal::ServiceAccount(s) => s.name(),
        }
    }

    fn parse(sub: &str) -> Option<Principal> {
        if let Ok(a) = AccountId::parse("sub", sub) {
            return Some(Principal::Account(a));
        }
        ServiceAccountId::parse("sub", sub)
            .ok()
            .map(Principal::ServiceAccount)
    }
}

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Whose rights apply: a person (also when a platform acts for them) or a
    /// service account.
    pub principal: Principal,
    /// The platform acting for the person, if any.
    pub actor: Option<ServiceAccountId>,
    pub scopes: Vec<String>,
    /// When the token expires (Unix seconds).
    pub expires_at: i64,
    /// The sign-in session of the token, if it came from signing in.
    pub session: Option<String>,
}

impl Caller {
    pub fn account(&self) -> Option<&AccountId> {
        match &self.principal {
            Principal::Account(a) => Some(a),
            Principal::ServiceAccount(_) => None,
        }
    }

    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// Allot's own services.
    pub fn is_internal(&self) -> bool {
        self.has_scope(scopes::INTERNAL)
    }

    /// The caller as a resource name, for events and audit.
    pub fn name(&self) -> String {
        self.principal.name()
    }

    /// The person Allot's own service acts for, with that person's rights
    /// only (no scopes), from a request's `on_behalf_of`: so work one
    /// service does for another (a nested import) is authorised, mailed
    /// and named as the admin who started it. Empty: the caller as it is;
    /// anyone but Allot itself asking is refused.
    pub fn on_behalf_of(self, field: &str, account: &str) -> Result<Caller, tonic::Status> {
        if account.is_empty() {
            return Ok(self);
        }
        if !self.is_internal() {
            return Err(tonic::Status::permission_denied(format!(
                "{field} is for Allot's own services"
            )));
        }
        let account =
            AccountId::parse(field, account).map_err(|v| crate::error::invalid_argument(&[v]))?;
        Ok(Caller {
            principal: Principal::Account(account),
            actor: None,
            scopes: Vec::new(),
            expires_at: self.expires_at,
            session: None,
        })
    }

    /// A caller for work Allot does by itself (consumers, jobs).
    pub fn system() -> Caller {
        Caller {
            principal: Principal::ServiceAccount(ServiceAccountId::from_db(
                INTERNAL_SERVICE_ACCOUNT.to_owned(),
            )),
            actor: None,
            scopes: vec![scopes::INTERNAL.to_owned()],
            expires_at: i64::MAX,
            session: None,
        }
    }
}

/// The id of the service account Allot's services call each other with.
pub const INTERNAL_SERVICE_ACCOUNT: &str = "allot-internal";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read key file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("key file {path} is not a PKCS#8 Ed25519 private key")]
    Format { path: String },
    #[error("cannot write key file {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// Identity's signing key.
#[derive(Clone)]
pub struct SigningKeyPair {
    signing: SigningKey,
    kid: String,
}

impl std::fmt::Debug for SigningKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyPair")
            .field("kid", &self.kid)
            .finish()
    }
}

impl SigningKeyPair {
    pub fn generate() -> SigningKeyPair {
        Self::from_signing(SigningKey::generate(&mut rand::rngs::OsRng))
    }

    fn from_signing(signing: SigningKey) -> SigningKeyPair {
        let kid = key_id(signing.verifying_key().as_bytes());
        SigningKeyPair { signing, kid }
    }

    /// Reads a PKCS#8 PEM file.
    pub fn load(path: &Path) -> Result<SigningKeyPair, KeyError> {
        let pem = std::fs::read_to_string(path).map_err(|source| KeyError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let signing = SigningKey::from_pkcs8_pem(&pem).map_err(|_| KeyError::Format {
            path: path.display().to_string(),
        })?;
        Ok(Self::from_signing(signing))
    }

    /// Reads the file, or creates it with a new key when missing (`allot dev`).
    pub fn load_or_create(path: &Path) -> Result<SigningKeyPair, KeyError> {
        if path.exists() {
            return Self::load(path);
        }
        let pair = Self::generate();
        let pem = pair
            .signing
            .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
            .map_err(|_| KeyError::Format {
                path: path.display().to_string(),
            })?;
        write_private_file(path, pem.as_bytes())?;
        Ok(pair)
    }

    pub fn key_id(&self) -> &str {
        &self.kid
    }

    pub fn public_key(&self) -> [u8; 32] {
        self.signing.verifying_key().to_bytes()
    }
}

/// Writes a secret file readable by its owner only.
pub fn write_private_file(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    let err = |source| KeyError::Write {
        path: path.display().to_string(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(err)?;
    }
    std::fs::write(path, bytes).map_err(err)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(err)?;
    }
    Ok(())
}

fn key_id(public: &[u8]) -> String {
    let digest = Sha256::digest(public);
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// Signs tokens (identity only).
#[derive(Clone)]
pub struct TokenIssuer {
    encoding: EncodingKey,
    kid: String,
    ttl: Duration,
}

impl std::fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenIssuer")
            .field("kid", &self.kid)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("cannot sign token: {0}")]
pub struct SignError(String);

impl TokenIssuer {
    pub fn new(key: &SigningKeyPair, ttl: Duration) -> Result<TokenIssuer, SignError> {
        let der = key
            .signing
            .to_pkcs8_der()
            .map_err(|e| SignError(e.to_string()))?;
        Ok(TokenIssuer {
            encoding: EncodingKey::from_ed_der(der.as_bytes()),
            kid: key.kid.clone(),
            ttl,
        })
    }

    /// Signs a token for `principal` (acting through `actor`) with `scopes`,
    /// valid from `now` (Unix seconds) for the configured lifetime.
    pub fn issue(
        &self,
        principal: &Principal,
        actor: Option<&ServiceAccountId>,
        scopes: &[String],
        now: i64,
    ) -> Result<(String, i64), SignError> {
        let exp = now + i64::try_from(self.ttl.as_secs()).unwrap_or(3600);
        self.issue_until(principal, actor, scopes, now, exp)
    }

    /// A token for a person's sign-in session `sid` (R-AUTH-2), valid until
    /// `exp`.
    pub fn issue_session(
        &self,
        account: &AccountId,
        sid: &str,
        now: i64,
        exp: i64,
    ) -> Result<(String, i64), SignError> {
        let claims = Claims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: account.name(),
            scope: String::new(),
            iat: now,
            exp,
            jti: crate::ids::new_id(),
            act: None,
            sid: Some(sid.to_owned()),
        };
        self.sign(&claims)
    }

    /// The configured lifetime of a token.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    fn sign(&self, claims: &Claims) -> Result<(String, i64), SignError> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        let token = jsonwebtoken::encode(&header, claims, &self.encoding)
            .map_err(|e| SignError(e.to_string()))?;
        Ok((token, claims.exp))
    }

    /// As [`issue`](Self::issue) with an explicit expiry (tests make expired
    /// tokens with it).
    pub fn issue_until(
        &self,
        principal: &Principal,
        actor: Option<&ServiceAccountId>,
        scopes: &[String],
        now: i64,
        exp: i64,
    ) -> Result<(String, i64), SignError> {
        let claims = Claims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: principal.name(),
            scope: scopes.join(" "),
            iat: now,
            exp,
            jti: crate::ids::new_id(),
            act: actor.map(|a| Actor { sub: a.name() }),
            sid: None,
        };
        self.sign(&claims)
    }
}

/// Why a token was refused; said to the caller as UNAUTHENTICATED.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    #[error(
        "missing bearer token: send `authorization: Bearer <token>` (get one with IdentityService.CreateToken)"
    )]
    Missing,
    #[error("malformed authorization header: expected `Bearer <token>`")]
    Malformed,
    #[error("token has expired; get a new one with IdentityService.CreateToken")]
    Expired,
    #[error("token is signed by an unknown key")]
    UnknownKey,
    #[error("invalid token: {0}")]
    Invalid(String),
    #[error("this session has ended (signed out, or the password changed); sign in again")]
    SessionEnded,
}

/// Reads the bearer token of an `authorization` header value.
pub fn bearer(header: Option<&str>) -> Result<&str, AuthError> {
    let value = header.ok_or(AuthError::Missing)?;
    let (scheme, token) = value.split_once(' ').ok_or(AuthError::Malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(AuthError::Malformed);
    }
    Ok(token.trim())
}

/// The caller of a request, put there by the edge middleware.
pub fn caller<T>(request: &tonic::Request<T>) -> Result<Arc<Caller>, tonic::Status> {
    request
        .extensions()
        .get::<Arc<Caller>>()
        .cloned()
        .ok_or_else(|| tonic::Status::unauthenticated(AuthError::Missing.to_string()))
}

/// A random secret, URL-safe, with 256 bits of entropy.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// SHA-256 of a high-entropy secret, hex-encoded: how client secrets and
/// invitation tokens are stored. (A slow password hash buys nothing for
/// 256-bit random secrets; see docs/decisions.)
pub fn hash_secret(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Compares two hashes in constant time.
pub fn hashes_equal(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

mod verifier;
pub use verifier::TokenVerifier;

#[cfg(test)]
mod tests;
