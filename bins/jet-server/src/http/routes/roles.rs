//! `/api/v1/tenants/{tenantID}/roles`: so far the role list and the permission catalog.

use actix_web::HttpResponse;
use actix_web::web::Data;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::state::AppState;
use rbac::Permission;
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

/// `GET /api/v1/tenants/{tenantID}/roles/permissions`: the catalog (`permission:list`, checked
/// by the extractor).
pub async fn permissions(_member: TenantMember) -> Result<HttpResponse, ApiError> {
    let catalog: Vec<PermissionView> = Permission::all()
        .map(|p| PermissionView {
            permission: p.to_string(),
            resource: p.resource.as_str(),
            action: p.action.as_str(),
        })
        .collect();
    Ok(ok(catalog))
}

/// A role as the API shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct RoleView {
    #[serde(rename = "roleID")]
    role_id: Uuid,
    #[serde(rename = "tenantID")]
    tenant_id: Option<Uuid>,
    role_title: String,
    role_description: Option<String>,
    is_builtin: bool,
    is_global: bool,
    permissions: Vec<String>,
    created_at: DateTime<Utc>,
}

/// `GET /api/v1/tenants/{tenantID}/roles` (`role:list`, checked by the extractor).
pub async fn list(member: TenantMember, state: Data<AppState>) -> Result<HttpResponse, ApiError> {
    let roles = rbac::store::list_roles(&state.db, member.tenant_id()).await?;
    let views: Vec<RoleView> = roles
        .into_iter()
        .map(|role| RoleView {
            role_id: role.id,
            tenant_id: role.tenant_id,
            role_title: role.title,
            role_description: role.description,
            is_builtin: role.builtin.is_some(),
            is_global: role.tenant_id.is_none(),
            permissions: role.permissions.iter().map(ToString::to_string).collect(),
            created_at: role.created_at,
        })
        .collect();
    Ok(ok(views))
}
