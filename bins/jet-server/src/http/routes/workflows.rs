//! `/api/v1/tenants/{tenantID}/workflows`: saved workflows (graphs of nodes and edges, with
//! options), their export and import, and the node types' configuration schemas.
//!
//! Saving (create, update, clone, import) checks the whole graph and answers every problem at
//! once (400 `VALIDATION_ERROR` with `issues[{nodeID, edge, field, message}]`); it also needs
//! `dataquery:execute` on every data query its `dataQuery` nodes run and `workflow:execute` on
//! every workflow its `subWorkflow` nodes start, since runs execute them as the workflow.
//! Runs are in [`super::workflow_runs`].

use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use rbac::{Action, Resource};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use workflows::definitions::{self, NewWorkflow, Workflow, WorkflowChange, WorkflowSummary};
use workflows::graph::{Graph, GraphEdge, GraphNode};

use crate::http::access::{Access, TenantRule};
use crate::http::envelope::{created, ok};
use crate::http::error::{ApiError, ErrorCode};
use crate::http::json::nullable;
use crate::http::pagination::Paging;
use crate::http::route::Route;
use crate::http::tenant_member::{TenantBody, TenantMember, query};
use crate::state::AppState;

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    const ALL: &str = "/api/v1/tenants/{tenantID}/workflows";
    const ONE: &str = "/api/v1/tenants/{tenantID}/workflows/{workflowID}";
    let reads = |action| TenantRule::reads(Resource::Workflow, action);
    let writes = |action| TenantRule::writes(Resource::Workflow, action);
    let saves = [ErrorCode::ValidationError, ErrorCode::Conflict];
    vec![
        Route::get(ALL, Access::Tenant(reads(Action::List)), list)
            .doc(
                "listWorkflows",
                "Workflows",
                "The tenant's workflows, by title",
            )
            .describe("`search` looks in titles and descriptions; `folderID` keeps one folder's.")
            .query::<WorkflowListQuery>()
            .page::<WorkflowSummaryView>(),
        Route::post(ALL, Access::Tenant(writes(Action::Create)), create)
            .doc("createWorkflow", "Workflows", "Saves a new workflow")
            .describe(
                "The graph is checked as a run would start it; every problem is answered at \
                 once in `issues`.",
            )
            .body::<CreateWorkflow>()
            .created::<WorkflowView>()
            .errors(&saves),
        Route::get(
            "/api/v1/tenants/{tenantID}/workflows/schemas",
            Access::Tenant(reads(Action::List)),
            schemas,
        )
        .doc(
            "listWorkflowNodeSchemas",
            "Workflows",
            "Every node type's configuration as a JSON Schema, with its handles",
        )
        .query::<SchemaQuery>()
        .ok::<NodeSchemas>(),
        Route::post(
            "/api/v1/tenants/{tenantID}/workflows/import",
            Access::Tenant(writes(Action::Create)),
            import,
        )
        .doc(
            "importWorkflow",
            "Workflows",
            "Creates a workflow from an export bundle",
        )
        .body::<ImportWorkflow>()
        .created::<WorkflowView>()
        .errors(&saves),
        Route::get(
            ONE,
            Access::Tenant(reads(Action::Read).on_object("workflowID")),
            read,
        )
        .doc("getWorkflow", "Workflows", "One workflow with its graph")
        .ok::<WorkflowView>(),
        Route::patch(
            ONE,
            Access::Tenant(writes(Action::Update).on_object("workflowID")),
            update,
        )
        .doc(
            "updateWorkflow",
            "Workflows",
            "Changes a workflow; `nodes` and `edges` (sent together) replace the whole graph",
        )
        .describe(
            "A new graph is checked like a new workflow's and bumps `version`; runs in flight \
             keep the version they started with.",
        )
        .body::<UpdateWorkflow>()
        .ok::<WorkflowView>()
        .errors(&saves),
        Route::delete(
            ONE,
            Access::Tenant(writes(Action::Delete).on_object("workflowID")),
            delete,
        )
        .doc(
            "deleteWorkflow",
            "Workflows",
            "Deletes a workflow; its runs in flight finish",
        )
        .ok::<WorkflowDeleted>(),
        Route::post(
            "/api/v1/tenants/{tenantID}/workflows/{workflowID}/clone",
            Access::Tenant(writes(Action::Create).from_source("workflowID")),
            clone,
        )
        .doc("cloneWorkflow", "Workflows", "A copy of a workflow")
        .created::<WorkflowView>()
        .errors(&saves),
        Route::get(
            "/api/v1/tenants/{tenantID}/workflows/{workflowID}/export",
            Access::Tenant(reads(Action::Export).on_object("workflowID")),
            export,
        )
        .doc(
            "exportWorkflow",
            "Workflows",
            "The workflow as a bundle to import elsewhere",
        )
        .ok::<WorkflowBundle>(),
    ]
}

