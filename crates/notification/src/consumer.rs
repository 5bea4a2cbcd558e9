//! Emails as reactions to other services' events.

use std::sync::Arc;

use allot_platform::consumer::{HandleError, Handler};
use allot_platform::db::WriteTx;
use allot_platform::outbox::NewEvent;
use allot_proto::identity as idpb;
use allot_proto::identity::event::Payload;

use crate::domain::{Params, TemplateKind};
use crate::error::NotificationError;
use crate::service::{NewMail, Notifications};
use crate::templates::human_time;

/// The durable name of the cursor on identity's stream.
pub const IDENTITY_CONSUMER: &str = "notification.identity-events";

/// The identity events that cause emails.
pub const IDENTITY_EVENTS: &[&str] = &[
    "invitation_created",
    "invitation_resent",
    "password_reset_requested",
];

pub struct IdentityMail {
    pub app: Arc<Notifications>,
}

fn handle_error(e: NotificationError) -> HandleError {
    match e {
        NotificationError::Db(_) => HandleError::Transient(e.to_string()),
        other => HandleError::Permanent(other.to_string()),
    }
}

/// R-MAIL-1: the invitation email, for a new invitation and each resend.
fn invitation_mail(event_id: &str, invitation: &idpb::Invitation, given_name: &str) -> NewMail {
    let expires = invitation
        .expire_time
        .as_ref()
        .map(|t| human_time(t.seconds.saturating_mul(1_000_000)))
        .unwrap_or_default();
    let params: Params = [
        ("given_name", given_name.into()),
        ("inviter", invitation.inviter_display_name.clone().into()),
        ("team", invitation.team_display_name.clone().into()),
        ("expires", expires.into()),
        ("invitation", invitation.name.clone().into()),
        ("generation", invitation.generation.into()),
    ]
    .into_iter()
    .map(|(k, v): (&str, serde_json::Value)| (k.to_owned(), v))
    .collect();
    NewMail {
        kind: TemplateKind::Invitation,
        recipient: invitation.email.clone(),
        params,
        // One email per invitation and resend, however it was learnt of
        // (its event, or reconciling after lost events).
        dedupe_key: format!("{}/{}", invitation.name, invitation.generation),
        source_event: format!("identity/{event_id}"),
    }
}

/// R-AUTH-2: the password reset link (its token is fetched when sending).
fn reset_mail(event_id: &str, reset: &idpb::PasswordResetRequested) -> NewMail {
    let expires = reset
        .expire_time
        .as_ref()
        .map(|t| human_time(t.seconds.saturating_mul(1_000_000)))
        .unwrap_or_default();
    let params: Params = [
        ("given_name", reset.given_name.clone().into()),
        ("expires", expires.into()),
        ("reset", reset.name.clone().into()),
    ]
    .into_iter()
    .map(|(k, v): (&str, serde_json::Value)| (k.to_owned(), v))
    .collect();
    NewMail {
        kind: TemplateKind::PasswordReset,
        recipient: reset.email.clone(),
        params,
        dedupe_key: reset.name.clone(),
        source_event: format!("identity/{event_id}"),
    }
}

