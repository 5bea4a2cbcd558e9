//! The gRPC face of identity: parse requests into domain values, call the
//! use case, translate the answer. No rule lives here.

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
    Ok(Ctx {
        caller: (*caller(req)?).clone(),
        request_id: request_id(req),
    })
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
        let caller = caller(&req)?;
        let id = AccountId::parse("name", &req.get_ref().name).map_err(invalid)?;
        let a = self.app.get_account(&caller, &id).await?;
        Ok(Response::new(convert::account(&a)))
    }

    async fn lookup_account(&self, req: Request<pb::LookupAccountRequest>) -> R<pb::Account> {
        let caller = caller(&req)?;
        let email = Email::parse("email", &req.get_ref().email).map_err(invalid)?;
        let a = self.app.lookup_account(&caller, &email).await?;
        Ok(Response::new(convert::account(&a)))
    }

    async fn list_accounts(
        &self,
        req: Request<pb::ListAccountsRequest>,
    ) -> R<pb::ListAccountsResponse> {
        let caller = caller(&req)?;
        let r = req.into_inner();
        let (rows, next) = self
            .app
            .list_accounts(&caller, &r.email_prefix, r.page_size, &r.page_token)
            .await?;
        Ok(Response::new(pb::ListAccountsResponse {
            accounts: rows.iter().map(convert::account).collect(),
            next_page_token: next,
        }))
    }

    async fn batch_get_accounts(
        &self,
        req: Request<pb::BatchGetAccountsRequest>,
    ) -> R<pb::BatchGetAccountsResponse> {
        let caller = caller(&req)?;
        let ids = req
            .get_ref()
            .names
            .iter()
            .enumerate()
            .map(|(i, n)| AccountId::parse(&format!("names[{i}]"), n))
            .collect::<Result<Vec<_>, _>>()
            .map_err(invalid)?;
        let rows = self.app.batch_get_accounts(&caller, &ids).await?;
        Ok(Response::new(pb::BatchGetAccountsResponse {
            accounts: rows.iter().map(convert::account).collect(),
        }))
    }

    async fn update_account(&self, req: Request<pb::UpdateAccountRequest>) -> R<pb::Account> {
        let ctx = ctx(&req)?;
        let r = req.into_inner();
        let account = r
            .account
            .ok_or_else(|| invalid(FieldViolation::new("account", "is required")))?;
        let id = AccountId::parse("account.name", &account.name).map_err(invalid)?;
        let paths = update_paths(
            r.update_mask.as_ref(),
            &["given_name", "family_name"],
            |p| match p {
                "given_name" => !account.given_name.is_empty(),
                _ => !account.family_name.is_empty(),
            },
        )
        .map_err(invalid)?;
        let mut given = None;
        let mut family = None;
        for p in &paths {
            if p == "given_name" {
                given = Some(
                    parse_person_name("account.given_name", &account.given_name)
                        .map_err(invalid)?,
                );
            } else {
                family = Some(
                    parse_person_name("account.family_name", &account.family_name)
                        .map_err(invalid)?,
                );
            }
        }
        let a = self.app.update_account(&ctx, &id, given, family).await?;
        Ok(Response::new(convert::account(&a)))
    }

    async fn create_invitations(
        &self,
        req: Request<pb::CreateInvitationsRequest>,
    ) -> R<pb::CreateInvitationsResponse> {
        let ctx = ctx(&req)?;
        let r = req.into_inner();
        let team = TeamId::parse("team", &r.team).map_err(invalid)?;
        let into = InviteInto {
            team,
            team_display_name: non_empty_or(&r.team_display_name, &r.team),
            inviter: r.inviter.clone(),
            inviter_display_name: non_empty_or(&r.inviter_display_name, "A team administrator"),
        };
        let invitees = r
            .invitees
            .iter()
            .enumerate()
            .map(|(i, p)| {
                Invitee::parse(&p.given_name, &p.family_name, &p.email).map_err(|v| {
                    v.into_iter()
                        .map(|f| f.within(&format!("invitees[{i}]")))
                        .collect()
                })
            })
            .collect();
        let outcomes = self.app.create_invitations(&ctx, &into, invitees).await?;
        let now = self.now();
        let results = outcomes
            .into_iter()
            .map(|o| match o {
                InviteOutcome::Invited(a, i) => pb::InvitationResult {
                    outcome: pb::InvitationOutcome::Invited as i32,
                    account: Some(convert::account(&a)),
                    invitation: Some(convert::invitation(&i, now)),
                    violations: vec![],
                },
                InviteOutcome::AlreadyInvited(a, i) => pb::InvitationResult {
                    outcome: pb::InvitationOutcome::AlreadyInvited as i32,
                    account: Some(convert::account(&a)),
                    invitation: Some(convert::invitation(&i, now)),
                    violations: vec![],
                },
                InviteOutcome::Invalid(v) => pb::InvitationResult {
                    outcome: pb::InvitationOutcome::Invalid as i32,
                    account: None,
                    invitation: None,
                    violations: v.into_iter().map(Into::into).collect(),
                },
            })
            .collect();
        Ok(Response::new(pb::CreateInvitationsResponse { results }))
    }

    async fn get_invitation(&self, req: Request<pb::GetInvitationRequest>) -> R<pb::Invitation> {
        let caller = caller(&req)?;
        let id = InvitationId::parse("name", &req.get_ref().name).map_err(invalid)?;
        let i = self.app.get_invitation(&caller, &id).await?;
        Ok(Response::new(convert::invitation(&i, self.now())))
    }

    async fn list_invitations(
        &self,
        req: Request<pb::ListInvitationsRequest>,
    ) -> R<pb::ListInvitationsResponse> {
        let caller = caller(&req)?;
        let r = req.into_inner();
        let team = optional_id("team", &r.team, TeamId::parse)?;
        let account = optional_id("account", &r.account, AccountId::parse)?;
        let (rows, next) = self
            .app
            .list_invitations(
                &caller,
                team.as_ref(),
                account.as_ref(),
                r.page_size,
                &r.page_token,
            )
            .await?;
        let now = self.now();
        Ok(Response::new(pb::ListInvitationsResponse {
            invitations: rows.iter().map(|i| convert::invitation(i, now)).collect(),
            next_page_token: next,
        }))
    }

    async fn resend_invitation(
        &self,
        req: Request<pb::ResendInvitationRequest>,
    ) -> R<pb::Invitation> {
        let ctx = ctx(&req)?;
        let id = InvitationId::parse("name", &req.get_ref().name).map_err(invalid)?;
        let i = self.app.resend_invitation(&ctx, &id).await?;
        Ok(Response::new(convert::invitation(&i, self.now())))
    }

    async fn revoke_invitation(
        &self,
        req: Request<pb::RevokeInvitationRequest>,
    ) -> R<pb::Invitation> {
        let ctx = ctx(&req)?;
        let id = InvitationId::parse("name", &req.get_ref().name).map_err(invalid)?;
        let i = self.app.revoke_invitation(&ctx, &id).await?;
        Ok(Response::new(convert::invitation(&i, self.now())))
    }

    async fn accept_invitation(
        &self,
        req: Request<pb::AcceptInvitationRequest>,
    ) -> R<pb::AcceptInvitationResponse> {
        let rid = request_id(&req);
        let (a, i) = self
            .app
            .accept_invitation(&rid, &req.get_ref().token)
            .await?;
        Ok(Response::new(pb::AcceptInvitationResponse {
            account: Some(convert::account(&a)),
            invitation: Some(convert::invitation(&i, self.now())),
        }))
    }

    async fn get_invitation_token(
        &self,
        req: Request<pb::GetInvitationTokenRequest>,
    ) -> R<pb::GetInvitationTokenResponse> {
        let caller = caller(&req)?;
        let r = req.get_ref();
        let id = InvitationId::parse("name", &r.name).map_err(invalid)?;
        let (token, expire) = self
            .app
            .invitation_token(&caller, &id, r.generation)
            .await?;
        Ok(Response::new(pb::GetInvitationTokenResponse {
            token,
            expire_time: Some(timestamp(expire)),
        }))
    }

    async fn create_service_account(
        &self,
        req: Request<pb::CreateServiceAccountRequest>,
    ) -> R<pb::ServiceAccount> {
        let ctx = ctx(&req)?;
        let sa = req
            .into_inner()
            .service_account
            .ok_or_else(|| invalid(FieldViolation::new("service_account", "is required")))?;
        let display = parse_display_name("service_account.display_name", &sa.display_name)
            .map_err(invalid)?;
        let scopes = parse_scopes("service_account.scopes", &sa.scopes).map_err(invalid)?;
        let row = self
            .app
            .create_service_account(&ctx, display, scopes)
            .await?;
        Ok(Response::new(convert::service_account(&row)))
    }

    async fn get_service_account(
        &self,
        req: Request<pb::GetServiceAccountRequest>,
    ) -> R<pb::ServiceAccount> {
        let caller = caller(&req)?;
        let id = ServiceAccountId::parse("name", &req.get_ref().name).map_err(invalid)?;
        let row = self.app.get_service_account(&caller, &id).await?;
        Ok(Response::new(convert::service_account(&row)))
    }

    async fn list_service_accounts(
        &self,
        req: Request<pb::ListServiceAccountsRequest>,
    ) -> R<pb::ListServiceAccountsResponse> {
        let caller = caller(&req)?;
        let r = req.into_inner();
        let (rows, next) = self
            .app
            .list_service_accounts(&caller, r.page_size, &r.page_token)
            .await?;
        Ok(Response::new(pb::ListServiceAccountsResponse {
            service_accounts: rows.iter().map(convert::service_account).collect(),
            next_page_token: next,
        }))
    }

    async fn update_service_account(
        &self,
        req: Request<pb::UpdateServiceAccountRequest>,
    ) -> R<pb::ServiceAccount> {
        let ctx = ctx(&req)?;
        let r = req.into_inner();
        let sa = r
            .service_account
            .ok_or_else(|| invalid(FieldViolation::new("service_account", "is required")))?;
        let id = ServiceAccountId::parse("service_account.name", &sa.name).map_err(invalid)?;
        let paths = update_paths(
            r.update_mask.as_ref(),
            &["display_name", "scopes"],
            |p| match p {
                "display_name" => !sa.display_name.is_empty(),
                _ => !sa.scopes.is_empty(),
            },
        )
        .map_err(invalid)?;
        let mut display = None;
        let mut scopes = None;
        for p in &paths {
            if p == "display_name" {
                display = Some(
                    parse_display_name("service_account.display_name", &sa.display_name)
                        .map_err(invalid)?,
                );
            } else {
                scopes = Some(parse_scopes("service_account.scopes", &sa.scopes).map_err(invalid)?);
            }
        }
        let row = self
            .app
            .update_service_account(&ctx, &id, display, scopes)
            .await?;
        Ok(Response::new(convert::service_account(&row)))
    }

    async fn delete_service_account(&self, req: Request<pb::DeleteServiceAccountRequest>) -> R<()> {
        let ctx = ctx(&req)?;
        let id = ServiceAccountId::parse("name", &req.get_ref().name).map_err(invalid)?;
        self.app.delete_service_account(&ctx, &id).await?;
        Ok(Response::new(()))
    }

    async fn create_key(&self, req: Request<pb::CreateKeyRequest>) -> R<pb::CreateKeyResponse> {
        let caller = caller(&req)?;
        let (cred, secret) = self.app.create_key(&caller, &req.get_ref().parent).await?;
        Ok(Response::new(pb::CreateKeyResponse {
            key: Some(convert::key(&cred)),
            client_secret: secret,
        }))
    }

    async fn list_keys(&self, req: Request<pb::ListKeysRequest>) -> R<pb::ListKeysResponse> {
        let caller = caller(&req)?;
        let rows = self.app.list_keys(&caller, &req.get_ref().parent).await?;
        Ok(Response::new(pb::ListKeysResponse {
            keys: rows.iter().map(convert::key).collect(),
        }))
    }

    async fn delete_key(&self, req: Request<pb::DeleteKeyRequest>) -> R<()> {
        let caller = caller(&req)?;
        self.app.delete_key(&caller, &req.get_ref().name).await?;
        Ok(Response::new(()))
    }

    async fn create_token(
        &self,
        req: Request<pb::CreateTokenRequest>,
    ) -> R<pb::CreateTokenResponse> {
        let r = req.into_inner();
        if r.client_id.is_empty() || r.client_secret.is_empty() {
            return Err(IdentityError::BadCredentials.into());
        }
        let act_as = optional_id("act_as", &r.act_as, AccountId::parse)?;
        let (token, exp) = self
            .app
            .create_token(&r.client_id, &r.client_secret, act_as.as_ref(), &r.scopes)
            .await?;
        Ok(Response::new(pb::CreateTokenResponse {
            access_token: token,
            expire_time: Some(prost_types::Timestamp {
                seconds: exp,
                nanos: 0,
            }),
        }))
    }

    async fn get_signing_keys(
        &self,
        _req: Request<pb::GetSigningKeysRequest>,
    ) -> R<pb::GetSigningKeysResponse> {
        Ok(Response::new(pb::GetSigningKeysResponse {
            keys: self.app.signing_keys(),
        }))
    }

    async fn watch(&self, req: Request<pb::WatchRequest>) -> R<BoxStream<pb::WatchResponse>> {
        let caller = caller(&req)?;
        self.app.authorize_watch(&caller)?;
        let r = req.into_inner();
        let params = WatchParams::from_request(
            r.after_cursor,
            r.start_at_now,
            r.event_types,
            None,
            caller.name(),
        );
        let stream = self
            .app
            .outbox()
            .watch_events(
                params,
                |e| pb::WatchResponse {
                    kind: Some(pb::watch_response::Kind::Event(e)),
                },
                |c| pb::WatchResponse {
                    kind: Some(pb::watch_response::Kind::Checkpoint(c)),
                },
            )
            .await?;
        Ok(Response::new(stream))
    }
}

fn non_empty_or(value: &str, fallback: &str) -> String {
    if value.trim().is_empty() {
        fallback.to_owned()
    } else {
        value.trim().to_owned()
    }
}
