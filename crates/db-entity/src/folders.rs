//! `folders`: the per-tenant, per-asset-type folder tree.

use sea_orm::entity::prelude::*;

/// A folder.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "folders")]
pub struct Model {
    /// UUID v7.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The tenant.
    pub tenant_id: Uuid,
    /// `widget`, `workflow`, `dataQuery`, `cronJob`, `appPage` or `listener`.
    pub entity_type: String,
    /// The parent folder (same tenant and type); `None` at the root.
    pub parent_id: Option<Uuid>,
    /// Title.
    pub title: String,
    /// Creator (user).
    pub creator_user_id: Option<Uuid>,
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

/// Whether `folder` is a folder of `entity_type` items in `tenant_id`: what every domain crate
/// checks before filing an item in a folder (an id of another tenant, or of a folder for another
/// type, is not one).
pub async fn files(
    db: &impl sea_orm::ConnectionTrait,
    tenant_id: Uuid,
    folder: Uuid,
    entity_type: &str,
) -> Result<bool, DbErr> {
    Ok(Entity::find_by_id(folder)
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::EntityType.eq(entity_type))
        .one(db)
        .await?
        .is_some())
}
