//! Webhooks: a workflow's endpoints (`…/workflows/{workflowID}/webhooks`: list, create, read,
//! rotate the secret, enable, disable, delete) and the endpoint itself,
//! `POST /api/v1/hooks/{hookID}`, which starts a run with the delivery's body as input.
//!
//! Managing hooks is managing the workflow: `workflow:read` to see them, `workflow:update` to
//! change them (and `workflow:execute` to create one: its deliveries run the workflow as the
//! hook). The secret is in the answers to create and rotate only.
//!
//! A delivery is checked in this order, each refusal with its own code and no run started:
//! the hook exists (404) and is enabled (`WEBHOOK_DISABLED`); the body is within the hook's
//! cap (`PAYLOAD_TOO_LARGE`); the credentials or signature (`WEBHOOK_UNAUTHORIZED`,
//! `WEBHOOK_SIGNATURE_INVALID`, `WEBHOOK_TIMESTAMP_STALE`); the body is JSON, a form or text
//! (`VALIDATION_ERROR`, `UNSUPPORTED_MEDIA_TYPE`); the hook's rate this minute
//! (`RATE_LIMITED`); the delivery id was not seen before (`WEBHOOK_REPLAYED`). Only
//! authenticated deliveries count against the rate, so a stranger cannot use up a sender's
//! quota. Every delivery to an existing hook, accepted or refused, is in the tenant's audit
//! trail (`WEBHOOK_DELIVERY`, the hook as principal).

use std::time::Instant;

use actix_web::http::header;
use actix_web::web::{BytesMut, Data, Payload};
use actix_web::{HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use rbac::{Action, Resource};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;
use uuid::Uuid;
use webhooks::deliveries::{self, Admission};
use webhooks::hooks::{self, AuthMode, Endpoint, Hook, HookSpec, Secret};
use webhooks::input::{self, BadBody};
use webhooks::{Presented, auth};
use workflow_engine::RunId;

use crate::http::access::{Access, TenantRule};
use crate::http::envelope::{accepted, created, ok};
use crate::http::error::{ApiError, ErrorCode};
use crate::http::json::{payload_too_large, read_bounded};
use crate::http::middleware::rate_limit::client_ip;
use crate::http::route::Route;
use crate::http::routes::workflow_runs::{RunStarted, WaitQuery, run_outcome, runnable, start_as};
use crate::http::tenant_member::{TenantBody, TenantMember, path_uuid, query};
use crate::state::AppState;

/// The public path of a hook.
pub const DELIVERY_PATH: &str = "/api/v1/hooks/{hookID}";

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    const ALL: &str = "/api/v1/tenants/{tenantID}/workflows/{workflowID}/webhooks";
    const ONE: &str = "/api/v1/tenants/{tenantID}/workflows/{workflowID}/webhooks/{webhookID}";
    let reads = TenantRule::reads(Resource::Workflow, Action::Read).on_object("workflowID");
    let writes = TenantRule::writes(Resource::Workflow, Action::Update).on_object("workflowID");
    // On one hook: the workflow's permissions apply to it (a hook is part of its workflow).
    let read_one = reads.of_part("webhookID");
    let write_one = writes.of_part("webhookID");
    vec![
        Route::get(ALL, Access::Tenant(reads), list)
            .doc(
                "listWebhooks",
                "Webhooks",
                "The workflow's webhooks, oldest first",
            )
            .ok_list::<WebhookView>(),
        Route::post(ALL, Access::Tenant(writes), create)
            .doc(
                "createWebhook",
                "Webhooks",
                "Adds a webhook that starts the workflow; the answer shows its secret, once",
            )
            .describe(
                "Needs `workflow:execute` on the workflow too: deliveries run it as the hook. \
                 `authMode` (default `hmac`): `none`, `basic` (`authName` is the user name), \
                 `bearer`, `header` (`authName` is the header) or `hmac` (docs/webhooks.md). \
                 The server makes the secret; `secret` is in this answer and the one to \
                 `rotate`, never again.",
            )
            .body::<CreateWebhook>()
            .created::<WebhookView>(),
        Route::get(ONE, Access::Tenant(read_one), read)
            .doc("getWebhook", "Webhooks", "One webhook (without its secret)")
            .ok::<WebhookView>(),
        Route::delete(ONE, Access::Tenant(write_one), delete)
            .doc(
                "deleteWebhook",
                "Webhooks",
                "Deletes a webhook: its URL answers 404",
            )
            .ok::<WebhookDeleted>(),
        Route::post(
            "/api/v1/tenants/{tenantID}/workflows/{workflowID}/webhooks/{webhookID}/rotate",
            Access::Tenant(write_one),
            rotate,
        )
        .doc(
            "rotateWebhookSecret",
            "Webhooks",
            "Replaces the webhook's secret; the old one stops working at once",
        )
        .describe("A hook of mode `none` has no secret: `VALIDATION_ERROR` naming `authMode`.")
        .ok::<WebhookView>()
        .errors(&[ErrorCode::ValidationError]),
        Route::post(
            "/api/v1/tenants/{tenantID}/workflows/{workflowID}/webhooks/{webhookID}/enable",
            Access::Tenant(write_one),
            enable,
        )
        .doc("enableWebhook", "Webhooks", "Enables a webhook")
        .ok::<WebhookView>(),
        Route::post(
            "/api/v1/tenants/{tenantID}/workflows/{workflowID}/webhooks/{webhookID}/disable",
            Access::Tenant(write_one),
            disable,
        )
        .doc(
            "disableWebhook",
            "Webhooks",
            "Disables a webhook: deliveries are refused with WEBHOOK_DISABLED",
        )
        .ok::<WebhookView>(),
        Route::post(DELIVERY_PATH, Access::Hook, deliver)
            .doc(
                "deliverWebhook",
                "Webhooks",
                "Starts a run of the hook's workflow with the delivery's body as its input",
            )
            .describe(
                "A JSON object body is the run's input; other JSON, and text, arrive as \
                 `{\"body\": …}`; a form as its fields. Checked by the hook's auth mode; with \
                 `hmac`, send `X-Jet-Timestamp` (Unix seconds), `X-Jet-Delivery` (a unique id) \
                 and `X-Jet-Signature: sha256=` + hex HMAC-SHA256(secret, timestamp + \".\" + \
                 body). Answers 202 `{instanceID}`; with `?wait=SECONDS` (at most 60), 200 \
                 with the run's status and output once it ends (docs/webhooks.md).",
            )
            .query::<WaitQuery>()
            .body::<DeliveryBody>()
            .accepted::<RunStarted>(),
    ]
}

