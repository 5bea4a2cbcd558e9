//! What team asks other services: identity who a person is and their
//! invitations ([`People`]), entitlement about seats and contracts
//! ([`Seats`]). The service layer sees only these traits; [`GrpcPeople`]
//! and [`GrpcSeats`] answer them over gRPC with Allot's own token.

use allot_platform::grpc::{EntitlementClient, IdentityClient, request};
use allot_platform::ids::{AccountId, TeamId};
use allot_platform::values::Email;
use allot_proto::entitlement as epb;
use allot_proto::identity as idpb;

use crate::domain::{MemberState, NewPerson};
use crate::error::TeamError;
use crate::service::Person;

type Result<T> = std::result::Result<T, TeamError>;

/// Invitations into one team, sent by one inviter (R-INV-1, R-MAIL-1).
#[derive(Debug, Clone)]
pub struct InvitationBatch<'a> {
    pub team: &'a TeamId,
    pub team_display_name: &'a str,
    /// The inviter's resource name and how the email names them.
    pub inviter: String,
    pub inviter_display_name: String,
    pub people: &'a [&'a NewPerson],
}

/// An invitation as team needs it.
#[derive(Debug, Clone)]
pub struct Invitation {
    pub name: String,
    pub team: String,
    pub accepted: bool,
    pub expire_time: Option<i64>,
}

/// People and their invitations, as identity keeps them.
#[async_trait::async_trait]
pub trait People: Send + Sync + 'static {
    /// The account `account`.
    async fn person(&self, account: &AccountId) -> Result<Person>;

    /// Invites each person (making accounts for new addresses); one result
    /// per person, in order.
    async fn invite(&self, batch: InvitationBatch<'_>, request_id: &str) -> Result<Vec<Person>>;

    /// Voids an invitation; one no longer pending needs nothing.
    async fn revoke_invitation(&self, name: &str, request_id: &str) -> Result<()>;

    /// The account's pending (or expired) invitation into `team`, if any
    /// (R-INV-7: never another team's).
    async fn open_invitation(&self, account: &AccountId, team: &TeamId) -> Result<Option<String>>;

    /// Sends an invitation again with a new link (R-INV-3).
    async fn resend_invitation(&self, name: &str, request_id: &str) -> Result<Invitation>;

    /// The invitation `name`; `None` when identity no longer has it.
    async fn invitation(&self, name: &str) -> Result<Option<Invitation>>;
}

/// [`People`] over identity's gRPC API.
#[derive(Debug, Clone)]
pub struct GrpcPeople {
    client: IdentityClient,
}

impl GrpcPeople {
    pub fn new(client: IdentityClient) -> GrpcPeople {
        GrpcPeople { client }
    }
}

fn peer(status: tonic::Status) -> TeamError {
    TeamError::Peer {
        service: "identity",
        status,
    }
}

/// A request carrying the caller's request id, so identity's events and
/// logs name the same change.
fn with_request_id<T>(body: T, request_id: &str) -> tonic::Request<T> {
    let mut req = request(body);
    if let Ok(id) = request_id.parse() {
        req.metadata_mut().insert("x-request-id", id);
    }
    req
}

/// A protobuf timestamp in microseconds.
fn micros(t: &prost_types::Timestamp) -> i64 {
    t.seconds
        .saturating_mul(1_000_000)
        .saturating_add(i64::from(t.nanos / 1000))
}

fn invitation(i: &idpb::Invitation) -> Invitation {
    Invitation {
        name: i.name.clone(),
        team: i.team.clone(),
        accepted: i.state == idpb::InvitationState::Accepted as i32,
        expire_time: i.expire_time.as_ref().map(micros),
    }
}

/// A person from identity's account message, with the invitation it was
/// just sent, if any.
pub fn person_from_pb(a: &idpb::Account, invitation: Option<&idpb::Invitation>) -> Result<Person> {
    Ok(Person {
        account: AccountId::parse("account", &a.name)
            .map_err(|e| TeamError::Internal(format!("identity returned {e}")))?,
        email: Email::from_db(a.email.clone()),
        given_name: a.given_name.clone(),
        family_name: a.family_name.clone(),
        state: if a.state == idpb::AccountState::Active as i32 {
            MemberState::Active
        } else {
            MemberState::Invited
        },
        invitation: invitation.map(|i| i.name.clone()),
        invitation_expire_time: invitation.and_then(|i| i.expire_time.as_ref()).map(micros),
    })
}

