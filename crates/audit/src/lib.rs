//! The audit trail: every tenant-scoped request and every `/api/v1/auth` call, every cron
//! fire and every webhook delivery, recorded.
//!
//! The server's audit middleware builds an [`AuditEntry`] per request (principal, tenant, method,
//! route, path, status, duration, client IP, user agent, and the request body passed through
//! [`redact_body`]) and hands it to an [`AuditSink`]. The [`AuditWriter`] writes entries in
//! batches, [`WriterConfig::flush_interval`] (250 ms unless configured) after they arrive, and, when
//! stopped, writes everything still queued, so a graceful stop loses nothing. [`reader::list`] reads a tenant's trail.

pub mod reader;
pub mod redact;
pub mod writer;

use chrono::{DateTime, Utc};
use db_entity::audit_logs;
use uuid::Uuid;

pub use reader::{AuditFilter, list};
pub use redact::redact_body;
pub use writer::{AuditSink, AuditWriter, WriterConfig, channel};

/// What an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditKind {
    /// An HTTP request or a websocket action by a user or an API key.
    ApiRequest,
    /// A cron job's fire: the job acted (delegated execution); `metadata` names the job, the
    /// fire and the run.
    CronFire,
    /// A delivery to a webhook: the hook acted; `metadata` names the hook, the delivery id and
    /// the run, or why the delivery was refused.
    WebhookDelivery,
}

impl AuditKind {
    /// As stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditKind::ApiRequest => "API_REQUEST",
            AuditKind::CronFire => "CRON_FIRE",
            AuditKind::WebhookDelivery => "WEBHOOK_DELIVERY",
        }
    }

    /// The kind stored as `text` (an unknown one reads as a request).
    pub fn parse(text: &str) -> AuditKind {
        match text {
            "CRON_FIRE" => AuditKind::CronFire,
            "WEBHOOK_DELIVERY" => AuditKind::WebhookDelivery,
            _ => AuditKind::ApiRequest,
        }
    }
}

/// What is recorded about one request, fire or delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// UUID v7.
    pub id: Uuid,
    /// What it records.
    pub kind: AuditKind,
    /// The tenant named by the route.
    pub tenant_id: Option<Uuid>,
    /// The calling user.
    pub user_id: Option<Uuid>,
    /// The calling API key.
    pub api_key_id: Option<Uuid>,
    /// Method.
    pub method: String,
    /// Route pattern.
    pub route: String,
    /// Path without the query string.
    pub path: String,
    /// Response status.
    pub status: u16,
    /// Duration in milliseconds.
    pub duration_ms: u64,
    /// Client IP.
    pub client_ip: Option<String>,
    /// User agent.
    pub user_agent: Option<String>,
    /// Redacted, truncated request body.
    pub request_body: Option<String>,
    /// The acting cron job or hook and what it did (`{}` for requests).
    pub metadata: serde_json::Value,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// A stored entry, as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// The entry.
    pub entry: AuditEntry,
    /// `200 <= status < 400`.
    pub success: bool,
}

impl From<audit_logs::Model> for AuditRecord {
    fn from(row: audit_logs::Model) -> Self {
        AuditRecord {
            success: row.success,
            entry: AuditEntry {
                id: row.id,
                kind: AuditKind::parse(&row.kind),
                tenant_id: row.tenant_id,
                user_id: row.user_id,
                api_key_id: row.api_key_id,
                method: row.method,
                route: row.route,
                path: row.path,
                status: u16::try_from(row.status).unwrap_or_default(),
                duration_ms: u64::try_from(row.duration_ms).unwrap_or_default(),
                client_ip: row.client_ip,
                user_agent: row.user_agent,
                request_body: row.request_body,
                metadata: row.metadata,
                created_at: row.created_at,
            },
        }
    }
}
