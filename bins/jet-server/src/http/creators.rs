//! Who created an object, for creator rights: the creator of a datasource, a data query, a
//! workflow (and, as they land, the other assets) holds every right on it without a grant.
//!
//! Looked up only when the caller's grants alone are not enough, so an authorized request pays
//! nothing for it.

use rbac::{Resource, Subject};
use uuid::Uuid;

use crate::http::error::ApiError;
use crate::state::AppState;

/// The creator of object `id` of type `resource` in `tenant_id`; `None` when unknown (no such
/// object, or a type without creator rights).
pub async fn creator_of(
    state: &AppState,
    resource: Resource,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<Subject>, ApiError> {
    let found = match resource {
        Resource::Datasource => datasources::datasource::get(&state.db, tenant_id, id)
            .await
            .map(|d| d.creator),
        Resource::DataQuery => datasources::query::get(&state.db, tenant_id, id)
            .await
            .map(|q| q.creator),
        Resource::Workflow => {
            return match workflows::definitions::summary(&state.db, tenant_id, id).await {
                Ok((workflow, _)) => Ok(workflow.creator),
                Err(workflows::Error::NotFound) => Ok(None),
                Err(other) => Err(other.into()),
            };
        }
        _ => return Ok(None),
    };
    match found {
        Ok(creator) => Ok(creator),
        Err(datasources::Error::NotFound) => Ok(None),
        Err(other) => Err(other.into()),
    }
}
