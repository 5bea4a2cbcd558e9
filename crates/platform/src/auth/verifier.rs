//! Verifying tokens: identity's public keys, a cache of verified tokens,
//! and the sessions that ended (R-AUTH-2), refused everywhere.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

use super::{AUDIENCE, AuthError, Caller, Claims, ISSUER, Principal};
use crate::ids::ServiceAccountId;

const CACHE_LIMIT: usize = 10_000;

/// Verifies tokens with identity's public keys. Verified tokens are cached
/// until they expire, so a busy caller pays for the signature check once.
#[derive(Debug, Default)]
pub struct TokenVerifier {
    keys: RwLock<HashMap<String, [u8; 32]>>,
    cache: RwLock<HashMap<String, Arc<Caller>>>,
    /// Signalled when a token names a key not known yet (identity rotated
    /// its key), so the keys are fetched again.
    unknown_key: tokio::sync::Notify,
    /// Signalled when the first key arrives.
    first_key: tokio::sync::Notify,
    /// Sessions that ended (R-AUTH-2), each kept until its tokens expire.
    ended: RwLock<HashMap<String, i64>>,
}

impl TokenVerifier {
    pub fn new() -> TokenVerifier {
        TokenVerifier::default()
    }

    /// Trusts one more public key.
    pub fn add_key(&self, kid: &str, public_key: [u8; 32]) {
        if let Ok(mut keys) = self.keys.write() {
            keys.insert(kid.to_owned(), public_key);
        }
        self.first_key.notify_waiters();
    }

    /// Trusts exactly `keys` (what identity publishes now): a key identity
    /// no longer lists stops being trusted, and tokens verified with it are
    /// forgotten. An empty list changes nothing.
    pub fn replace_keys(&self, keys: &[(String, [u8; 32])]) {
        if keys.is_empty() {
            return;
        }
        let mut dropped = false;
        if let Ok(mut current) = self.keys.write() {
            dropped = current.keys().any(|k| !keys.iter().any(|(id, _)| id == k));
            *current = keys.iter().cloned().collect();
        }
        if dropped && let Ok(mut cache) = self.cache.write() {
            cache.clear();
        }
        self.first_key.notify_waiters();
    }

    /// Refuses from now on every token of these sessions (`(session,
    /// until)`: when its last token expires, after which it is forgotten).
    pub fn end_sessions(&self, sessions: &[(String, i64)], now: i64) {
        if let Ok(mut ended) = self.ended.write() {
            ended.retain(|_, until| *until > now);
            for (sid, until) in sessions {
                ended.insert(sid.clone(), *until);
            }
        }
    }

    fn session_ended(&self, caller: &Caller) -> bool {
        caller.session.as_ref().is_some_and(|sid| {
            self.ended
                .read()
                .map(|e| e.contains_key(sid))
                .unwrap_or(false)
        })
    }

    /// Waits until at least one key is trusted.
    pub async fn ready(&self) {
        loop {
            let notified = self.first_key.notified();
            if self.has_keys() {
                return;
            }
            notified.await;
        }
    }

    /// Waits until a token names an unknown key.
    pub async fn unknown_key_seen(&self) {
        self.unknown_key.notified().await;
    }

    pub fn knows_key(&self, kid: &str) -> bool {
        self.keys
            .read()
            .map(|k| k.contains_key(kid))
            .unwrap_or(false)
    }

    pub fn has_keys(&self) -> bool {
        self.keys.read().map(|k| !k.is_empty()).unwrap_or(false)
    }

    /// Verifies `token` at `now` (Unix seconds).
    pub fn verify(&self, token: &str, now: i64) -> Result<Arc<Caller>, AuthError> {
        if let Some(caller) = self.cache.read().ok().and_then(|c| c.get(token).cloned()) {
            if caller.expires_at <= now {
                return Err(AuthError::Expired);
            }
            if self.session_ended(&caller) {
                return Err(AuthError::SessionEnded);
            }
            return Ok(caller);
        }
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| AuthError::Invalid(e.to_string()))?;
        if header.alg != Algorithm::EdDSA {
            return Err(AuthError::Invalid("unsupported algorithm".into()));
        }
        let kid = header.kid.ok_or(AuthError::UnknownKey)?;
        let public = self.keys.read().ok().and_then(|k| k.get(&kid).copied());
        let Some(public) = public else {
            self.unknown_key.notify_one();
            return Err(AuthError::UnknownKey);
        };
        let x = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(public);
        let key =
            DecodingKey::from_ed_components(&x).map_err(|e| AuthError::Invalid(e.to_string()))?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_audience(&[AUDIENCE]);
        validation.set_issuer(&[ISSUER]);
        validation.leeway = 0;
        // Expiry is checked below against the injected time.
        validation.validate_exp = false;
        let data = jsonwebtoken::decode::<Claims>(token, &key, &validation)
            .map_err(|e| AuthError::Invalid(e.to_string()))?;
        let claims = data.claims;
        if claims.exp <= now {
            return Err(AuthError::Expired);
        }
        let principal = Principal::parse(&claims.sub)
            .ok_or_else(|| AuthError::Invalid("unknown subject".into()))?;
        let actor = match claims.act {
            Some(a) => Some(
                ServiceAccountId::parse("act", &a.sub)
                    .map_err(|_| AuthError::Invalid("unknown actor".into()))?,
            ),
            None => None,
        };
        let caller = Arc::new(Caller {
            principal,
            actor,
            scopes: claims.scope.split_whitespace().map(str::to_owned).collect(),
            expires_at: claims.exp,
            session: claims.sid,
        });
        if self.session_ended(&caller) {
            return Err(AuthError::SessionEnded);
        }
        if let Ok(mut cache) = self.cache.write() {
            if cache.len() >= CACHE_LIMIT {
                cache.retain(|_, c| c.expires_at > now);
                if cache.len() >= CACHE_LIMIT {
                    cache.clear();
                }
            }
            cache.insert(token.to_owned(), caller.clone());
        }
        Ok(caller)
    }

    /// The key id a token names, without verifying it.
    pub fn key_id_of(token: &str) -> Option<String> {
        jsonwebtoken::decode_header(token).ok().and_then(|h| h.kid)
    }
}
