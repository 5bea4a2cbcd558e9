//! Domain values in their protobuf form, for responses and events alike.

use allot_platform::clock::{opt_timestamp, timestamp};
use allot_proto::identity as pb;

use crate::domain::{Account, AccountState, Invitation, InvitationStatus};
use crate::store::{CredentialRow, ServiceAccountRow};

pub fn account(a: &Account) -> pb::Account {
    pb::Account {
        name: a.id.name(),
        email: a.email.as_str().to_owned(),
        given_name: a.given_name.clone(),
        family_name: a.family_name.clone(),
        state: match a.state {
            AccountState::Invited => pb::AccountState::Invited,
            AccountState::Active => pb::AccountState::Active,
        } as i32,
        create_time: Some(timestamp(a.create_time)),
        activate_time: opt_timestamp(a.activate_time),
    }
}

pub fn invitation(i: &Invitation, now: i64) -> pb::Invitation {
    pb::Invitation {
        name: i.id.name(),
        account: i.account_id.name(),
        email: i.email.as_str().to_owned(),
        team: i.team.name(),
        team_display_name: i.team_display_name.clone(),
        inviter: i.inviter.clone(),
        inviter_display_name: i.inviter_display_name.clone(),
        state: match i.status(now) {
            InvitationStatus::Pending => pb::InvitationState::Pending,
            InvitationStatus::Accepted => pb::InvitationState::Accepted,
            InvitationStatus::Expired => pb::InvitationState::Expired,
            InvitationStatus::Revoked => pb::InvitationState::Revoked,
        } as i32,
        create_time: Some(timestamp(i.create_time)),
        expire_time: Some(timestamp(i.expire_time)),
        accept_time: opt_timestamp(i.accept_time),
        generation: i.generation,
    }
}

pub fn service_account(sa: &ServiceAccountRow) -> pb::ServiceAccount {
    pb::ServiceAccount {
        name: sa.id.name(),
        display_name: sa.display_name.clone(),
        scopes: sa.scopes.clone(),
        create_time: Some(timestamp(sa.create_time)),
    }
}

pub fn key(c: &CredentialRow) -> pb::Key {
    pb::Key {
        name: format!("{}/keys/{}", c.owner, c.id),
        client_id: c.client_id.clone(),
        create_time: Some(timestamp(c.create_time)),
        last_use_time: opt_timestamp(c.last_use_time),
    }
}
