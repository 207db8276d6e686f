//! `api_key_roles`: the roles an API key acts with.

use sea_orm::entity::prelude::*;

/// One assignment.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_key_roles")]
pub struct Model {
    /// The key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub api_key_id: Uuid,
    /// The role.
    #[sea_orm(primary_key, auto_increment = false)]
    pub role_id: Uuid,
}

/// Not navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
