//! What folders file: the items of each asset type, registered by the crate that owns them.
//!
//! `tenancy` knows folders, not workflows or data queries. A crate that adds an asset type with
//! a `folder_id` column implements [`FolderItems`] for it (usually with [`ItemTable`], for a
//! table with `id`, `tenant_id`, `folder_id` and `updated_at` columns) and the server registers
//! it in the [`FolderItemRegistry`] it passes to [`folders::move_items`](crate::folders::move_items)
//! and [`folders::delete`](crate::folders::delete). A type nobody registered has no items: moving
//! any of them is an unknown reference.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbErr};
use uuid::Uuid;

use crate::folders::EntityType;

/// The items of one asset type, as folders see them. Both methods run inside the folder
/// change's transaction, after the tenant row lock.
#[async_trait]
pub trait FolderItems: Send + Sync + std::fmt::Debug {
    /// The type whose items these are.
    fn entity_type(&self) -> EntityType;

    /// Puts the items `ids` of `tenant_id` into `folder` (`None`: unfiles them); returns how
    /// many of them exist in that tenant (the caller rolls back unless all of them do).
    async fn file(
        &self,
        txn: &DatabaseTransaction,
        tenant_id: Uuid,
        ids: &[Uuid],
        folder: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> Result<u64, DbErr>;

    /// Unfiles every item of `tenant_id` in `folder` (which is being deleted).
    async fn unfile_all(
        &self,
        txn: &DatabaseTransaction,
        tenant_id: Uuid,
        folder: Uuid,
        now: DateTime<Utc>,
    ) -> Result<(), DbErr>;
}

/// The registered item types. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct FolderItemRegistry {
    by_type: HashMap<EntityType, Arc<dyn FolderItems>>,
}

impl FolderItemRegistry {
    /// No item types.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers (or replaces) the items of `items.entity_type()`.
    pub fn register(&mut self, items: Arc<dyn FolderItems>) {
        self.by_type.insert(items.entity_type(), items);
    }

    /// The items of `entity_type`, if registered.
    pub fn get(&self, entity_type: EntityType) -> Option<&Arc<dyn FolderItems>> {
        self.by_type.get(&entity_type)
    }
}

/// [`FolderItems`] for a table with `id`, `tenant_id`, `folder_id` and `updated_at` columns.
#[derive(Debug, Clone, Copy)]
pub struct ItemTable {
    /// The type.
    pub entity_type: EntityType,
    /// The owning crate's table.
    pub table: &'static str,
}

#[async_trait]
impl FolderItems for ItemTable {
    fn entity_type(&self) -> EntityType {
        self.entity_type
    }

    async fn file(
        &self,
        txn: &DatabaseTransaction,
        tenant_id: Uuid,
        ids: &[Uuid],
        folder: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> Result<u64, DbErr> {
        let statement = Query::update()
            .table(Alias::new(self.table))
            .value(Alias::new("folder_id"), folder)
            .value(Alias::new("updated_at"), now)
            .and_where(Expr::col(Alias::new("tenant_id")).eq(tenant_id))
            .and_where(Expr::col(Alias::new("id")).is_in(ids.iter().copied()))
            .to_owned();
        Ok(txn.execute(&statement).await?.rows_affected())
    }

    async fn unfile_all(
        &self,
        txn: &DatabaseTransaction,
        tenant_id: Uuid,
        folder: Uuid,
        now: DateTime<Utc>,
    ) -> Result<(), DbErr> {
        let statement = Query::update()
            .table(Alias::new(self.table))
            .value(Alias::new("folder_id"), Option::<Uuid>::None)
            .value(Alias::new("updated_at"), now)
            .and_where(Expr::col(Alias::new("tenant_id")).eq(tenant_id))
            .and_where(Expr::col(Alias::new("folder_id")).eq(folder))
            .to_owned();
        txn.execute(&statement).await?;
        Ok(())
    }
}
