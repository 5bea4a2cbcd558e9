//! Team's reactions to identity's events: the bootstrap administrator gets
//! the first team; an accepted invitation activates that team's membership;
//! a person's activation and names reach their other memberships.

use std::sync::Arc;

use allot_platform::consumer::{HandleError, Handler};
use allot_platform::db::WriteTx;
use allot_platform::outbox::NewEvent;
use allot_proto::identity as idpb;
use allot_proto::identity::event::Payload;

use allot_platform::ids::TeamId;

use crate::directory::{contract_roles_from_pb, person_from_pb};
use crate::error::TeamError;
use crate::service::Teams;

/// The durable name of this consumer's cursor.
pub const CONSUMER: &str = "team.identity-events";

/// The identity events team acts on.
pub const IDENTITY_EVENTS: &[&str] = &[
    "account_created",
    "invitation_accepted",
    "account_activated",
    "account_updated",
];

pub struct IdentityEvents {
    pub app: Arc<Teams>,
}

fn handle_error(e: TeamError) -> HandleError {
    match e {
        TeamError::Db(_) | TeamError::Peer { .. } => HandleError::Transient(e.to_string()),
        other => HandleError::Permanent(other.to_string()),
    }
}

impl Handler<idpb::Event> for IdentityEvents {
    async fn handle(
        &self,
        tx: &mut WriteTx,
        event: &idpb::Event,
    ) -> Result<Vec<NewEvent>, HandleError> {
        let id = event
            .context
            .as_ref()
            .map(|c| c.id.as_str())
            .unwrap_or_default();
        let result = match &event.payload {
            Some(Payload::AccountCreated(c)) if c.bootstrap => match &c.account {
                Some(a) => match person_from_pb(a, None) {
                    Ok(p) => self.app.settings().create_bootstrap_team(tx, p).await,
                    Err(e) => Err(e),
                },
                None => Ok(Vec::new()),
            },
            Some(Payload::InvitationAccepted(idpb::InvitationAccepted {
                invitation: Some(i),
                account: Some(a),
            })) => match (
                TeamId::parse("team", &i.team)
                    .map_err(|e| TeamError::Internal(format!("identity sent {e}"))),
                person_from_pb(a, None),
            ) {
                (Ok(team), Ok(p)) => {
                    self.app
                        .invitations()
                        .accept_membership(tx, &team, p, id)
                        .await
                }
                (Err(e), _) | (_, Err(e)) => Err(e),
            },
            Some(
                Payload::AccountActivated(idpb::AccountActivated { account: Some(a) })
                | Payload::AccountUpdated(idpb::AccountUpdated { account: Some(a) }),
            ) => match person_from_pb(a, None) {
                Ok(p) => self.app.invitations().refresh_person(tx, p, id).await,
                Err(e) => Err(e),
            },
            _ => Ok(Vec::new()),
        };
        result.map_err(handle_error)
    }

    /// After lost events (R-INV-2): members whose invitation was accepted
    /// meanwhile become ACTIVE, as `invitation_accepted` would have made
    /// them.
    async fn reconcile(&self) -> Result<(), HandleError> {
        let activated = self
            .app
            .invitations()
            .reconcile_invited()
            .await
            .map_err(handle_error)?;
        tracing::info!(
            consumer = CONSUMER,
            activated,
            "reconciled invited members with identity"
        );
        Ok(())
    }
}

/// The durable name of the cursor on entitlement's stream.
pub const ENTITLEMENT_CONSUMER: &str = "team.entitlement-events";

/// The entitlement events team acts on.
pub const ENTITLEMENT_EVENTS: &[&str] = &[
    "subscription_created",
    "subscription_moved",
    "contract_created",
    "contract_updated",
];

/// Team's reactions to entitlement's events: the plan follows premium
/// subscriptions (R-ROLE-5); the roles of classic contracts are kept for
/// the removal check (R-CLS-6).
pub struct EntitlementEvents {
    pub app: Arc<Teams>,
}

impl Handler<allot_proto::entitlement::Event> for EntitlementEvents {
    async fn handle(
        &self,
        tx: &mut WriteTx,
        event: &allot_proto::entitlement::Event,
    ) -> Result<Vec<NewEvent>, HandleError> {
        use allot_proto::entitlement::event::Payload as E;
        use allot_proto::entitlement::{ContractPlan, Subscription};
        let id = event
            .context
            .as_ref()
            .map(|c| c.id.as_str())
            .unwrap_or_default();
        let contract = match &event.payload {
            Some(E::ContractCreated(c)) => c.contract.as_ref(),
            Some(E::ContractUpdated(c)) => c.contract.as_ref(),
            _ => None,
        };
        if let Some(contract) = contract {
            return self
                .app
                .roles()
                .follow_contract(tx, &contract_roles_from_pb(contract), id)
                .await
                .map_err(handle_error);
        }
        let sub: Option<&Subscription> = match &event.payload {
            Some(E::SubscriptionCreated(s)) => s.subscription.as_ref(),
            Some(E::SubscriptionMoved(s)) => s.subscription.as_ref(),
            _ => None,
        };
        let Some(sub) = sub.filter(|s| s.plan == ContractPlan::Premium as i32) else {
            return Ok(Vec::new());
        };
        let team = allot_platform::ids::TeamId::parse("team", &sub.team)
            .map_err(|e| HandleError::Permanent(e.to_string()))?;
        self.app
            .roles()
            .place_premium_subscription(tx, &sub.name, Some(&team), id)
            .await
            .map_err(handle_error)
    }

    /// After lost events: contract roles and plans as entitlement holds
    /// them now (R-CLS-1, R-CLS-6, R-ROLE-5).
    async fn reconcile(&self) -> Result<(), HandleError> {
        let changed = self
            .app
            .roles()
            .reconcile_contracts()
            .await
            .map_err(handle_error)?;
        tracing::info!(
            consumer = ENTITLEMENT_CONSUMER,
            changed,
            "reconciled contract roles and plans with entitlement"
        );
        Ok(())
    }
}
