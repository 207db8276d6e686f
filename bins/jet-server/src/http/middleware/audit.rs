//! Records every request under `/api/v1/tenants` and `/api/v1/auth` in the audit trail.
//!
//! The request body is read here (within the body limit) so that a redacted copy can be kept,
//! then handed on unchanged. Recording only queues the entry; the `audit` crate's writer batches
//! the database writes in the background. Never recorded: the `Authorization` header, response
//! bodies, query strings.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::web::{BytesMut, Data};
use actix_web::{Error, HttpMessage, ResponseError};
use audit::AuditEntry;
use futures_util::StreamExt;
use uuid::Uuid;

use crate::http::json::payload_too_large;
use crate::http::middleware::access_log::PrincipalId;
use crate::http::middleware::rate_limit::client_ip;
use crate::state::AppState;

const MAX_USER_AGENT: usize = 512;

fn audited(method: &Method, path: &str) -> bool {
    method != Method::OPTIONS
        && (path == "/api/v1/auth"
            || path.starts_with("/api/v1/auth/")
            || path == "/api/v1/tenants"
            || path.starts_with("/api/v1/tenants/"))
}

/// The request's user agent as the trail keeps it (truncated).
pub fn user_agent(req: &actix_web::HttpRequest) -> Option<String> {
    req.headers()
        .get(header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .map(|agent| agent.chars().take(MAX_USER_AGENT).collect())
}

/// The middleware function.
pub async fn record(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let Some(state) = req.app_data::<Data<AppState>>().cloned() else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    if !audited(req.method(), req.path()) {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    }
    let started = Instant::now();
    let method = req.method().to_string();
    let path = req.path().to_string();
    let ip = client_ip(req.request(), state.edge.trust_forwarded_for).map(|ip| ip.to_string());
    let user_agent = user_agent(req.request());

    // Read the body (bounded), keep a redacted copy, and give the handler the same bytes.
    let limit = state.edge.body_limit;
    let mut stream = req.take_payload();
    let mut body = BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        if body.len() + chunk.len() > limit {
            return Ok(req.into_response(payload_too_large(limit).error_response()));
        }
        body.extend_from_slice(&chunk);
    }
    let body = body.freeze();
    let request_body = audit::redact_body(&body);
    req.set_payload(Payload::from(body));

    let response = next.call(req).await?.map_into_boxed_body();

    let request = response.request();
    let principal = request
        .extensions()
        .get::<PrincipalId>()
        .map(|p| p.0.clone());
    let (user_id, api_key_id) = match principal.as_deref().and_then(|p| p.split_once(':')) {
        Some(("user", id)) => (Uuid::parse_str(id).ok(), None),
        Some(("apikey", id)) => (None, Uuid::parse_str(id).ok()),
        _ => (None, None),
    };
    state.audit.record(AuditEntry {
        id: Uuid::now_v7(),
        kind: audit::AuditKind::ApiRequest,
        tenant_id: request
            .match_info()
            .get("tenantID")
            .and_then(|id| Uuid::parse_str(id).ok()),
        user_id,
        api_key_id,
        method,
        route: crate::http::access::route_pattern(request)
            .unwrap_or("<unmatched>")
            .to_string(),
        path,
        status: response.status().as_u16(),
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        client_ip: ip,
        user_agent,
        request_body,
        metadata: serde_json::json!({}),
        created_at: chrono::Utc::now(),
    });
    Ok(response)
}
