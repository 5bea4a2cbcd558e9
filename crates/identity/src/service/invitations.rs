//! Invitations: creating them for a team (R-INV-1..3), resending
//! (R-INV-7), and accepting one (R-INV-4).

use std::collections::HashMap;

use super::*;
use crate::domain::{Password, hash_password};
use allot_platform::values::parse_person_name;

/// What a person sends to accept an invitation (R-AUTH-1): the token, and,
/// if they have no password yet, the one they choose and corrected names
/// (empty keeps what the inviter typed).
#[derive(Debug, Default)]
pub struct Acceptance<'a> {
    pub token: &'a str,
    pub password: &'a str,
    pub given_name: &'a str,
    pub family_name: &'a str,
}

/// What an accept page shows before the person accepts (R-AUTH-1).
#[derive(Debug, Clone)]
pub struct InvitationPreview {
    pub invitation: Invitation,
    pub account: Account,
    /// Accepting just joins the team.
    pub has_password: bool,
}

/// The choices of an acceptance, checked.
#[derive(Debug, Default)]
struct Choices {
    password_hash: Option<String>,
    names: Option<(String, String)>,
}

impl Invitations<'_> {
    /// R-INV-1, R-INV-4: invites each person on their own, whether or not
    /// they have an account (an existing one gets an invitation into this
    /// team and keeps its password). All valid entries commit together.
    #[tracing::instrument(name = "identity.service.create_invitations", skip_all)]
    pub async fn create_invitations(
        &self,
        ctx: &Ctx,
        into: &InviteInto,
        invitees: Vec<std::result::Result<Invitee, Vec<FieldViolation>>>,
    ) -> Result<Vec<InviteOutcome>> {
        authorize(&ctx.caller, Action::ManageInvitations)?;
        if invitees.len() > 1000 {
            return Err(IdentityError::invalid(
                "invitees",
                "at most 1000 invitees per call",
            ));
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.try_create_invitations(ctx, into, &invitees).await {
                Err(e) if e.is_retryable() && attempt < RETRIES => continue,
                other => return other,
            }
        }
    }

    #[tracing::instrument(name = "identity.service.try_create_invitations", skip_all)]
    pub(crate) async fn try_create_invitations(
        &self,
        ctx: &Ctx,
        into: &InviteInto,
        invitees: &[std::result::Result<Invitee, Vec<FieldViolation>>],
    ) -> Result<Vec<InviteOutcome>> {
        let meta = self.meta(ctx);
        let now = meta.now_micros;
        let mut tx = self.begin().await?;
        let sent = store::invitations_since(tx.conn(), &into.team, now - HOUR_MICROS).await?;
        crate::domain::check_invitation_budget(
            sent,
            invitees.iter().filter(|i| i.is_ok()).count(),
            self.invitations_per_hour,
        )?;
        // Everything the batch needs is read in a few statements, the plan
        // is made in memory, and it is written in a few multi-row
        // statements: not a handful of round trips per person.
        let valid: Vec<&Email> = invitees
            .iter()
            .filter_map(|i| i.as_ref().ok().map(|i| &i.email))
            .collect();
        let existing = store::accounts_by_email(tx.conn(), &valid).await?;
        let existing_ids: Vec<&AccountId> = existing.values().map(|a| &a.id).collect();
        let pending = store::pending_invitations(tx.conn(), &existing_ids, &into.team).await?;
        // Invited earlier in this batch (the same address twice), by email key.
        let mut in_batch: HashMap<String, (AccountId, Invitation)> = HashMap::new();
        let mut new_accounts = Vec::new();
        let mut new_invitations = Vec::new();
        let mut outcomes = Vec::with_capacity(invitees.len());
        let mut events = Vec::new();
        for invitee in invitees {
            let invitee = match invitee {
                Ok(i) => i,
                Err(v) => {
                    outcomes.push(InviteOutcome::Invalid(v.clone()));
                    continue;
                }
            };
            // R-INV-1: the inviting team sees only what it typed, whether
            // or not the address has an account.
            let typed = Account {
                id: AccountId::generate(),
                email: invitee.email.clone(),
                given_name: invitee.given_name.clone(),
                family_name: invitee.family_name.clone(),
                state: AccountState::Invited,
                create_time: now,
                activate_time: None,
            };
            let key = invitee.email.key().to_owned();
            let known = existing.get(&key);
            let already = in_batch.get(&key).cloned().or_else(|| {
                known.and_then(|a| {
                    pending
                        .get(a.id.as_str())
                        .map(|inv| (a.id.clone(), inv.clone()))
                })
            });
            if let Some((id, inv)) = already {
                outcomes.push(InviteOutcome::AlreadyInvited(Account { id, ..typed }, inv));
                continue;
            }
            // The email greets an active person by their own names.
            let (account, greeted) = match known {
                Some(existing) => {
                    let greeted = if existing.state == AccountState::Active {
                        existing.clone()
                    } else {
                        Account {
                            id: existing.id.clone(),
                            ..typed.clone()
                        }
                    };
                    (
                        Account {
                            id: existing.id.clone(),
                            ..typed
                        },
                        Some(greeted),
                    )
                }
                None => (typed, None),
            };
            let invitation = Invitation {
                id: InvitationId::generate(),
                account_id: account.id.clone(),
                email: account.email.clone(),
                team: into.team.clone(),
                team_display_name: into.team_display_name.clone(),
                inviter: into.inviter.clone(),
                inviter_display_name: into.inviter_display_name.clone(),
                state: InvitationState::Pending,
                generation: 1,
                create_time: now,
                expire_time: now.saturating_add(self.ttl_micros()),
                accept_time: None,
            };
            if greeted.is_none() {
                new_accounts.push(account.clone());
                events.push(account_created(&meta, &account, false));
            }
            let token = self
                .invitation_key
                .token(&invitation.id, invitation.generation);
            new_invitations.push((invitation.clone(), hash_secret(&token)));
            events.push(invitation_event(
                &meta,
                &invitation,
                greeted.as_ref().unwrap_or(&account),
                false,
            ));
            in_batch.insert(key, (account.id.clone(), invitation.clone()));
            outcomes.push(InviteOutcome::Invited(account, invitation));
        }
        store::insert_accounts(tx.conn(), &new_accounts).await?;
        store::insert_invitations(tx.conn(), &new_invitations).await?;
        store::record_invitation_sends(tx.conn(), &into.team, now, new_invitations.len()).await?;
        self.outbox.commit(tx, &events).await?;
        Ok(outcomes)
    }

    #[tracing::instrument(name = "identity.service.get_invitation", skip_all)]
    pub async fn get_invitation(&self, caller: &Caller, id: &InvitationId) -> Result<Invitation> {
        authorize(caller, Action::ReadInvitations)?;
        let mut conn = self.db.conn().await?;
        store::get_invitation(&mut conn, id)
            .await?
            .ok_or_else(|| IdentityError::not_found("invitation", id.name()))
    }

    #[tracing::instrument(name = "identity.service.list_invitations", skip_all)]
    pub async fn list_invitations(
        &self,
        caller: &Caller,
        team: Option<&TeamId>,
        account: Option<&AccountId>,
        page_size: i32,
        page_token: &str,
    ) -> Result<(Vec<Invitation>, String)> {
        authorize(caller, Action::ReadInvitations)?;
        let limit = paging::page_size(page_size)?;
        let before = paging::decode_token(page_token)?;
        let mut conn = self.db.conn().await?;
        let rows =
            store::list_invitations(&mut conn, team, account, before.as_deref(), limit).await?;
        Ok(paging::finish(rows, limit, |i| i.id.as_str().to_owned()))
    }

    /// R-INV-3: a new token (the old one void), a new expiry, a new email.
    #[tracing::instrument(name = "identity.service.resend_invitation", skip_all)]
    pub async fn resend_invitation(&self, ctx: &Ctx, id: &InvitationId) -> Result<Invitation> {
        authorize(&ctx.caller, Action::ManageInvitations)?;
        let meta = self.meta(ctx);
        let mut tx = self.begin().await?;
        let mut inv = store::get_invitation(tx.conn(), id)
            .await?
            .ok_or_else(|| IdentityError::not_found("invitation", id.name()))?;
        inv.check_resendable()?;
        // R-INV-1: a resent email counts against the team's share too.
        let sent =
            store::invitations_since(tx.conn(), &inv.team, meta.now_micros - HOUR_MICROS).await?;
        crate::domain::check_invitation_budget(sent, 1, self.invitations_per_hour)?;
        store::record_invitation_send(tx.conn(), &inv.team, meta.now_micros).await?;
        let account = store::get_account(tx.conn(), &inv.account_id)
            .await?
            .ok_or_else(|| IdentityError::Internal(format!("invitation {id} has no account")))?;
        inv.generation += 1;
        inv.expire_time = meta.now_micros.saturating_add(self.ttl_micros());
        let token = self.invitation_key.token(&inv.id, inv.generation);
        if !store::renew_invitation(tx.conn(), &inv, &hash_secret(&token)).await? {
            return Err(IdentityError::Precondition {
                kind: "CONCURRENT_CHANGE",
                subject: id.name(),
                message: "the invitation changed while it was being resent; try again".into(),
            });
        }
        let event = invitation_event(&meta, &inv, &account, true);
        self.outbox.commit(tx, &[event]).await?;
        Ok(inv)
    }

    /// R-INV-7: revokes a pending invitation, so its link no longer works.
    /// The team service asks, for an admin of the invitation's team.
    #[tracing::instrument(name = "identity.service.revoke_invitation", skip_all)]
    pub async fn revoke_invitation(&self, ctx: &Ctx, id: &InvitationId) -> Result<Invitation> {
        authorize(&ctx.caller, Action::ManageInvitations)?;
        let meta = self.meta(ctx);
        let mut tx = self.begin().await?;
        let mut inv = store::get_invitation(tx.conn(), id)
            .await?
            .ok_or_else(|| IdentityError::not_found("invitation", id.name()))?;
        inv.check_resendable()?;
        if !store::revoke_invitation(tx.conn(), id).await? {
            return Err(IdentityError::Precondition {
                kind: "CONCURRENT_CHANGE",
                subject: id.name(),
                message: "the invitation changed while it was being revoked; try again".into(),
            });
        }
        inv.state = InvitationState::Revoked;
        let event = invitation_revoked(&meta, &inv);
        self.outbox.commit(tx, &[event]).await?;
        Ok(inv)
    }

    /// R-INV-2: accepting with the newest token of a pending invitation
    /// activates the account. R-AUTH-1: a person without a password
    /// chooses it here, and may correct their names; one who has a
    /// password just joins the team.
    #[tracing::instrument(name = "identity.service.accept_invitation", skip_all)]
    pub async fn accept_invitation(
        &self,
        request_id: &str,
        acceptance: &Acceptance<'_>,
    ) -> Result<(Account, Invitation)> {
        let token = parse_token(acceptance.token)?;
        let now = self.now();
        let choices = self.choices(token, acceptance).await?;
        let mut tx = self.begin().await?;
        let (mut inv, token_generation) = store::find_by_token_hash(tx.conn(), &hash_secret(token))
            .await?
            .ok_or(IdentityError::UnknownToken)?;
        inv.check_acceptable(token_generation, now)?;
        if !store::accept_invitation(tx.conn(), &inv.id, inv.generation, now).await? {
            return Err(IdentityError::InvitationUsed);
        }
        inv.state = InvitationState::Accepted;
        inv.accept_time = Some(now);
        let activated = store::activate_account(tx.conn(), &inv.account_id, now).await?;
        if let Some(hash) = &choices.password_hash {
            store::set_password(tx.conn(), &inv.account_id, hash, now / 1_000_000).await?;
        }
        let renamed = match &choices.names {
            Some((given, family)) => {
                store::update_account_names(tx.conn(), &inv.account_id, given, family).await?
            }
            None => false,
        };
        let account = store::get_account(tx.conn(), &inv.account_id)
            .await?
            .ok_or_else(|| {
                IdentityError::Internal(format!("invitation {} has no account", inv.id))
            })?;
        let meta = ChangeMeta {
            actor: account.id.name(),
            request_id: request_id.to_owned(),
            now_micros: now,
        };
        let mut events = vec![invitation_accepted(&meta, &inv, &account)];
        if activated {
            events.push(account_activated(&meta, &account));
        }
        if renamed {
            events.push(account_updated(&meta, &account));
        }
        self.outbox.commit(tx, &events).await?;
        tracing::info!(account = %account.id, invitation = %inv.id, "invitation accepted");
        Ok((account, inv))
    }

    /// R-AUTH-1: what a person without a password chose, checked (every bad
    /// field at once) and the password hashed, before anything is written.
    /// Nothing for one who has a password.
    async fn choices(&self, token: &str, acceptance: &Acceptance<'_>) -> Result<Choices> {
        let mut conn = self.db.conn().await?;
        let Some((inv, generation)) =
            store::find_by_token_hash(&mut conn, &hash_secret(token)).await?
        else {
            return Ok(Choices::default());
        };
        // An expired or used invitation says so before any field does.
        inv.check_acceptable(generation, self.now())?;
        if store::password_hash(&mut conn, &inv.account_id)
            .await?
            .is_some()
        {
            return Ok(Choices::default());
        }
        let mut bad = Vec::new();
        let password = match acceptance.password {
            "" => None,
            p => Password::parse("password", p, &inv.email)
                .map_err(|v| bad.push(v))
                .ok(),
        };
        let mut name = |field: &str, input: &str| match input.trim() {
            "" => None,
            n => parse_person_name(field, n).map_err(|v| bad.push(v)).ok(),
        };
        let given = name("given_name", acceptance.given_name);
        let family = name("family_name", acceptance.family_name);
        if !bad.is_empty() {
            return Err(IdentityError::Invalid(bad));
        }
        let names = match (given, family) {
            (None, None) => None,
            (g, f) => {
                let account = store::get_account(&mut conn, &inv.account_id)
                    .await?
                    .ok_or_else(|| IdentityError::not_found("account", inv.account_id.name()))?;
                Some((
                    g.unwrap_or(account.given_name),
                    f.unwrap_or(account.family_name),
                ))
            }
        };
        drop(conn);
        let password_hash = match password {
            Some(p) => Some(
                tokio::task::spawn_blocking(move || hash_password(&p))
                    .await
                    .map_err(|e| IdentityError::Internal(format!("password hash: {e}")))?
                    .map_err(IdentityError::Internal)?,
            ),
            None => None,
        };
        Ok(Choices {
            password_hash,
            names,
        })
    }

    /// R-AUTH-1: the invitation a token accepts, while it can be accepted,
    /// with the person's names and whether they have a password; the
    /// token is the credential.
    #[tracing::instrument(name = "identity.service.lookup_invitation", skip_all)]
    pub async fn lookup_invitation(&self, token: &str) -> Result<InvitationPreview> {
        let token = parse_token(token)?;
        let mut conn = self.db.conn().await?;
        let (invitation, generation) = store::find_by_token_hash(&mut conn, &hash_secret(token))
            .await?
            .ok_or(IdentityError::UnknownToken)?;
        invitation.check_acceptable(generation, self.now())?;
        let account = store::get_account(&mut conn, &invitation.account_id)
            .await?
            .ok_or_else(|| IdentityError::not_found("account", invitation.account_id.name()))?;
        let has_password = store::password_hash(&mut conn, &account.id)
            .await?
            .is_some();
        Ok(InvitationPreview {
            invitation,
            account,
            has_password,
        })
    }

    /// The accept tokens of several invitation emails (`(invitation,
    /// generation)`), read in one query: each a token and its expiry, or
    /// why the email must not go out.
    #[tracing::instrument(name = "identity.service.invitation_tokens", skip_all)]
    pub async fn invitation_tokens(
        &self,
        caller: &Caller,
        asks: &[(InvitationId, i32)],
    ) -> Result<Vec<std::result::Result<(String, i64), String>>> {
        authorize(caller, Action::IssueInvitationToken)?;
        if asks.len() > 1000 {
            return Err(IdentityError::invalid("requests", "at most 1000 per call"));
        }
        let ids: Vec<&InvitationId> = asks.iter().map(|(id, _)| id).collect();
        let mut conn = self.db.conn().await?;
        let found = store::get_invitations(&mut conn, &ids).await?;
        let now = self.now();
        Ok(asks
            .iter()
            .map(|(id, generation)| match found.get(id.as_str()) {
                None => Err(format!("invitation {} not found", id.name())),
                Some(inv) => inv
                    .check_acceptable(*generation, now)
                    .map(|()| {
                        (
                            self.invitation_key.token(&inv.id, *generation),
                            inv.expire_time,
                        )
                    })
                    .map_err(|e| e.to_string()),
            })
            .collect())
    }

    /// The accept token of the given generation, for the email. Refused when
    /// a newer generation exists or the invitation is no longer pending.
    #[tracing::instrument(name = "identity.service.invitation_token", skip_all)]
    pub async fn invitation_token(
        &self,
        caller: &Caller,
        id: &InvitationId,
        generation: i32,
    ) -> Result<(String, i64)> {
        authorize(caller, Action::IssueInvitationToken)?;
        let mut conn = self.db.conn().await?;
        let inv = store::get_invitation(&mut conn, id)
            .await?
            .ok_or_else(|| IdentityError::not_found("invitation", id.name()))?;
        inv.check_acceptable(generation, self.now())?;
        Ok((
            self.invitation_key.token(&inv.id, generation),
            inv.expire_time,
        ))
    }
}
