//! `audit_logs`: one row per audited request. No foreign keys: the trail outlives its subjects.

use sea_orm::entity::prelude::*;

/// An audit row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_logs")]
pub struct Model {
    /// UUID v7 (time-ordered).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The tenant named by the route, if any.
    pub tenant_id: Option<Uuid>,
    /// The user, if a user called.
    pub user_id: Option<Uuid>,
    /// The API key, if a key called.
    pub api_key_id: Option<Uuid>,
    /// `API_REQUEST`.
    pub kind: String,
    /// HTTP method.
    pub method: String,
    /// Route pattern.
    pub route: String,
    /// Path (no query string).
    pub path: String,
    /// Response status.
    pub status: i16,
    /// `200 <= status < 400`.
    pub success: bool,
    /// Duration in milliseconds.
    pub duration_ms: i32,
    /// Client IP.
    pub client_ip: Option<String>,
    /// User agent.
    pub user_agent: Option<String>,
    /// The request body, redacted and truncated.
    pub request_body: Option<String>,
    /// Anything else.
    pub metadata: Json,
    /// When.
    pub created_at: DateTimeUtc,
}

/// Not navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
