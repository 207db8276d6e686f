//! The node handler contract. Every node type, built-in or the host's, is a [`NodeHandler`] in
//! the [`crate::Registry`]: it validates its config, names its outgoing handles, and turns a
//! [`NodeInput`] into a [`NodeOutcome`]. Handlers never touch the store: the engine records what
//! they return.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::context::Context;
use crate::graph::CompiledWorkflow;
use crate::host::{DataQueryRunner, HostServices, ScriptRunner, WorkflowSource};
use crate::model::{NodeDefinition, WorkflowDefinition};
use crate::run::{RunId, Timestamp};
use crate::template::{self, TemplateError};
use crate::validate::IssueSink;

/// The handles a node type can leave by: a fixed list, or any name (host types that route
/// dynamically).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handles {
    /// `None`: any name.
    names: Option<Vec<String>>,
    /// Handles that carry a loop's iterations (built-in `loop` only): taking another handle
    /// sends no skip signal down them.
    iteration: Vec<String>,
}

impl Handles {
    /// Exactly these.
    pub fn of(names: &[&str]) -> Self {
        Handles::list(names.iter().map(|s| s.to_string()).collect())
    }

    /// Exactly these (owned names).
    pub fn list(names: Vec<String>) -> Self {
        Handles {
            names: Some(names),
            iteration: Vec::new(),
        }
    }

    /// Any name.
    pub fn any() -> Self {
        Handles {
            names: None,
            iteration: Vec::new(),
        }
    }

    /// None: the node ends its path (`end`).
    pub fn none() -> Self {
        Handles::list(Vec::new())
    }

    /// Marks `handle` as carrying loop iterations.
    pub(crate) fn with_iteration(mut self, handle: &str) -> Self {
        self.iteration.push(handle.to_string());
        self
    }

    /// Whether `handle` is one of them.
    pub fn contains(&self, handle: &str) -> bool {
        match &self.names {
            Some(names) => names.iter().any(|n| n == handle),
            None => true,
        }
    }

    /// Whether `handle` carries loop iterations.
    pub(crate) fn is_iteration(&self, handle: &str) -> bool {
        self.iteration.iter().any(|h| h == handle)
    }
}

/// Why a handler failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
#[serde(rename_all = "camelCase")]
pub struct NodeError {
    /// What went wrong, for the user.
    pub message: String,
    /// A retry may succeed (a timeout, a network error); `false` for bad config or bad data.
    pub retryable: bool,
    /// Structured details (a script's line and stack, a query's error code).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
}

impl NodeError {
    /// A failure worth retrying.
    pub fn retryable(message: impl Into<String>) -> Self {
        NodeError {
            message: message.into(),
            retryable: true,
            details: None,
        }
    }

    /// A failure no retry can fix.
    pub fn fatal(message: impl Into<String>) -> Self {
        NodeError {
            message: message.into(),
            retryable: false,
            details: None,
        }
    }

    /// Adds details.
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }
}

/// A template that could not be resolved fails the node for good.
fn template_failure(error: TemplateError) -> NodeError {
    NodeError::fatal(format!("template: {}", error.0))
}

/// What started this activation of the node.
#[derive(Debug, Clone, Default)]
pub(crate) struct Trigger {
    /// The activation came through a loop's back edge (the end of a loop body).
    pub(crate) via_back_edge: bool,
    /// The output of the node whose edge triggered the activation, when it ran.
    pub(crate) predecessor_output: Option<Value>,
}

/// A loop node's cursor between iterations.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LoopCursor {
    /// The items being iterated.
    pub(crate) items: Arc<Vec<Value>>,
    /// The index of the next item to emit.
    pub(crate) next_index: usize,
    /// One result per finished iteration.
    pub(crate) results: imbl::Vector<Value>,
}

