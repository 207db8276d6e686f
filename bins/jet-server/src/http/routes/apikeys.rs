//! `/api/v1/tenants/{tenantID}/apikeys`: issue, list, read, change, delete and clone API keys.
//!
//! The raw key appears only in the create and clone responses; it is never stored, logged or
//! returned again.

use actix_web::HttpResponse;
use actix_web::web::Data;
use chrono::{DateTime, Utc};
use rbac::api_keys::{self, ApiKey, ApiKeyChange, NewApiKey, RawKey};
use rbac::{Action, Resource};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::http::access::{Access, TenantRule};
use crate::http::envelope::{created, ok};
use crate::http::error::{ApiError, ErrorCode};
use crate::http::route::Route;
use crate::http::tenant_member::{TenantBody, TenantMember};
use crate::state::AppState;

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    const ALL: &str = "/api/v1/tenants/{tenantID}/apikeys";
    const ONE: &str = "/api/v1/tenants/{tenantID}/apikeys/{apiKeyID}";
    let writes = |action| TenantRule::writes(Resource::ApiKey, action).changes_access();
    vec![
        Route::get(
            ALL,
            Access::Tenant(TenantRule::reads(Resource::ApiKey, Action::List)),
            list,
        )
        .doc(
            "listApiKeys",
            "API keys",
            "The tenant's API keys (never the raw keys)",
        )
        .ok_list::<ApiKeyView>(),
        Route::post(ALL, Access::Tenant(writes(Action::Create)), create)
            .doc(
                "createApiKey",
                "API keys",
                "Issues a key; the raw key is in this answer only",
            )
            .body::<CreateApiKey>()
            .created::<IssuedKeyView>()
            .errors(&[ErrorCode::ValidationError, ErrorCode::Conflict]),
        Route::get(
            ONE,
            Access::Tenant(TenantRule::reads(Resource::ApiKey, Action::Read).on_object("apiKeyID")),
            read,
        )
        .doc("getApiKey", "API keys", "One API key")
        .ok::<ApiKeyView>(),
        Route::patch(
            ONE,
            Access::Tenant(writes(Action::Update).on_object("apiKeyID")),
            update,
        )
        .doc(
            "updateApiKey",
            "API keys",
            "Renames, disables or re-enables a key, or replaces its roles",
        )
        .body::<UpdateApiKey>()
        .ok::<ApiKeyView>()
        .errors(&[ErrorCode::ValidationError, ErrorCode::Conflict]),
        Route::delete(
            ONE,
            Access::Tenant(writes(Action::Delete).on_object("apiKeyID")),
            delete,
        )
        .doc(
            "deleteApiKey",
            "API keys",
            "Deletes a key; it stops working at once",
        )
        .ok::<ApiKeyDeleted>(),
        Route::post(
            "/api/v1/tenants/{tenantID}/apikeys/{apiKeyID}/clone",
            Access::Tenant(
                TenantRule::writes(Resource::ApiKey, Action::Create).from_source("apiKeyID"),
            ),
            clone,
        )
        .doc(
            "cloneApiKey",
            "API keys",
            "A new, disabled key with the same title and roles; the raw key is in this answer only",
        )
        .created::<IssuedKeyView>(),
    ]
}

/// An API key as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyView {
    #[serde(rename = "apiKeyID")]
    api_key_id: Uuid,
    #[serde(rename = "tenantID")]
    tenant_id: Uuid,
    api_key_title: String,
    api_key_prefix: String,
    is_disabled: bool,
    #[serde(rename = "roleIDs")]
    role_ids: Vec<Uuid>,
    #[serde(rename = "creatorID")]
    creator_id: Option<Uuid>,
    #[serde(rename = "createdByApiKeyID")]
    created_by_api_key_id: Option<Uuid>,
    last_used_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<ApiKey> for ApiKeyView {
    fn from(key: ApiKey) -> Self {
        ApiKeyView {
            api_key_id: key.id,
            tenant_id: key.tenant_id,
            api_key_title: key.title,
            api_key_prefix: key.prefix,
            is_disabled: key.is_disabled,
            role_ids: key.role_ids,
            creator_id: key.creator_user_id,
            created_by_api_key_id: key.created_by_api_key_id,
            last_used_at: key.last_used_at,
            created_at: key.created_at,
            updated_at: key.updated_at,
        }
    }
}