#[async_trait::async_trait]
impl People for GrpcPeople {
    async fn person(&self, account: &AccountId) -> Result<Person> {
        let a = self
            .client
            .clone()
            .get_account(request(idpb::GetAccountRequest {
                name: account.name(),
            }))
            .await
            .map_err(peer)?
            .into_inner();
        person_from_pb(&a, None)
    }

    async fn invite(&self, batch: InvitationBatch<'_>, request_id: &str) -> Result<Vec<Person>> {
        let body = idpb::CreateInvitationsRequest {
            team: batch.team.name(),
            team_display_name: batch.team_display_name.to_owned(),
            inviter: batch.inviter,
            inviter_display_name: batch.inviter_display_name,
            invitees: batch
                .people
                .iter()
                .map(|p| idpb::Invitee {
                    given_name: p.given_name.clone(),
                    family_name: p.family_name.clone(),
                    email: p.email.as_str().to_owned(),
                })
                .collect(),
        };
        let results = self
            .client
            .clone()
            .create_invitations(with_request_id(body, request_id))
            .await
            .map_err(peer)?
            .into_inner()
            .results;
        results
            .iter()
            .map(|r| {
                let account = r.account.as_ref().ok_or_else(|| {
                    TeamError::Internal(format!("identity refused an invitee: {:?}", r.violations))
                })?;
                person_from_pb(account, r.invitation.as_ref())
            })
            .collect()
    }

    async fn revoke_invitation(&self, name: &str, request_id: &str) -> Result<()> {
        let body = idpb::RevokeInvitationRequest { name: name.into() };
        match self
            .client
            .clone()
            .revoke_invitation(with_request_id(body, request_id))
            .await
        {
            Ok(_) => Ok(()),
            Err(s) if s.code() == tonic::Code::FailedPrecondition => Ok(()),
            Err(s) => Err(peer(s)),
        }
    }

    async fn open_invitation(&self, account: &AccountId, team: &TeamId) -> Result<Option<String>> {
        Ok(self
            .client
            .clone()
            .list_invitations(request(idpb::ListInvitationsRequest {
                account: account.name(),
                team: team.name(),
                page_size: 10,
                ..Default::default()
            }))
            .await
            .map_err(peer)?
            .into_inner()
            .invitations
            .into_iter()
            .find(|i| {
                i.state == idpb::InvitationState::Pending as i32
                    || i.state == idpb::InvitationState::Expired as i32
            })
            .map(|i| i.name))
    }

    async fn resend_invitation(&self, name: &str, request_id: &str) -> Result<Invitation> {
        let body = idpb::ResendInvitationRequest { name: name.into() };
        let i = self
            .client
            .clone()
            .resend_invitation(with_request_id(body, request_id))
            .await
            .map_err(peer)?
            .into_inner();
        Ok(invitation(&i))
    }

    async fn invitation(&self, name: &str) -> Result<Option<Invitation>> {
        match self
            .client
            .clone()
            .get_invitation(request(idpb::GetInvitationRequest { name: name.into() }))
            .await
        {
            Ok(i) => Ok(Some(invitation(&i.into_inner()))),
            Err(s) if s.code() == tonic::Code::NotFound => Ok(None),
            Err(s) => Err(peer(s)),
        }
    }
}

/// A contract as team follows it: who manages it, who coordinates a
/// classic one (R-CLS-1, R-CLS-6), and its premium subscriptions
/// (R-ROLE-5).
#[derive(Debug, Clone)]
pub struct ContractRoles {
    /// `contracts/{id}`.
    pub name: String,
    /// `teams/{id}` and `accounts/{id}` as entitlement names them.
    pub team: String,
    pub owner: String,
    /// A serial-number (classic) contract.
    pub classic: bool,
    /// The software coordinator; the owner when none was appointed.
    pub coordinator: String,
    /// `(subscription name, team name)` of each premium subscription.
    pub premium_subscriptions: Vec<(String, String)>,
}

