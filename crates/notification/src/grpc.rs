//! The gRPC face of notification: parse, delegate, translate.

use std::sync::Arc;

use allot_platform::auth::caller;
use allot_platform::clock::{opt_timestamp, timestamp};
use allot_platform::error::FieldViolation;
use allot_platform::ids::DeliveryId;
use allot_proto::notification as pb;
use allot_proto::notification::notification_service_server::NotificationService;
use tonic::{Request, Response, Status};

use crate::domain::{DeliveryState, TEMPLATES, TemplateKind};
use crate::error::NotificationError;
use crate::service::Notifications;
use crate::store::Delivery;

#[derive(Debug, Clone)]
pub struct NotificationGrpc {
    app: Arc<Notifications>,
}

impl NotificationGrpc {
    pub fn new(app: Arc<Notifications>) -> NotificationGrpc {
        NotificationGrpc { app }
    }
}

fn invalid(v: FieldViolation) -> Status {
    NotificationError::from(v).into()
}

fn state(s: DeliveryState) -> pb::DeliveryState {
    match s {
        DeliveryState::Pending => pb::DeliveryState::Pending,
        DeliveryState::Sent => pb::DeliveryState::Sent,
        DeliveryState::Dead => pb::DeliveryState::Dead,
        DeliveryState::Superseded => pb::DeliveryState::Superseded,
    }
}

fn delivery(d: &Delivery) -> pb::Delivery {
    pb::Delivery {
        name: d.id.name(),
        template: format!("templates/{}", d.template),
        recipient: d.recipient.clone(),
        subject: d.subject.clone(),
        message_id: d.message_id.clone(),
        state: state(d.state) as i32,
        attempts: d.attempts,
        last_error: d.last_error.clone(),
        create_time: Some(timestamp(d.create_time)),
        next_attempt_time: (d.state == DeliveryState::Pending)
            .then(|| timestamp(d.next_attempt_time)),
        send_time: opt_timestamp(d.send_time),
        source_event: d.source_event.clone(),
    }
}

fn template_kind(name: &str) -> Result<TemplateKind, Status> {
    name.strip_prefix("templates/")
        .and_then(TemplateKind::from_name)
        .ok_or_else(|| {
            invalid(FieldViolation::new(
                "name",
                format!(
                    "unknown template {}; known: {}",
                    allot_platform::error::quote(name),
                    TEMPLATES
                        .iter()
                        .map(|t| format!("templates/{}", t.name))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ))
        })
}

type R<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl NotificationService for NotificationGrpc {
    async fn list_deliveries(
        &self,
        req: Request<pb::ListDeliveriesRequest>,
    ) -> R<pb::ListDeliveriesResponse> {
        let caller = caller(&req)?;
        let r = req.into_inner();
        let filter = match pb::DeliveryState::try_from(r.state) {
            Ok(pb::DeliveryState::Unspecified) => None,
            Ok(pb::DeliveryState::Pending) => Some(DeliveryState::Pending),
            Ok(pb::DeliveryState::Sent) => Some(DeliveryState::Sent),
            Ok(pb::DeliveryState::Dead) => Some(DeliveryState::Dead),
            Ok(pb::DeliveryState::Superseded) => Some(DeliveryState::Superseded),
            Err(_) => {
                return Err(invalid(FieldViolation::new(
                    "state",
                    format!("unknown state {}", r.state),
                )));
            }
        };
        let recipient = (!r.recipient.is_empty()).then_some(r.recipient.as_str());
        let (rows, next) = self
            .app
            .list(&caller, filter, recipient, r.page_size, &r.page_token)
            .await?;
        Ok(Response::new(pb::ListDeliveriesResponse {
            deliveries: rows.iter().map(delivery).collect(),
            next_page_token: next,
        }))
    }

    async fn get_delivery(&self, req: Request<pb::GetDeliveryRequest>) -> R<pb::Delivery> {
        let caller = caller(&req)?;
        let id = DeliveryId::parse("name", &req.get_ref().name).map_err(invalid)?;
        Ok(Response::new(delivery(&self.app.get(&caller, &id).await?)))
    }

    async fn retry_delivery(&self, req: Request<pb::RetryDeliveryRequest>) -> R<pb::Delivery> {
        let caller = caller(&req)?;
        let id = DeliveryId::parse("name", &req.get_ref().name).map_err(invalid)?;
        Ok(Response::new(delivery(
            &self.app.retry(&caller, &id).await?,
        )))
    }

    async fn list_templates(
        &self,
        _req: Request<pb::ListTemplatesRequest>,
    ) -> R<pb::ListTemplatesResponse> {
        Ok(Response::new(pb::ListTemplatesResponse {
            templates: TEMPLATES
                .iter()
                .map(|t| pb::Template {
                    name: format!("templates/{}", t.name),
                    description: t.description.to_owned(),
                    parameters: t.parameters.iter().map(|(k, _)| (*k).to_owned()).collect(),
                })
                .collect(),
        }))
    }

    async fn preview_template(
        &self,
        req: Request<pb::PreviewTemplateRequest>,
    ) -> R<pb::PreviewTemplateResponse> {
        let r = req.into_inner();
        let kind = template_kind(&r.name)?;
        let mut params = kind.sample();
        for (k, v) in r.parameters {
            let Some(sample) = params.get(&k) else {
                return Err(invalid(FieldViolation::new(
                    format!("parameters[{k}]"),
                    "is not a parameter of this template",
                )));
            };
            // Lists are given as JSON; everything else as plain text.
            let value = if sample.is_string() {
                serde_json::Value::String(v)
            } else {
                serde_json::from_str(&v).map_err(|e| {
                    invalid(FieldViolation::new(
                        format!("parameters[{k}]"),
                        format!("must be JSON like the sample: {e}"),
                    ))
                })?
            };
            params.insert(k, value);
        }
        let out = self
            .app
            .renderer()
            .render(kind, &params)
            .map_err(|e| Status::internal(format!("rendering failed: {e}")))?;
        Ok(Response::new(pb::PreviewTemplateResponse {
            subject: out.subject,
            text_body: out.text,
            html_body: out.html,
        }))
    }
}
