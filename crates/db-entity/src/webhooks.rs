//! `webhooks`: a workflow's webhook endpoints (`POST /api/v1/hooks/{id}`).

use sea_orm::entity::prelude::*;

/// A webhook endpoint.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhooks")]
pub struct Model {
    /// UUID v4: random, since for mode `none` the URL is the only credential.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The tenant.
    pub tenant_id: Uuid,
    /// The workflow a delivery starts.
    pub workflow_id: Uuid,
    /// Title.
    pub title: String,
    /// `none`, `basic`, `bearer`, `header` or `hmac`.
    pub auth_mode: String,
    /// The user name (`basic`) or the header's name (`header`).
    pub auth_name: Option<String>,
    /// The secret, a sealed envelope (JSON); NULL for `none`.
    pub secret: Option<String>,
    /// The secret's last four characters, to tell secrets apart without showing them.
    pub secret_hint: Option<String>,
    /// A disabled hook refuses deliveries.
    pub is_enabled: bool,
    /// The largest body accepted, in bytes.
    pub max_body_bytes: i32,
    /// Deliveries accepted per minute.
    pub rate_per_minute: i32,
    /// The minute (since the epoch) `rate_count` counts.
    pub rate_window: i64,
    /// Deliveries accepted in `rate_window`.
    pub rate_count: i32,
    /// The user who created it (whose right to run the workflow it uses).
    pub creator_user_id: Option<Uuid>,
    /// The API key that created it.
    pub created_by_api_key_id: Option<Uuid>,
    /// When the secret was last replaced.
    pub secret_rotated_at: Option<DateTimeUtc>,
    /// Created.
    pub created_at: DateTimeUtc,
    /// Last changed.
    pub updated_at: DateTimeUtc,
}

/// Not navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
