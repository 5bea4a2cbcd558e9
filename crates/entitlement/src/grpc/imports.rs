//! Handlers of assignment imports and their operations.

use super::*;

pub(super) async fn import_assignments(
    g: &EntitlementGrpc,
    req: Request<pb::ImportAssignmentsRequest>,
) -> R<cpb::Operation> {
    let mut ctx = ctx(&req)?;
    let r = req.into_inner();
    ctx.caller = ctx.caller.on_behalf_of("on_behalf_of", &r.on_behalf_of)?;
    let key = request_key!(ctx.caller, "ImportAssignments", r).map_err(invalid)?;
    let team = TeamId::parse("parent", &r.parent).map_err(invalid)?;
    let op = g
        .app
        .imports()
        .start_assignment_import(
            &ctx,
            &team,
            &r.csv,
            r.validate_only,
            g.max_rows,
            key.as_ref(),
        )
        .await?;
    Ok(Response::new(convert::import_operation(&op)))
}

pub(super) async fn get_operation(
    g: &EntitlementGrpc,
    req: Request<pb::GetOperationRequest>,
) -> R<cpb::Operation> {
    let caller = caller(&req)?;
    let op = g
        .app
        .operations()
        .get_operation(&caller, &req.into_inner().name)
        .await?;
    Ok(Response::new(convert::import_operation(&op)))
}

pub(super) async fn list_import_rows(
    g: &EntitlementGrpc,
    req: Request<pb::ListImportRowsRequest>,
) -> R<pb::ListImportRowsResponse> {
    let caller = caller(&req)?;
    let r = req.into_inner();
    let (rows, next_page_token) = g
        .app
        .operations()
        .list_import_rows(&caller, &r.name, r.page_size, &r.page_token)
        .await?;
    Ok(Response::new(pb::ListImportRowsResponse {
        rows: rows.iter().map(convert::import_row).collect(),
        next_page_token,
    }))
}

pub(super) async fn list_operations(
    g: &EntitlementGrpc,
    req: Request<pb::ListOperationsRequest>,
) -> R<pb::ListOperationsResponse> {
    let caller = caller(&req)?;
    let r = req.into_inner();
    let team = TeamId::parse("parent", &r.parent).map_err(invalid)?;
    let (operations, next_page_token) = g
        .app
        .operations()
        .list_operations(&caller, &team, r.page_size, &r.page_token)
        .await?;
    Ok(Response::new(pb::ListOperationsResponse {
        operations: operations.iter().map(convert::import_operation).collect(),
        next_page_token,
    }))
}

pub(super) async fn watch_operation(
    g: &EntitlementGrpc,
    req: Request<pb::WatchOperationRequest>,
) -> R<BoxStream<cpb::Operation>> {
    let caller = (*caller(&req)?).clone();
    let name = req.into_inner().name;
    let holder = caller.name();
    let app = g.app.clone();
    let stream = allot_platform::jobs::watch(&g.operation_watchers, &holder, move || {
        let (app, caller, name) = (app.clone(), caller.clone(), name.clone());
        async move {
            app.operations()
                .get_operation(&caller, &name)
                .await
                .map(|v| convert::import_operation(&v))
                .map_err(Status::from)
        }
    })
    .await?;
    Ok(Response::new(stream))
}
