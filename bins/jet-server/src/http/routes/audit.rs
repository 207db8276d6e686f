//! `GET /api/v1/tenants/{tenantID}/audit`: the tenant's trail, filtered and paginated.

use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};
use audit::{AuditFilter, AuditRecord};
use chrono::{DateTime, Utc};
use rbac::{Action, Resource};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::http::access::{Access, TenantRule};
use crate::http::error::ApiError;
use crate::http::pagination::Paging;
use crate::http::route::Route;
use crate::http::tenant_member::{TenantMember, query};
use crate::state::AppState;

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    vec![
        Route::get(
            "/api/v1/tenants/{tenantID}/audit",
            Access::Tenant(TenantRule::reads(Resource::Audit, Action::List)),
            list,
        )
        .doc(
            "listAuditEntries",
            "Audit",
            "The tenant's audit trail, newest first, filtered and paged",
        )
        .query::<AuditQuery>()
        .page::<AuditView>(),
    ]
}

/// Query parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only entries of this type.
    #[serde(rename = "type")]
    #[param(rename = "type", inline)]
    kind: Option<AuditType>,
    /// Only this user's requests.
    #[serde(rename = "userID")]
    user_id: Option<Uuid>,
    /// Only this API key's requests.
    #[serde(rename = "apiKeyID")]
    api_key_id: Option<Uuid>,
    /// Only this HTTP method.
    method: Option<String>,
    /// Only paths starting with this.
    path_prefix: Option<String>,
    /// Only successful (or failed) requests.
    success: Option<bool>,
    /// Not before this time.
    from: Option<DateTime<Utc>>,
    /// Not after this time.
    to: Option<DateTime<Utc>>,
    /// The page, from 1.
    #[param(minimum = 1, maximum = 1000000)]
    page: Option<u64>,
    /// Items per page (default 50).
    #[param(minimum = 1, maximum = 200)]
    page_size: Option<u64>,
}

/// What an entry records.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AuditType {
    /// A request (HTTP, or a websocket action) by a user or an API key.
    ApiRequest,
    /// A cron job's fire.
    CronFire,
    /// A delivery to a webhook.
    WebhookDelivery,
}

impl From<AuditType> for audit::AuditKind {
    fn from(kind: AuditType) -> Self {
        match kind {
            AuditType::ApiRequest => audit::AuditKind::ApiRequest,
            AuditType::CronFire => audit::AuditKind::CronFire,
            AuditType::WebhookDelivery => audit::AuditKind::WebhookDelivery,
        }
    }
}

/// One entry as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditView {
    #[serde(rename = "auditLogID")]
    audit_log_id: Uuid,
    #[serde(rename = "tenantID")]
    tenant_id: Option<Uuid>,
    #[serde(rename = "userID")]
    user_id: Option<Uuid>,
    #[serde(rename = "apiKeyID")]
    api_key_id: Option<Uuid>,
    /// `API_REQUEST`, `CRON_FIRE` (the job acted) or `WEBHOOK_DELIVERY` (the hook acted).
    #[serde(rename = "type")]
    #[schema(value_type = String)]
    kind: &'static str,
    method: String,
    route: String,
    path: String,
    status_code: u16,
    success: bool,
    duration_ms: u64,
    #[serde(rename = "clientIP")]
    client_ip: Option<String>,
    user_agent: Option<String>,
    request_body: Option<String>,
    /// For a fire: `cronJobID`, `fireID`, `scheduledFor`, `target`, `targetID`, `instanceID`,
    /// `error`.
    /// For a delivery: `webhookID`, `workflowID`, `deliveryID`, `instanceID`, `refusal`.
    #[schema(value_type = Object)]
    metadata: serde_json::Value,
    created_at: DateTime<Utc>,
}

impl From<AuditRecord> for AuditView {
    fn from(record: AuditRecord) -> Self {
        let entry = record.entry;
        AuditView {
            audit_log_id: entry.id,
            tenant_id: entry.tenant_id,
            user_id: entry.user_id,
            api_key_id: entry.api_key_id,
            kind: entry.kind.as_str(),
            method: entry.method,
            route: entry.route,
            path: entry.path,
            status_code: entry.status,
            success: record.success,
            duration_ms: entry.duration_ms,
            client_ip: entry.client_ip,
            user_agent: entry.user_agent,
            request_body: entry.request_body,
            metadata: entry.metadata,
            created_at: entry.created_at,
        }
    }
}

/// The handler (`audit:list`, checked by the extractor).
pub async fn list(
    member: TenantMember,
    req: HttpRequest,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let query: AuditQuery = query(&req)?;
    let paging = Paging::new(query.page, query.page_size)?;
    let filter = AuditFilter {
        kind: query.kind.map(Into::into),
        user_id: query.user_id,
        api_key_id: query.api_key_id,
        method: query.method,
        path_prefix: query.path_prefix,
        success: query.success,
        from: query.from,
        to: query.to,
    };
    let (records, total) = audit::list(
        &state.db,
        member.tenant_id(),
        &filter,
        paging.page,
        paging.page_size,
    )
    .await
    .map_err(|e| ApiError::internal(&e))?;
    let data: Vec<AuditView> = records.into_iter().map(AuditView::from).collect();
    Ok(paging.respond(data, total))
}
