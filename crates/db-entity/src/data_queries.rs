//! `data_queries`: saved queries against one datasource.

use sea_orm::entity::prelude::*;

/// A data query.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "data_queries")]
pub struct Model {
    /// UUID v7.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The tenant.
    pub tenant_id: Uuid,
    /// The datasource it runs against (same tenant).
    pub datasource_id: Uuid,
    /// The folder it is filed in.
    pub folder_id: Option<Uuid>,
    /// Title.
    pub title: String,
    /// Free text.
    pub description: Option<String>,
    /// The query, shaped by the datasource type's query schema (never holds secrets).
    pub options: Json,
    /// Whether app pages run it when they load.
    pub run_on_load: bool,
    /// A disabled query cannot run.
    pub is_disabled: bool,
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
