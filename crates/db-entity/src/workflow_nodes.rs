//! `workflow_nodes`: the nodes of a workflow's current graph.

use sea_orm::entity::prelude::*;

/// A node.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "workflow_nodes")]
pub struct Model {
    /// The workflow.
    #[sea_orm(primary_key, auto_increment = false)]
    pub workflow_id: Uuid,
    /// The node's id in the graph (the client's).
    #[sea_orm(primary_key, auto_increment = false)]
    pub node_id: String,
    /// Its place in the list the client saved.
    pub position: i32,
    /// The node type.
    pub node_type: String,
    /// The type's configuration.
    pub config: Json,
    /// Engine settings: `timeoutSeconds`, `retry`, `errorHandling`, `joinMode`.
    pub settings: Json,
    /// What only the editor reads (canvas position, size, …).
    pub ui: Json,
}

/// Not navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