/// How a loop node moves its cursor (recorded in the log, replayed by the fold).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "step")]
pub(crate) enum LoopStep {
    /// A new pass over `items` begins; item 0 is emitted.
    Begin {
        /// The items.
        items: Vec<Value>,
    },
    /// An iteration finished with `result`; the next item is emitted.
    Advance {
        /// The finished iteration's result.
        result: Value,
    },
    /// The pass is over (its results are the node's output); the cursor is dropped.
    Finish,
}

/// How an `end` node finishes the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum EndStatus {
    /// The run completes (once nothing else is running).
    Success,
    /// The run fails at once.
    Error,
}

/// A node that finished: its output, the handles it leaves by, and optionally a delay before
/// the next nodes start.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Completion {
    /// The node's output, stored under its output variable.
    pub(crate) output: Value,
    /// The handles to follow (one for most nodes; every branch for `fanout`).
    pub(crate) handles: Vec<String>,
    /// Extra context keys to set (a loop's item and index variables).
    pub(crate) patch: Map<String, Value>,
    /// Start the next nodes only after this long (delay nodes, loop pacing).
    pub(crate) delay: Option<Duration>,
    /// A loop node's cursor move.
    pub(crate) loop_step: Option<LoopStep>,
    /// Set by `end` nodes: the run's status and output.
    pub(crate) end: Option<(EndStatus, Value)>,
}

impl Completion {
    /// Finished with `output`, leaving by `handle`.
    pub fn on(handle: impl Into<String>, output: Value) -> Self {
        Completion::on_handles([handle.into()], output)
    }

    /// Finished with `output`, leaving by every one of `handles` (a fan-out); none ends the
    /// node's path.
    pub fn on_handles(handles: impl IntoIterator<Item = impl Into<String>>, output: Value) -> Self {
        Completion {
            output,
            handles: handles.into_iter().map(Into::into).collect(),
            ..Completion::default()
        }
    }

    /// Delays the next nodes (nothing sleeps: they are queued with a due time).
    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    /// The output.
    pub fn output(&self) -> &Value {
        &self.output
    }

    /// The handles it leaves by.
    pub fn handles(&self) -> &[String] {
        &self.handles
    }

    /// The delay before the next nodes, if any.
    pub fn delay(&self) -> Option<Duration> {
        self.delay
    }
}

/// A node waiting for the host (a form, an approval).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Suspension {
    /// `dataCollection`, `approval`, or a host kind.
    pub kind: String,
    /// What the host shows (title, description, form schema), templates resolved.
    pub payload: Value,
    /// When the request expires, if ever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
}

/// A child run a `subWorkflow` node waits for.
#[derive(Debug, Clone)]
pub struct ChildRequest {
    /// The child's definition.
    pub workflow: WorkflowDefinition,
    /// The child's input.
    pub input: Value,
    /// The deepest nesting allowed (≤ 5).
    pub max_depth: u32,
}

/// How a child run ended, handed to the parent's handler.
#[derive(Debug, Clone, PartialEq)]
pub struct ChildOutcome {
    /// The child run.
    pub run_id: RunId,
    /// Whether it completed.
    pub completed: bool,
    /// Its output (completed) or error (failed, cancelled).
    pub value: Value,
}

/// What a handler returns.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum NodeOutcome {
    /// Done; follow these handles.
    Complete(Completion),
    /// Wait for the host ([`crate::Engine::submit`]) or the expiry.
    Suspend(Suspension),
    /// Start a child run and wait for it.
    StartChild(ChildRequest),
}

/// The host services a handler may call.
#[derive(Clone)]
pub(crate) struct Services {
    pub(crate) scripts: Option<Arc<dyn ScriptRunner>>,
    pub(crate) data_queries: Option<Arc<dyn DataQueryRunner>>,
    pub(crate) workflows: Option<Arc<dyn WorkflowSource>>,
    pub(crate) clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services")
            .field("scripts", &self.scripts.is_some())
            .field("data_queries", &self.data_queries.is_some())
            .field("workflows", &self.workflows.is_some())
            .finish()
    }
}

