//! Workflow runs ("instances") over HTTP: start one (`…/{workflowID}/execute`, or an unsaved
//! graph with `…/workflows/test`), list and read them, cancel, restart from the failed node,
//! and answer their data-collection and approval requests.
//!
//! A run belongs to its tenant (the engine namespace is the tenant id) and is governed by its
//! workflow's rights: reading one needs `workflow:read` on its workflow, acting on it
//! `workflow:execute` on its workflow (an asset grant on the workflow covers its runs); a test
//! run of an unsaved graph needs the type-wide permission. A run of another tenant is the same
//! 404 as one that does not exist. Every engine call runs on the main runtime
//! ([`crate::workflow_runtime`]).

use std::time::Duration;

use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use rbac::{Action, Permission, Resource};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use workflow_engine::{CancelOutcome, RunId, RunSnapshot, RunStatus, WorkflowDefinition};
use workflows::instances::{self, Instance, InstanceFilter};

use crate::http::access::{Access, TenantRule};
use crate::http::envelope::{created, ok};
use crate::http::error::{ApiError, ErrorCode};
use crate::http::pagination::Paging;
use crate::http::route::Route;
use crate::http::routes::workflows::parse_graph;
use crate::http::tenant_member::{TenantBody, TenantMember, query};
use crate::state::AppState;

/// Longest `?wait`, in seconds.
const MAX_WAIT_SECS: u64 = 60;

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    const INSTANCE: &str = "/api/v1/tenants/{tenantID}/workflows/instances/{instanceID}";
    const REQUEST: &str =
        "/api/v1/tenants/{tenantID}/workflows/instances/{instanceID}/requests/{requestID}";
    let reads = |action| TenantRule::reads(Resource::Workflow, action);
    let writes = |action| TenantRule::writes(Resource::Workflow, action);
    let run_state = [ErrorCode::Conflict, ErrorCode::ServiceUnavailable];
    vec![
        Route::post(
            "/api/v1/tenants/{tenantID}/workflows/{workflowID}/execute",
            Access::Tenant(writes(Action::Execute).on_object("workflowID")),
            execute,
        )
        .doc("executeWorkflow", "Workflow runs", "Starts a run of a saved workflow")
        .describe(
            "Answers `{instanceID, status}` at once; with `?wait=SECONDS` (at most 60) it waits \
             that long for the run to finish and answers its `output` (or `error`) too. Input \
             values are checked and coerced by the workflow's input definitions.",
        )
        .query::<WaitQuery>()
        .body::<ExecuteBody>()
        .created::<RunStarted>()
        .errors(&[ErrorCode::ValidationError, ErrorCode::Conflict, ErrorCode::ServiceUnavailable]),
        Route::post(
            "/api/v1/tenants/{tenantID}/workflows/test",
            Access::Tenant(writes(Action::Test)),
            test_unsaved,
        )
        .doc(
            "testWorkflow",
            "Workflow runs",
            "Runs a graph that is not saved (a test run)",
        )
        .describe(
            "The graph is checked like a saved one (every problem in `issues`) and travels \
             with the run. Reading, cancelling or answering a test run needs the type-wide \
             permission.",
        )
        .query::<WaitQuery>()
        .body::<TestBody>()
        .created::<RunStarted>()
        .errors(&[ErrorCode::ValidationError, ErrorCode::Conflict, ErrorCode::ServiceUnavailable]),
        Route::get(
            "/api/v1/tenants/{tenantID}/workflows/instances",
            Access::Tenant(reads(Action::List)),
            list,
        )
        .doc("listWorkflowRuns", "Workflow runs", "The tenant's runs, newest first")
        .describe(
            "Filters: `workflowID`, `status`, `from`/`to` (creation time, RFC 3339). Without \
             the type-wide `workflow:read`, `workflowID` is required and `read` on that \
             workflow is needed.",
        )
        .query::<RunListQuery>()
        .page::<RunView>(),
        Route::get(
            INSTANCE,
            Access::Tenant(reads(Action::Read).on_run("instanceID")),
            read,
        )
        .doc(
            "getWorkflowRun",
            "Workflow runs",
            "One run: status, context (without `__` keys), node states, pending requests and the event log",
        )
        .query::<EventsQuery>()
        .ok::<RunDetail>(),
        Route::post(
            "/api/v1/tenants/{tenantID}/workflows/instances/{instanceID}/cancel",
            Access::Tenant(writes(Action::Execute).on_run("instanceID")),
            cancel,
        )
        .doc("cancelWorkflowRun", "Workflow runs", "Cancels a run")
        .describe("A finished run is left as it is: the answer says so (`outcome`).")
        .body::<CancelBody>()
        .ok::<RunCancelled>()
        .errors(&run_state),
        Route::post(
            "/api/v1/tenants/{tenantID}/workflows/instances/{instanceID}/restart",
            Access::Tenant(writes(Action::Execute).on_run("instanceID")),
            restart,
        )
        .doc(
            "restartWorkflowRun",
            "Workflow runs",
            "Restarts a failed run from the node that failed",
        )
        .describe("What completed before the failure is kept; 409 for a run that did not fail.")
        .ok::<RunView>()
        .errors(&run_state),
        Route::get(
            REQUEST,
            Access::Tenant(reads(Action::Read).on_run("instanceID")),
            read_request,
        )
        .doc(
            "getWorkflowRunRequest",
            "Workflow runs",
            "A pending data-collection or approval request of a run",
        )
        .ok::<RunRequest>(),
        Route::post(
            "/api/v1/tenants/{tenantID}/workflows/instances/{instanceID}/requests/{requestID}/submit",
            Access::Tenant(writes(Action::Execute).on_run("instanceID")),
            submit,
        )
        .doc(
            "submitWorkflowRunRequest",
            "Workflow runs",
            "Answers a pending request; the run resumes with the data",
        )
        .describe(
            "A data-collection request takes the form's data (its `formSchema`'s required \
             fields must be present); an approval `{decision: approve|reject, comment?}`.",
        )
        .body::<SubmitBody>()
        .ok::<RunView>()
        .errors(&run_state),
        Route::post(
            "/api/v1/tenants/{tenantID}/workflows/instances/{instanceID}/requests/{requestID}/decide",
            Access::Tenant(writes(Action::Execute).on_run("instanceID")),
            decide,
        )
        .doc(
            "decideWorkflowRunApproval",
            "Workflow runs",
            "Approves or rejects a pending approval request",
        )
        .body::<DecideBody>()
        .ok::<RunView>()
        .errors(&[ErrorCode::ValidationError, ErrorCode::Conflict, ErrorCode::ServiceUnavailable]),
    ]
}

