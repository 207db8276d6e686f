//! `workflows`: a tenant's workflow definitions (the graph is in `workflow_nodes` and
//! `workflow_edges`).

use sea_orm::entity::prelude::*;

/// A workflow.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "workflows")]
pub struct Model {
    /// UUID v7.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The tenant.
    pub tenant_id: Uuid,
    /// The folder it is filed in.
    pub folder_id: Option<Uuid>,
    /// Title.
    pub title: String,
    /// Free text.
    pub description: Option<String>,
    /// Workflow options (input definitions, node defaults).
    pub options: Json,
    /// A disabled workflow does not start runs.
    pub is_disabled: bool,
    /// Saves of the graph so far (1 when created).
    pub version: i64,
    /// Creator (user).
    pub creator_user_id: Option<Uuid>,
    /// Creator (API key).
    pub created_by_api_key_id: Option<Uuid>,
    /// Creation time.
    pub created_at: DateTimeUtc,
    /// Last change.
    pub updated_at: DateTimeUtc,
    /// Set when deleted (soft delete).
    pub deleted_at: Option<DateTimeUtc>,
}

/// Not navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
