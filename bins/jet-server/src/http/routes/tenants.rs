//! `/api/v1/tenants`: the caller's tenants, creating one, reading, changing, disabling and
//! (softly) deleting one.

use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use rbac::{Action, Resource};
use serde::{Deserialize, Serialize};
use tenancy::tenants::{Membership, NewTenant, Tenant, TenantChange};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::http::access::{Access, TenantRule};
use crate::http::auth::{Caller, CallerBody};
use crate::http::envelope::{created, ok};
use crate::http::error::{ApiError, ErrorCode};
use crate::http::json::nullable;
use crate::http::pagination::ListQuery;
use crate::http::route::Route;
use crate::http::tenant_member::{TenantBody, TenantMember, query};
use crate::state::AppState;

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    const ONE: &str = "/api/v1/tenants/{tenantID}";
    vec![
        Route::get("/api/v1/tenants", Access::User, list)
            .doc(
                "listTenants",
                "Tenants",
                "The tenants the caller belongs to",
            )
            .query::<ListQuery>()
            .page::<TenantView>(),
        Route::post("/api/v1/tenants", Access::User, create)
            .doc(
                "createTenant",
                "Tenants",
                "Creates a tenant; the caller becomes its admin",
            )
            .body::<CreateTenant>()
            .created::<TenantView>()
            .errors(&[ErrorCode::ValidationError]),
        Route::get(
            ONE,
            Access::Tenant(TenantRule::reads(Resource::Tenant, Action::Read)),
            read,
        )
        .doc(
            "getTenant",
            "Tenants",
            "One tenant, with the caller's relationship to it",
        )
        .ok::<TenantView>(),
        Route::patch(
            ONE,
            Access::Tenant(
                TenantRule::re_enables(Resource::Tenant, Action::Update).changes_access(),
            ),
            update,
        )
        .doc(
            "updateTenant",
            "Tenants",
            "Changes the title or logo, disables or re-enables the tenant",
        )
        .describe(
            "A disabled tenant refuses every request but its admins' reads and this one, \
             which may then only re-enable it.",
        )
        .body::<UpdateTenant>()
        .ok::<TenantView>()
        .errors(&[ErrorCode::ValidationError]),
        Route::delete(
            ONE,
            Access::Tenant(TenantRule::writes(Resource::Tenant, Action::Delete).changes_access()),
            delete,
        )
        .doc(
            "deleteTenant",
            "Tenants",
            "Deletes the tenant (softly): every route of it answers 404 from now on",
        )
        .ok::<TenantDeleted>(),
    ]
}

/// A tenant as the API shows it to a member (field names as in the original API).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantView {
    #[serde(rename = "tenantID")]
    tenant_id: Uuid,
    tenant_title: String,
    #[serde(rename = "tenantLogoURL")]
    tenant_logo_url: Option<String>,
    #[serde(rename = "creatorID")]
    creator_id: Option<Uuid>,
    is_disabled: bool,
    disabled_at: Option<DateTime<Utc>>,
    disable_reason: Option<String>,
    /// The caller's primary relationship: `ADMIN`, `MEMBER`, or `API_KEY`.
    #[schema(value_type = String)]
    role: &'static str,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<Membership> for TenantView {
    fn from(membership: Membership) -> Self {
        TenantView::new(membership.tenant, membership.relationship.as_str())
    }
}

impl TenantView {
    fn new(tenant: Tenant, role: &'static str) -> Self {
        TenantView {
            tenant_id: tenant.id,
            tenant_title: tenant.title,
            tenant_logo_url: tenant.logo_url,
            creator_id: tenant.creator_user_id,
            is_disabled: tenant.is_disabled,
            disabled_at: tenant.disabled_at,
            disable_reason: tenant.disable_reason,
            role,
            created_at: tenant.created_at,
            updated_at: tenant.updated_at,
        }
    }
}

/// `POST /api/v1/tenants` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateTenant {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"[^\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    tenant_title: String,
    #[serde(rename = "tenantLogoURL", default)]
    tenant_logo_url: Option<String>,
}

/// `GET /api/v1/tenants`: the tenants the caller belongs to (paged, `search` in titles).
pub async fn list(
    caller: Caller,
    state: Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (paging, search) = query::<ListQuery>(&req)?.paging()?;
    let memberships = tenancy::tenants::list_for_user(&state.db, caller.user.id).await?;
    let views: Vec<TenantView> = memberships.into_iter().map(TenantView::from).collect();
    Ok(paging.respond_filtered(views, search.as_deref(), |t| t.tenant_title.clone()))
}

/// `POST /api/v1/tenants`: creates a tenant; the caller becomes its admin.
pub async fn create(
    request: CallerBody<CreateTenant>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let CallerBody { caller, body } = request;
    let new = NewTenant {
        title: body.tenant_title,
        logo_url: body.tenant_logo_url,
    };
    let membership = tenancy::tenants::create(&state.db, caller.user.id, new, Utc::now()).await?;
    Ok(created(TenantView::from(membership)))
}

/// `GET /api/v1/tenants/{tenantID}` (`tenant:read`, checked by the extractor).
pub async fn read(member: TenantMember) -> Result<HttpResponse, ApiError> {
    let view = match member.membership {
        Some(membership) => TenantView::from(membership),
        None => TenantView::new(member.tenant, "API_KEY"),
    };
    Ok(ok(view))
}

/// `PATCH /api/v1/tenants/{tenantID}` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateTenant {
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"[^\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    tenant_title: Option<String>,
    #[serde(rename = "tenantLogoURL", default, deserialize_with = "nullable")]
    tenant_logo_url: Option<Option<String>>,
    #[serde(default)]
    is_disabled: Option<bool>,
    #[serde(default)]
    #[schema(max_length = 1000)]
    disable_reason: Option<String>,
}

/// `PATCH /api/v1/tenants/{tenantID}` (`tenant:update`): title, logo, disable or re-enable.
pub async fn update(
    request: TenantBody<UpdateTenant>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let TenantBody { member, body } = request;
    let change = TenantChange {
        title: body.tenant_title,
        logo_url: body.tenant_logo_url,
        is_disabled: body.is_disabled,
        disable_reason: body.disable_reason,
    };
    let tenant = tenancy::tenants::update(&state.db, member.permit()?, change, Utc::now()).await?;
    let role = member
        .membership
        .as_ref()
        .map_or("API_KEY", |m| m.relationship.as_str());
    Ok(ok(TenantView::new(tenant, role)))
}

/// `DELETE /api/v1/tenants/{tenantID}` (`tenant:delete`): a soft delete; every route of the
/// tenant answers 404 from now on.
pub async fn delete(member: TenantMember, state: Data<AppState>) -> Result<HttpResponse, ApiError> {
    tenancy::tenants::delete(&state.db, member.permit()?, Utc::now()).await?;
    Ok(ok(TenantDeleted {
        tenant_id: member.tenant_id(),
        deleted: true,
    }))
}

/// The answer to a deletion.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantDeleted {
    #[serde(rename = "tenantID")]
    tenant_id: Uuid,
    deleted: bool,
}