/// `?wait=SECONDS`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WaitQuery {
    /// Wait up to this many seconds for the run to finish and answer its output.
    #[param(minimum = 0, maximum = 60)]
    wait: Option<u64>,
}

impl WaitQuery {
    /// The wait, checked.
    pub fn duration(&self) -> Result<Option<Duration>, ApiError> {
        match self.wait {
            None | Some(0) => Ok(None),
            Some(secs) if secs <= MAX_WAIT_SECS => Ok(Some(Duration::from_secs(secs))),
            Some(_) => Err(ApiError::new(
                ErrorCode::ValidationError,
                format!("wait: must be 0 to {MAX_WAIT_SECS} seconds"),
            )
            .with_detail("field", "wait")),
        }
    }
}

/// `POST …/execute` body.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExecuteBody {
    /// Values for the workflow's input definitions, by name.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    input_values: Option<Map<String, Value>>,
}

/// A started run; with `?wait`, how it ended if it ended in time.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunStarted {
    #[serde(rename = "instanceID")]
    instance_id: Uuid,
    #[schema(value_type = String)]
    status: &'static str,
    /// The run's output, when it finished within `wait`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    output: Option<Value>,
    /// Why it failed, when it failed within `wait`.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// Starts a run of `definition` in the tenant.
async fn start(
    state: &AppState,
    tenant_id: Uuid,
    definition: WorkflowDefinition,
    input: Map<String, Value>,
) -> Result<RunId, ApiError> {
    Ok(start_as(state, tenant_id, definition, input, RunId::new())
        .await?
        .map_err(workflows::Error::from)?)
}

/// Starts `definition` in the tenant as run `run_id`, answering the engine's own outcome
/// (`RunExists` when a run has that id: the caller decides what a repeated start means).
pub async fn start_as(
    state: &AppState,
    tenant_id: Uuid,
    definition: WorkflowDefinition,
    input: Map<String, Value>,
    run_id: RunId,
) -> Result<Result<RunId, workflow_engine::Error>, ApiError> {
    let namespace = tenant_id.to_string();
    state
        .workflows
        .call(move |engine| async move {
            engine
                .start_as(run_id, &namespace, definition, Value::Object(input))
                .await
        })
        .await
}

