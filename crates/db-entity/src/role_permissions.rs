//! `role_permissions`: the type-wide permissions a role grants.

use sea_orm::entity::prelude::*;

/// One grant.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "role_permissions")]
pub struct Model {
    /// The role.
    #[sea_orm(primary_key, auto_increment = false)]
    pub role_id: Uuid,
    /// The catalog entry.
    #[sea_orm(primary_key, auto_increment = false)]
    pub permission_id: String,
}

/// Not navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