impl Handler<idpb::Event> for IdentityMail {
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
        let mail = match &event.payload {
            Some(
                Payload::InvitationCreated(idpb::InvitationCreated {
                    invitation: Some(i),
                    given_name,
                    ..
                })
                | Payload::InvitationResent(idpb::InvitationResent {
                    invitation: Some(i),
                    given_name,
                    ..
                }),
            ) => Some(invitation_mail(id, i, given_name)),
            Some(Payload::PasswordResetRequested(r)) => Some(reset_mail(id, r)),
            _ => None,
        };
        if let Some(mail) = mail {
            self.app.enqueue(tx, mail).await.map_err(handle_error)?;
        }
        Ok(Vec::new())
    }

    fn after_commit(&self) {
        self.app.wake();
    }

    /// After lost events (R-MAIL-1): every pending invitation gets the email
    /// of its newest generation, unless it already had it.
    async fn reconcile(&self) -> Result<(), HandleError> {
        use allot_platform::grpc::request;
        let mut identity = self.app.identity();
        let transient = |s: tonic::Status| HandleError::Transient(format!("identity: {s}"));
        let now = self.app.now() / 1_000_000;
        let mut page_token = String::new();
        let mut queued = 0usize;
        loop {
            let page = identity
                .list_invitations(request(idpb::ListInvitationsRequest {
                    page_size: 100,
                    page_token: page_token.clone(),
                    ..Default::default()
                }))
                .await
                .map_err(transient)?
                .into_inner();
            let pending: Vec<idpb::Invitation> = page
                .invitations
                .into_iter()
                .filter(|i| {
                    i.state == idpb::InvitationState::Pending as i32
                        && i.expire_time.as_ref().is_none_or(|t| t.seconds > now)
                })
                .collect();
            let names: Vec<String> = pending.iter().map(|i| i.account.clone()).collect();
            let given: std::collections::HashMap<String, String> = if names.is_empty() {
                Default::default()
            } else {
                identity
                    .batch_get_accounts(request(idpb::BatchGetAccountsRequest { names }))
                    .await
                    .map_err(transient)?
                    .into_inner()
                    .accounts
                    .into_iter()
                    .map(|a| (a.name, a.given_name))
                    .collect()
            };
            let mut tx = self.app.begin().await.map_err(handle_error)?;
            for i in &pending {
                let name = given
                    .get(&i.account)
                    .map(String::as_str)
                    .unwrap_or_default();
                let mail = invitation_mail(&format!("reconcile/{}", i.name), i, name);
                if self
                    .app
                    .enqueue(&mut tx, mail)
                    .await
                    .map_err(handle_error)?
                {
                    queued += 1;
                }
            }
            tx.commit().await?;
            self.app.wake();
            if page.next_page_token.is_empty() {
                break;
            }
            page_token = page.next_page_token;
        }
        tracing::info!(
            consumer = IDENTITY_CONSUMER,
            queued,
            "reconciled invitation emails"
        );
        Ok(())
    }
}

/// The durable name of the cursor on entitlement's stream.
pub const ENTITLEMENT_CONSUMER: &str = "notification.entitlement-events";

/// The entitlement events that cause emails.
pub const ENTITLEMENT_EVENTS: &[&str] = &[
    "seat_assigned",
    "contract_created",
    "operation_finished",
    "release_news",
    "renewal_due",
];

/// Product assignment (R-MAIL-2) and contract confirmation (R-MAIL-4) emails.
pub struct EntitlementMail {
    pub app: Arc<Notifications>,
}

fn readable(enum_name: &str, prefix: &str) -> serde_json::Value {
    enum_name
        .trim_start_matches(prefix)
        .to_lowercase()
        .replace('_', " ")
        .into()
}

