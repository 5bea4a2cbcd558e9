//! The gRPC face of entitlement: parse, delegate, translate. No rule lives
//! here.

mod catalog;
mod checks;
mod contracts;
mod groups;
mod imports;
mod pools;
mod seats;
mod usage;
mod watch;

use std::sync::Arc;

use allot_platform::auth::caller;
use allot_platform::error::FieldViolation;
use allot_platform::ids::{
    AccountId, AssignmentId, ContractId, GroupAssignmentId, GroupId, ProductId, SubscriptionId,
    TeamId, parse_nested,
};
use allot_platform::mask::update_paths;
use allot_platform::outbox::WatchParams;
use allot_platform::request_key;
use allot_proto::common as cpb;
use allot_proto::entitlement as pb;
use allot_proto::entitlement::entitlement_service_server::EntitlementService as Service;
use tonic::codegen::BoxStream;
use tonic::{Request, Response, Status};

use crate::convert;
use crate::domain::{
    ActivationType, Billing, ContractPlan, Item, ItemKind, SeatCount, parse_display_name,
    parse_item_id, parse_product_id,
};
use crate::error::EntitlementError;
use crate::projection::Answer;
use crate::service::{AssignmentQuery, Ctx, Entitlements, NewContract};

#[derive(Debug, Clone)]
pub struct EntitlementGrpc {
    app: Arc<Entitlements>,
    /// Most rows one CSV import takes.
    max_rows: usize,
    /// Open WatchOperation streams per caller.
    operation_watchers: allot_platform::streams::StreamSlots,
}

impl EntitlementGrpc {
    pub fn new(app: Arc<Entitlements>, max_rows: usize) -> EntitlementGrpc {
        EntitlementGrpc {
            app,
            max_rows,
            operation_watchers: allot_platform::jobs::operation_watchers(),
        }
    }

    /// The usage report a request asks for (R-USE-2).
    async fn usage_rows<T>(
        &self,
        req: &Request<T>,
        parent: &str,
        start: Option<&cpb::Date>,
        end: Option<&cpb::Date>,
    ) -> Result<(TeamId, Vec<crate::service::UsageRow>), Status> {
        let caller = caller(req)?;
        let team = TeamId::parse("parent", parent).map_err(invalid)?;
        let first = date_to_day("start_date", start)?;
        let last = date_to_day("end_date", end)?;
        let rows = self
            .app
            .usage()
            .usage_report(&caller, &team, first, last)
            .await?;
        Ok((team, rows))
    }
}

fn ctx<T>(req: &Request<T>) -> Result<Ctx, Status> {
    Ctx::from_request(req)
}

fn invalid(v: FieldViolation) -> Status {
    EntitlementError::from(v).into()
}

fn required<T>(field: &str, v: Option<T>) -> Result<T, Status> {
    v.ok_or_else(|| invalid(FieldViolation::new(field, "is required")))
}