/// Products per member: `accounts/{id}` → `[(product id, last use)]`.
pub type ProductsByAccount = std::collections::HashMap<String, Vec<crate::domain::HeldProduct>>;

/// Seats and contracts, as entitlement keeps them.
#[async_trait::async_trait]
pub trait Seats: Send + Sync + 'static {
    /// Each member's products in `team` with their last use (R-USE-3).
    async fn products_by_account(&self, team: &TeamId) -> Result<ProductsByAccount>;

    /// Starts entitlement's assignment import of `csv` (`email,product`) in
    /// `team`, for the admin `on_behalf_of` (R-SEAT-3, R-MAIL-3); returns
    /// the operation's name.
    async fn import_assignments(
        &self,
        team: &TeamId,
        csv: Vec<u8>,
        on_behalf_of: String,
    ) -> Result<String>;

    /// One page of every contract and the next page's token (empty at the
    /// end).
    async fn contracts(&self, page_token: &str) -> Result<(Vec<ContractRoles>, String)>;
}

/// [`Seats`] over entitlement's gRPC API.
#[derive(Debug, Clone)]
pub struct GrpcSeats {
    client: EntitlementClient,
}

impl GrpcSeats {
    pub fn new(client: EntitlementClient) -> GrpcSeats {
        GrpcSeats { client }
    }
}

fn entitlement_peer(status: tonic::Status) -> TeamError {
    TeamError::Peer {
        service: "entitlement",
        status,
    }
}

/// The roles team follows of entitlement's contract message.
pub fn contract_roles_from_pb(c: &epb::Contract) -> ContractRoles {
    ContractRoles {
        name: c.name.clone(),
        team: c.team.clone(),
        owner: c.owner.clone(),
        classic: c.activation_type == epb::ActivationType::SerialNumber as i32,
        coordinator: if c.software_coordinator.is_empty() {
            c.owner.clone()
        } else {
            c.software_coordinator.clone()
        },
        premium_subscriptions: c
            .subscriptions
            .iter()
            .filter(|s| s.plan == epb::ContractPlan::Premium as i32)
            .map(|s| (s.name.clone(), s.team.clone()))
            .collect(),
    }
}

#[async_trait::async_trait]
impl Seats for GrpcSeats {
    async fn products_by_account(&self, team: &TeamId) -> Result<ProductsByAccount> {
        let mut out = ProductsByAccount::new();
        let mut token = String::new();
        loop {
            let page = self
                .client
                .clone()
                .list_assignments(request(epb::ListAssignmentsRequest {
                    parent: team.name(),
                    page_size: 1000,
                    page_token: token,
                    ..Default::default()
                }))
                .await
                .map_err(entitlement_peer)?
                .into_inner();
            for a in page.assignments {
                let product = a.product.trim_start_matches("products/").to_owned();
                let last = a.last_use_time.map(|t| crate::domain::rfc3339(t.seconds));
                out.entry(a.account).or_default().push((product, last));
            }
            if page.next_page_token.is_empty() {
                return Ok(out);
            }
            token = page.next_page_token;
        }
    }

    async fn import_assignments(
        &self,
        team: &TeamId,
        csv: Vec<u8>,
        on_behalf_of: String,
    ) -> Result<String> {
        let op = self
            .client
            .clone()
            .import_assignments(request(epb::ImportAssignmentsRequest {
                parent: team.name(),
                csv,
                validate_only: false,
                on_behalf_of,
                ..Default::default()
            }))
            .await
            .map_err(entitlement_peer)?
            .into_inner();
        Ok(op.name)
    }

    async fn contracts(&self, page_token: &str) -> Result<(Vec<ContractRoles>, String)> {
        let page = self
            .client
            .clone()
            .list_contracts(request(epb::ListContractsRequest {
                page_size: 100,
                page_token: page_token.to_owned(),
                ..Default::default()
            }))
            .await
            .map_err(entitlement_peer)?
            .into_inner();
        Ok((
            page.contracts.iter().map(contract_roles_from_pb).collect(),
            page.next_page_token,
        ))
    }
}
