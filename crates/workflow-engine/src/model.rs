//! The workflow as the user draws it: nodes, edges and options. Plain serde types that read both
//! our camelCase form and the original product's field names (`nodeID`, `nodeType`,
//! `nodeConfig`, `upstreamNodeID`, …), so saved graphs and React Flow exports load unchanged.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A workflow graph with its options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowDefinition {
    /// The host's identifier of this workflow, when it has one; sub-workflow nodes may not name it.
    #[serde(default, alias = "workflowID", skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The host's version of this definition, when it keeps versions (stored with each run, so
    /// a run can say which version it executes).
    #[serde(
        default,
        alias = "workflowVersion",
        skip_serializing_if = "Option::is_none"
    )]
    pub version: Option<u64>,
    /// The nodes.
    #[serde(default)]
    pub nodes: Vec<NodeDefinition>,
    /// The edges.
    #[serde(default)]
    pub edges: Vec<EdgeDefinition>,
    /// Inputs and node defaults.
    #[serde(default, alias = "workflowOptions")]
    pub options: WorkflowOptions,
}

impl WorkflowDefinition {
    /// Reads a definition from JSON text, in our camelCase form or the original's field names.
    /// Only the shape is checked here; [`Engine::validate`](crate::Engine::validate) applies
    /// the graph and node rules.
    pub fn from_json(text: &str) -> Result<Self, crate::Error> {
        serde_json::from_str(text).map_err(crate::Error::Parse)
    }
}

/// Workflow-level options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowOptions {
    /// The inputs a run accepts, checked and coerced when a run starts.
    #[serde(default)]
    pub input_definitions: Vec<InputDefinition>,
    /// Defaults for every node's timeout, retry policy and error handling.
    #[serde(default)]
    pub node_defaults: NodeDefaults,
}

/// One declared input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InputDefinition {
    /// The key under `ctx.input`.
    pub name: String,
    /// The expected type.
    #[serde(default, rename = "type")]
    pub input_type: InputType,
    /// Used when the caller gives no value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    /// A run without this input (and without a default) is refused.
    #[serde(default)]
    pub required: bool,
}

/// The type of a declared input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum InputType {
    /// A string.
    String,
    /// A number; numeric strings are coerced.
    Number,
    /// A boolean; "true"/"false" are coerced.
    Boolean,
    /// A JSON object.
    Object,
    /// A JSON array.
    Array,
    /// Anything.
    #[default]
    Any,
}

/// Defaults applied to nodes that do not set their own (node > workflow > engine).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct NodeDefaults {
    /// Per-attempt timeout in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<f64>,
    /// Retry policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryPolicy>,
    /// Error handling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_handling: Option<ErrorHandling>,
}

/// One node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeDefinition {
    /// Unique within the workflow.
    #[serde(alias = "nodeID")]
    pub id: String,
    /// The registered type (`javascript`, `condition`, or a host type).
    #[serde(rename = "type", alias = "nodeType")]
    pub node_type: String,
    /// The type's configuration; string fields may hold `{{ctx.…}}` templates.
    #[serde(default, alias = "nodeConfig", alias = "data")]
    pub config: Value,
    /// Per-attempt timeout in seconds (default: the workflow's, else the engine's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<f64>,
    /// Retry policy (default: the workflow's, else no retries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryPolicy>,
    /// What a failure does (default: the workflow's, else `continue`, or `retry_then_continue`
    /// when the node may retry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_handling: Option<ErrorHandling>,
    /// How several incoming edges combine (default `all`; `any` for loop nodes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join_mode: Option<JoinMode>,
}

impl NodeDefinition {
    /// A node of `node_type` with `config` and no overrides.
    pub fn new(id: impl Into<String>, node_type: impl Into<String>, config: Value) -> Self {
        NodeDefinition {
            id: id.into(),
            node_type: node_type.into(),
            config,
            timeout_seconds: None,
            retry: None,
            error_handling: None,
            join_mode: None,
        }
    }

