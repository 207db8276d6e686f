//! `/api/v1/tenants/{tenantID}/roles`: the tenant's roles (list, create, read, change, delete)
//! and the permission catalog.

use std::sync::Arc;

use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use rbac::roles::{AssetGrantInput, NewRole, RoleChange, RoleGrants, RoleInfo};
use rbac::{Action, Permission, Resource};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::http::access::{Access, TenantRule};
use crate::http::catalog_schema::PermissionName;
use crate::http::envelope::{created, ok};
use crate::http::error::{ApiError, ErrorCode};
use crate::http::json::nullable;
use crate::http::pagination::{ListQuery, Rendered};
use crate::http::route::Route;
use crate::http::tenant_member::{TenantBody, TenantMember, query};
use crate::state::AppState;

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    const ALL: &str = "/api/v1/tenants/{tenantID}/roles";
    const ONE: &str = "/api/v1/tenants/{tenantID}/roles/{roleID}";
    let on_one = |rule: TenantRule| Access::Tenant(rule.on_object("roleID"));
    vec![
        Route::get(
            ALL,
            Access::Tenant(TenantRule::reads(Resource::Role, Action::List)),
            list,
        )
        .doc(
            "listRoles",
            "Roles",
            "The tenant's roles, built-in ones included",
        )
        .query::<ListQuery>()
        .page::<RoleView>(),
        Route::get(
            "/api/v1/tenants/{tenantID}/roles/permissions",
            Access::Tenant(TenantRule::reads(Resource::Permission, Action::List)),
            permissions,
        )
        .doc("listPermissions", "Roles", "The permission catalog")
        .ok_list::<PermissionView>(),
        Route::post(
            ALL,
            // The tenant's role list changes: cached lists are dropped everywhere.
            Access::Tenant(TenantRule::writes(Resource::Role, Action::Create).changes_access()),
            create,
        )
        .doc(
            "createRole",
            "Roles",
            "Creates a role; it may grant only what the caller holds",
        )
        .body::<CreateRole>()
        .created::<RoleView>()
        .errors(&[ErrorCode::ValidationError, ErrorCode::Conflict]),
        Route::get(
            ONE,
            on_one(TenantRule::reads(Resource::Role, Action::Read)),
            read,
        )
        .doc("getRole", "Roles", "One role")
        .ok::<RoleView>(),
        Route::patch(
            ONE,
            on_one(TenantRule::writes(Resource::Role, Action::Update).changes_access()),
            update,
        )
        .doc(
            "updateRole",
            "Roles",
            "Changes a role; built-in and global roles refuse",
        )
        .body::<UpdateRole>()
        .ok::<RoleView>()
        .errors(&[
            ErrorCode::ValidationError,
            ErrorCode::Conflict,
            ErrorCode::ProtectedRole,
        ]),
        Route::delete(
            ONE,
            on_one(TenantRule::writes(Resource::Role, Action::Delete).changes_access()),
            delete,
        )
        .doc(
            "deleteRole",
            "Roles",
            "Deletes a role; its holders lose it. Built-in and global roles refuse",
        )
        .ok::<RoleDeleted>()
        .errors(&[ErrorCode::ProtectedRole]),
    ]
}

/// One catalog entry as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PermissionView {
    /// `resource:action`.
    permission: String,
    #[schema(value_type = String)]
    resource: &'static str,
    #[schema(value_type = String)]
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

/// An asset grant as the API shows and takes it: `action` on the one object `resourceID` of
/// type `resourceType`. Its schema, built from the catalog, is in `http::catalog_schema`.
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
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoleView {
    #[serde(rename = "roleID")]
    role_id: Uuid,
    #[serde(rename = "tenantID")]
    tenant_id: Option<Uuid>,
    role_title: String,
    role_description: Option<String>,
    is_builtin: bool,
    is_global: bool,
    #[schema(value_type = Vec<PermissionName>)]
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
    let tenant_id = member.tenant_id();
    // Serialized once per change of the tenant's roles (see `access_sync`).
    let load = async {
        let listed = rbac::roles::list(&state.db, tenant_id).await?;
        let rendered = listed
            .into_iter()
            .map(RoleView::from)
            .map(|view| {
                let search_text = format!(
                    "{} {}",
                    view.role_title,
                    view.role_description.as_deref().unwrap_or("")
                );
                Rendered::of(&view, &search_text)
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        Ok::<_, ApiError>(Arc::new(rendered))
    };
    let roles = state
        .caches
        .roles
        .get_or_load(tenant_id, load, |_| tenant_id)
        .await?;
    Ok(paging.respond_rendered(&roles, search.as_deref()))
}

/// `POST …/roles` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateRole {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"[^\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    role_title: String,
    #[serde(default)]
    #[schema(max_length = 2000)]
    role_description: Option<String>,
    /// `permissionIDs` is the original API's name for the same list.
    #[serde(default, alias = "permissionIDs")]
    #[schema(value_type = Vec<PermissionName>)]
    permissions: Vec<String>,
    #[serde(default)]
    #[schema(max_items = 1000)]
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
    let role =
        rbac::roles::create(&state.db, member.permit()?, &member.grants, new, Utc::now()).await?;
    Ok(created(RoleView::from(role)))
}

/// `GET …/roles/{roleID}` (`role:read`).
pub async fn read(member: TenantMember, state: Data<AppState>) -> Result<HttpResponse, ApiError> {
    let role = rbac::roles::get(&state.db, member.tenant_id(), member.object_id()?).await?;
    Ok(ok(RoleView::from(role)))
}

/// `PATCH …/roles/{roleID}` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateRole {
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"[^\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    role_title: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(max_length = 2000)]
    role_description: Option<Option<String>>,
    #[serde(default, alias = "permissionIDs")]
    #[schema(value_type = Option<Vec<PermissionName>>)]
    permissions: Option<Vec<String>>,
    #[serde(default)]
    #[schema(max_items = 1000)]
    asset_permissions: Option<Vec<AssetPermission>>,
}

/// `PATCH …/roles/{roleID}` (`role:update`): built-in and global roles refuse.
pub async fn update(
    request: TenantBody<UpdateRole>,
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
        member.permit()?,
        &member.grants,
        member.object_id()?,
        change,
        Utc::now(),
    )
    .await?;
    Ok(ok(RoleView::from(role)))
}

/// `DELETE …/roles/{roleID}` (`role:delete`): built-in and global roles refuse; holders lose it.
pub async fn delete(member: TenantMember, state: Data<AppState>) -> Result<HttpResponse, ApiError> {
    let id = member.object_id()?;
    rbac::roles::delete(&state.db, member.permit()?, id).await?;
    Ok(ok(RoleDeleted {
        role_id: id,
        deleted: true,
    }))
}

/// The answer to a deletion.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoleDeleted {
    #[serde(rename = "roleID")]
    role_id: Uuid,
    deleted: bool,
}
