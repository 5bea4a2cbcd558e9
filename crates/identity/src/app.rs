//! Identity's use cases: each checks the caller, applies the domain rules,
//! and writes the change and its events in one transaction.

use std::time::Duration;

use allot_platform::auth::{
    Caller, INTERNAL_SERVICE_ACCOUNT, Principal, SigningKeyPair, TokenIssuer, hash_secret,
    hashes_equal, random_secret, scopes,
};
use allot_platform::clock::{SharedClock, to_micros};
use allot_platform::db::{Db, WriteTx};
use allot_platform::error::FieldViolation;
use allot_platform::ids::{AccountId, InvitationId, ServiceAccountId, TeamId, new_id};
use allot_platform::outbox::{ChangeMeta, NewEvent, Outbox};
use allot_platform::paging;
use allot_platform::values::Email;
use allot_proto::identity as pb;
use allot_proto::identity::event::Payload;

use crate::convert;
use crate::domain::{
    Account, AccountState, Action, Invitation, InvitationKey, InvitationState, Invitee, authorize,
    parse_token,
};
use crate::error::IdentityError;
use crate::store::{self, CredentialRow, ServiceAccountRow};

type Result<T> = std::result::Result<T, IdentityError>;

/// Who is asking, and under which request id.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub caller: Caller,
    pub request_id: String,
}

/// The outcome of inviting one person.
#[derive(Debug, Clone)]
pub enum InviteOutcome {
    Invited(Account, Invitation),
    AlreadyInvited(Account, Invitation),
    Invalid(Vec<FieldViolation>),
}

/// Where a team invites people, as the team service tells identity.
#[derive(Debug, Clone)]
pub struct InviteInto {
    pub team: TeamId,
    pub team_display_name: String,
    pub inviter: String,
    pub inviter_display_name: String,
}

/// What `allot dev` prints once on first start.
#[derive(Debug, Clone)]
pub struct BootstrapCredential {
    pub account: Account,
    pub client_id: String,
    /// Set only when generated here; a configured secret is not echoed.
    pub generated_secret: Option<String>,
}

/// How many times a transaction that lost a race on a unique key is run
/// again (two invitations of the same new address at the same moment).
const RETRIES: usize = 3;

const HOUR_MICROS: i64 = 3_600_000_000;

pub struct Identity {
    db: Db,
    outbox: Outbox,
    clock: SharedClock,
    signing: SigningKeyPair,
    issuer: TokenIssuer,
    invitation_key: InvitationKey,
    invitation_ttl: Duration,
    invitations_per_hour: u32,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity").finish_non_exhaustive()
    }
}

impl Identity {
    pub fn new(
        db: Db,
        outbox: Outbox,
        clock: SharedClock,
        signing: SigningKeyPair,
        token_ttl: Duration,
        invitation_key: InvitationKey,
        invitations: allot_platform::config::InvitationConfig,
    ) -> Result<Identity> {
        let issuer = TokenIssuer::new(&signing, token_ttl)
            .map_err(|e| IdentityError::Config(e.to_string()))?;
        Ok(Identity {
            db,
            outbox,
            clock,
            signing,
            issuer,
            invitation_key,
            invitation_ttl: invitations.ttl,
            invitations_per_hour: invitations.max_per_team_per_hour,
        })
    }

    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    fn now(&self) -> i64 {
        to_micros(self.clock.now())
    }

    fn meta(&self, ctx: &Ctx) -> ChangeMeta {
        ChangeMeta {
            actor: ctx.caller.name(),
            request_id: ctx.request_id.clone(),
            now_micros: self.now(),
        }
    }

    fn ttl_micros(&self) -> i64 {
        i64::try_from(self.invitation_ttl.as_micros()).unwrap_or(i64::MAX)
    }

    async fn begin(&self) -> Result<WriteTx> {
        Ok(self.db.begin_write().await?)
    }

    // ---- accounts ---------------------------------------------------------

    pub async fn get_account(&self, caller: &Caller, id: &AccountId) -> Result<Account> {
        authorize(caller, Action::ReadAccount(id))?;
        let mut conn = self.db.conn().await?;
        store::get_account(&mut conn, id)
            .await?
            .ok_or_else(|| IdentityError::not_found("account", id.name()))
    }

