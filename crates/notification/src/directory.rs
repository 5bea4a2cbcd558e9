//! What notification asks another service: identity the accept token of an
//! invitation email ([`AcceptTokens`]). The service layer sees only the
//! trait; [`GrpcAcceptTokens`] answers it over gRPC with Allot's own token.

use allot_platform::grpc::{IdentityClient, request};
use allot_proto::identity as idpb;
use tonic::Code;

/// Identity's answer for one invitation email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AcceptToken {
    /// The token its link carries.
    Token(String),
    /// A newer email replaced this one, or the invitation is gone: it must
    /// not be sent.
    Superseded(String),
    /// Identity did not answer; worth trying again.
    Unavailable(String),
}

/// Accept tokens of invitation emails (R-MAIL-1).
#[async_trait::async_trait]
pub trait AcceptTokens: Send + Sync + 'static {
    /// The token of invitation `name`'s email number `generation`.
    async fn accept_token(&self, name: &str, generation: i32) -> AcceptToken;
    /// The token of password reset link `name` (R-AUTH-2).
    async fn reset_token(&self, name: &str) -> AcceptToken;
}

fn answer(result: Result<String, tonic::Status>) -> AcceptToken {
    match result {
        Ok(token) => AcceptToken::Token(token),
        Err(s) if matches!(s.code(), Code::FailedPrecondition | Code::NotFound) => {
            AcceptToken::Superseded(s.message().to_owned())
        }
        Err(s) => AcceptToken::Unavailable(s.message().to_owned()),
    }
}

/// [`AcceptTokens`] over gRPC.
pub struct GrpcAcceptTokens(pub IdentityClient);

#[async_trait::async_trait]
impl AcceptTokens for GrpcAcceptTokens {
    async fn accept_token(&self, name: &str, generation: i32) -> AcceptToken {
        answer(
            self.0
                .clone()
                .get_invitation_token(request(idpb::GetInvitationTokenRequest {
                    name: name.to_owned(),
                    generation,
                }))
                .await
                .map(|r| r.into_inner().token),
        )
    }

    async fn reset_token(&self, name: &str) -> AcceptToken {
        answer(
            self.0
                .clone()
                .get_password_reset_token(request(idpb::GetPasswordResetTokenRequest {
                    name: name.to_owned(),
                }))
                .await
                .map(|r| r.into_inner().token),
        )
    }
}
