//! Invalidates cached access after a route declared `changes_access` succeeds.
//!
//! Routes that change who holds what (roles, grants, memberships, keys, the tenant's status)
//! declare it in their [`TenantRule`](crate::http::access::TenantRule); this middleware, attached
//! by the registration, forgets the tenant's cached access before the answer leaves (so the
//! caller's next request is checked against the new state) and announces the change to the
//! other server processes (`access_sync`). No handler has to remember it.

use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web::Data;
use uuid::Uuid;

use crate::http::access::{self, Access};
use crate::state::AppState;

/// The middleware function.
pub async fn invalidate(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let changes = matches!(
        access::declared(req.request()),
        Some(Access::Tenant(rule)) if rule.changes_access
    );
    let tenant_id = req
        .match_info()
        .get("tenantID")
        .and_then(|raw| Uuid::parse_str(raw).ok());
    let state = req.app_data::<Data<AppState>>().cloned();
    let response = next.call(req).await?;
    if let (true, Some(tenant_id), Some(state)) = (changes, tenant_id, state)
        && response.status().is_success()
    {
        crate::access_sync::announce(&state.bus, &state.caches, tenant_id).await;
    }
    Ok(response)
}
