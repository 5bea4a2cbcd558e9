//! Identity's use cases, one file per concept: each checks the caller,
//! applies the domain rules, and writes the change and its events in one
//! transaction.

pub mod accounts;
pub mod invitations;
pub mod keys;
pub mod passwords;
pub mod resets;
pub mod service_accounts;
pub mod startup;
pub mod tokens;

use std::time::Duration;

use allot_platform::auth::{
    Caller, INTERNAL_SERVICE_ACCOUNT, Principal, SigningKeyPair, TokenIssuer, hash_secret,
    hashes_equal, random_secret, scopes,
};
use allot_platform::clock::{SharedClock, to_micros};
use allot_platform::db::{Db, WriteTx};
use allot_platform::error::FieldViolation;
use allot_platform::ids::{AccountId, InvitationId, ServiceAccountId, TeamId, new_id};
use allot_platform::outbox::{ChangeMeta, Outbox};
use allot_platform::paging;
use allot_platform::values::Email;

use crate::domain::{
    Account, AccountState, Action, Invitation, InvitationKey, InvitationState, Invitee, authorize,
    parse_token, protect_internal, protect_internal_principal,
};
use crate::error::IdentityError;
use crate::events::*;
use crate::store::{self, CredentialRow, ServiceAccountRow};

type Result<T> = std::result::Result<T, IdentityError>;

pub use allot_platform::ctx::Ctx;

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

/// How long a token lives, and a sign-in session at most (R-AUTH-2).
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    pub token: Duration,
    pub session: Duration,
}

/// The key identity signs tokens with, and those of earlier rotations
/// (trusted, never signed with).
pub struct SigningKeys {
    pub current: SigningKeyPair,
    pub previous: Vec<SigningKeyPair>,
}

/// Identity's use cases, one view per concept over a shared [`Core`]:
/// `identity.accounts().get_account(…)`.
pub struct Identity {
    core: Core,
}

/// What every use case shares: the database, the outbox, the clock and the
/// keys that sign tokens and invitations.
pub struct Core {
    db: Db,
    outbox: Outbox,
    clock: SharedClock,
    signing: SigningKeyPair,
    /// Keys of earlier rotations: trusted, never signed with.
    previous: Vec<SigningKeyPair>,
    issuer: TokenIssuer,
    /// How long a session's tokens are renewed after signing in.
    session_max_age: Duration,
    invitation_key: InvitationKey,
    invitation_ttl: Duration,
    invitations_per_hour: u32,
}

allot_platform::views!(Identity.core: Core {
    /// People's accounts (R-ID-*).
    Accounts => accounts,
    /// Invitations to a team and their acceptance (R-INV-*).
    Invitations => invitations,
    /// API keys of people and service accounts.
    Keys => keys,
    /// Signing in with email and password (R-AUTH-2).
    Passwords => passwords,
    /// Service accounts.
    ServiceAccounts => service_accounts,
    /// What the first start creates.
    Startup => startup,
    /// Tokens and the keys that sign them.
    Tokens => tokens,
});

impl std::ops::Deref for Identity {
    type Target = Core;
    fn deref(&self) -> &Core {
        &self.core
    }
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
        keys: SigningKeys,
        lifetimes: Lifetimes,
        invitation_key: InvitationKey,
        invitations: allot_platform::config::InvitationConfig,
    ) -> Result<Identity> {
        let SigningKeys {
            current: signing,
            previous,
        } = keys;
        let issuer = TokenIssuer::new(&signing, lifetimes.token)
            .map_err(|e| IdentityError::Config(e.to_string()))?;
        Ok(Identity {
            core: Core {
                db,
                outbox,
                clock,
                signing,
                previous,
                issuer,
                session_max_age: lifetimes.session,
                invitation_key,
                invitation_ttl: invitations.ttl,
                invitations_per_hour: invitations.max_per_team_per_hour,
            },
        })
    }
}

impl Core {
    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    pub(crate) fn now(&self) -> i64 {
        to_micros(self.clock.now())
    }

    pub(crate) fn meta(&self, ctx: &Ctx) -> ChangeMeta {
        ChangeMeta {
            actor: ctx.caller.name(),
            request_id: ctx.request_id.clone(),
            now_micros: self.now(),
        }
    }

    pub(crate) fn ttl_micros(&self) -> i64 {
        i64::try_from(self.invitation_ttl.as_micros()).unwrap_or(i64::MAX)
    }

    #[tracing::instrument(name = "identity.service.begin", skip_all)]
    pub(crate) async fn begin(&self) -> Result<WriteTx> {
        Ok(self.db.begin_write().await?)
    }

    pub fn authorize_watch(&self, caller: &Caller) -> Result<()> {
        authorize(caller, Action::Watch)
    }
}