/// A workflow in a list (without its graph).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowSummaryView {
    #[serde(rename = "workflowID")]
    workflow_id: Uuid,
    #[serde(rename = "tenantID")]
    tenant_id: Uuid,
    #[serde(rename = "folderID")]
    folder_id: Option<Uuid>,
    workflow_title: String,
    workflow_description: Option<String>,
    is_disabled: bool,
    /// Saves of the graph so far; each run records the version it executes.
    version: u64,
    #[serde(rename = "creatorID")]
    creator_id: Option<Uuid>,
    #[serde(rename = "createdByApiKeyID")]
    created_by_api_key_id: Option<Uuid>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<WorkflowSummary> for WorkflowSummaryView {
    fn from(w: WorkflowSummary) -> Self {
        let (creator_id, created_by_api_key_id) = w
            .creator
            .map(rbac::Subject::creator_columns)
            .unwrap_or_default();
        WorkflowSummaryView {
            workflow_id: w.id,
            tenant_id: w.tenant_id,
            folder_id: w.folder_id,
            workflow_title: w.title,
            workflow_description: w.description,
            is_disabled: w.is_disabled,
            version: w.version,
            creator_id,
            created_by_api_key_id,
            created_at: w.created_at,
            updated_at: w.updated_at,
        }
    }
}

/// A workflow with its graph.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowView {
    #[serde(flatten)]
    summary: WorkflowSummaryView,
    /// `{id, type, data, timeoutSeconds?, retry?, errorHandling?, joinMode?, …editor fields}`.
    #[schema(value_type = Vec<Object>)]
    nodes: Vec<Value>,
    /// `{id?, source, target, sourceHandle?, targetHandle?, …editor fields}`.
    #[schema(value_type = Vec<Object>)]
    edges: Vec<Value>,
    /// `inputDefinitions`, `nodeDefaults`.
    #[schema(value_type = Object)]
    workflow_options: Value,
}

impl From<Workflow> for WorkflowView {
    fn from(w: Workflow) -> Self {
        WorkflowView {
            nodes: w.graph.nodes.iter().map(GraphNode::to_json).collect(),
            edges: w.graph.edges.iter().map(GraphEdge::to_json).collect(),
            workflow_options: w.graph.options,
            summary: w.summary.into(),
        }
    }
}

/// `GET …/workflows` query.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WorkflowListQuery {
    /// The page, from 1.
    #[param(minimum = 1, maximum = 1000000)]
    page: Option<u64>,
    /// Items per page (default 50).
    #[param(minimum = 1, maximum = 200)]
    page_size: Option<u64>,
    /// Only workflows whose title or description contains this, ignoring case.
    search: Option<String>,
    /// Only the workflows filed in this folder.
    #[serde(rename = "folderID")]
    #[param(rename = "folderID")]
    folder_id: Option<Uuid>,
}

/// `GET …/workflows` (`workflow:list`).
pub async fn list(
    member: TenantMember,
    state: Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let q: WorkflowListQuery = query(&req)?;
    let paging = Paging::new(q.page, q.page_size)?;
    let search = q
        .search
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty());
    let found = definitions::list(
        &state.db,
        member.tenant_id(),
        search.as_deref(),
        q.folder_id,
    )
    .await?;
    let views: Vec<WorkflowSummaryView> = found.into_iter().map(Into::into).collect();
    Ok(paging.respond_all(views))
}

/// Reads a graph the client sent, with the server's limits.
pub fn parse_graph(
    state: &AppState,
    nodes: Vec<Value>,
    edges: Vec<Value>,
    options: Option<Value>,
) -> Result<Graph, ApiError> {
    Graph::parse(nodes, edges, options, state.workflows.limits())
        .map_err(|issues| workflows::Error::InvalidGraph(issues).into())
}

