//! The audit trail: every tenant-scoped request and every `/api/v1/auth` call, recorded.
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

/// What is recorded about one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// UUID v7.
    pub id: Uuid,
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
                created_at: row.created_at,
            },
        }
    }
}
