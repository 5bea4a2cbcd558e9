//! Handlers of seat pools.

use super::*;

pub(super) async fn get_pool(g: &EntitlementGrpc, req: Request<pb::GetPoolRequest>) -> R<pb::Pool> {
    let caller = caller(&req)?;
    let (team, product) = in_team("name", &req.get_ref().name, "pools")?;
    let product = ProductId::from_db(product);
    let (p, name, waiting) = g.app.pools().get_pool(&caller, &team, &product).await?;
    Ok(Response::new(convert::pool(&p, &name, waiting)))
}

pub(super) async fn list_pools(
    g: &EntitlementGrpc,
    req: Request<pb::ListPoolsRequest>,
) -> R<pb::ListPoolsResponse> {
    let caller = caller(&req)?;
    let team = TeamId::parse("parent", &req.get_ref().parent).map_err(invalid)?;
    let pools = g.app.pools().list_pools(&caller, &team).await?;
    Ok(Response::new(pb::ListPoolsResponse {
        pools: pools
            .iter()
            .map(|(p, n, w)| convert::pool(p, n, *w))
            .collect(),
    }))
}
