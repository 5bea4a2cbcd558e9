//! Handlers of member imports and their operations (R-INV-5).

use super::*;

pub(super) async fn import_members(
    g: &TeamGrpc,
    req: Request<pb::ImportMembersRequest>,
) -> R<allot_proto::common::Operation> {
    let ctx = ctx(&req)?;
    let r = req.into_inner();
    let key = request_key!(ctx.caller, "ImportMembers", r).map_err(invalid)?;
    let team = TeamId::parse("parent", &r.parent).map_err(invalid)?;
    let max = g.app.import_max_rows;
    let op = g
        .app
        .imports()
        .start_import(&ctx, &team, &r.csv, r.validate_only, max, key.as_ref())
        .await?;
    Ok(Response::new(convert::import_operation(&op)))
}

pub(super) async fn get_operation(
    g: &TeamGrpc,
    req: Request<pb::GetOperationRequest>,
) -> R<allot_proto::common::Operation> {
    let caller = caller(&req)?;
    let op = g
        .app
        .operations()
        .get_operation(&caller, &req.into_inner().name)
        .await?;
    Ok(Response::new(convert::import_operation(&op)))
}

pub(super) async fn list_import_rows(
    g: &TeamGrpc,
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
    g: &TeamGrpc,
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
    g: &TeamGrpc,
    req: Request<pb::WatchOperationRequest>,
) -> R<BoxStream<allot_proto::common::Operation>> {
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
