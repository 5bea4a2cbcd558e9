//! Identity's events, built from domain values.

use allot_platform::outbox::{ChangeMeta, NewEvent};
use allot_proto::identity as pb;
use allot_proto::identity::event::Payload;

use crate::convert;
use crate::domain::{Account, Invitation};
use crate::store::ServiceAccountRow;

pub(crate) fn account_created(meta: &ChangeMeta, a: &Account, bootstrap: bool) -> NewEvent {
    meta.event("account_created", None, |context| pb::Event {
        context: Some(context),
        payload: Some(Payload::AccountCreated(pb::AccountCreated {
            account: Some(convert::account(a)),
            bootstrap,
        })),
    })
}

pub(crate) fn invitation_event(
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

pub(crate) fn service_account_event(
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

pub(crate) fn account_updated(meta: &ChangeMeta, a: &Account) -> NewEvent {
    meta.event("account_updated", None, |context| pb::Event {
        context: Some(context),
        payload: Some(Payload::AccountUpdated(pb::AccountUpdated {
            account: Some(convert::account(a)),
        })),
    })
}

pub(crate) fn account_activated(meta: &ChangeMeta, a: &Account) -> NewEvent {
    meta.event("account_activated", None, |context| pb::Event {
        context: Some(context),
        payload: Some(Payload::AccountActivated(pb::AccountActivated {
            account: Some(convert::account(a)),
        })),
    })
}

pub(crate) fn invitation_accepted(meta: &ChangeMeta, i: &Invitation, a: &Account) -> NewEvent {
    meta.event("invitation_accepted", Some(i.team.name()), |context| {
        pb::Event {
            context: Some(context),
            payload: Some(Payload::InvitationAccepted(pb::InvitationAccepted {
                invitation: Some(convert::invitation(i, meta.now_micros)),
                account: Some(convert::account(a)),
            })),
        }
    })
}

/// R-INV-7: the invitation was revoked; its link no longer works.
pub(crate) fn invitation_revoked(meta: &ChangeMeta, i: &Invitation) -> NewEvent {
    meta.event("invitation_revoked", Some(i.team.name()), |context| {
        pb::Event {
            context: Some(context),
            payload: Some(Payload::InvitationRevoked(pb::InvitationRevoked {
                invitation: Some(convert::invitation(i, meta.now_micros)),
            })),
        }
    })
}

/// R-AUTH-2: a reset link was made; its email fetches the token.
pub(crate) fn password_reset_requested(
    meta: &ChangeMeta,
    reset_id: &str,
    a: &Account,
    expire_time: i64,
) -> NewEvent {
    meta.event("password_reset_requested", None, |context| pb::Event {
        context: Some(context),
        payload: Some(Payload::PasswordResetRequested(
            pb::PasswordResetRequested {
                name: format!("passwordResets/{reset_id}"),
                email: a.email.as_str().to_owned(),
                given_name: a.given_name.clone(),
                expire_time: Some(prost_types::Timestamp {
                    seconds: expire_time,
                    nanos: 0,
                }),
            },
        )),
    })
}
