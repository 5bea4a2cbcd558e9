//! Who is asking, and under which request id: what every use case of every
//! service is called with.

use crate::auth::{Caller, caller};
use crate::server::request_id;

/// The caller of a use case and the id its changes and logs carry.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub caller: Caller,
    pub request_id: String,
}

impl Ctx {
    /// From a request that passed the front door (`platform::server`):
    /// UNAUTHENTICATED when it carries no verified caller.
    pub fn from_request<T>(req: &tonic::Request<T>) -> Result<Ctx, tonic::Status> {
        Ok(Ctx {
            caller: (*caller(req)?).clone(),
            request_id: request_id(req),
        })
    }
}
