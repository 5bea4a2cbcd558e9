//! Invitations: who is invited where, until when, the accept tokens and
//! the hourly share of a team (R-INV-*).

use std::path::Path;

use allot_platform::auth::write_private_file;
use allot_platform::error::FieldViolation;
use allot_platform::ids::{AccountId, InvitationId, TeamId};
use allot_platform::values::{Email, parse_person_name};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::IdentityError;

/// The state an invitation is stored in; "expired" is derived from time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationState {
    Pending,
    Accepted,
    Revoked,
}

allot_platform::db_enum!(InvitationState {
    Pending = "PENDING",
    Accepted = "ACCEPTED",
    Revoked = "REVOKED",
});

/// What an invitation is at a given moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationStatus {
    Pending,
    Accepted,
    Expired,
    Revoked,
}

#[derive(Debug, Clone)]
pub struct Invitation {
    pub id: InvitationId,
    pub account_id: AccountId,
    pub email: Email,
    pub team: TeamId,
    pub team_display_name: String,
    pub inviter: String,
    pub inviter_display_name: String,
    pub state: InvitationState,
    pub generation: i32,
    pub create_time: i64,
    pub expire_time: i64,
    pub accept_time: Option<i64>,
}

impl Invitation {
    /// R-INV-2: a pending invitation past its expiry is expired.
    pub fn status(&self, now: i64) -> InvitationStatus {
        match self.state {
            InvitationState::Accepted => InvitationStatus::Accepted,
            InvitationState::Revoked => InvitationStatus::Revoked,
            InvitationState::Pending if now >= self.expire_time => InvitationStatus::Expired,
            InvitationState::Pending => InvitationStatus::Pending,
        }
    }

    /// R-INV-2, R-INV-3: only the newest token of a pending, unexpired
    /// invitation can be accepted; every refusal says why.
    pub fn check_acceptable(&self, token_generation: i32, now: i64) -> Result<(), IdentityError> {
        match self.status(now) {
            InvitationStatus::Accepted => Err(IdentityError::InvitationUsed),
            InvitationStatus::Revoked => Err(IdentityError::InvitationRevoked),
            _ if token_generation != self.generation => Err(IdentityError::InvitationSuperseded),
            InvitationStatus::Expired => Err(IdentityError::InvitationExpired {
                expire_time: self.expire_time,
            }),
            InvitationStatus::Pending => Ok(()),
        }
    }

    /// R-INV-3: an invitation can be sent again until it is accepted, also
    /// after it expired.
    pub fn check_resendable(&self) -> Result<(), IdentityError> {
        match self.state {
            InvitationState::Pending => Ok(()),
            InvitationState::Accepted => Err(IdentityError::InvitationUsed),
            InvitationState::Revoked => Err(IdentityError::InvitationRevoked),
        }
    }
}

/// A person to invite, validated.
#[derive(Debug, Clone)]
pub struct Invitee {
    pub given_name: String,
    pub family_name: String,
    pub email: Email,
}

impl Invitee {
    /// R-INV-1: first name, last name and email, each checked on its own so
    /// the caller learns every problem at once. The family name may be empty
    /// for people invited by address only (R-INV-4); the team service
    /// requires it when an admin invites one person.
    pub fn parse(
        given_name: &str,
        family_name: &str,
        email: &str,
    ) -> Result<Invitee, Vec<FieldViolation>> {
        let given = parse_person_name("given_name", given_name);
        let family = if family_name.trim().is_empty() {
            Ok(String::new())
        } else {
            parse_person_name("family_name", family_name)
        };
        let email = Email::parse("email", email);
        match (given, family, email) {
            (Ok(given_name), Ok(family_name), Ok(email)) => Ok(Invitee {
                given_name,
                family_name,
                email,
            }),
            (g, f, e) => Err([g.err(), f.err(), e.err()].into_iter().flatten().collect()),
        }
    }
}

/// The secret accept tokens are derived from: token = HMAC(key, id and
/// generation). Only a hash of each token is stored, and the notification
/// service can still be given the same token for a retried email.
#[derive(Clone)]
pub struct InvitationKey([u8; 32]);

impl std::fmt::Debug for InvitationKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InvitationKey(..)")
    }
}

