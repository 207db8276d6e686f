//! `permissions`: the catalog (`resource:action`), synced from the `rbac` crate at start-up.

use sea_orm::entity::prelude::*;

/// A catalog entry.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "permissions")]
pub struct Model {
    /// `resource:action`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The resource part.
    pub resource: String,
    /// The action part.
    pub action: String,
    /// Human description.
    pub description: String,
}

/// Not navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
