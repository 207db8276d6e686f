//! `role_asset_grants`: a role's permission on one object (`workflow:<id>:execute`).

use sea_orm::entity::prelude::*;

/// One asset grant.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "role_asset_grants")]
pub struct Model {
    /// UUID v7.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The tenant of the object.
    pub tenant_id: Uuid,
    /// The role.
    pub role_id: Uuid,
    /// The object's type.
    pub resource_type: String,
    /// The object.
    pub resource_id: Uuid,
    /// The action allowed on it.
    pub action: String,
    /// Creation time.
    pub created_at: DateTimeUtc,
}

/// Not navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