    pub async fn lookup_account(&self, caller: &Caller, email: &Email) -> Result<Account> {
        let mut conn = self.db.conn().await?;
        let found = store::find_account_by_email(&mut conn, email).await?;
        // Whoever may not list accounts learns nothing from the answer:
        // an unknown address and someone else's are refused alike
        // (R-INV-1). Only their own address is answered.
        match (authorize(caller, Action::ListAccounts), found) {
            (Ok(()), found) => {
                found.ok_or_else(|| IdentityError::not_found("account with email", email.as_str()))
            }
            (Err(_), Some(a)) if authorize(caller, Action::ReadAccount(&a.id)).is_ok() => Ok(a),
            (Err(denied), _) => Err(denied),
        }
    }

    pub async fn list_accounts(
        &self,
        caller: &Caller,
        prefix: &str,
        page_size: i32,
        page_token: &str,
    ) -> Result<(Vec<Account>, String)> {
        authorize(caller, Action::ListAccounts)?;
        let limit = paging::page_size(page_size)?;
        let after = paging::decode_token(page_token)?;
        let mut conn = self.db.conn().await?;
        let rows = store::list_accounts(&mut conn, prefix, after.as_deref(), limit).await?;
        Ok(paging::finish(rows, limit, |a| a.email.key().to_owned()))
    }