/// Any JSON object (or a form, or text: see the operation).
#[derive(Debug, ToSchema)]
#[schema(value_type = Object)]
pub struct DeliveryBody(#[allow(dead_code)] Map<String, Value>);

/// How a hook checks deliveries.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum WebhookAuthMode {
    /// No check: the URL is the credential.
    None,
    /// `Authorization: Basic` (`authName` is the user name; the secret the password).
    Basic,
    /// `Authorization: Bearer <secret>`.
    Bearer,
    /// The secret in the header `authName`.
    Header,
    /// An HMAC-SHA256 signature over timestamp and body.
    #[default]
    Hmac,
}

impl From<WebhookAuthMode> for AuthMode {
    fn from(mode: WebhookAuthMode) -> Self {
        match mode {
            WebhookAuthMode::None => AuthMode::None,
            WebhookAuthMode::Basic => AuthMode::Basic,
            WebhookAuthMode::Bearer => AuthMode::Bearer,
            WebhookAuthMode::Header => AuthMode::Header,
            WebhookAuthMode::Hmac => AuthMode::Hmac,
        }
    }
}

/// `POST …/webhooks` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateWebhook {
    webhook_title: String,
    /// Default `hmac`.
    #[serde(default)]
    auth_mode: Option<WebhookAuthMode>,
    /// The user name (`basic`) or the header's name (`header`).
    #[serde(default)]
    auth_name: Option<String>,
    /// The largest body accepted (default 262144, at most 5242880).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 5242880)]
    max_body_bytes: Option<u32>,
    /// Deliveries accepted per minute, across every server process (default 60).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 6000)]
    rate_per_minute: Option<u32>,
    /// Default true.
    #[serde(default)]
    enabled: Option<bool>,
}

