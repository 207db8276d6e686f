//! `/api/v1/tenants/{tenantID}/roles`: the tenant's roles (list, create, read, change, delete)
//! and the permission catalog.

use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use rbac::Permission;
use rbac::roles::{AssetGrantInput, NewRole, RoleChange, RoleGrants, RoleInfo};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::http::envelope::ok;
use crate::http::error::ApiError;
use crate::http::json::nullable;
use crate::http::pagination::ListQuery;
use crate::http::tenant_member::{TenantBody, TenantMember, path_id, query};
use crate::state::AppState;

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

/// An asset grant as the API shows and takes it.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AssetPermission {
    resource_type: String,
    #[serde(rename = "resourceID")]
    resource_id: Uuid,
    action: String,
}

impl From<AssetPermission> for AssetGrantInput {
    fn from(a: AssetPermission) -> Self {
        AssetGrantInput {
            resource_type: a.resource_type,
            resource_id: a.resource_id,
            action: a.action,
        }
    }
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
    asset_permissions: Vec<AssetPermission>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<RoleInfo> for RoleView {
    fn from(role: RoleInfo) -> Self {
        RoleView {
            role_id: role.id,
            tenant_id: role.tenant_id,
            is_builtin: role.builtin.is_some(),
            is_global: role.tenant_id.is_none(),
            role_title: role.title,
            role_description: role.description,
            permissions: role.permissions.iter().map(ToString::to_string).collect(),
            asset_permissions: role
                .asset_grants
                .iter()
                .map(|a| AssetPermission {
                    resource_type: a.resource.as_str().to_string(),
                    resource_id: a.resource_id,
                    action: a.action.as_str().to_string(),
                })
                .collect(),
            created_at: role.created_at,
            updated_at: role.updated_at,
        }
    }
}

/// `GET …/roles` (`role:list`): paged, `search` in titles and descriptions.
pub async fn list(
    member: TenantMember,
    state: Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (paging, search) = query::<ListQuery>(&req)?.paging()?;
    let roles = rbac::roles::list(&state.db, member.tenant_id()).await?;
    let views: Vec<RoleView> = roles.into_iter().map(RoleView::from).collect();
    Ok(paging.respond_filtered(views, search.as_deref(), |r| {
        format!(
            "{} {}",
            r.role_title,
            r.role_description.as_deref().unwrap_or("")
        )
    }))
}

/// `POST …/roles` body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateRole {
    role_title: String,
    #[serde(default)]
    role_description: Option<String>,
    /// `permissionIDs` is the original API's name for the same list.
    #[serde(default, alias = "permissionIDs")]
    permissions: Vec<String>,
    #[serde(default)]
    asset_permissions: Vec<AssetPermission>,
}

/// `POST …/roles` (`role:create`): the role may grant only what the caller holds.
pub async fn create(
    request: TenantBody<CreateRole>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let TenantBody { member, body } = request;
    let new = NewRole {
        title: body.role_title,
        description: body.role_description,
        grants: RoleGrants {
            permissions: body.permissions,
            asset_grants: body.asset_permissions.into_iter().map(Into::into).collect(),
        },
    };
    let role = rbac::roles::create(
        &state.db,
        &member.route_permit,
        &member.grants,
        new,
        Utc::now(),
    )
    .await?;
    Ok(HttpResponse::Created().json(json!({ "data": RoleView::from(role) })))
}

/// `GET …/roles/{id}` (`role:read`).
pub async fn read(
    member: TenantMember,
    req: HttpRequest,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let role = rbac::roles::get(&state.db, member.tenant_id(), path_id(&req)?).await?;
    Ok(ok(RoleView::from(role)))
}

/// `PATCH …/roles/{id}` body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateRole {
    #[serde(default)]
    role_title: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    role_description: Option<Option<String>>,
    #[serde(default, alias = "permissionIDs")]
    permissions: Option<Vec<String>>,
    #[serde(default)]
    asset_permissions: Option<Vec<AssetPermission>>,
}

/// `PATCH …/roles/{id}` (`role:update`): built-in and global roles refuse.
pub async fn update(
    request: TenantBody<UpdateRole>,
    req: HttpRequest,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let TenantBody { member, body } = request;
    let change = RoleChange {
        title: body.role_title,
        description: body.role_description,
        permissions: body.permissions,
        asset_grants: body
            .asset_permissions
            .map(|list| list.into_iter().map(Into::into).collect()),
    };
    let role = rbac::roles::update(
        &state.db,
        &member.route_permit,
        &member.grants,
        path_id(&req)?,
        change,
        Utc::now(),
    )
    .await?;
    state.access.invalidate_tenant(member.tenant_id());
    Ok(ok(RoleView::from(role)))
}

/// `DELETE …/roles/{id}` (`role:delete`): built-in and global roles refuse; holders lose it.
pub async fn delete(
    member: TenantMember,
    req: HttpRequest,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&req)?;
    rbac::roles::delete(&state.db, &member.route_permit, id).await?;
    state.access.invalidate_tenant(member.tenant_id());
    Ok(ok(json!({"roleID": id, "deleted": true})))
}
