//! The gRPC face of identity: parse requests into domain values, call the
//! use case, translate the answer. No rule lives here.

mod accounts;
mod invitations;
mod keys;
mod service_accounts;
mod tokens;
mod watch;

use std::sync::Arc;

use allot_platform::auth::caller;
use allot_platform::clock::{timestamp, to_micros};
use allot_platform::error::FieldViolation;
use allot_platform::ids::{AccountId, InvitationId, ServiceAccountId, TeamId};
use allot_platform::mask::update_paths;
use allot_platform::outbox::WatchParams;
use allot_platform::server::request_id;
use allot_platform::values::{Email, parse_person_name};
use allot_proto::identity as pb;
use allot_proto::identity::identity_service_server::IdentityService;
use tonic::codegen::BoxStream;
use tonic::{Request, Response, Status};

use crate::convert;
use crate::domain::{Invitee, parse_display_name, parse_scopes};
use crate::error::IdentityError;
use crate::service::{Ctx, Identity, InviteInto, InviteOutcome};

#[derive(Debug, Clone)]
pub struct IdentityGrpc {
    app: Arc<Identity>,
}

impl IdentityGrpc {
    pub fn new(app: Arc<Identity>) -> IdentityGrpc {
        IdentityGrpc { app }
    }

    fn now(&self) -> i64 {
        to_micros(self.app.clock().now())
    }
}

fn ctx<T>(req: &Request<T>) -> Result<Ctx, Status> {
    Ctx::from_request(req)
}

fn invalid(v: FieldViolation) -> Status {
    IdentityError::from(v).into()
}

fn optional_id<T>(
    field: &str,
    value: &str,
    parse: impl Fn(&str, &str) -> Result<T, FieldViolation>,
) -> Result<Option<T>, Status> {
    if value.is_empty() {
        Ok(None)
    } else {
        parse(field, value).map(Some).map_err(invalid)
    }
}

