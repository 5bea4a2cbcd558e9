//! Bearer tokens: exchanging a key for one, Allot's own internal token,
//! and the public signing keys every service verifies with.

use super::*;

/// A key that verifies tokens, as services fetch it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicSigningKey {
    pub key_id: String,
    /// Ed25519.
    pub public_key: [u8; 32],
}

impl Tokens<'_> {
    /// Exchanges a client credential for a bearer token.
    #[tracing::instrument(name = "identity.service.create_token", skip_all)]
    pub async fn create_token(
        &self,
        client_id: &str,
        client_secret: &str,
        act_as: Option<&AccountId>,
        requested: &[String],
    ) -> Result<(String, i64)> {
        let mut conn = self.db.conn().await?;
        let cred = store::find_credential(&mut conn, client_id)
            .await?
            .ok_or(IdentityError::BadCredentials)?;
        if !hashes_equal(&cred.secret_hash, &hash_secret(client_secret)) {
            return Err(IdentityError::BadCredentials);
        }
        let (principal, granted) = if let Ok(sa) = ServiceAccountId::parse("owner", &cred.owner) {
            let row = store::get_service_account(&mut conn, &sa)
                .await?
                .ok_or(IdentityError::BadCredentials)?;
            (Principal::ServiceAccount(sa), row.scopes)
        } else {
            let account = AccountId::parse("owner", &cred.owner)
                .map_err(|_| IdentityError::BadCredentials)?;
            (Principal::Account(account), cred.scopes.clone())
        };
        let unknown: Vec<&String> = requested.iter().filter(|s| !granted.contains(s)).collect();
        if !unknown.is_empty() {
            return Err(IdentityError::invalid(
                "scopes",
                format!(
                    "not granted to this credential: {}",
                    allot_platform::error::quote(
                        &unknown
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(" ")
                    )
                ),
            ));
        }
        let scopes_out: Vec<String> = if requested.is_empty() {
            granted.clone()
        } else {
            requested.to_vec()
        };
        let (principal, actor, scopes_out) = match act_as {
            None => (principal, None, scopes_out),
            Some(person) => {
                let Principal::ServiceAccount(platform) = principal else {
                    return Err(IdentityError::PermissionDenied(
                        "only service accounts with the `act_as` scope can act for a person".into(),
                    ));
                };
                if !granted.iter().any(|s| s == scopes::ACT_AS) {
                    return Err(IdentityError::PermissionDenied(
                        "this service account lacks the `act_as` scope".into(),
                    ));
                }
                store::get_account(&mut conn, person)
                    .await?
                    .ok_or_else(|| IdentityError::not_found("account", person.name()))?;
                // The person's own team roles decide; the platform's scopes
                // do not travel with the person.
                (
                    Principal::Account(person.clone()),
                    Some(platform),
                    Vec::new(),
                )
            }
        };
        drop(conn);
        let now = self.clock.now().unix_timestamp();
        let (token, exp) = self
            .issuer
            .issue(&principal, actor.as_ref(), &scopes_out, now)
            .map_err(|e| IdentityError::Internal(e.to_string()))?;
        let mut conn = self.db.conn().await?;
        store::touch_credential(&mut conn, &cred.id, self.now()).await?;
        Ok((token, exp))
    }

    /// Signs a token directly (the internal caller of `allot dev`).
    pub fn issue_internal_token(&self) -> Result<(String, i64)> {
        let now = self.clock.now().unix_timestamp();
        self.issuer
            .issue(
                &Caller::system().principal,
                None,
                &[scopes::INTERNAL.to_owned()],
                now,
            )
            .map_err(|e| IdentityError::Internal(e.to_string()))
    }

    /// The token issuer, for tests that need tokens of any shape.
    pub fn issuer(&self) -> &TokenIssuer {
        &self.issuer
    }

    /// The public halves of the keys tokens are signed with (Ed25519).
    /// The first signs; the others are those of earlier rotations
    /// (`auth.previous_signing_key_files`), trusted until they are removed.
    pub fn signing_keys(&self) -> Vec<PublicSigningKey> {
        std::iter::once(&self.signing)
            .chain(self.previous.iter())
            .map(|k| PublicSigningKey {
                key_id: k.key_id().to_owned(),
                public_key: k.public_key(),
            })
            .collect()
    }
}