/// `POST …/apikeys` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateApiKey {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"[^\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    api_key_title: String,
    #[serde(rename = "roleIDs", default)]
    role_ids: Vec<Uuid>,
}

/// `PATCH …/apikeys/{id}` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateApiKey {
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"[^\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    api_key_title: Option<String>,
    #[serde(default)]
    is_disabled: Option<bool>,
    #[serde(rename = "roleIDs", default)]
    role_ids: Option<Vec<Uuid>>,
}

/// A key as shown once, right after it is issued: the view plus the raw key.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IssuedKeyView {
    #[serde(flatten)]
    key: ApiKeyView,
    /// The raw key: send it as `Authorization: api_key <key>`.
    api_key: String,
}

fn issued(key: ApiKey, raw: RawKey) -> HttpResponse {
    let view = IssuedKeyView {
        key: key.into(),
        api_key: raw.0,
    };
    created(view)
}

/// `GET …/apikeys`.
pub async fn list(member: TenantMember, state: Data<AppState>) -> Result<HttpResponse, ApiError> {
    let keys = api_keys::list(&state.db, member.tenant_id()).await?;
    Ok(ok(keys
        .into_iter()
        .map(ApiKeyView::from)
        .collect::<Vec<_>>()))
}

/// `POST …/apikeys`: the raw key is in the response, once.
pub async fn create(
    request: TenantBody<CreateApiKey>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let TenantBody { member, body } = request;
    let new = NewApiKey {
        title: body.api_key_title,
        role_ids: body.role_ids,
    };
    let (key, raw) = api_keys::create(
        &state.db,
        member.permit()?,
        member.tenant_id(),
        &member.grants,
        new,
        Utc::now(),
    )
    .await?;
    Ok(issued(key, raw))
}

/// `GET …/apikeys/{apiKeyID}`.
pub async fn read(member: TenantMember, state: Data<AppState>) -> Result<HttpResponse, ApiError> {
    let key = api_keys::get(&state.db, member.tenant_id(), member.object_id()?).await?;
    Ok(ok(ApiKeyView::from(key)))
}

/// `PATCH …/apikeys/{apiKeyID}`.
pub async fn update(
    request: TenantBody<UpdateApiKey>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let TenantBody { member, body } = request;
    let change = ApiKeyChange {
        title: body.api_key_title,
        is_disabled: body.is_disabled,
        role_ids: body.role_ids,
    };
    let key = api_keys::update(
        &state.db,
        member.permit()?,
        member.tenant_id(),
        &member.grants,
        member.object_id()?,
        change,
        Utc::now(),
    )
    .await?;
    Ok(ok(ApiKeyView::from(key)))
}

/// `DELETE …/apikeys/{apiKeyID}`.
pub async fn delete(member: TenantMember, state: Data<AppState>) -> Result<HttpResponse, ApiError> {
    let id = member.object_id()?;
    api_keys::delete(
        &state.db,
        member.permit()?,
        member.tenant_id(),
        id,
        Utc::now(),
    )
    .await?;
    Ok(ok(ApiKeyDeleted {
        api_key_id: id,
        deleted: true,
    }))
}

/// The answer to a deletion.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyDeleted {
    #[serde(rename = "apiKeyID")]
    api_key_id: Uuid,
    deleted: bool,
}

/// `POST …/apikeys/{apiKeyID}/clone`: a disabled copy with a new secret.
pub async fn clone(member: TenantMember, state: Data<AppState>) -> Result<HttpResponse, ApiError> {
    let (key, raw) = api_keys::clone_key(
        &state.db,
        member.permit()?,
        member.tenant_id(),
        &member.grants,
        member.object_id()?,
        Utc::now(),
    )
    .await?;
    Ok(issued(key, raw))
}