type R<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl IdentityService for IdentityGrpc {
    async fn get_account(&self, req: Request<pb::GetAccountRequest>) -> R<pb::Account> {
        accounts::get_account(self, req).await
    }

    async fn lookup_account(&self, req: Request<pb::LookupAccountRequest>) -> R<pb::Account> {
        accounts::lookup_account(self, req).await
    }

    async fn list_accounts(
        &self,
        req: Request<pb::ListAccountsRequest>,
    ) -> R<pb::ListAccountsResponse> {
        accounts::list_accounts(self, req).await
    }

    async fn batch_get_accounts(
        &self,
        req: Request<pb::BatchGetAccountsRequest>,
    ) -> R<pb::BatchGetAccountsResponse> {
        accounts::batch_get_accounts(self, req).await
    }

    async fn update_account(&self, req: Request<pb::UpdateAccountRequest>) -> R<pb::Account> {
        accounts::update_account(self, req).await
    }

    async fn create_invitations(
        &self,
        req: Request<pb::CreateInvitationsRequest>,
    ) -> R<pb::CreateInvitationsResponse> {
        invitations::create_invitations(self, req).await
    }

    async fn get_invitation(&self, req: Request<pb::GetInvitationRequest>) -> R<pb::Invitation> {
        invitations::get_invitation(self, req).await
    }

    async fn list_invitations(
        &self,
        req: Request<pb::ListInvitationsRequest>,
    ) -> R<pb::ListInvitationsResponse> {
        invitations::list_invitations(self, req).await
    }

    async fn resend_invitation(
        &self,
        req: Request<pb::ResendInvitationRequest>,
    ) -> R<pb::Invitation> {
        invitations::resend_invitation(self, req).await
    }

    async fn revoke_invitation(
        &self,
        req: Request<pb::RevokeInvitationRequest>,
    ) -> R<pb::Invitation> {
        invitations::revoke_invitation(self, req).await
    }

    async fn accept_invitation(
        &self,
        req: Request<pb::AcceptInvitationRequest>,
    ) -> R<pb::AcceptInvitationResponse> {
        invitations::accept_invitation(self, req).await
    }

    async fn lookup_invitation(
        &self,
        req: Request<pb::LookupInvitationRequest>,
    ) -> R<pb::LookupInvitationResponse> {
        invitations::lookup_invitation(self, req).await
    }

    async fn batch_get_invitation_tokens(
        &self,
        req: Request<pb::BatchGetInvitationTokensRequest>,
    ) -> R<pb::BatchGetInvitationTokensResponse> {
        invitations::batch_get_invitation_tokens(self, req).await
    }

    async fn get_invitation_token(
        &self,
        req: Request<pb::GetInvitationTokenRequest>,
    ) -> R<pb::GetInvitationTokenResponse> {
        invitations::get_invitation_token(self, req).await
    }

    async fn create_service_account(
        &self,
        req: Request<pb::CreateServiceAccountRequest>,
    ) -> R<pb::ServiceAccount> {
        service_accounts::create_service_account(self, req).await
    }

    async fn get_service_account(
        &self,
        req: Request<pb::GetServiceAccountRequest>,
    ) -> R<pb::ServiceAccount> {
        service_accounts::get_service_account(self, req).await
    }

    async fn list_service_accounts(
        &self,
        req: Request<pb::ListServiceAccountsRequest>,
    ) -> R<pb::ListServiceAccountsResponse> {
        service_accounts::list_service_accounts(self, req).await
    }

    async fn update_service_account(
        &self,
        req: Request<pb::UpdateServiceAccountRequest>,
    ) -> R<pb::ServiceAccount> {
        service_accounts::update_service_account(self, req).await
    }

    async fn delete_service_account(&self, req: Request<pb::DeleteServiceAccountRequest>) -> R<()> {
        service_accounts::delete_service_account(self, req).await
    }

    async fn create_key(&self, req: Request<pb::CreateKeyRequest>) -> R<pb::CreateKeyResponse> {
        keys::create_key(self, req).await
    }

    async fn list_keys(&self, req: Request<pb::ListKeysRequest>) -> R<pb::ListKeysResponse> {
        keys::list_keys(self, req).await
    }

    async fn delete_key(&self, req: Request<pb::DeleteKeyRequest>) -> R<()> {
        keys::delete_key(self, req).await
    }

    async fn create_token(
        &self,
        req: Request<pb::CreateTokenRequest>,
    ) -> R<pb::CreateTokenResponse> {
        tokens::create_token(self, req).await
    }

    async fn sign_in(
        &self,
        req: Request<pb::SignInRequest>,
    ) -> Result<Response<pb::SignInResponse>, Status> {
        tokens::sign_in(self, req).await
    }

    async fn refresh_session(
        &self,
        req: Request<pb::RefreshSessionRequest>,
    ) -> R<pb::SignInResponse> {
        tokens::refresh_session(self, req).await
    }

    async fn sign_out(&self, req: Request<pb::SignOutRequest>) -> R<()> {
        tokens::sign_out(self, req).await
    }

    async fn change_password(&self, req: Request<pb::ChangePasswordRequest>) -> R<()> {
        tokens::change_password(self, req).await
    }

    async fn list_ended_sessions(
        &self,
        req: Request<pb::ListEndedSessionsRequest>,
    ) -> R<pb::ListEndedSessionsResponse> {
        tokens::list_ended_sessions(self, req).await
    }

    async fn request_password_reset(&self, req: Request<pb::RequestPasswordResetRequest>) -> R<()> {
        tokens::request_password_reset(self, req).await
    }

    async fn reset_password(&self, req: Request<pb::ResetPasswordRequest>) -> R<()> {
        tokens::reset_password(self, req).await
    }

    async fn get_password_reset_token(
        &self,
        req: Request<pb::GetPasswordResetTokenRequest>,
    ) -> R<pb::GetPasswordResetTokenResponse> {
        tokens::get_password_reset_token(self, req).await
    }

    async fn get_signing_keys(
        &self,
        _req: Request<pb::GetSigningKeysRequest>,
    ) -> R<pb::GetSigningKeysResponse> {
        tokens::get_signing_keys(self, _req).await
    }

    async fn watch(&self, req: Request<pb::WatchRequest>) -> R<BoxStream<pb::WatchResponse>> {
        watch::watch(self, req).await
    }
}

fn non_empty_or(value: &str, fallback: &str) -> String {
    if value.trim().is_empty() {
        fallback.to_owned()
    } else {
        value.trim().to_owned()
    }
}