    /// Sets the per-attempt timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout_seconds = Some(timeout.as_secs_f64());
        self
    }

    /// Sets the retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = Some(retry);
        self
    }

    /// Sets the error handling.
    pub fn with_error_handling(mut self, mode: ErrorHandling) -> Self {
        self.error_handling = Some(mode);
        self
    }

    /// Sets the join mode.
    pub fn with_join(mut self, mode: JoinMode) -> Self {
        self.join_mode = Some(mode);
        self
    }

    /// A string field of the config (`outputVariable`, `code`, …).
    pub fn config_str(&self, field: &str) -> Option<&str> {
        self.config.get(field).and_then(Value::as_str)
    }
}

/// One edge. An edge without a source handle leaves by the node type's default handle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EdgeDefinition {
    /// The node the edge leaves.
    #[serde(alias = "upstreamNodeID")]
    pub source: String,
    /// The node the edge enters.
    #[serde(alias = "downstreamNodeID")]
    pub target: String,
    /// Which outcome of the source the edge follows (`success`, `error`, a branch id, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_handle: Option<String>,
    /// The target's handle; only `input` (or none) is meaningful.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_handle: Option<String>,
}

impl EdgeDefinition {
    /// An edge following the source's default handle.
    pub fn new(source: impl Into<String>, target: impl Into<String>) -> Self {
        EdgeDefinition {
            source: source.into(),
            target: target.into(),
            source_handle: None,
            target_handle: None,
        }
    }

    /// An edge following `handle`.
    pub fn on(
        source: impl Into<String>,
        handle: impl Into<String>,
        target: impl Into<String>,
    ) -> Self {
        EdgeDefinition {
            source: source.into(),
            target: target.into(),
            source_handle: Some(handle.into()),
            target_handle: None,
        }
    }
}

/// How many times a failed attempt is retried, and how long to wait in between.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetryPolicy {
    /// Retries after the first attempt (0..=10).
    #[serde(default, alias = "retryLimit")]
    pub limit: u32,
    /// The wait before the first retry, in milliseconds.
    #[serde(default = "default_initial_backoff_ms")]
    pub initial_backoff_ms: u64,
    /// Factor applied per retry (exponential backoff).
    #[serde(default = "default_multiplier")]
    pub multiplier: f64,
    /// Upper bound of one wait, in milliseconds.
    #[serde(default = "default_max_backoff_ms")]
    pub max_backoff_ms: u64,
    /// Fraction of each wait that is randomised (0..=1), so retries of many runs do not align.
    #[serde(default = "default_jitter")]
    pub jitter: f64,
}

fn default_initial_backoff_ms() -> u64 {
    1_000
}
fn default_multiplier() -> f64 {
    2.0
}
fn default_max_backoff_ms() -> u64 {
    300_000
}
fn default_jitter() -> f64 {
    0.2
}

impl RetryPolicy {
    /// `limit` retries with the default backoff (1 s, ×2, ≤ 5 min, 20 % jitter).
    pub fn retries(limit: u32) -> Self {
        RetryPolicy {
            limit,
            initial_backoff_ms: default_initial_backoff_ms(),
            multiplier: default_multiplier(),
            max_backoff_ms: default_max_backoff_ms(),
            jitter: default_jitter(),
        }
    }

    /// No retries.
    pub fn none() -> Self {
        Self::retries(0)
    }
}

/// What a failed node does once its retries (if any) are spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorHandling {
    /// No retries; follow the `error` edge (the run fails when there is none).
    Continue,
    /// No retries; fail the run.
    FailWorkflow,
    /// Retry up to the limit, then fail the run.
    RetryThenFail,
    /// Retry up to the limit, then follow the `error` edge (the run fails when there is none).
    RetryThenContinue,
}

impl ErrorHandling {
    /// Whether this mode retries.
    pub fn retries(self) -> bool {
        matches!(
            self,
            ErrorHandling::RetryThenFail | ErrorHandling::RetryThenContinue
        )
    }

    /// Whether this mode follows the `error` edge after the last attempt.
    pub fn continues(self) -> bool {
        matches!(
            self,
            ErrorHandling::Continue | ErrorHandling::RetryThenContinue
        )
    }
}

/// How a node with several incoming edges waits for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum JoinMode {
    /// Every incoming edge has delivered (taken or skipped) and at least one was taken.
    All,
    /// The first taken edge starts the node; the rest of that round are absorbed.
    Any,
}
