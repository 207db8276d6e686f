//! `webhook_deliveries`: the delivery ids a hook accepted within the signature window.

use sea_orm::entity::prelude::*;

/// A remembered delivery id.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    /// The hook.
    #[sea_orm(primary_key, auto_increment = false)]
    pub webhook_id: Uuid,
    /// The sender's delivery id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub delivery_id: String,
    /// When it arrived, microseconds since the epoch.
    pub received_at: i64,
}

/// Not navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