/// The tenant's saved workflow `workflow_id`, ready to run (a disabled one is refused).
pub async fn runnable(
    state: &AppState,
    tenant_id: Uuid,
    workflow_id: Uuid,
) -> Result<WorkflowDefinition, ApiError> {
    let workflow = workflows::definitions::get(&state.db, tenant_id, workflow_id).await?;
    if workflow.summary.is_disabled {
        return Err(workflows::Error::Disabled.into());
    }
    Ok(workflow.definition()?)
}

/// Starts a run of the tenant's saved workflow `workflow_id` (a disabled one is refused); the
/// caller has checked `workflow:execute` on it. Also the realtime socket's `run` message.
pub async fn start_saved(
    state: &AppState,
    tenant_id: Uuid,
    workflow_id: Uuid,
    input: Map<String, Value>,
) -> Result<RunId, ApiError> {
    let definition = runnable(state, tenant_id, workflow_id).await?;
    start(state, tenant_id, definition, input).await
}

/// Run `run` as started, or with `wait`, how it ended if it ended in time.
pub async fn run_outcome(
    state: &AppState,
    tenant_id: Uuid,
    run: RunId,
    wait: Option<Duration>,
) -> Result<RunStarted, ApiError> {
    let mut started = RunStarted {
        instance_id: run.0,
        status: RunStatus::Pending.as_str(),
        output: None,
        error: None,
    };
    if let Some(wait) = wait {
        let namespace = tenant_id.to_string();
        let finished = state
            .workflows
            .call(move |engine| async move { engine.wait_timeout(&namespace, run, wait).await })
            .await?
            .map_err(workflows::Error::from)?;
        if let Some(snapshot) = finished {
            started.status = snapshot.status.as_str();
            started.output = Some(snapshot.output);
            started.error = snapshot.error;
        } else {
            started.status = RunStatus::Running.as_str();
        }
    }
    Ok(started)
}

async fn start_run(
    state: &AppState,
    tenant_id: Uuid,
    run: RunId,
    wait: Option<Duration>,
) -> Result<HttpResponse, ApiError> {
    Ok(created(run_outcome(state, tenant_id, run, wait).await?))
}

/// `POST …/workflows/{workflowID}/execute` (`workflow:execute` on it).
pub async fn execute(
    request: TenantBody<ExecuteBody>,
    state: Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let TenantBody { member, body } = request;
    let wait = query::<WaitQuery>(&req)?.duration()?;
    let input = body.input_values.unwrap_or_default();
    let run = start_saved(&state, member.tenant_id(), member.object_id()?, input).await?;
    start_run(&state, member.tenant_id(), run, wait).await
}

/// `POST …/workflows/test` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({
    "nodes": [{"id": "start", "type": "start"},
              {"id": "wait", "type": "delay", "data": {"delayType": "fixed", "delayMs": 10}},
              {"id": "end", "type": "end", "data": {"outputParameters": [{"name": "echo", "sourceVariable": "{{ctx.input.word}}"}]}}],
    "edges": [{"source": "start", "target": "wait"}, {"source": "wait", "target": "end"}],
    "inputValues": {"word": "hello"}}))]
pub struct TestBody {
    /// The nodes, as a saved workflow's.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    nodes: Vec<Value>,
    /// The edges.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    edges: Vec<Value>,
    /// `inputDefinitions`, `nodeDefaults`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    workflow_options: Option<Value>,
    /// Input values.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    input_values: Option<Map<String, Value>>,
}

/// `POST …/workflows/test` (`workflow:test`, and `execute` on what the graph references).
pub async fn test_unsaved(
    request: TenantBody<TestBody>,
    state: Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let TenantBody { member, body } = request;
    let wait = query::<WaitQuery>(&req)?.duration()?;
    let graph = parse_graph(&state, body.nodes, body.edges, body.workflow_options)?;
    let definition = workflows::definitions::check_graph(
        &state.db,
        state.workflows.engine(),
        member.tenant_id(),
        member.subject(),
        &member.grants,
        &graph,
        None,
    )
    .await?;
    let input = body.input_values.unwrap_or_default();
    let run = start(&state, member.tenant_id(), definition, input).await?;
    start_run(&state, member.tenant_id(), run, wait).await
}

