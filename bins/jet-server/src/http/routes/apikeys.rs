//! `/api/v1/tenants/{tenantID}/apikeys`: issue, list, read, change, delete and clone API keys.
//!
//! The raw key appears only in the create and clone responses; it is never stored, logged or
//! returned again.

use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use rbac::api_keys::{self, ApiKey, ApiKeyChange, NewApiKey, RawKey};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::http::envelope::ok;
use crate::http::error::ApiError;
use crate::http::tenant_member::{TenantBody, TenantMember, path_id};
use crate::state::AppState;

/// An API key as the API shows it.
#[derive(Debug, Serialize)]
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
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateApiKey {
    api_key_title: String,
    #[serde(rename = "roleIDs", default)]
    role_ids: Vec<Uuid>,
}

/// `PATCH …/apikeys/{id}` body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateApiKey {
    #[serde(default)]
    api_key_title: Option<String>,
    #[serde(default)]
    is_disabled: Option<bool>,
    #[serde(rename = "roleIDs", default)]
    role_ids: Option<Vec<Uuid>>,
}

/// A key as shown once, right after it is issued: the view plus the raw key.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct IssuedKeyView {
    #[serde(flatten)]
    key: ApiKeyView,
    api_key: String,
}

fn issued(key: ApiKey, raw: RawKey) -> HttpResponse {
    let view = IssuedKeyView {
        key: key.into(),
        api_key: raw.0,
    };
    HttpResponse::Created().json(json!({ "data": view }))
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
        &member.route_permit,
        member.tenant_id(),
        &member.grants,
        new,
        Utc::now(),
    )
    .await?;
    state.access.invalidate_tenant(member.tenant_id());
    Ok(issued(key, raw))
}

/// `GET …/apikeys/{id}`.
pub async fn read(
    member: TenantMember,
    req: HttpRequest,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let key = api_keys::get(&state.db, member.tenant_id(), path_id(&req)?).await?;
    Ok(ok(ApiKeyView::from(key)))
}

/// `PATCH …/apikeys/{id}`.
pub async fn update(
    request: TenantBody<UpdateApiKey>,
    req: HttpRequest,
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
        &member.route_permit,
        member.tenant_id(),
        &member.grants,
        path_id(&req)?,
        change,
        Utc::now(),
    )
    .await?;
    state.access.invalidate_tenant(member.tenant_id());
    Ok(ok(ApiKeyView::from(key)))
}

/// `DELETE …/apikeys/{id}`.
pub async fn delete(
    member: TenantMember,
    req: HttpRequest,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&req)?;
    api_keys::delete(
        &state.db,
        &member.route_permit,
        member.tenant_id(),
        id,
        Utc::now(),
    )
    .await?;
    state.access.invalidate_tenant(member.tenant_id());
    Ok(ok(json!({"apiKeyID": id, "deleted": true})))
}

/// `POST …/apikeys/{id}/clone`: a disabled copy with a new secret.
pub async fn clone(
    member: TenantMember,
    req: HttpRequest,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (key, raw) = api_keys::clone_key(
        &state.db,
        &member.route_permit,
        member.tenant_id(),
        &member.grants,
        path_id(&req)?,
        Utc::now(),
    )
    .await?;
    Ok(issued(key, raw))
}