/// `POST …/workflows` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"workflowTitle": "Add two numbers",
    "nodes": [{"id": "start", "type": "start", "position": {"x": 0, "y": 0}},
              {"id": "add", "type": "javascript", "data": {"code": "return {sum: ctx.input.a + ctx.input.b};"}},
              {"id": "end", "type": "end", "data": {"outputParameters": [{"name": "sum", "sourceVariable": "{{ctx.jsResult.sum}}"}]}}],
    "edges": [{"source": "start", "target": "add"}, {"source": "add", "target": "end", "sourceHandle": "success"}],
    "workflowOptions": {"inputDefinitions": [{"name": "a", "type": "number", "default": 1}, {"name": "b", "type": "number", "default": 2}]}}))]
pub struct CreateWorkflow {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"[^\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    workflow_title: String,
    #[serde(default)]
    #[schema(max_length = 2000)]
    workflow_description: Option<String>,
    #[serde(rename = "folderID", default)]
    folder_id: Option<Uuid>,
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    nodes: Vec<Value>,
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    edges: Vec<Value>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    workflow_options: Option<Value>,
}

/// `POST …/workflows` (`workflow:create`).
pub async fn create(
    request: TenantBody<CreateWorkflow>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let TenantBody { member, body } = request;
    let graph = parse_graph(&state, body.nodes, body.edges, body.workflow_options)?;
    let new = NewWorkflow {
        title: body.workflow_title,
        description: body.workflow_description,
        folder_id: body.folder_id,
        graph,
    };
    save_new(&state, &member, new).await
}

/// Saves `new` as `member` (create and import): 201 with the saved workflow.
async fn save_new(
    state: &AppState,
    member: &TenantMember,
    new: NewWorkflow,
) -> Result<HttpResponse, ApiError> {
    let made = definitions::create(
        &state.db,
        state.workflows.engine(),
        member.permit()?,
        &member.grants,
        new,
        Utc::now(),
    )
    .await?;
    Ok(created(WorkflowView::from(made)))
}

/// `GET …/workflows/{workflowID}` (`workflow:read`).
pub async fn read(member: TenantMember, state: Data<AppState>) -> Result<HttpResponse, ApiError> {
    let found = definitions::get(&state.db, member.tenant_id(), member.object_id()?).await?;
    Ok(ok(WorkflowView::from(found)))
}

/// `PATCH …/workflows/{workflowID}` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateWorkflow {
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"[^\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    workflow_title: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(max_length = 2000)]
    workflow_description: Option<Option<String>>,
    #[serde(rename = "folderID", default, deserialize_with = "nullable")]
    folder_id: Option<Option<Uuid>>,
    #[serde(default)]
    is_disabled: Option<bool>,
    /// With `edges`: the whole new graph.
    #[serde(default)]
    #[schema(value_type = Option<Vec<Object>>)]
    nodes: Option<Vec<Value>>,
    /// With `nodes`.
    #[serde(default)]
    #[schema(value_type = Option<Vec<Object>>)]
    edges: Option<Vec<Value>>,
    /// Replaces the options (with the graph, or alone).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    workflow_options: Option<Value>,
}

/// `PATCH …/workflows/{workflowID}` (`workflow:update`).
pub async fn update(
    request: TenantBody<UpdateWorkflow>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let TenantBody { member, body } = request;
    let id = member.object_id()?;
    let graph = match (body.nodes, body.edges, body.workflow_options) {
        (None, None, None) => None,
        (Some(nodes), Some(edges), options) => Some(parse_graph(&state, nodes, edges, options)?),
        (None, None, Some(options)) => {
            // New options on the current graph: checked and versioned like a new graph.
            let current = definitions::get(&state.db, member.tenant_id(), id).await?;
            let nodes = current.graph.nodes.iter().map(GraphNode::to_json).collect();
            let edges = current.graph.edges.iter().map(GraphEdge::to_json).collect();
            Some(parse_graph(&state, nodes, edges, Some(options))?)
        }
        _ => {
            return Err(ApiError::new(
                ErrorCode::ValidationError,
                "nodes and edges replace the graph together: send both",
            )
            .with_detail("field", "nodes"));
        }
    };
    let change = WorkflowChange {
        title: body.workflow_title,
        description: body.workflow_description,
        folder_id: body.folder_id,
        is_disabled: body.is_disabled,
        graph,
    };
    let changed = definitions::update(
        &state.db,
        state.workflows.engine(),
        member.permit()?,
        &member.grants,
        id,
        change,
        Utc::now(),
    )
    .await?;
    Ok(ok(WorkflowView::from(changed)))
}