/// A run in a list.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunView {
    #[serde(rename = "instanceID")]
    instance_id: Uuid,
    /// `None` for a test run of an unsaved graph.
    #[serde(rename = "workflowID")]
    workflow_id: Option<Uuid>,
    /// The version of the workflow the run executes.
    workflow_version: Option<u64>,
    is_test: bool,
    #[schema(value_type = String)]
    status: &'static str,
    /// The run whose `subWorkflow` node started this one.
    #[serde(rename = "parentInstanceID")]
    parent_instance_id: Option<Uuid>,
    started_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<Instance> for RunView {
    fn from(i: Instance) -> Self {
        RunView {
            instance_id: i.id.0,
            workflow_id: i.workflow_id,
            workflow_version: i.workflow_version,
            is_test: i.workflow_id.is_none(),
            status: i.status.as_str(),
            parent_instance_id: i.parent.map(|p| p.0),
            started_at: i.created_at,
            updated_at: i.updated_at,
        }
    }
}

/// A run status as the API names it.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunStatusName {
    /// Created, not yet started.
    Pending,
    /// Started.
    Running,
    /// Finished without failure.
    Completed,
    /// Failed.
    Failed,
    /// Cancelled.
    Cancelled,
}

impl RunStatusName {
    fn status(self) -> RunStatus {
        match self {
            RunStatusName::Pending => RunStatus::Pending,
            RunStatusName::Running => RunStatus::Running,
            RunStatusName::Completed => RunStatus::Completed,
            RunStatusName::Failed => RunStatus::Failed,
            RunStatusName::Cancelled => RunStatus::Cancelled,
        }
    }
}

/// `GET …/workflows/instances` query.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RunListQuery {
    /// The page, from 1.
    #[param(minimum = 1, maximum = 1000000)]
    page: Option<u64>,
    /// Items per page (default 50).
    #[param(minimum = 1, maximum = 200)]
    page_size: Option<u64>,
    /// Only this workflow's runs.
    #[serde(rename = "workflowID")]
    #[param(rename = "workflowID")]
    workflow_id: Option<Uuid>,
    /// Only runs in this status.
    #[param(inline)]
    status: Option<RunStatusName>,
    /// Only runs started at or after this time.
    from: Option<DateTime<Utc>>,
    /// Only runs started before this time.
    to: Option<DateTime<Utc>>,
}

/// `GET …/workflows/instances` (`workflow:list`, and `read` on the listed workflows).
pub async fn list(
    member: TenantMember,
    state: Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let q: RunListQuery = query(&req)?;
    let paging = Paging::new(q.page, q.page_size)?;
    let status = q.status.map(RunStatusName::status);
    let tenant_id = member.tenant_id();
    let read = Permission {
        resource: Resource::Workflow,
        action: Action::Read,
    };
    if !member.grants.holds(read) {
        // Only runs of a workflow the caller may read.
        let Some(workflow_id) = q.workflow_id else {
            return Err(rbac::Denied { required: read }.into());
        };
        let (workflow, _) = workflows::definitions::summary(&state.db, tenant_id, workflow_id)
            .await
            .map_err(|_| ApiError::from(rbac::Denied { required: read }))?;
        rbac::authorize_read(
            tenant_id,
            member.subject(),
            &member.grants,
            &workflow.target(),
        )?;
    }
    let filter = InstanceFilter {
        workflow_id: q.workflow_id,
        status,
        from: q.from,
        to: q.to,
    };
    let offset = (paging.page - 1).saturating_mul(paging.page_size);
    let (found, total) =
        instances::list(&state.db, tenant_id, &filter, offset, paging.page_size).await?;
    let views: Vec<RunView> = found.into_iter().map(RunView::from).collect();
    Ok(paging.respond(views, total))
}

/// `GET …/instances/{instanceID}` query.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Only events after this sequence number (to follow a run).
    #[param(minimum = 0)]
    after_seq: Option<u64>,
}

/// One run in full.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunDetail {
    #[serde(flatten)]
    run: RunView,
    /// The run's context, without the engine's `__` keys.
    #[schema(value_type = Object)]
    context: Value,
    /// The run's output (its `end` node's parameters).
    #[schema(value_type = Object)]
    output: Value,
    /// Why it failed.
    error: Option<String>,
    /// Each node's state: status, activations, attempts, last output.
    #[schema(value_type = Vec<Object>)]
    nodes: Value,
    /// Data-collection and approval requests waiting for an answer.
    #[schema(value_type = Vec<Object>)]
    pending_requests: Value,
    /// The event log, in sequence (`seq` 1, 2, …; `afterSeq` skips the first ones).
    #[schema(value_type = Vec<Object>)]
    events: Value,
}

/// `value` without the top-level keys that start with `__` (the engine's own bookkeeping).
fn public_context(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(key, _)| !key.starts_with("__"))
                .collect(),
        ),
        other => other,
    }
}