impl Services {
    /// Which services are configured.
    pub(crate) fn available(&self) -> HostServices {
        HostServices {
            scripts: self.scripts.is_some(),
            data_queries: self.data_queries.is_some(),
            workflows: self.workflows.is_some(),
        }
    }

    /// The JavaScript runner, or a fatal error when the host configured none.
    pub(crate) fn scripts(&self) -> Result<&dyn ScriptRunner, NodeError> {
        self.scripts
            .as_deref()
            .ok_or_else(|| NodeError::fatal("no JavaScript runner is configured"))
    }

    /// The data-query runner, or a fatal error when the host configured none.
    pub(crate) fn data_queries(&self) -> Result<&dyn DataQueryRunner, NodeError> {
        self.data_queries
            .as_deref()
            .ok_or_else(|| NodeError::fatal("no data-query runner is configured"))
    }

    /// The workflow source, or a fatal error when the host configured none.
    pub(crate) fn workflows(&self) -> Result<&dyn WorkflowSource, NodeError> {
        self.workflows
            .as_deref()
            .ok_or_else(|| NodeError::fatal("no workflow source is configured"))
    }

    /// The engine's clock.
    pub(crate) fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }
}

/// Everything a handler gets for one attempt: the node, the run's context, the attempt's
/// identity and budget, and the host's services.
#[derive(Debug, Clone)]
pub struct NodeInput {
    pub(crate) run_id: RunId,
    pub(crate) namespace: String,
    pub(crate) depth: u32,
    pub(crate) workflow: Arc<CompiledWorkflow>,
    pub(crate) node_index: usize,
    pub(crate) activation: u32,
    pub(crate) attempt: u32,
    pub(crate) idempotency_key: String,
    pub(crate) context: Context,
    pub(crate) trigger: Trigger,
    pub(crate) loop_cursor: Option<LoopCursor>,
    pub(crate) timeout: Duration,
    pub(crate) cancelled: CancellationToken,
    pub(crate) services: Services,
}

impl NodeInput {
    /// The run.
    pub fn run_id(&self) -> RunId {
        self.run_id
    }

    /// The run's namespace (the host's tenant).
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// How deep the run is nested (0 for a top-level run).
    pub fn depth(&self) -> u32 {
        self.depth
    }

    /// This node's definition.
    pub fn node(&self) -> &NodeDefinition {
        self.workflow.node(self.node_index)
    }

    /// This node's config.
    pub fn config(&self) -> &Value {
        &self.node().config
    }

    /// Which activation of the node (1-based; loop bodies activate once per item).
    pub fn activation(&self) -> u32 {
        self.activation
    }

    /// Which attempt of this activation (1-based).
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// `instanceID:nodeID:attempt`: the same on a redelivery of this attempt (after a crash),
    /// different on a retry. Pass it to anything with side effects.
    pub fn idempotency_key(&self) -> &str {
        &self.idempotency_key
    }

    /// The context when the attempt started.
    pub fn context(&self) -> &Context {
        &self.context
    }

    /// The output of the node whose edge started this activation, when that node ran.
    pub fn predecessor_output(&self) -> Option<&Value> {
        self.trigger.predecessor_output.as_ref()
    }

    /// The attempt's time budget; the engine fails the attempt when it runs out.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Resolves when the run is cancelled or the attempt timed out: stop and return.
    pub async fn cancelled(&self) {
        self.cancelled.cancelled().await;
    }

