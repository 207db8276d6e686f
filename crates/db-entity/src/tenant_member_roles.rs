//! `tenant_member_roles`: the roles a membership holds.

use sea_orm::entity::prelude::*;

/// One assignment.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tenant_member_roles")]
pub struct Model {
    /// The tenant (denormalised for tenant-scoped lookups).
    pub tenant_id: Uuid,
    /// The membership.
    #[sea_orm(primary_key, auto_increment = false)]
    pub member_id: Uuid,
    /// The role.
    #[sea_orm(primary_key, auto_increment = false)]
    pub role_id: Uuid,
}

/// Not navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
