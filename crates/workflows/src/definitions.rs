//! Saved workflows: list, read, create, update (the graph replaced in one transaction, its
//! version bumped), soft delete, clone, export and import.
//!
//! Every save checks the graph with the engine (the same rules a run is started under, every
//! problem at once) and checks its references: each data query a `dataQuery` node runs and each
//! workflow a `subWorkflow` node starts must exist in this tenant, and the saver must be allowed
//! to execute it. Runs execute them as the workflow (delegated execution): what a workflow may
//! run was decided by whoever saved it, so a run never needs its starter's rights on them.
//!
//! Deleting is soft: the row stays with `deleted_at` set, every lookup here treats it as gone
//! (a sub-workflow naming it fails as not found), and runs in flight finish on the definition
//! they started with.

use chrono::{DateTime, Utc};
use db_entity::{folders, workflow_edges, workflow_nodes, workflows};
use rbac::tenant_lock::lock_writable_tenant;
use rbac::{Action, Grants, Permit, Resource, Subject, Target};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, TransactionTrait,
};
use serde_json::{Map, Value, json};
use uuid::Uuid;
use workflow_engine::{Engine, ValidationIssue, WorkflowDefinition};

use crate::Error;
use crate::graph::{Graph, GraphEdge, GraphNode};

/// The folder entity type workflows are filed under.
pub const FOLDER_ENTITY_TYPE: &str = "workflow";

/// The version of the export format.
pub const EXPORT_FORMAT: u32 = 1;

/// A workflow without its graph (lists).
#[derive(Debug, Clone, PartialEq)]
pub struct WorkflowSummary {
    /// Its id.
    pub id: Uuid,
    /// Its tenant.
    pub tenant_id: Uuid,
    /// The folder it is filed in.
    pub folder_id: Option<Uuid>,
    /// Title.
    pub title: String,
    /// Free text.
    pub description: Option<String>,
    /// A disabled workflow starts no runs.
    pub is_disabled: bool,
    /// Saves of its graph so far.
    pub version: u64,
    /// Who created it.
    pub creator: Option<Subject>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl WorkflowSummary {
    fn from_row(row: workflows::Model) -> (Self, Value) {
        let summary = WorkflowSummary {
            id: row.id,
            tenant_id: row.tenant_id,
            folder_id: row.folder_id,
            title: row.title,
            description: row.description,
            is_disabled: row.is_disabled,
            version: u64::try_from(row.version).unwrap_or_default(),
            creator: Subject::from_creator_columns(row.creator_user_id, row.created_by_api_key_id),
            created_at: row.created_at,
            updated_at: row.updated_at,
        };
        (summary, row.options)
    }

    /// The workflow as a policy target (creator rights).
    pub fn target(&self) -> Target {
        Target {
            resource: Resource::Workflow,
            id: self.id,
            creator: self.creator,
        }
    }
}

/// A workflow with its graph.
#[derive(Debug, Clone, PartialEq)]
pub struct Workflow {
    /// Everything but the graph.
    pub summary: WorkflowSummary,
    /// Nodes, edges and options.
    pub graph: Graph,
}

impl Workflow {
    /// The engine's definition of the current version.
    pub fn definition(&self) -> Result<WorkflowDefinition, Error> {
        self.graph
            .definition(Some(self.summary.id), Some(self.summary.version))
            .map_err(Error::InvalidGraph)
    }

    /// The export bundle: everything needed to recreate the workflow, nothing tenant-bound but
    /// the ids its nodes reference.
    pub fn export(&self) -> Value {
        json!({
            "formatVersion": EXPORT_FORMAT,
            "workflowTitle": self.summary.title,
            "workflowDescription": self.summary.description,
            "nodes": self.graph.nodes.iter().map(GraphNode::to_json).collect::<Vec<_>>(),
            "edges": self.graph.edges.iter().map(GraphEdge::to_json).collect::<Vec<_>>(),
            "workflowOptions": self.graph.options,
        })
    }
}

/// The tenant's workflows by title (deleted ones left out); `search` (lower case) filters
/// titles and descriptions, `folder` keeps one folder's.
pub async fn list(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    search: Option<&str>,
    folder: Option<Uuid>,
) -> Result<Vec<WorkflowSummary>, Error> {
    let mut select = workflows::Entity::find()
        .filter(workflows::Column::TenantId.eq(tenant_id))
        .filter(workflows::Column::DeletedAt.is_null());
    if let Some(folder) = folder {
        select = select.filter(workflows::Column::FolderId.eq(folder));
    }
    let rows = select
        .order_by_asc(workflows::Column::Title)
        .order_by_asc(workflows::Column::Id)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| WorkflowSummary::from_row(row).0)
        .filter(|w| {
            search.is_none_or(|needle| {
                w.title.to_lowercase().contains(needle)
                    || w.description
                        .as_deref()
                        .is_some_and(|d| d.to_lowercase().contains(needle))
            })
        })
        .collect())
}