impl Handler<allot_proto::entitlement::Event> for EntitlementMail {
    async fn handle(
        &self,
        tx: &mut WriteTx,
        event: &allot_proto::entitlement::Event,
    ) -> Result<Vec<NewEvent>, HandleError> {
        use allot_proto::entitlement as epb;
        use allot_proto::entitlement::event::Payload as E;
        let ctx = event.context.clone().unwrap_or_default();
        let source = format!("entitlement/{}", ctx.id);
        match &event.payload {
            Some(E::SeatAssigned(epb::SeatAssigned {
                assignment: Some(a),
                product_display_name,
                items,
            })) => {
                // One email per person and request, listing every product
                // that request gave them.
                let request = if ctx.request_id.is_empty() {
                    &ctx.id
                } else {
                    &ctx.request_id
                };
                let product = serde_json::json!({
                    "name": product_display_name,
                    "items": items.iter().map(|i| i.display_name.clone()).collect::<Vec<_>>(),
                });
                let mail = NewMail {
                    kind: TemplateKind::ProductAssignment,
                    recipient: a.email.clone(),
                    params: [
                        ("email".to_owned(), a.email.clone().into()),
                        (
                            "products".to_owned(),
                            serde_json::Value::Array(vec![product]),
                        ),
                    ]
                    .into_iter()
                    .collect(),
                    dedupe_key: format!("assignment/{request}/{}", a.account),
                    source_event: source.clone(),
                };
                self.app
                    .enqueue_gathered(tx, mail, "products", &source)
                    .await
                    .map_err(handle_error)?;
            }
            Some(E::ContractCreated(epb::ContractCreated {
                contract: Some(c),
                owner_email,
                product_display_names,
            })) => {
                let subscriptions: Vec<serde_json::Value> = c
                    .subscriptions
                    .iter()
                    .map(|s| {
                        let name = product_display_names
                            .get(&s.product)
                            .cloned()
                            .unwrap_or_else(|| s.product.clone());
                        serde_json::json!({ "product": name, "seats": s.seats })
                    })
                    .collect();
                let activation = epb::ActivationType::try_from(c.activation_type)
                    .map(|a| a.as_str_name())
                    .unwrap_or_default();
                let plan = epb::ContractPlan::try_from(c.plan)
                    .map(|a| a.as_str_name())
                    .unwrap_or_default();
                let billing = epb::Billing::try_from(c.billing)
                    .map(|a| a.as_str_name())
                    .unwrap_or_default();
                let mail = NewMail {
                    kind: TemplateKind::ContractConfirmation,
                    recipient: owner_email.clone(),
                    params: [
                        ("contract", c.name.clone().into()),
                        ("activation", readable(activation, "ACTIVATION_TYPE_")),
                        ("serial_number", c.serial_number.clone().into()),
                        ("plan", readable(plan, "CONTRACT_PLAN_")),
                        ("billing", readable(billing, "BILLING_")),
                        ("subscriptions", serde_json::Value::Array(subscriptions)),
                    ]
                    .into_iter()
                    .map(|(k, v): (&str, serde_json::Value)| (k.to_owned(), v))
                    .collect(),
                    dedupe_key: source.clone(),
                    source_event: source,
                };
                self.app.enqueue(tx, mail).await.map_err(handle_error)?;
            }
            Some(E::OperationFinished(done)) => {
                if let Some(mail) = assignment_import_mail(&ctx.id, done) {
                    self.app.enqueue(tx, mail).await.map_err(handle_error)?;
                }
            }
            // R-MAIL-4: once per contract and reminder.
            Some(E::RenewalDue(due)) => {
                let c = due.contract.clone().unwrap_or_default();
                let end_date = c
                    .end_date
                    .as_ref()
                    .map(|d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day))
                    .unwrap_or_default();
                let subscriptions: Vec<serde_json::Value> = c
                    .subscriptions
                    .iter()
                    .map(|s| serde_json::json!({ "product": s.product, "seats": s.seats }))
                    .collect();
                let mail = NewMail {
                    kind: TemplateKind::RenewalReminder,
                    recipient: due.owner_email.clone(),
                    params: [
                        ("contract", c.name.clone().into()),
                        ("end_date", end_date.into()),
                        ("days", due.days_before.into()),
                        ("subscriptions", serde_json::Value::Array(subscriptions)),
                    ]
                    .into_iter()
                    .map(|(k, v): (&str, serde_json::Value)| (k.to_owned(), v))
                    .collect(),
                    dedupe_key: format!("renewal/{}/{}", c.name, due.days_before),
                    source_event: source,
                };
                self.app.enqueue(tx, mail).await.map_err(handle_error)?;
            }
            // R-MAIL-4: once per release and coordinator.
            Some(E::ReleaseNews(news)) => {
                let release = news.release.clone().unwrap_or_default();
                let mail = NewMail {
                    kind: TemplateKind::ReleaseNews,
                    recipient: news.coordinator_email.clone(),
                    params: [
                        ("product", news.product_display_name.clone().into()),
                        ("version", release.version.clone().into()),
                        ("notes", release.notes.clone().into()),
                        ("contract", news.contract.clone().into()),
                    ]
                    .into_iter()
                    .map(|(k, v): (&str, serde_json::Value)| (k.to_owned(), v))
                    .collect(),
                    dedupe_key: format!("{}/{}", release.name, news.coordinator),
                    source_event: source,
                };
                self.app.enqueue(tx, mail).await.map_err(handle_error)?;
            }
            _ => {}
        }
        Ok(Vec::new())
    }

    fn after_commit(&self) {
        self.app.wake();
    }
}

/// The durable name of the cursor on team's stream.
pub const TEAM_CONSUMER: &str = "notification.team-events";

/// The team events that cause emails.
pub const TEAM_EVENTS: &[&str] = &["operation_finished"];

/// The import completion email to whoever started it (R-MAIL-3).
pub struct TeamMail {
    pub app: Arc<Notifications>,
}

