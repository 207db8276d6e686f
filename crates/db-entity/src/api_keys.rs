//! `api_keys`: keys stored as a SHA-256 hash plus a short non-secret lookup prefix.

use sea_orm::entity::prelude::*;

/// An API key row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_keys")]
pub struct Model {
    /// UUID v7.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The only tenant the key acts in.
    pub tenant_id: Uuid,
    /// Title.
    pub title: String,
    /// The first hex characters of the secret, for lookup; not enough to use the key.
    pub key_prefix: String,
    /// SHA-256 of the whole key, hex.
    pub key_hash: String,
    /// Disabled keys are refused.
    pub is_disabled: bool,
    /// Creator (user).
    pub creator_user_id: Option<Uuid>,
    /// Creator (API key).
    pub created_by_api_key_id: Option<Uuid>,
    /// Last use, to the minute.
    pub last_used_at: Option<DateTimeUtc>,
    /// Creation time.
    pub created_at: DateTimeUtc,
    /// Last change.
    pub updated_at: DateTimeUtc,
    /// Soft deletion.
    pub deleted_at: Option<DateTimeUtc>,
}

/// Not navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