/// The tenant of workflow `id` (deleted or unknown: not found), for a caller that knows a
/// workflow by its id alone (the realtime socket's `workflow:{id}` room) and then checks the
/// caller's access in that tenant.
pub async fn tenant_of(db: &impl ConnectionTrait, id: Uuid) -> Result<Uuid, Error> {
    workflows::Entity::find_by_id(id)
        .filter(workflows::Column::DeletedAt.is_null())
        .one(db)
        .await?
        .map(|row| row.tenant_id)
        .ok_or(Error::NotFound)
}

/// One workflow of the tenant, without its graph (deleted: not found).
pub async fn summary(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<(WorkflowSummary, Value), Error> {
    workflows::Entity::find_by_id(id)
        .filter(workflows::Column::TenantId.eq(tenant_id))
        .filter(workflows::Column::DeletedAt.is_null())
        .one(db)
        .await?
        .map(WorkflowSummary::from_row)
        .ok_or(Error::NotFound)
}

/// One workflow of the tenant with its graph (deleted: not found).
pub async fn get(db: &impl ConnectionTrait, tenant_id: Uuid, id: Uuid) -> Result<Workflow, Error> {
    let (summary, options) = summary(db, tenant_id, id).await?;
    let nodes = workflow_nodes::Entity::find()
        .filter(workflow_nodes::Column::WorkflowId.eq(id))
        .order_by_asc(workflow_nodes::Column::Position)
        .all(db)
        .await?
        .into_iter()
        .map(|row| GraphNode {
            id: row.node_id,
            node_type: row.node_type,
            config: row.config,
            settings: into_map(row.settings),
            ui: into_map(row.ui),
        })
        .collect();
    let edges = workflow_edges::Entity::find()
        .filter(workflow_edges::Column::WorkflowId.eq(id))
        .order_by_asc(workflow_edges::Column::Position)
        .all(db)
        .await?
        .into_iter()
        .map(|row| GraphEdge {
            id: row.edge_id,
            source: row.source,
            target: row.target,
            source_handle: row.source_handle,
            target_handle: row.target_handle,
            ui: into_map(row.ui),
        })
        .collect();
    Ok(Workflow {
        summary,
        graph: Graph {
            nodes,
            edges,
            options,
        },
    })
}

fn into_map(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// Checks `graph` as the engine would start it, as workflow `id` (so a sub-workflow node naming
/// the workflow itself is refused), and its references for `subject`: every problem at once.
pub async fn check_graph(
    db: &impl ConnectionTrait,
    engine: &Engine,
    tenant_id: Uuid,
    subject: Subject,
    grants: &Grants,
    graph: &Graph,
    id: Option<Uuid>,
) -> Result<WorkflowDefinition, Error> {
    let mut issues = Vec::new();
    let definition = graph.definition(id, None).map_err(Error::InvalidGraph)?;
    if let Err(workflow_engine::Error::InvalidDefinition(found)) = engine.validate(&definition) {
        issues.extend(found);
    }
    check_references(db, tenant_id, subject, grants, graph, &mut issues).await?;
    if issues.is_empty() {
        Ok(definition)
    } else {
        Err(Error::InvalidGraph(issues))
    }
}

fn reference_issue(
    graph: &Graph,
    node_type: &str,
    field: &str,
    id: &str,
    message: &str,
) -> Vec<ValidationIssue> {
    graph
        .nodes
        .iter()
        .filter(|node| node.node_type == node_type)
        .filter(|node| node.config.get(field).and_then(Value::as_str) == Some(id))
        .map(|node| ValidationIssue {
            node_id: Some(node.id.clone()),
            edge: None,
            field: Some(field.to_string()),
            message: message.to_string(),
        })
        .collect()
}

/// Each referenced data query and workflow exists in the tenant (else an issue on the nodes
/// naming it) and `subject` may execute it (else [`Error::Denied`]).
async fn check_references(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    subject: Subject,
    grants: &Grants,
    graph: &Graph,
    issues: &mut Vec<ValidationIssue>,
) -> Result<(), Error> {
    for id in graph.data_queries() {
        let found = match Uuid::parse_str(&id) {
            Ok(uuid) => match datasources::query::get(db, tenant_id, uuid).await {
                Ok(query) => Some(query),
                Err(datasources::Error::NotFound) => None,
                Err(datasources::Error::Database(error)) => return Err(error.into()),
                Err(other) => return Err(Error::Engine(other.to_string())),
            },
            Err(_) => None,
        };
        match found {
            Some(query) => {
                rbac::authorize_execution(tenant_id, subject, grants, &query.target(), None)?;
            }
            None => issues.extend(reference_issue(
                graph,
                "dataQuery",
                "dataQueryID",
                &id,
                "no such data query in this tenant",
            )),
        }
    }
    for id in graph.sub_workflows() {
        let found = match Uuid::parse_str(&id) {
            Ok(uuid) => match summary(db, tenant_id, uuid).await {
                Ok((workflow, _)) => Some(workflow),
                Err(Error::NotFound) => None,
                Err(other) => return Err(other),
            },
            Err(_) => None,
        };
        match found {
            Some(workflow) => {
                rbac::authorize_execution(tenant_id, subject, grants, &workflow.target(), None)?;
            }
            None => {
                for field in ["childWorkflowID", "workflowID"] {
                    issues.extend(reference_issue(
                        graph,
                        "subWorkflow",
                        field,
                        &id,
                        "no such workflow in this tenant",
                    ));
                }
            }
        }
    }
    Ok(())
}

async fn check_folder(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    folder: Option<Uuid>,
) -> Result<(), Error> {
    let Some(folder) = folder else {
        return Ok(());
    };
    match folders::files(db, tenant_id, folder, FOLDER_ENTITY_TYPE).await? {
        true => Ok(()),
        false => Err(Error::UnknownReference {
            field: "folderID".into(),
            message: "no workflow folder with this id in this tenant".into(),
        }),
    }
}

fn valid_description(raw: Option<String>) -> Result<Option<String>, Error> {
    match raw {
        Some(text) if text.chars().count() > 2_000 => Err(Error::invalid(
            "workflowDescription",
            "must be at most 2000 characters",
        )),
        other => Ok(other),
    }
}

/// What a create stores.
#[derive(Debug, Clone)]
pub struct NewWorkflow {
    /// Title.
    pub title: String,
    /// Free text.
    pub description: Option<String>,
    /// The folder.
    pub folder_id: Option<Uuid>,
    /// The graph.
    pub graph: Graph,
}

/// Creates a workflow: `workflow:create`, a valid graph, and `execute` on what it references.
pub async fn create(
    db: &DatabaseConnection,
    engine: &Engine,
    permit: &Permit,
    grants: &Grants,
    new: NewWorkflow,
    now: DateTime<Utc>,
) -> Result<Workflow, Error> {
    let tenant_id = permit.tenant_id();
    permit.require(tenant_id, Resource::Workflow, Action::Create)?;
    let title = db_entity::title::valid_title("workflowTitle", &new.title)?;
    let description = valid_description(new.description)?;
    let id = Uuid::now_v7();
    check_graph(
        db,
        engine,
        tenant_id,
        permit.subject(),
        grants,
        &new.graph,
        Some(id),
    )
    .await?;
    let txn = db.begin().await?;
    lock_writable_tenant(&txn, tenant_id).await?;
    check_folder(&txn, tenant_id, new.folder_id).await?;
    let (creator_user_id, created_by_api_key_id) = permit.subject().creator_columns();
    workflows::Entity::insert(workflows::ActiveModel {
        id: Set(id),
        tenant_id: Set(tenant_id),
        folder_id: Set(new.folder_id),
        title: Set(title),
        description: Set(description),
        options: Set(new.graph.options.clone()),
        is_disabled: Set(false),
        version: Set(1),
        creator_user_id: Set(creator_user_id),
        created_by_api_key_id: Set(created_by_api_key_id),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
    })
    .exec_without_returning(&txn)
    .await?;
    write_graph(&txn, id, &new.graph).await?;
    let workflow = get(&txn, tenant_id, id).await?;
    txn.commit().await?;
    Ok(workflow)
}

/// Replaces the stored nodes and edges of workflow `id` with `graph`'s.
async fn write_graph(txn: &impl ConnectionTrait, id: Uuid, graph: &Graph) -> Result<(), Error> {
    workflow_nodes::Entity::delete_many()
        .filter(workflow_nodes::Column::WorkflowId.eq(id))
        .exec(txn)
        .await?;
    workflow_edges::Entity::delete_many()
        .filter(workflow_edges::Column::WorkflowId.eq(id))
        .exec(txn)
        .await?;
    // In chunks: a statement's parameters are bounded (SQLite 32766, PostgreSQL 65535).
    for (chunk_index, chunk) in graph.nodes.chunks(500).enumerate() {
        let rows = chunk
            .iter()
            .enumerate()
            .map(|(i, node)| workflow_nodes::ActiveModel {
                workflow_id: Set(id),
                node_id: Set(node.id.clone()),
                position: Set(i32::try_from(chunk_index * 500 + i).unwrap_or(i32::MAX)),
                node_type: Set(node.node_type.clone()),
                config: Set(node.config.clone()),
                settings: Set(Value::Object(node.settings.clone())),
                ui: Set(Value::Object(node.ui.clone())),
            });
        workflow_nodes::Entity::insert_many(rows)
            .exec_without_returning(txn)
            .await?;
    }
    for (chunk_index, chunk) in graph.edges.chunks(500).enumerate() {
        let rows = chunk
            .iter()
            .enumerate()
            .map(|(i, edge)| workflow_edges::ActiveModel {
                workflow_id: Set(id),
                position: Set(i32::try_from(chunk_index * 500 + i).unwrap_or(i32::MAX)),
                edge_id: Set(edge.id.clone()),
                source: Set(edge.source.clone()),
                target: Set(edge.target.clone()),
                source_handle: Set(edge.source_handle.clone()),
                target_handle: Set(edge.target_handle.clone()),
                ui: Set(Value::Object(edge.ui.clone())),
            });
        workflow_edges::Entity::insert_many(rows)
            .exec_without_returning(txn)
            .await?;
    }
    Ok(())
}

/// A change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct WorkflowChange {
    /// New title.
    pub title: Option<String>,
    /// New description (`Some(None)` clears it).
    pub description: Option<Option<String>>,
    /// New folder (`Some(None)`: unfiled).
    pub folder_id: Option<Option<Uuid>>,
    /// Disabled.
    pub is_disabled: Option<bool>,
    /// A new graph (nodes, edges and options together): replaces the whole graph and bumps the
    /// version.
    pub graph: Option<Graph>,
}

/// Changes a workflow: `workflow:update` on it; a new graph is checked as on create.
pub async fn update(
    db: &DatabaseConnection,
    engine: &Engine,
    permit: &Permit,
    grants: &Grants,
    id: Uuid,
    change: WorkflowChange,
    now: DateTime<Utc>,
) -> Result<Workflow, Error> {
    let tenant_id = permit.tenant_id();
    permit.require_on(tenant_id, Resource::Workflow, Action::Update, id)?;
    let title = change
        .title
        .as_deref()
        .map(|t| db_entity::title::valid_title("workflowTitle", t))
        .transpose()?;
    let description = change.description.map(valid_description).transpose()?;
    summary(db, tenant_id, id).await?;
    if let Some(graph) = &change.graph {
        check_graph(
            db,
            engine,
            tenant_id,
            permit.subject(),
            grants,
            graph,
            Some(id),
        )
        .await?;
    }
    let txn = db.begin().await?;
    lock_writable_tenant(&txn, tenant_id).await?;
    let (current, _) = summary(&txn, tenant_id, id).await?;
    let mut active = workflows::ActiveModel {
        id: Set(id),
        updated_at: Set(now),
        ..Default::default()
    };
    if let Some(folder) = change.folder_id {
        check_folder(&txn, tenant_id, folder).await?;
        active.folder_id = Set(folder);
    }
    if let Some(title) = title {
        active.title = Set(title);
    }
    if let Some(description) = description {
        active.description = Set(description);
    }
    if let Some(flag) = change.is_disabled {
        active.is_disabled = Set(flag);
    }
    if let Some(graph) = &change.graph {
        active.options = Set(graph.options.clone());
        active.version = Set(i64::try_from(current.version + 1).unwrap_or(i64::MAX));
        write_graph(&txn, id, graph).await?;
    }
    workflows::Entity::update(active).exec(&txn).await?;
    let workflow = get(&txn, tenant_id, id).await?;
    txn.commit().await?;
    Ok(workflow)
}

/// Deletes a workflow (softly: see the module documentation).
pub async fn delete(
    db: &DatabaseConnection,
    permit: &Permit,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let tenant_id = permit.tenant_id();
    permit.require_on(tenant_id, Resource::Workflow, Action::Delete, id)?;
    let txn = db.begin().await?;
    lock_writable_tenant(&txn, tenant_id).await?;
    summary(&txn, tenant_id, id).await?;
    workflows::Entity::update(workflows::ActiveModel {
        id: Set(id),
        updated_at: Set(now),
        deleted_at: Set(Some(now)),
        ..Default::default()
    })
    .exec(&txn)
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Copies a workflow: `workflow:create`, and `read` on the source.
pub async fn clone_workflow(
    db: &DatabaseConnection,
    engine: &Engine,
    permit: &Permit,
    grants: &Grants,
    source_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Workflow, Error> {
    let tenant_id = permit.tenant_id();
    permit.require(tenant_id, Resource::Workflow, Action::Create)?;
    let source = get(db, tenant_id, source_id).await?;
    rbac::authorize_read(
        tenant_id,
        permit.subject(),
        grants,
        &source.summary.target(),
    )?;
    let title =
        db_entity::title::valid_title("workflowTitle", &format!("{} (copy)", source.summary.title))
            .unwrap_or_else(|_| source.summary.title.clone());
    let new = NewWorkflow {
        title,
        description: source.summary.description,
        folder_id: source.summary.folder_id,
        graph: source.graph,
    };
    create(db, engine, permit, grants, new, now).await
}