impl InvitationKey {
    pub fn generate() -> InvitationKey {
        let mut k = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut k);
        InvitationKey(k)
    }

    /// Reads the key file, or creates it (`allot dev`).
    pub fn load_or_create(path: &Path, create: bool) -> Result<InvitationKey, IdentityError> {
        let engine = base64::engine::general_purpose::STANDARD;
        if path.exists() {
            let text = std::fs::read_to_string(path).map_err(|e| {
                IdentityError::Config(format!(
                    "cannot read invitation key {}: {e}",
                    path.display()
                ))
            })?;
            let bytes = engine.decode(text.trim()).map_err(|_| {
                IdentityError::Config(format!("invitation key {} is not base64", path.display()))
            })?;
            let key: [u8; 32] = bytes.try_into().map_err(|_| {
                IdentityError::Config(format!(
                    "invitation key {} must hold 32 bytes",
                    path.display()
                ))
            })?;
            return Ok(InvitationKey(key));
        }
        if !create {
            return Err(IdentityError::Config(format!(
                "invitation key file {} does not exist",
                path.display()
            )));
        }
        let key = InvitationKey::generate();
        write_private_file(path, engine.encode(key.0).as_bytes())
            .map_err(|e| IdentityError::Config(e.to_string()))?;
        Ok(key)
    }

    /// The token of a password reset link (R-AUTH-2).
    pub fn reset_token(&self, reset_id: &str) -> String {
        #[allow(clippy::expect_used)]
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(b"allot-password-reset:");
        mac.update(reset_id.as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// The accept token of one generation of an invitation.
    pub fn token(&self, id: &InvitationId, generation: i32) -> String {
        #[allow(clippy::expect_used)]
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(b"allot-invitation:");
        mac.update(id.as_str().as_bytes());
        mac.update(b":");
        mac.update(&generation.to_be_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }
}

/// Checks the shape of an accept token before looking it up.
pub fn parse_token(token: &str) -> Result<&str, IdentityError> {
    let t = token.trim();
    if t.is_empty() {
        return Err(IdentityError::invalid("token", "is required"));
    }
    let well_formed = t.len() == 43
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !well_formed {
        return Err(IdentityError::invalid(
            "token",
            "is not an invitation token (copy the whole token from the accept link)",
        ));
    }
    Ok(t)
}

/// R-INV-1: a team sends at most `limit` invitations an hour, so no admin
/// mails thousands of strangers. `sent` in the last hour, `asked` now.
pub fn check_invitation_budget(sent: i64, asked: usize, limit: u32) -> Result<(), IdentityError> {
    let total = sent.saturating_add(i64::try_from(asked).unwrap_or(i64::MAX));
    if asked > 0 && total > i64::from(limit) {
        return Err(IdentityError::TooManyInvitations { sent, asked, limit });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_inv_1_a_team_sends_at_most_its_hourly_share_of_invitations() {
        assert!(check_invitation_budget(0, 5000, 5000).is_ok());
        assert!(check_invitation_budget(4999, 1, 5000).is_ok());
        assert!(matches!(
            check_invitation_budget(4999, 2, 5000),
            Err(IdentityError::TooManyInvitations {
                sent: 4999,
                asked: 2,
                limit: 5000
            })
        ));
        assert!(
            check_invitation_budget(6000, 0, 5000).is_ok(),
            "nothing asked"
        );
    }
    fn invitation(state: InvitationState, generation: i32, expire_time: i64) -> Invitation {
        Invitation {
            id: InvitationId::generate(),
            account_id: AccountId::generate(),
            email: Email::from_db("ada@example.com".into()),
            team: TeamId::generate(),
            team_display_name: "Design".into(),
            inviter: "accounts/x".into(),
            inviter_display_name: "Grace Hopper".into(),
            state,
            generation,
            create_time: 0,
            expire_time,
            accept_time: None,
        }
    }
    #[test]
    fn r_inv_2_a_pending_invitation_expires_at_its_expiry() {
        let inv = invitation(InvitationState::Pending, 1, 100);
        assert_eq!(inv.status(99), InvitationStatus::Pending);
        assert_eq!(inv.status(100), InvitationStatus::Expired);
        assert!(inv.check_acceptable(1, 99).is_ok());
        assert!(matches!(
            inv.check_acceptable(1, 100),
            Err(IdentityError::InvitationExpired { expire_time: 100 })
        ));
    }
    #[test]
    fn r_inv_2_a_used_invitation_cannot_be_accepted_again() {
        let inv = invitation(InvitationState::Accepted, 1, 100);
        assert!(matches!(
            inv.check_acceptable(1, 50),
            Err(IdentityError::InvitationUsed)
        ));
        assert!(matches!(
            inv.check_resendable(),
            Err(IdentityError::InvitationUsed)
        ));
    }
    #[test]
    fn r_inv_3_only_the_newest_token_is_valid() {
        let inv = invitation(InvitationState::Pending, 2, 100);
        assert!(matches!(
            inv.check_acceptable(1, 50),
            Err(IdentityError::InvitationSuperseded)
        ));
        assert!(inv.check_acceptable(2, 50).is_ok());
        // An expired invitation can still be resent.
        assert!(inv.check_resendable().is_ok());
    }
    #[test]
    fn r_inv_3_tokens_differ_per_generation_and_are_stable() {
        let key = InvitationKey::generate();
        let id = InvitationId::generate();
        let t1 = key.token(&id, 1);
        assert_eq!(t1, key.token(&id, 1));
        assert_ne!(t1, key.token(&id, 2));
        assert_ne!(t1, InvitationKey::generate().token(&id, 1));
        assert!(parse_token(&t1).is_ok());
        assert!(parse_token("short").is_err());
    }
    #[test]
    fn r_inv_1_invitees_report_every_bad_field() {
        let errs = Invitee::parse("", "Lovelace", "not-an-email").unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["given_name", "email"]);
        assert!(Invitee::parse("Ada", "Lovelace", "ada@example.com").is_ok());
    }
}
