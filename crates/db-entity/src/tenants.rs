//! `tenants`: the isolation boundary of everything else.

use sea_orm::entity::prelude::*;

/// A tenant row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tenants")]
pub struct Model {
    /// UUID v7.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Display title.
    pub title: String,
    /// Logo URL.
    pub logo_url: Option<String>,
    /// The user who created it.
    pub creator_user_id: Option<Uuid>,
    /// The API key that created it.
    pub created_by_api_key_id: Option<Uuid>,
    /// Disabled tenants refuse everything but reads and re-enabling by their admins.
    pub is_disabled: bool,
    /// When it was disabled.
    pub disabled_at: Option<DateTimeUtc>,
    /// Why.
    pub disable_reason: Option<String>,
    /// Free-form metadata.
    pub metadata: Json,
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
