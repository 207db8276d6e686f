//! `/api/v1/tenants/{tenantID}/roles`: so far the permission catalog.

use actix_web::HttpResponse;
use rbac::{Action, Permission, Resource};
use serde::Serialize;

use crate::http::envelope::ok;
use crate::http::error::ApiError;
use crate::http::tenant_member::TenantMember;

/// One catalog entry as the API shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PermissionView {
    permission: String,
    resource: &'static str,
    action: &'static str,
}

/// `GET /api/v1/tenants/{tenantID}/roles/permissions`: the catalog.
pub async fn permissions(member: TenantMember) -> Result<HttpResponse, ApiError> {
    member.permit(Permission {
        resource: Resource::Permission,
        action: Action::List,
    })?;
    let catalog: Vec<PermissionView> = Permission::all()
        .map(|p| PermissionView {
            permission: p.to_string(),
            resource: p.resource.as_str(),
            action: p.action.as_str(),
        })
        .collect();
    Ok(ok(catalog))
}
