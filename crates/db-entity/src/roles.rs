//! `roles`: named sets of permissions; tenant-scoped, or global when `tenant_id` is null.

use sea_orm::entity::prelude::*;

/// A role row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "roles")]
pub struct Model {
    /// UUID v7.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The tenant; `None` for a global role.
    pub tenant_id: Option<Uuid>,
    /// Title, unique per tenant.
    pub title: String,
    /// Description.
    pub description: Option<String>,
    /// `admin`, `editor`, `viewer` for built-in roles.
    pub builtin: Option<String>,
    /// Creator (user).
    pub created_by_user_id: Option<Uuid>,
    /// Creator (API key).
    pub created_by_api_key_id: Option<Uuid>,
    /// Creation time.
    pub created_at: DateTimeUtc,
    /// Last change.
    pub updated_at: DateTimeUtc,
}

/// Not navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