    pub async fn batch_get_accounts(
        &self,
        caller: &Caller,
        ids: &[AccountId],
    ) -> Result<Vec<Account>> {
        if ids.len() > 1000 {
            return Err(IdentityError::invalid(
                "names",
                "at most 1000 names per call",
            ));
        }
        let mut conn = self.db.conn().await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            authorize(caller, Action::ReadAccount(id))?;
            let a = store::get_account(&mut conn, id)
                .await?
                .ok_or_else(|| IdentityError::not_found("account", id.name()))?;
            out.push(a);
        }
        Ok(out)
    }

    pub async fn update_account(
        &self,
        ctx: &Ctx,
        id: &AccountId,
        given_name: Option<String>,
        family_name: Option<String>,
    ) -> Result<Account> {
        authorize(&ctx.caller, Action::UpdateAccount(id))?;
        let mut tx = self.begin().await?;
        let mut a = store::get_account(tx.conn(), id)
            .await?
            .ok_or_else(|| IdentityError::not_found("account", id.name()))?;
        if let Some(g) = given_name {
            a.given_name = g;
        }
        if let Some(f) = family_name {
            a.family_name = f;
        }
        store::update_account_names(tx.conn(), id, &a.given_name, &a.family_name).await?;
        let event = self
            .meta(ctx)
            .event("account_updated", None, |context| pb::Event {
                context: Some(context),
                payload: Some(Payload::AccountUpdated(pb::AccountUpdated {
                    account: Some(convert::account(&a)),
                })),
            });
        self.outbox.commit(tx, &[event]).await?;
        Ok(a)
    }

    // ---- invitations ------------------------------------------------------

    /// R-INV-1, R-INV-4: invites each person on their own, whether or not
    /// they have an account (an existing one gets an invitation into this
    /// team and keeps its password). All valid entries commit together.
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

    async fn try_create_invitations(
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
            let existing = store::find_account_by_email(tx.conn(), &invitee.email).await?;
            if let Some(existing) = &existing
                && let Some(inv) =
                    store::pending_invitation(tx.conn(), &existing.id, &into.team).await?
            {
                let seen = Account {
                    id: existing.id.clone(),
                    ..typed
                };
                outcomes.push(InviteOutcome::AlreadyInvited(seen, inv));
                continue;
            }
            // The email greets an active person by their own names.
            let (account, greeted) = match existing {
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
                            id: existing.id,
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
                store::insert_account(tx.conn(), &account, false).await?;
                events.push(self.account_created(&meta, &account, false));
            }
            let token = self
                .invitation_key
                .token(&invitation.id, invitation.generation);
            store::insert_invitation(tx.conn(), &invitation, &hash_secret(&token)).await?;
            events.push(self.invitation_event(
                &meta,
                &invitation,
                greeted.as_ref().unwrap_or(&account),
                false,
            ));
            outcomes.push(InviteOutcome::Invited(account, invitation));
        }
        self.outbox.commit(tx, &events).await?;
        Ok(outcomes)
    }

    fn account_created(&self, meta: &ChangeMeta, a: &Account, bootstrap: bool) -> NewEvent {
        meta.event("account_created", None, |context| pb::Event {
            context: Some(context),
            payload: Some(Payload::AccountCreated(pb::AccountCreated {
                account: Some(convert::account(a)),
                bootstrap,
            })),
        })
    }

    fn invitation_event(
        &self,
        meta: &ChangeMeta,
        i: &Invitation,
        a: &Account,
        resent: bool,
    ) -> NewEvent {
        let invitation = Some(convert::invitation(i, meta.now_micros));
        let team = Some(i.team.name());
        if resent {
            meta.event("invitation_resent", team, |context| pb::Event {
                context: Some(context),
                payload: Some(Payload::InvitationResent(pb::InvitationResent {
                    invitation,
                    given_name: a.given_name.clone(),
                    family_name: a.family_name.clone(),
                })),
            })
        } else {
            meta.event("invitation_created", team, |context| pb::Event {
                context: Some(context),
                payload: Some(Payload::InvitationCreated(pb::InvitationCreated {
                    invitation,
                    given_name: a.given_name.clone(),
                    family_name: a.family_name.clone(),
                })),
            })
        }
    }

    pub async fn get_invitation(&self, caller: &Caller, id: &InvitationId) -> Result<Invitation> {
        authorize(caller, Action::ReadInvitations)?;
        let mut conn = self.db.conn().await?;
        store::get_invitation(&mut conn, id)
            .await?
            .ok_or_else(|| IdentityError::not_found("invitation", id.name()))
    }

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
    pub async fn resend_invitation(&self, ctx: &Ctx, id: &InvitationId) -> Result<Invitation> {
        authorize(&ctx.caller, Action::ManageInvitations)?;
        let meta = self.meta(ctx);
        let mut tx = self.begin().await?;
        let mut inv = store::get_invitation(tx.conn(), id)
            .await?
            .ok_or_else(|| IdentityError::not_found("invitation", id.name()))?;
        inv.check_resendable()?;
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
        let event = self.invitation_event(&meta, &inv, &account, true);
        self.outbox.commit(tx, &[event]).await?;
        Ok(inv)
    }

    /// R-INV-2: accepting with the newest token of a pending invitation
    /// activates the account.
    pub async fn accept_invitation(
        &self,
        request_id: &str,
        token: &str,
    ) -> Result<(Account, Invitation)> {
        let token = parse_token(token)?;
        let now = self.now();
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
        let mut events =
            vec![
                meta.event("invitation_accepted", Some(inv.team.name()), |context| {
                    pb::Event {
                        context: Some(context),
                        payload: Some(Payload::InvitationAccepted(pb::InvitationAccepted {
                            invitation: Some(convert::invitation(&inv, now)),
                            account: Some(convert::account(&account)),
                        })),
                    }
                }),
            ];
        if activated {
            events.push(meta.event("account_activated", None, |context| pb::Event {
                context: Some(context),
                payload: Some(Payload::AccountActivated(pb::AccountActivated {
                    account: Some(convert::account(&account)),
                })),
            }));
        }
        self.outbox.commit(tx, &events).await?;
        tracing::info!(account = %account.id, invitation = %inv.id, "invitation accepted");
        Ok((account, inv))
    }

    /// The accept token of the given generation, for the email. Refused when
    /// a newer generation exists or the invitation is no longer pending.
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

    // ---- service accounts and credentials ---------------------------------

    pub async fn create_service_account(
        &self,
        ctx: &Ctx,
        display_name: String,
        scopes: Vec<String>,
    ) -> Result<ServiceAccountRow> {
        authorize(&ctx.caller, Action::ManageServiceAccounts)?;
        let sa = ServiceAccountRow {
            id: ServiceAccountId::generate(),
            display_name,
            scopes,
            create_time: self.now(),
        };
        let mut tx = self.begin().await?;
        store::upsert_service_account(tx.conn(), &sa).await?;
        let event = self.service_account_event(&self.meta(ctx), &sa, false);
        self.outbox.commit(tx, &[event]).await?;
        Ok(sa)
    }

    fn service_account_event(
        &self,
        meta: &ChangeMeta,
        sa: &ServiceAccountRow,
        deleted: bool,
    ) -> NewEvent {
        meta.event("service_account_changed", None, |context| pb::Event {
            context: Some(context),
            payload: Some(Payload::ServiceAccountChanged(pb::ServiceAccountChanged {
                service_account: Some(convert::service_account(sa)),
                deleted,
            })),
        })
    }

    pub async fn get_service_account(
        &self,
        caller: &Caller,
        id: &ServiceAccountId,
    ) -> Result<ServiceAccountRow> {
        authorize(caller, Action::ManageServiceAccounts)?;
        let mut conn = self.db.conn().await?;
        store::get_service_account(&mut conn, id)
            .await?
            .ok_or_else(|| IdentityError::not_found("service account", id.name()))
    }

    pub async fn list_service_accounts(
        &self,
        caller: &Caller,
        page_size: i32,
        page_token: &str,
    ) -> Result<(Vec<ServiceAccountRow>, String)> {
        authorize(caller, Action::ManageServiceAccounts)?;
        let limit = paging::page_size(page_size)?;
        let after = paging::decode_token(page_token)?;
        let mut conn = self.db.conn().await?;
        let rows = store::list_service_accounts(&mut conn, after.as_deref(), limit).await?;
        Ok(paging::finish(rows, limit, |s| s.id.as_str().to_owned()))
    }

    pub async fn update_service_account(
        &self,
        ctx: &Ctx,
        id: &ServiceAccountId,
        display_name: Option<String>,
        scopes: Option<Vec<String>>,
    ) -> Result<ServiceAccountRow> {
        authorize(&ctx.caller, Action::ManageServiceAccounts)?;
        protect_internal(id)?;
        let mut tx = self.begin().await?;
        let mut sa = store::get_service_account(tx.conn(), id)
            .await?
            .ok_or_else(|| IdentityError::not_found("service account", id.name()))?;
        if let Some(d) = display_name {
            sa.display_name = d;
        }
        if let Some(s) = scopes {
            sa.scopes = s;
        }
        store::upsert_service_account(tx.conn(), &sa).await?;
        let event = self.service_account_event(&self.meta(ctx), &sa, false);
        self.outbox.commit(tx, &[event]).await?;
        Ok(sa)
    }

    pub async fn delete_service_account(&self, ctx: &Ctx, id: &ServiceAccountId) -> Result<()> {
        authorize(&ctx.caller, Action::ManageServiceAccounts)?;
        protect_internal(id)?;
        let mut tx = self.begin().await?;
        let sa = store::get_service_account(tx.conn(), id)
            .await?
            .ok_or_else(|| IdentityError::not_found("service account", id.name()))?;
        store::delete_service_account(tx.conn(), id).await?;
        let event = self.service_account_event(&self.meta(ctx), &sa, true);
        self.outbox.commit(tx, &[event]).await?;
        Ok(())
    }

    /// The owner of keys named by `parent`: a service account or a person.
    async fn key_owner(&self, caller: &Caller, parent: &str) -> Result<Principal> {
        let mut conn = self.db.conn().await?;
        if let Ok(sa) = ServiceAccountId::parse("parent", parent) {
            authorize(
                caller,
                Action::ManageKeys {
                    owner_account: None,
                },
            )?;
            store::get_service_account(&mut conn, &sa)
                .await?
                .ok_or_else(|| IdentityError::not_found("service account", parent))?;
            return Ok(Principal::ServiceAccount(sa));
        }
        let account = AccountId::parse("parent", parent).map_err(|_| {
            IdentityError::invalid("parent", "must be serviceAccounts/{id} or accounts/{id}")
        })?;
        authorize(
            caller,
            Action::ManageKeys {
                owner_account: Some(&account),
            },
        )?;
        store::get_account(&mut conn, &account)
            .await?
            .ok_or_else(|| IdentityError::not_found("account", parent))?;
        Ok(Principal::Account(account))
    }

    /// A new client credential; the secret is returned once.
    pub async fn create_key(
        &self,
        caller: &Caller,
        parent: &str,
    ) -> Result<(CredentialRow, String)> {
        let owner = self.key_owner(caller, parent).await?;
        protect_internal_principal(&owner)?;
        let secret = random_secret();
        let id = new_id();
        let cred = CredentialRow {
            client_id: id.clone(),
            id,
            owner: owner.name(),
            secret_hash: hash_secret(&secret),
            scopes: Vec::new(),
            create_time: self.now(),
            last_use_time: None,
        };
        let mut tx = self.begin().await?;
        store::upsert_credential(tx.conn(), &cred).await?;
        tx.commit().await?;
        Ok((cred, secret))
    }

    pub async fn list_keys(&self, caller: &Caller, parent: &str) -> Result<Vec<CredentialRow>> {
        let owner = self.key_owner(caller, parent).await?;
        let mut conn = self.db.conn().await?;
        Ok(store::list_credentials(&mut conn, &owner.name()).await?)
    }

    pub async fn delete_key(&self, caller: &Caller, name: &str) -> Result<()> {
        let (parent, id) = name
            .rsplit_once("/keys/")
            .ok_or_else(|| IdentityError::invalid("name", "must be {parent}/keys/{key}"))?;
        let owner = self.key_owner(caller, parent).await?;
        protect_internal_principal(&owner)?;
        let mut tx = self.begin().await?;
        if !store::delete_credential(tx.conn(), &owner.name(), id).await? {
            return Err(IdentityError::not_found("key", name));
        }
        tx.commit().await?;
        Ok(())
    }

    /// Exchanges a client credential for a bearer token.
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

    pub fn signing_keys(&self) -> Vec<pb::SigningKey> {
        vec![pb::SigningKey {
            key_id: self.signing.key_id().to_owned(),
            algorithm: "EdDSA".into(),
            public_key: self.signing.public_key().to_vec(),
        }]
    }

    // ---- start-up ---------------------------------------------------------

    /// Makes sure the service account Allot's services call each other with
    /// exists and accepts `secret`.
    pub async fn ensure_internal_client(&self, secret: &str) -> Result<()> {
        let now = self.now();
        let id = ServiceAccountId::from_db(INTERNAL_SERVICE_ACCOUNT.to_owned());
        let mut tx = self.begin().await?;
        store::upsert_service_account(
            tx.conn(),
            &ServiceAccountRow {
                id: id.clone(),
                display_name: "Allot services".into(),
                scopes: vec![scopes::INTERNAL.to_owned()],
                create_time: now,
            },
        )
        .await?;
        store::upsert_credential(
            tx.conn(),
            &CredentialRow {
                id: INTERNAL_SERVICE_ACCOUNT.to_owned(),
                client_id: INTERNAL_SERVICE_ACCOUNT.to_owned(),
                owner: id.name(),
                secret_hash: hash_secret(secret),
                scopes: Vec::new(),
                create_time: now,
                last_use_time: None,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Creates the bootstrap administrator on first start: an active person
    /// with an `admin` credential. Returns `None` when it already exists.
    pub async fn bootstrap(
        &self,
        email: &Email,
        client_id: &str,
        secret: Option<&str>,
    ) -> Result<Option<BootstrapCredential>> {
        let mut tx = self.begin().await?;
        if store::bootstrap_account(tx.conn()).await?.is_some() {
            return Ok(None);
        }
        let now = self.now();
        let account = match store::find_account_by_email(tx.conn(), email).await? {
            Some(a) => {
                store::mark_bootstrap(tx.conn(), &a.id).await?;
                a
            }
            None => {
                let a = Account {
                    id: AccountId::generate(),
                    email: email.clone(),
                    given_name: "Allot".into(),
                    family_name: "Administrator".into(),
                    state: AccountState::Active,
                    create_time: now,
                    activate_time: Some(now),
                };
                store::insert_account(tx.conn(), &a, true).await?;
                a
            }
        };
        let generated = secret.is_none().then(random_secret);
        let secret_value = secret
            .map(str::to_owned)
            .or_else(|| generated.clone())
            .unwrap_or_default();
        store::upsert_credential(
            tx.conn(),
            &CredentialRow {
                id: new_id(),
                client_id: client_id.to_owned(),
                owner: account.id.name(),
                secret_hash: hash_secret(&secret_value),
                scopes: vec![scopes::ADMIN.to_owned()],
                create_time: now,
                last_use_time: None,
            },
        )
        .await?;
        let meta = ChangeMeta {
            actor: Caller::system().name(),
            request_id: String::new(),
            now_micros: now,
        };
        let event = self.account_created(&meta, &account, true);
        self.outbox.commit(tx, &[event]).await?;
        tracing::info!(account = %account.id, email = %account.email, "bootstrap administrator created");
        Ok(Some(BootstrapCredential {
            account,
            client_id: client_id.to_owned(),
            generated_secret: generated,
        }))
    }

    pub fn authorize_watch(&self, caller: &Caller) -> Result<()> {
        authorize(caller, Action::Watch)
    }
}

fn protect_internal(id: &ServiceAccountId) -> Result<()> {
    if id.as_str() == INTERNAL_SERVICE_ACCOUNT {
        return Err(IdentityError::Precondition {
            kind: "RESERVED",
            subject: id.name(),
            message: "the service account Allot's services use is managed by configuration (auth.internal_secret)".into(),
        });
    }
    Ok(())
}

fn protect_internal_principal(p: &Principal) -> Result<()> {
    match p {
        Principal::ServiceAccount(id) => protect_internal(id),
        Principal::Account(_) => Ok(()),
    }
}
