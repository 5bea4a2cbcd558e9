//! Handlers of the seat usage report (R-USE-*).

use super::*;

pub(super) async fn get_usage_report(
    g: &EntitlementGrpc,
    req: Request<pb::GetUsageReportRequest>,
) -> R<pb::UsageReport> {
    let r = req.get_ref();
    let (team, rows) = g
        .usage_rows(&req, &r.parent, r.start_date.as_ref(), r.end_date.as_ref())
        .await?;
    Ok(Response::new(pb::UsageReport {
        team: team.name(),
        rows: rows
            .iter()
            .map(|u| pb::UsageRow {
                date: Some(day_to_date(u.day)),
                product: format!("products/{}", u.product),
                seats: u.seats,
                assigned: u.assigned,
                users: i32::try_from(u.users).unwrap_or(i32::MAX),
            })
            .collect(),
    }))
}

pub(super) async fn export_usage_report(
    g: &EntitlementGrpc,
    req: Request<pb::ExportUsageReportRequest>,
) -> R<BoxStream<pb::ExportUsageReportResponse>> {
    let r = req.get_ref();
    let (_, rows) = g
        .usage_rows(&req, &r.parent, r.start_date.as_ref(), r.end_date.as_ref())
        .await?;
    let bytes = crate::report::usage_csv(&rows)
        .map_err(|e| Status::internal(format!("writing the report: {e}")))?;
    Ok(Response::new(allot_platform::grpc::chunked(
        bytes,
        |chunk| pb::ExportUsageReportResponse { chunk },
    )))
}