/// A webhook on the wire.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookView {
    #[serde(rename = "webhookID")]
    webhook_id: Uuid,
    #[serde(rename = "tenantID")]
    tenant_id: Uuid,
    #[serde(rename = "workflowID")]
    workflow_id: Uuid,
    webhook_title: String,
    /// Where senders POST: `/api/v1/hooks/{webhookID}`.
    path: String,
    /// `none`, `basic`, `bearer`, `header` or `hmac`.
    auth_mode: String,
    auth_name: Option<String>,
    /// The secret's last four characters.
    secret_hint: Option<String>,
    /// The secret: only in the answers to create and rotate.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
    enabled: bool,
    max_body_bytes: u32,
    rate_per_minute: u32,
    secret_rotated_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl WebhookView {
    fn of(hook: Hook, secret: Option<&Secret>) -> Self {
        WebhookView {
            webhook_id: hook.id,
            tenant_id: hook.tenant_id,
            workflow_id: hook.workflow_id,
            webhook_title: hook.spec.title,
            path: DELIVERY_PATH.replace("{hookID}", &hook.id.to_string()),
            auth_mode: hook.spec.auth_mode.as_str().into(),
            auth_name: hook.spec.auth_name,
            secret_hint: hook.secret_hint,
            secret: secret.map(|secret| secret.expose().to_string()),
            enabled: hook.spec.enabled,
            max_body_bytes: hook.spec.max_body_bytes,
            rate_per_minute: hook.spec.rate_per_minute,
            secret_rotated_at: hook.secret_rotated_at,
            created_at: hook.created_at,
            updated_at: hook.updated_at,
        }
    }
}

/// The answer to a delete.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookDeleted {
    #[serde(rename = "webhookID")]
    webhook_id: Uuid,
    deleted: bool,
}

/// `GET …/webhooks` (`workflow:read` on the workflow).
pub async fn list(member: TenantMember, state: Data<AppState>) -> Result<HttpResponse, ApiError> {
    let hooks = hooks::list(&state.db, member.tenant_id(), member.object_id()?).await?;
    let views: Vec<WebhookView> = hooks
        .into_iter()
        .map(|hook| WebhookView::of(hook, None))
        .collect();
    Ok(ok(views))
}

/// `POST …/webhooks` (`workflow:update` on the workflow; `execute` checked by the domain).
pub async fn create(
    request: TenantBody<CreateWebhook>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let TenantBody { member, body } = request;
    let spec = HookSpec {
        title: body.webhook_title,
        auth_mode: body.auth_mode.unwrap_or_default().into(),
        auth_name: body.auth_name,
        max_body_bytes: body.max_body_bytes.unwrap_or(hooks::DEFAULT_MAX_BODY_BYTES),
        rate_per_minute: body
            .rate_per_minute
            .unwrap_or(hooks::DEFAULT_RATE_PER_MINUTE),
        enabled: body.enabled.unwrap_or(true),
    };
    let (hook, secret) = hooks::create(
        &state.db,
        &state.keys,
        member.permit()?,
        &member.grants,
        member.object_id()?,
        spec,
        Utc::now(),
    )
    .await?;
    Ok(created(WebhookView::of(hook, secret.as_ref())))
}

/// `GET …/webhooks/{webhookID}` (`workflow:read` on the workflow).
pub async fn read(
    member: TenantMember,
    req: HttpRequest,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let hook = hooks::get(
        &state.db,
        member.tenant_id(),
        member.object_id()?,
        path_uuid(&req, "webhookID")?,
    )
    .await?;
    Ok(ok(WebhookView::of(hook, None)))
}

/// `DELETE …/webhooks/{webhookID}` (`workflow:update` on the workflow).
pub async fn delete(
    member: TenantMember,
    req: HttpRequest,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = path_uuid(&req, "webhookID")?;
    hooks::delete(&state.db, member.permit()?, member.object_id()?, id).await?;
    Ok(ok(WebhookDeleted {
        webhook_id: id,
        deleted: true,
    }))
}