/// What a finished import's email says, from either service's event.
struct FinishedImport<'a> {
    source: String,
    creator_email: &'a str,
    team: &'a str,
    operation: &'a str,
    total_rows: i32,
    validate_only: bool,
    summary: &'a str,
    /// `(line, email, message)` of the rows that were not imported.
    problems: Vec<(i32, String, String)>,
}

impl FinishedImport<'_> {
    fn mail(self) -> Option<NewMail> {
        if self.creator_email.is_empty() {
            return None;
        }
        let problems: Vec<serde_json::Value> = self
            .problems
            .into_iter()
            .take(50)
            .map(|(line, email, message)| serde_json::json!({ "line": line, "email": email, "message": message }))
            .collect();
        let params: Params = [
            ("team", serde_json::Value::from(self.team)),
            ("operation", self.operation.into()),
            ("file_rows", self.total_rows.into()),
            ("validate_only", self.validate_only.into()),
            ("summary", self.summary.into()),
            ("problems", problems.into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        Some(NewMail {
            kind: TemplateKind::ImportFinished,
            recipient: self.creator_email.to_owned(),
            params,
            dedupe_key: self.source.clone(),
            source_event: self.source,
        })
    }
}

/// The finished operation's metadata and response, decoded.
fn decode_operation<M: prost::Message + Default, R: prost::Message + Default>(
    op: &allot_proto::common::Operation,
) -> (M, R) {
    let meta = op
        .metadata
        .as_ref()
        .and_then(|a| M::decode(a.value.as_slice()).ok())
        .unwrap_or_default();
    let response = match &op.result {
        Some(allot_proto::common::operation::Result::Response(r)) => {
            R::decode(r.value.as_slice()).ok()
        }
        _ => None,
    }
    .unwrap_or_default();
    (meta, response)
}

impl Handler<allot_proto::team::Event> for TeamMail {
    async fn handle(
        &self,
        tx: &mut WriteTx,
        event: &allot_proto::team::Event,
    ) -> Result<Vec<NewEvent>, HandleError> {
        use allot_proto::team as tpb;
        use allot_proto::team::event::Payload as T;
        let ctx = event.context.clone().unwrap_or_default();
        let Some(T::OperationFinished(done)) = &event.payload else {
            return Ok(Vec::new());
        };
        let op = done.operation.clone().unwrap_or_default();
        let (meta, response): (tpb::ImportMembersMetadata, tpb::ImportMembersResponse) =
            decode_operation(&op);
        let mail = FinishedImport {
            source: format!("team/{}", ctx.id),
            creator_email: &done.creator_email,
            team: &done.team_display_name,
            operation: &op.name,
            total_rows: meta.total_rows,
            validate_only: meta.validate_only,
            summary: &done.summary,
            problems: response
                .rows
                .into_iter()
                .filter(|r| r.outcome == tpb::AddMemberOutcome::Invalid as i32)
                .map(|r| (r.line, r.email, r.message))
                .collect(),
        }
        .mail();
        if let Some(mail) = mail {
            self.app.enqueue(tx, mail).await.map_err(handle_error)?;
        }
        Ok(Vec::new())
    }

    fn after_commit(&self) {
        self.app.wake();
    }
}

/// R-MAIL-3 for assignment imports.
fn assignment_import_mail(
    id: &str,
    done: &allot_proto::entitlement::OperationFinished,
) -> Option<NewMail> {
    use allot_proto::entitlement as epb;
    let op = done.operation.clone().unwrap_or_default();
    let (meta, response): (
        epb::ImportAssignmentsMetadata,
        epb::ImportAssignmentsResponse,
    ) = decode_operation(&op);
    FinishedImport {
        source: format!("entitlement/{id}"),
        creator_email: &done.creator_email,
        team: &done.team_display_name,
        operation: &op.name,
        total_rows: meta.total_rows,
        validate_only: meta.validate_only,
        summary: &done.summary,
        problems: response
            .rows
            .into_iter()
            .filter(|r| {
                !matches!(
                    epb::AssignOutcome::try_from(r.outcome),
                    Ok(epb::AssignOutcome::Assigned | epb::AssignOutcome::AlreadyAssigned)
                )
            })
            .map(|r| (r.line, r.email, format!("{}: {}", r.product, r.message)))
            .collect(),
    }
    .mail()
}