/// The answer to a deletion.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkflowDeleted {
    #[serde(rename = "workflowID")]
    workflow_id: Uuid,
    deleted: bool,
}

/// `DELETE …/workflows/{workflowID}` (`workflow:delete`).
pub async fn delete(member: TenantMember, state: Data<AppState>) -> Result<HttpResponse, ApiError> {
    let id = member.object_id()?;
    definitions::delete(&state.db, member.permit()?, id, Utc::now()).await?;
    Ok(ok(WorkflowDeleted {
        workflow_id: id,
        deleted: true,
    }))
}

/// `POST …/workflows/{workflowID}/clone` (`workflow:create`, and `read` on the source).
pub async fn clone(member: TenantMember, state: Data<AppState>) -> Result<HttpResponse, ApiError> {
    let copy = definitions::clone_workflow(
        &state.db,
        state.workflows.engine(),
        member.permit()?,
        &member.grants,
        member.object_id()?,
        Utc::now(),
    )
    .await?;
    Ok(created(WorkflowView::from(copy)))
}

/// An export bundle.
#[derive(Debug, Serialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = Object)]
pub struct WorkflowBundle(Value);

/// `GET …/workflows/{workflowID}/export` (`workflow:export`).
pub async fn export(member: TenantMember, state: Data<AppState>) -> Result<HttpResponse, ApiError> {
    let found = definitions::get(&state.db, member.tenant_id(), member.object_id()?).await?;
    Ok(ok(WorkflowBundle(found.export())))
}

/// `POST …/workflows/import` body: an export bundle, optionally filed in a folder.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImportWorkflow {
    /// `1`.
    #[schema(minimum = 1, maximum = 1)]
    format_version: u32,
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"[^\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    workflow_title: String,
    #[serde(default)]
    #[schema(max_length = 2000)]
    workflow_description: Option<String>,
    #[serde(rename = "folderID", default)]
    folder_id: Option<Uuid>,
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    nodes: Vec<Value>,
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    edges: Vec<Value>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    workflow_options: Option<Value>,
}

/// `POST …/workflows/import` (`workflow:create`).
pub async fn import(
    request: TenantBody<ImportWorkflow>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let TenantBody { member, body } = request;
    if body.format_version != definitions::EXPORT_FORMAT {
        return Err(ApiError::new(
            ErrorCode::ValidationError,
            format!(
                "formatVersion: this server reads bundles of format {}",
                definitions::EXPORT_FORMAT
            ),
        )
        .with_detail("field", "formatVersion"));
    }
    let graph = parse_graph(&state, body.nodes, body.edges, body.workflow_options)?;
    let new = NewWorkflow {
        title: body.workflow_title,
        description: body.workflow_description,
        folder_id: body.folder_id,
        graph,
    };
    save_new(&state, &member, new).await
}

/// `GET …/workflows/schemas` query.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SchemaQuery {
    /// Only this node type (an unknown one: an empty list).
    #[param(max_length = 64)]
    node_type: Option<String>,
}

/// `{nodeTypes: [{nodeType, description, handles, configSchema}], nodeSettingsSchema}`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = Object)]
pub struct NodeSchemas(Value);

/// `GET …/workflows/schemas` (`workflow:list`).
pub async fn schemas(
    _member: TenantMember,
    state: Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let q: SchemaQuery = query(&req)?;
    if q.node_type.as_ref().is_some_and(|t| t.chars().count() > 64) {
        return Err(ApiError::new(
            ErrorCode::ValidationError,
            "nodeType: must be at most 64 characters",
        )
        .with_detail("field", "nodeType"));
    }
    let registered = state.workflows.engine().node_types();
    let types: Vec<Value> = workflows::schemas::node_schemas()
        .into_iter()
        .filter(|(node_type, ..)| registered.contains(node_type))
        .filter(|(node_type, ..)| {
            q.node_type
                .as_deref()
                .is_none_or(|wanted| wanted == *node_type)
        })
        .map(|(node_type, description, handles, schema)| {
            json!({"nodeType": node_type, "description": description, "handles": handles,
                "configSchema": schema})
        })
        .collect();
    Ok(ok(NodeSchemas(json!({
        "nodeTypes": types,
        "nodeSettingsSchema": workflows::schemas::node_settings_schema(),
    }))))
}