/// `POST …/webhooks/{webhookID}/rotate` (`workflow:update` on the workflow).
pub async fn rotate(
    member: TenantMember,
    req: HttpRequest,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (hook, secret) = hooks::rotate(
        &state.db,
        &state.keys,
        member.permit()?,
        member.object_id()?,
        path_uuid(&req, "webhookID")?,
        Utc::now(),
    )
    .await?;
    Ok(ok(WebhookView::of(hook, Some(&secret))))
}

/// `POST …/webhooks/{webhookID}/enable`.
pub async fn enable(
    member: TenantMember,
    req: HttpRequest,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    set_enabled(member, req, state, true).await
}

/// `POST …/webhooks/{webhookID}/disable`.
pub async fn disable(
    member: TenantMember,
    req: HttpRequest,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    set_enabled(member, req, state, false).await
}

async fn set_enabled(
    member: TenantMember,
    req: HttpRequest,
    state: Data<AppState>,
    enabled: bool,
) -> Result<HttpResponse, ApiError> {
    let hook = hooks::set_enabled(
        &state.db,
        member.permit()?,
        member.object_id()?,
        path_uuid(&req, "webhookID")?,
        enabled,
        Utc::now(),
    )
    .await?;
    Ok(ok(WebhookView::of(hook, None)))
}

/// What the audit entry of a delivery records besides the status.
#[derive(Debug, Default)]
struct DeliveryRecord {
    delivery_id: Option<String>,
    instance_id: Option<Uuid>,
}

/// `POST /api/v1/hooks/{hookID}`: a delivery.
pub async fn deliver(
    req: HttpRequest,
    payload: Payload,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let started = Instant::now();
    let id = path_uuid(&req, "hookID")?;
    let wait = query::<WaitQuery>(&req)?.duration()?;
    let endpoint = hooks::endpoint(&state.db, &state.keys, id).await?;
    let mut record = DeliveryRecord::default();
    let answer = accept(&state, &endpoint, &req, payload, wait, &mut record).await;
    audit_delivery(&state, &endpoint.hook, &req, &answer, &record, started);
    let (outcome, finished) = answer?;
    Ok(match finished {
        true => ok(outcome),
        false => accepted(outcome),
    })
}

/// Checks the delivery and starts its run; `true` when the answer waited for the run.
async fn accept(
    state: &AppState,
    endpoint: &Endpoint,
    req: &HttpRequest,
    payload: Payload,
    wait: Option<std::time::Duration>,
    record: &mut DeliveryRecord,
) -> Result<(RunStarted, bool), ApiError> {
    let hook = &endpoint.hook;
    if !hook.spec.enabled {
        return Err(ApiError::new(
            ErrorCode::WebhookDisabled,
            "this webhook is disabled",
        ));
    }
    if endpoint.tenant_disabled {
        return Err(ApiError::new(
            ErrorCode::TenantDisabled,
            "this webhook's tenant is disabled",
        ));
    }
    let body = read_body(req, payload, hook.spec.max_body_bytes).await?;
    let headers = req.headers();
    let text = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    let named = hook.spec.auth_name.as_deref().and_then(text);
    let presented = Presented {
        authorization: text(header::AUTHORIZATION.as_str()),
        named_header: named,
        signature: text(auth::SIGNATURE_HEADER),
        timestamp: text(auth::TIMESTAMP_HEADER),
        delivery_id: text(auth::DELIVERY_HEADER),
        body: &body,
    };
    record.delivery_id = presented.delivery_id.map(str::to_string);
    let now = Utc::now();
    let checked = endpoint.auth.check(&presented, now.timestamp())?;
    let content_type = text(header::CONTENT_TYPE.as_str());
    let input = input::run_input(content_type, &body).map_err(|bad| match bad {
        BadBody::Malformed(message) => ApiError::new(ErrorCode::ValidationError, message),
        BadBody::UnsupportedType(_) => {
            ApiError::new(ErrorCode::UnsupportedMediaType, bad.to_string())
        }
    })?;
    if let Admission::Refused { retry_after_secs } =
        deliveries::admit(&state.db, hook.id, hook.spec.rate_per_minute, now).await?
    {
        return Err(ApiError::new(
            ErrorCode::RateLimited,
            format!(
                "this webhook accepts {} deliveries a minute",
                hook.spec.rate_per_minute
            ),
        )
        .with_retry_after(retry_after_secs));
    }
    // A delivery with an id starts the run whose id derives from it: once, however often
    // and wherever it arrives.
    let run_id = checked
        .delivery_id
        .as_deref()
        .map_or_else(RunId::new, |delivery| {
            RunId(deliveries::run_id(hook.id, delivery))
        });
    if let Some(delivery_id) = &checked.delivery_id
        && !deliveries::remember(&state.db, hook.id, delivery_id, now).await?
        && run_exists(state, hook.tenant_id, run_id).await?
    {
        // Seen and started: a replay. (Seen and not started: the process that took it first
        // stopped before starting its run, and this attempt starts it.)
        return Err(replayed());
    }
    let started = async {
        let definition = runnable(state, hook.tenant_id, hook.workflow_id).await?;
        start_as(state, hook.tenant_id, definition, input, run_id).await
    }
    .await;
    let started = match started {
        Ok(Ok(run)) => Ok(run),
        // Another attempt of the delivery started it a moment ago.
        Ok(Err(workflow_engine::Error::RunExists(_))) => return Err(replayed()),
        Ok(Err(error)) => Err(workflows::Error::from(error).into()),
        Err(error) => Err(error),
    };
    let run = match started {
        Ok(run) => run,
        Err(error) => {
            // Not started: the sender's retry with the same id must not count as a replay.
            if let Some(delivery_id) = &checked.delivery_id
                && let Err(forgetting) = deliveries::forget(&state.db, hook.id, delivery_id).await
            {
                tracing::warn!(error = %forgetting, "a webhook delivery id could not be forgotten");
            }
            return Err(error);
        }
    };
    record.instance_id = Some(run.0);
    let outcome = run_outcome(state, hook.tenant_id, run, wait).await?;
    Ok((outcome, wait.is_some()))
}

