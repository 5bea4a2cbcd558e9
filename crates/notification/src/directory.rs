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

    /// The tokens of several invitation emails, in the order asked.
    async fn accept_tokens(&self, asks: &[(String, i32)]) -> Vec<AcceptToken> {
        let mut out = Vec::with_capacity(asks.len());
        for (name, generation) in asks {
            out.push(self.accept_token(name, *generation).await);
        }
        out
    }
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

    /// One call per thousand emails.
    async fn accept_tokens(&self, asks: &[(String, i32)]) -> Vec<AcceptToken> {
        let mut out = Vec::with_capacity(asks.len());
        for chunk in asks.chunks(1000) {
            let answer = self
                .0
                .clone()
                .batch_get_invitation_tokens(request(idpb::BatchGetInvitationTokensRequest {
                    requests: chunk
                        .iter()
                        .map(|(name, generation)| idpb::GetInvitationTokenRequest {
                            name: name.clone(),
                            generation: *generation,
                        })
                        .collect(),
                }))
                .await;
            match answer {
                // One answer per ask, in order, or none is trusted: a
                // shifted list would send someone another person's link.
                Ok(r) if r.get_ref().results.len() != chunk.len() => {
                    out.extend(chunk.iter().map(|_| {
                        AcceptToken::Unavailable(format!(
                            "identity answered {} tokens for {} invitations",
                            r.get_ref().results.len(),
                            chunk.len()
                        ))
                    }))
                }
                Ok(r) => out.extend(r.into_inner().results.into_iter().map(|t| {
                    if t.token.is_empty() {
                        AcceptToken::Superseded(t.refusal)
                    } else {
                        AcceptToken::Token(t.token)
                    }
                })),
                Err(s) => out.extend(
                    chunk
                        .iter()
                        .map(|_| AcceptToken::Unavailable(s.message().to_owned())),
                ),
            }
        }
        out
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