fn optional<T>(
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

/// `teams/{team}/{collection}/{id}`.
fn in_team(field: &str, name: &str, collection: &str) -> Result<(TeamId, String), Status> {
    let (t, id) = parse_nested(field, name, "teams", collection).map_err(invalid)?;
    Ok((TeamId::from_db(t), id))
}

fn items_in(field: &str, items: &[pb::Item]) -> Result<Vec<Item>, Status> {
    // Counted before anything is parsed, duplicates found in linear time.
    if items.len() > crate::domain::MAX_ITEMS {
        return Err(too_many(field, items.len(), crate::domain::MAX_ITEMS));
    }
    let mut out: Vec<Item> = Vec::with_capacity(items.len());
    let mut seen = std::collections::HashSet::with_capacity(items.len());
    for (i, it) in items.iter().enumerate() {
        let f = format!("{field}[{i}]");
        let id = parse_item_id(&format!("{f}.id"), &it.id).map_err(invalid)?;
        if !seen.insert(id.clone()) {
            return Err(invalid(FieldViolation::new(
                format!("{f}.id"),
                format!("item {id} is named twice"),
            )));
        }
        let kind = match pb::ItemKind::try_from(it.kind) {
            Ok(pb::ItemKind::Application) => ItemKind::Application,
            Ok(pb::ItemKind::CloudService) => ItemKind::CloudService,
            Ok(pb::ItemKind::Support) => ItemKind::Support,
            _ => {
                return Err(invalid(FieldViolation::new(
                    format!("{f}.kind"),
                    "must be APPLICATION, CLOUD_SERVICE or SUPPORT",
                )));
            }
        };
        out.push(Item {
            id,
            display_name: parse_display_name(&format!("{f}.display_name"), &it.display_name)
                .map_err(invalid)?,
            kind,
        });
    }
    Ok(out)
}

/// INVALID_ARGUMENT for a repeated field over its limit.
fn too_many(field: &str, got: usize, limit: usize) -> Status {
    invalid(FieldViolation::new(
        field,
        format!("names {got} entries; at most {limit} per call"),
    ))
}

fn product_ref(field: &str, name: &str) -> Result<ProductId, Status> {
    ProductId::parse(field, name).map_err(invalid)
}

fn date_to_day(field: &str, d: Option<&cpb::Date>) -> Result<i64, Status> {
    let d = required(field, d)?;
    let month = u8::try_from(d.month)
        .ok()
        .and_then(|m| time::Month::try_from(m).ok());
    let date = month
        .and_then(|m| time::Date::from_calendar_date(d.year, m, u8::try_from(d.day).ok()?).ok());
    let date = date.ok_or_else(|| invalid(FieldViolation::new(field, "is not a calendar date")))?;
    Ok(i64::from(
        date.to_julian_day()
            - time::Date::from_calendar_date(1970, time::Month::January, 1)
                .map(|e| e.to_julian_day())
                .unwrap_or(2_440_588),
    ))
}

pub fn day_to_date(day: i64) -> cpb::Date {
    let epoch = time::Date::from_calendar_date(1970, time::Month::January, 1)
        .map(|e| e.to_julian_day())
        .unwrap_or(2_440_588);
    let julian = i32::try_from(i64::from(epoch) + day).unwrap_or(epoch);
    let d = time::Date::from_julian_day(julian).unwrap_or(time::Date::MIN);
    cpb::Date {
        year: d.year(),
        month: i32::from(u8::from(d.month())),
        day: i32::from(d.day()),
    }
}

type R<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl Service for EntitlementGrpc {
    /// R-SEAT-3 by CSV: starts an assignment import.
    /// R-USE-2 as a CSV file: one line per day and product.
    async fn create_product(&self, req: Request<pb::CreateProductRequest>) -> R<pb::Product> {
        catalog::create_product(self, req).await
    }

    async fn publish_release(&self, req: Request<pb::PublishReleaseRequest>) -> R<pb::Release> {
        catalog::publish_release(self, req).await
    }

    async fn get_product(&self, req: Request<pb::GetProductRequest>) -> R<pb::Product> {
        catalog::get_product(self, req).await
    }

    async fn list_products(
        &self,
        req: Request<pb::ListProductsRequest>,
    ) -> R<pb::ListProductsResponse> {
        catalog::list_products(self, req).await
    }

    async fn update_product(&self, req: Request<pb::UpdateProductRequest>) -> R<pb::Product> {
        catalog::update_product(self, req).await
    }

    async fn create_contract(&self, req: Request<pb::CreateContractRequest>) -> R<pb::Contract> {
        contracts::create_contract(self, req).await
    }

    async fn get_contract(&self, req: Request<pb::GetContractRequest>) -> R<pb::Contract> {
        contracts::get_contract(self, req).await
    }

    async fn list_contracts(
        &self,
        req: Request<pb::ListContractsRequest>,
    ) -> R<pb::ListContractsResponse> {
        contracts::list_contracts(self, req).await
    }

    async fn set_software_coordinator(
        &self,
        req: Request<pb::SetSoftwareCoordinatorRequest>,
    ) -> R<pb::Contract> {
        contracts::set_software_coordinator(self, req).await
    }

    async fn set_contract_manager(
        &self,
        req: Request<pb::SetContractManagerRequest>,
    ) -> R<pb::Contract> {
        contracts::set_contract_manager(self, req).await
    }

    async fn create_subscription(
        &self,
        req: Request<pb::CreateSubscriptionRequest>,
    ) -> R<pb::Subscription> {
        contracts::create_subscription(self, req).await
    }

    async fn get_subscription(
        &self,
        req: Request<pb::GetSubscriptionRequest>,
    ) -> R<pb::Subscription> {
        contracts::get_subscription(self, req).await
    }

    async fn list_subscriptions(
        &self,
        req: Request<pb::ListSubscriptionsRequest>,
    ) -> R<pb::ListSubscriptionsResponse> {
        contracts::list_subscriptions(self, req).await
    }

    async fn add_seats(&self, req: Request<pb::AddSeatsRequest>) -> R<pb::Subscription> {
        contracts::add_seats(self, req).await
    }

    async fn move_subscription(
        &self,
        req: Request<pb::MoveSubscriptionRequest>,
    ) -> R<pb::Subscription> {
        contracts::move_subscription(self, req).await
    }

    async fn get_pool(&self, req: Request<pb::GetPoolRequest>) -> R<pb::Pool> {
        pools::get_pool(self, req).await
    }

    async fn list_pools(&self, req: Request<pb::ListPoolsRequest>) -> R<pb::ListPoolsResponse> {
        pools::list_pools(self, req).await
    }

    async fn assign_products(
        &self,
        req: Request<pb::AssignProductsRequest>,
    ) -> R<pb::AssignResponse> {
        seats::assign_products(self, req).await
    }

    async fn assign_users(&self, req: Request<pb::AssignUsersRequest>) -> R<pb::AssignResponse> {
        seats::assign_users(self, req).await
    }

    async fn create_group_assignment(
        &self,
        req: Request<pb::CreateGroupAssignmentRequest>,
    ) -> R<pb::GroupAssignmentResponse> {
        groups::create_group_assignment(self, req).await
    }

    async fn list_group_assignments(
        &self,
        req: Request<pb::ListGroupAssignmentsRequest>,
    ) -> R<pb::ListGroupAssignmentsResponse> {
        groups::list_group_assignments(self, req).await
    }

    async fn delete_group_assignment(
        &self,
        req: Request<pb::DeleteGroupAssignmentRequest>,
    ) -> R<()> {
        groups::delete_group_assignment(self, req).await
    }

    async fn get_assignment(&self, req: Request<pb::GetAssignmentRequest>) -> R<pb::Assignment> {
        seats::get_assignment(self, req).await
    }

    async fn list_assignments(
        &self,
        req: Request<pb::ListAssignmentsRequest>,
    ) -> R<pb::ListAssignmentsResponse> {
        seats::list_assignments(self, req).await
    }

    async fn update_assignment(
        &self,
        req: Request<pb::UpdateAssignmentRequest>,
    ) -> R<pb::Assignment> {
        seats::update_assignment(self, req).await
    }

    async fn delete_assignment(&self, req: Request<pb::DeleteAssignmentRequest>) -> R<()> {
        seats::delete_assignment(self, req).await
    }

    async fn check_entitlement(
        &self,
        req: Request<pb::CheckEntitlementRequest>,
    ) -> R<pb::CheckEntitlementResponse> {
        checks::check_entitlement(self, req).await
    }

    async fn list_my_products(
        &self,
        req: Request<pb::ListMyProductsRequest>,
    ) -> R<pb::ListMyProductsResponse> {
        checks::list_my_products(self, req).await
    }

    async fn get_usage_report(
        &self,
        req: Request<pb::GetUsageReportRequest>,
    ) -> R<pb::UsageReport> {
        usage::get_usage_report(self, req).await
    }

    async fn import_assignments(
        &self,
        req: Request<pb::ImportAssignmentsRequest>,
    ) -> R<cpb::Operation> {
        imports::import_assignments(self, req).await
    }

    async fn get_operation(&self, req: Request<pb::GetOperationRequest>) -> R<cpb::Operation> {
        imports::get_operation(self, req).await
    }

    async fn list_import_rows(
        &self,
        req: Request<pb::ListImportRowsRequest>,
    ) -> R<pb::ListImportRowsResponse> {
        imports::list_import_rows(self, req).await
    }

    async fn list_operations(
        &self,
        req: Request<pb::ListOperationsRequest>,
    ) -> R<pb::ListOperationsResponse> {
        imports::list_operations(self, req).await
    }

    async fn watch_operation(
        &self,
        req: Request<pb::WatchOperationRequest>,
    ) -> R<BoxStream<cpb::Operation>> {
        imports::watch_operation(self, req).await
    }

    async fn export_usage_report(
        &self,
        req: Request<pb::ExportUsageReportRequest>,
    ) -> R<BoxStream<pb::ExportUsageReportResponse>> {
        usage::export_usage_report(self, req).await
    }

    async fn watch(&self, req: Request<pb::WatchRequest>) -> R<BoxStream<pb::WatchResponse>> {
        watch::watch(self, req).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_through_day_numbers() {
        let d = cpb::Date {
            year: 2026,
            month: 11,
            day: 22,
        };
        let day = date_to_day("start_date", Some(&d)).unwrap();
        assert_eq!(day_to_date(day), d);
        assert_eq!(
            date_to_day(
                "x",
                Some(&cpb::Date {
                    year: 1970,
                    month: 1,
                    day: 1
                })
            )
            .unwrap(),
            0
        );
        assert!(
            date_to_day(
                "x",
                Some(&cpb::Date {
                    year: 2026,
                    month: 2,
                    day: 30
                })
            )
            .is_err()
        );
    }
}