fn replayed() -> ApiError {
    ApiError::new(
        ErrorCode::WebhookReplayed,
        "this delivery id was accepted before",
    )
}

/// Whether the tenant has run `run`.
async fn run_exists(state: &AppState, tenant_id: Uuid, run: RunId) -> Result<bool, ApiError> {
    let namespace = tenant_id.to_string();
    let found = state
        .workflows
        .call(move |engine| async move { engine.snapshot(&namespace, run).await })
        .await?;
    match found {
        Ok(_) => Ok(true),
        Err(workflow_engine::Error::RunNotFound) => Ok(false),
        Err(error) => Err(workflows::Error::from(error).into()),
    }
}

/// The body, refused past `limit` bytes (before reading, when `Content-Length` says so).
async fn read_body(
    req: &HttpRequest,
    mut payload: Payload,
    limit: u32,
) -> Result<BytesMut, ApiError> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(payload_too_large(limit));
    }
    read_bounded(&mut payload, limit).await
}

/// The delivery's audit entry: the hook is the principal; never the body or a credential.
fn audit_delivery(
    state: &AppState,
    hook: &Hook,
    req: &HttpRequest,
    answer: &Result<(RunStarted, bool), ApiError>,
    record: &DeliveryRecord,
    started: Instant,
) {
    let (status, refusal) = match answer {
        Ok((_, true)) => (200, None),
        Ok((_, false)) => (202, None),
        Err(error) => (error.code().status().as_u16(), Some(error.code().as_str())),
    };
    state.audit.record(audit::AuditEntry {
        id: Uuid::now_v7(),
        kind: audit::AuditKind::WebhookDelivery,
        tenant_id: Some(hook.tenant_id),
        user_id: None,
        api_key_id: None,
        method: "POST".into(),
        route: DELIVERY_PATH.into(),
        path: req.path().to_string(),
        status,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        client_ip: client_ip(req, state.edge.trust_forwarded_for).map(|ip| ip.to_string()),
        user_agent: crate::http::middleware::audit::user_agent(req),
        request_body: None,
        metadata: json!({
            "webhookID": hook.id,
            "workflowID": hook.workflow_id,
            "deliveryID": record.delivery_id,
            "instanceID": record.instance_id,
            "refusal": refusal,
        }),
        created_at: Utc::now(),
    });
}
