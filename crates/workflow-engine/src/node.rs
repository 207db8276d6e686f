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
use crate::host::{DataQueryRunner, ScriptRunner, WorkflowSource};
use crate::model::{NodeDefinition, WorkflowDefinition};
use crate::run::{RunId, Timestamp};
use crate::template::{self, TemplateError};
use crate::validate::IssueSink;

/// The handles a node type can leave by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handles {
    /// Exactly these.
    Fixed(Vec<String>),
    /// Any name (host types that route dynamically).
    Any,
}

impl Handles {
    /// A fixed list.
    pub fn of(names: &[&str]) -> Self {
        Handles::Fixed(names.iter().map(|s| s.to_string()).collect())
    }

    /// Whether `handle` is one of them.
    pub fn contains(&self, handle: &str) -> bool {
        match self {
            Handles::Fixed(names) => names.iter().any(|n| n == handle),
            Handles::Any => true,
        }
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

impl From<TemplateError> for NodeError {
    fn from(error: TemplateError) -> Self {
        NodeError::fatal(format!("template: {}", error.0))
    }
}

/// What started this activation of the node.
#[derive(Debug, Clone, Default)]
pub struct Trigger {
    /// The activation came through a loop's back edge (the end of a loop body).
    pub via_back_edge: bool,
    /// The output of the node whose edge triggered the activation, when it ran.
    pub predecessor_output: Option<Value>,
}

/// A loop node's cursor between iterations.
#[derive(Debug, Clone, PartialEq)]
pub struct LoopCursor {
    /// The items being iterated.
    pub items: Arc<Vec<Value>>,
    /// The index of the next item to emit.
    pub next_index: usize,
    /// One result per finished iteration.
    pub results: imbl::Vector<Value>,
}

/// How a loop node moves its cursor (recorded in the log, replayed by the fold).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "step")]
pub enum LoopStep {
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
pub enum EndStatus {
    /// The run completes (once nothing else is running).
    Success,
    /// The run fails at once.
    Error,
}

/// A node that finished.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Completion {
    /// The node's output, stored under its output variable.
    pub output: Value,
    /// The handles to follow (one for most nodes; every branch for `fanout`).
    pub handles: Vec<String>,
    /// Extra context keys to set (a loop's item and index variables).
    pub patch: Map<String, Value>,
    /// Start the next nodes only after this long (delay nodes, loop pacing).
    pub delay: Option<Duration>,
    /// A loop node's cursor move.
    pub loop_step: Option<LoopStep>,
    /// Set by `end` nodes: the run's status and output.
    pub end: Option<(EndStatus, Value)>,
}

impl Completion {
    /// Finished with `output`, leaving by `handle`.
    pub fn on(handle: impl Into<String>, output: Value) -> Self {
        Completion {
            output,
            handles: vec![handle.into()],
            ..Completion::default()
        }
    }

    /// Delays the next nodes.
    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
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
pub struct Services {
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
    /// The JavaScript runner, or a fatal error when the host configured none.
    pub fn scripts(&self) -> Result<&dyn ScriptRunner, NodeError> {
        self.scripts
            .as_deref()
            .ok_or_else(|| NodeError::fatal("no JavaScript runner is configured"))
    }

    /// The data-query runner, or a fatal error when the host configured none.
    pub fn data_queries(&self) -> Result<&dyn DataQueryRunner, NodeError> {
        self.data_queries
            .as_deref()
            .ok_or_else(|| NodeError::fatal("no data-query runner is configured"))
    }

    /// The workflow source, or a fatal error when the host configured none.
    pub fn workflows(&self) -> Result<&dyn WorkflowSource, NodeError> {
        self.workflows
            .as_deref()
            .ok_or_else(|| NodeError::fatal("no workflow source is configured"))
    }

    /// The engine's clock.
    pub fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }
}

/// Everything a handler gets for one attempt.
#[derive(Debug, Clone)]
pub struct NodeInput {
    /// The run.
    pub run_id: RunId,
    /// The run's namespace (the host's tenant).
    pub namespace: String,
    /// How deep this run is nested (0 for a top-level run).
    pub depth: u32,
    /// The compiled workflow.
    pub workflow: Arc<CompiledWorkflow>,
    /// This node's index in it.
    pub node_index: usize,
    /// Which activation of the node (1-based; loop bodies activate once per item).
    pub activation: u32,
    /// Which attempt of this activation (1-based).
    pub attempt: u32,
    /// `instanceID:nodeID:attempt`: the same on a redelivery, different on a retry.
    pub idempotency_key: String,
    /// The context when the attempt started.
    pub context: Context,
    /// What triggered the activation.
    pub trigger: Trigger,
    /// The loop cursor (loop nodes only).
    pub loop_cursor: Option<LoopCursor>,
    /// The attempt's time budget.
    pub timeout: Duration,
    /// Set when the run is cancelled or the attempt timed out: stop and return.
    pub cancelled: CancellationToken,
    /// Host services.
    pub services: Services,
}

impl NodeInput {
    /// This node's definition.
    pub fn node(&self) -> &NodeDefinition {
        self.workflow.node(self.node_index)
    }

    /// This node's config.
    pub fn config(&self) -> &Value {
        &self.node().config
    }

    /// Resolves templates in `value` against the context.
    pub fn resolve(&self, value: &Value) -> Result<Value, NodeError> {
        Ok(template::resolve(value, &self.context)?)
    }

    /// Resolves the config field `field` (null when absent).
    pub fn resolved(&self, field: &str) -> Result<Value, NodeError> {
        match self.config().get(field) {
            Some(value) => self.resolve(value),
            None => Ok(Value::Null),
        }
    }
}

/// A node type.
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

    /// Handles that carry loop iterations: taking another handle sends no skip signal down them.
    fn is_iteration_handle(&self, _handle: &str) -> bool {
        false
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