fn pending_json(snapshot: &RunSnapshot) -> Value {
    Value::Array(
        snapshot
            .pending
            .iter()
            .map(|request| {
                json!({"requestID": request.request_id, "nodeID": request.node,
                    "activation": request.activation, "kind": request.suspension.kind,
                    "payload": request.suspension.payload,
                    "expiresAt": request.suspension.expires_at})
            })
            .collect(),
    )
}

async fn snapshot(state: &AppState, tenant_id: Uuid, run: RunId) -> Result<RunSnapshot, ApiError> {
    let namespace = tenant_id.to_string();
    Ok(state
        .workflows
        .call(move |engine| async move { engine.snapshot(&namespace, run).await })
        .await?
        .map_err(workflows::Error::from)?)
}

/// `GET …/workflows/instances/{instanceID}` (`workflow:read` on its workflow).
pub async fn read(
    member: TenantMember,
    state: Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let q: EventsQuery = query(&req)?;
    if q.after_seq.is_some_and(|seq| i64::try_from(seq).is_err()) {
        return Err(ApiError::new(
            ErrorCode::ValidationError,
            format!("afterSeq: must be 0 to {}", i64::MAX),
        )
        .with_detail("field", "afterSeq"));
    }
    let tenant_id = member.tenant_id();
    let run = RunId(member.object_id()?);
    let instance = instances::find(&state.db, tenant_id, run).await?;
    let namespace = tenant_id.to_string();
    let (snapshot, events) = state
        .workflows
        .call(move |engine| async move {
            let snapshot = engine.snapshot(&namespace, run).await?;
            let events = engine.events(&namespace, run).await?;
            Ok::<_, workflow_engine::Error>((snapshot, events))
        })
        .await?
        .map_err(workflows::Error::from)?;
    let after = q.after_seq.unwrap_or(0);
    let events: Vec<&workflow_engine::Event> =
        events.iter().filter(|event| event.seq() > after).collect();
    let mut view = RunView::from(instance);
    view.status = snapshot.status.as_str();
    Ok(ok(RunDetail {
        run: view,
        pending_requests: pending_json(&snapshot),
        nodes: serde_json::to_value(&snapshot.nodes).unwrap_or_default(),
        events: serde_json::to_value(&events).unwrap_or_default(),
        context: public_context(snapshot.context),
        output: snapshot.output,
        error: snapshot.error,
    }))
}

/// `POST …/cancel` body.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CancelBody {
    /// Recorded with the cancellation.
    #[serde(default)]
    #[schema(max_length = 500)]
    reason: Option<String>,
}

/// What a cancel did.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunCancelled {
    #[serde(rename = "instanceID")]
    instance_id: Uuid,
    /// `cancelled`, `alreadyCancelled` or `alreadyFinished`.
    #[schema(value_type = String)]
    outcome: &'static str,
    #[schema(value_type = String)]
    status: &'static str,
}

/// `POST …/instances/{instanceID}/cancel` (`workflow:execute` on its workflow).
pub async fn cancel(
    request: TenantBody<CancelBody>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let TenantBody { member, body } = request;
    if body
        .reason
        .as_ref()
        .is_some_and(|r| r.chars().count() > 500)
    {
        return Err(ApiError::new(
            ErrorCode::ValidationError,
            "reason: must be at most 500 characters",
        )
        .with_detail("field", "reason"));
    }
    let run = RunId(member.object_id()?);
    let namespace = member.tenant_id().to_string();
    let outcome = state
        .workflows
        .call(move |engine| async move { engine.cancel(&namespace, run, body.reason).await })
        .await?
        .map_err(workflows::Error::from)?;
    let (outcome, status) = match outcome {
        CancelOutcome::Cancelled => ("cancelled", RunStatus::Cancelled),
        CancelOutcome::AlreadyCancelled => ("alreadyCancelled", RunStatus::Cancelled),
        CancelOutcome::AlreadyFinished { status } => ("alreadyFinished", status),
        other => {
            // A newer engine's outcome this route does not know: say so rather than guess.
            tracing::error!(?other, "an unknown cancel outcome");
            return Err(ApiError::server_error());
        }
    };
    Ok(ok(RunCancelled {
        instance_id: run.0,
        outcome,
        status: status.as_str(),
    }))
}

async fn view_after(
    state: &AppState,
    tenant_id: Uuid,
    run: RunId,
) -> Result<HttpResponse, ApiError> {
    let instance = instances::find(&state.db, tenant_id, run).await?;
    Ok(ok(RunView::from(instance)))
}