    /// Whether the run was cancelled or the attempt timed out.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.is_cancelled()
    }

    /// The engine's clock.
    pub fn clock(&self) -> &dyn Clock {
        self.services.clock()
    }

    /// The host's JavaScript runner, or a fatal error when it configured none.
    pub fn scripts(&self) -> Result<&dyn ScriptRunner, NodeError> {
        self.services.scripts()
    }

    /// The host's data-query runner, or a fatal error when it configured none.
    pub fn data_queries(&self) -> Result<&dyn DataQueryRunner, NodeError> {
        self.services.data_queries()
    }

    /// The host's workflow source, or a fatal error when it configured none.
    pub fn workflows(&self) -> Result<&dyn WorkflowSource, NodeError> {
        self.services.workflows()
    }

    /// Resolves templates (`{{ctx.a.b}}`) in `value` against the context. A string that is one
    /// whole template keeps the value's type.
    pub fn resolve(&self, value: &Value) -> Result<Value, NodeError> {
        template::resolve(value, &self.context).map_err(template_failure)
    }

    /// Resolves the config field `field` (null when absent).
    pub fn resolved(&self, field: &str) -> Result<Value, NodeError> {
        match self.config().get(field) {
            Some(value) => self.resolve(value),
            None => Ok(Value::Null),
        }
    }
}

/// A node type: the built-ins and the host's own are all `NodeHandler`s, registered with
/// [`EngineBuilder::node_type`](crate::EngineBuilder::node_type).
///
/// Only [`node_type`](NodeHandler::node_type), [`handles`](NodeHandler::handles) and
/// [`execute`](NodeHandler::execute) are required.
///
/// **Failures and the `error` handle.** When `execute` returns an error and the node's
/// retries are spent, the node leaves by its `error` handle (with `{success: false, error}` as
/// its output) only if all of these hold: the type declares `error` among its
/// [`handles`](NodeHandler::handles), an edge of the workflow leaves by it, and the node's
/// [`ErrorHandling`](crate::ErrorHandling) continues (the default). Otherwise the run fails. A
/// type that should be routable on failure must therefore list `error`: an edge by a handle
/// the type does not declare is refused when the workflow is validated.
///
/// **Suspending.** A node that returns [`NodeOutcome::Suspend`] is resumed by
/// [`resume`](NodeHandler::resume) when the host calls [`Engine::submit`](crate::Engine::submit),
/// or by [`expire`](NodeHandler::expire) when its request expires. One that returns
/// [`NodeOutcome::StartChild`] is resumed by [`child_finished`](NodeHandler::child_finished).
#[async_trait]
pub trait NodeHandler: Send + Sync + std::fmt::Debug {
    /// The type name nodes use (`javascript`, `sendEmail`, …).
    fn node_type(&self) -> &str;

    /// The handles a node of this type can leave by, given its config.
    fn handles(&self, node: &NodeDefinition) -> Handles;

    /// The handle that edges without a `sourceHandle` follow.
    fn default_handle(&self) -> &str {
        "output"
    }

    /// The context key the output is stored under when the config names no `outputVariable`
    /// (`None`: the output is only logged).
    fn default_output_variable(&self) -> Option<&str> {
        None
    }

    /// Checks the node's config, reporting every problem to `issues`.
    fn validate(&self, _node: &NodeDefinition, _issues: &mut IssueSink<'_>) {}

    /// Runs one attempt.
    async fn execute(&self, input: NodeInput) -> Result<NodeOutcome, NodeError>;

    /// Turns the host's submission to a suspended node into its completion.
    fn resume(&self, _node: &NodeDefinition, data: Value) -> Result<Completion, NodeError> {
        Ok(Completion::on("output", data))
    }

    /// What a suspended node does when its request expires (an error fails it).
    fn expire(&self, _node: &NodeDefinition) -> Result<Completion, NodeError> {
        Err(NodeError::fatal("the request expired"))
    }

    /// Turns a finished child run into the node's completion.
    fn child_finished(
        &self,
        _node: &NodeDefinition,
        outcome: ChildOutcome,
    ) -> Result<Completion, NodeError> {
        if outcome.completed {
            Ok(Completion::on("success", outcome.value))
        } else {
            Err(NodeError::fatal("the child run did not complete").with_details(outcome.value))
        }
    }
}
