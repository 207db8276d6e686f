//! `workflow_edges`: the edges of a workflow's current graph.

use sea_orm::entity::prelude::*;

/// An edge.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "workflow_edges")]
pub struct Model {
    /// The workflow.
    #[sea_orm(primary_key, auto_increment = false)]
    pub workflow_id: Uuid,
    /// Its place in the list the client saved.
    #[sea_orm(primary_key, auto_increment = false)]
    pub position: i32,
    /// The client's id for it, if any.
    pub edge_id: Option<String>,
    /// The node it leaves.
    pub source: String,
    /// The node it enters.
    pub target: String,
    /// Which outcome of the source it follows.
    pub source_handle: Option<String>,
    /// The target's handle.
    pub target_handle: Option<String>,
    /// What only the editor reads (edge type, label, style, …).
    pub ui: Json,
}

/// Not navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