/// `POST …/instances/{instanceID}/restart` (`workflow:execute` on its workflow).
pub async fn restart(
    member: TenantMember,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let run = RunId(member.object_id()?);
    let namespace = member.tenant_id().to_string();
    state
        .workflows
        .call(move |engine| async move { engine.restart(&namespace, run).await })
        .await?
        .map_err(workflows::Error::from)?;
    view_after(&state, member.tenant_id(), run).await
}

/// A pending request.
#[derive(Debug, Serialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = Object)]
pub struct RunRequest(Value);

/// The request id in the path (not a UUID: `{instanceID}:{nodeID}:{activation}`).
fn request_id(req: &HttpRequest) -> Result<String, ApiError> {
    req.match_info()
        .get("requestID")
        .map(str::to_string)
        .ok_or_else(ApiError::not_found)
}

/// The run's pending request `id`, or 404.
async fn pending_request(
    state: &AppState,
    tenant_id: Uuid,
    run: RunId,
    id: &str,
) -> Result<Value, ApiError> {
    let snapshot = snapshot(state, tenant_id, run).await?;
    let pending = pending_json(&snapshot);
    pending
        .as_array()
        .and_then(|all| all.iter().find(|r| r["requestID"] == id))
        .cloned()
        .map(|mut request| {
            request["instanceID"] = json!(run.0);
            request
        })
        .ok_or_else(ApiError::not_found)
}

/// `GET …/instances/{instanceID}/requests/{requestID}` (`workflow:read` on its workflow).
pub async fn read_request(
    member: TenantMember,
    state: Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let run = RunId(member.object_id()?);
    let request = pending_request(&state, member.tenant_id(), run, &request_id(&req)?).await?;
    Ok(ok(RunRequest(request)))
}

/// `POST …/requests/{requestID}/submit` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubmitBody {
    /// The data: the form's fields, or an approval's `{decision, comment}`.
    #[schema(value_type = Object)]
    submitted_data: Map<String, Value>,
}

async fn answer(
    state: &AppState,
    tenant_id: Uuid,
    run: RunId,
    request: String,
    data: Value,
) -> Result<HttpResponse, ApiError> {
    let namespace = tenant_id.to_string();
    state
        .workflows
        .call(move |engine| async move { engine.submit(&namespace, run, &request, data).await })
        .await?
        .map_err(workflows::Error::from)?;
    view_after(state, tenant_id, run).await
}

/// `POST …/requests/{requestID}/submit` (`workflow:execute` on its workflow).
pub async fn submit(
    request: TenantBody<SubmitBody>,
    state: Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let TenantBody { member, body } = request;
    let run = RunId(member.object_id()?);
    answer(
        &state,
        member.tenant_id(),
        run,
        request_id(&req)?,
        Value::Object(body.submitted_data),
    )
    .await
}

/// An approver's answer.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum Decision {
    /// Take the `approved` handle.
    Approve,
    /// Take the `rejected` handle.
    Reject,
}

impl Decision {
    fn as_str(self) -> &'static str {
        match self {
            Decision::Approve => "approve",
            Decision::Reject => "reject",
        }
    }
}

/// `POST …/requests/{requestID}/decide` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DecideBody {
    /// `approve` or `reject`.
    decision: Decision,
    /// Recorded with the decision.
    #[serde(default)]
    #[schema(max_length = 2000)]
    comment: Option<String>,
}

/// `POST …/requests/{requestID}/decide` (`workflow:execute` on its workflow).
pub async fn decide(
    request: TenantBody<DecideBody>,
    state: Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let TenantBody { member, body } = request;
    if body
        .comment
        .as_ref()
        .is_some_and(|c| c.chars().count() > 2000)
    {
        return Err(ApiError::new(
            ErrorCode::ValidationError,
            "comment: must be at most 2000 characters",
        )
        .with_detail("field", "comment"));
    }
    let tenant_id = member.tenant_id();
    let run = RunId(member.object_id()?);
    let id = request_id(&req)?;
    let pending = pending_request(&state, tenant_id, run, &id).await?;
    if pending["kind"] != "approval" {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "this request is not an approval; answer it with …/submit",
        ));
    }
    let mut data = json!({"decision": body.decision.as_str()});
    if let Some(comment) = body.comment {
        data["comment"] = json!(comment);
    }
    answer(&state, tenant_id, run, id, data).await
}
