//! `GET /api/v1/tenants/{tenantID}/audit`: the tenant's trail, filtered and paginated.

use actix_web::HttpResponse;
use actix_web::web::{Data, Query};
use audit::{AuditFilter, AuditRecord};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::http::error::ApiError;
use crate::http::tenant_member::TenantMember;
use crate::state::AppState;

const DEFAULT_PAGE_SIZE: u64 = 50;
const MAX_PAGE_SIZE: u64 = 200;

/// Query parameters.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuditQuery {
    #[serde(rename = "userID")]
    user_id: Option<Uuid>,
    #[serde(rename = "apiKeyID")]
    api_key_id: Option<Uuid>,
    method: Option<String>,
    path_prefix: Option<String>,
    success: Option<bool>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    page: Option<u64>,
    page_size: Option<u64>,
}

/// One entry as the API shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct AuditView {
    #[serde(rename = "auditLogID")]
    audit_log_id: Uuid,
    #[serde(rename = "tenantID")]
    tenant_id: Option<Uuid>,
    #[serde(rename = "userID")]
    user_id: Option<Uuid>,
    #[serde(rename = "apiKeyID")]
    api_key_id: Option<Uuid>,
    #[serde(rename = "type")]
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
            kind: "API_REQUEST",
            method: entry.method,
            route: entry.route,
            path: entry.path,
            status_code: entry.status,
            success: record.success,
            duration_ms: entry.duration_ms,
            client_ip: entry.client_ip,
            user_agent: entry.user_agent,
            request_body: entry.request_body,
            created_at: entry.created_at,
        }
    }
}

/// The handler (`audit:list`, checked by the extractor).
pub async fn list(
    member: TenantMember,
    query: Query<AuditQuery>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let page = query.page.unwrap_or(1).max(1);
    let page_size = query
        .page_size
        .unwrap_or(DEFAULT_PAGE_SIZE)
        .clamp(1, MAX_PAGE_SIZE);
    let filter = AuditFilter {
        user_id: query.user_id,
        api_key_id: query.api_key_id,
        method: query.method,
        path_prefix: query.path_prefix,
        success: query.success,
        from: query.from,
        to: query.to,
    };
    let (records, total) = audit::list(&state.db, member.tenant_id(), &filter, page, page_size)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let data: Vec<AuditView> = records.into_iter().map(AuditView::from).collect();
    Ok(HttpResponse::Ok().json(json!({
        "data": data, "page": page, "pageSize": page_size, "total": total
    })))
}
