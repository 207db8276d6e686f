//! What the host provides: the JavaScript runner, data queries and the workflows that
//! sub-workflow nodes start. The engine calls these through traits, so it depends on no
//! database, HTTP client or sandbox of its own.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

use crate::model::WorkflowDefinition;
use crate::node::NodeError;

/// Which host services an engine has, so validation can refuse a workflow that needs one it
/// lacks instead of failing the run when the node is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HostServices {
    /// A [`ScriptRunner`] (`javascript` nodes, `expression` conditions).
    pub(crate) scripts: bool,
    /// A [`DataQueryRunner`] (`dataQuery` nodes).
    pub(crate) data_queries: bool,
    /// A [`WorkflowSource`] (`subWorkflow` nodes).
    pub(crate) workflows: bool,
}

impl HostServices {
    /// Assumes every service: for re-reading a run that was checked when it started.
    pub(crate) const ASSUMED: HostServices = HostServices {
        scripts: true,
        data_queries: true,
        workflows: true,
    };
}

/// A JavaScript call from a `javascript` node.
#[derive(Debug, Clone)]
pub struct ScriptCall {
    /// The namespace (tenant) of the run.
    pub namespace: String,
    /// The node's source code.
    pub code: String,
    /// The run context, bound as `ctx`.
    pub ctx: Value,
    /// The node's time budget.
    pub timeout: Duration,
    /// `instanceID:nodeID:attempt`.
    pub idempotency_key: String,
}

/// Runs user JavaScript (with the `sandbox` feature: [`crate::SandboxScripts`]).
#[async_trait]
pub trait ScriptRunner: Send + Sync + std::fmt::Debug {
    /// Runs `call.code` as a function body and returns its result.
    async fn run(&self, call: ScriptCall) -> Result<Value, NodeError>;

    /// Evaluates `Boolean(expression)` with `ctx` bound (the condition operator `expression`).
    async fn condition(
        &self,
        namespace: &str,
        expression: &str,
        ctx: Value,
    ) -> Result<bool, NodeError>;
}

/// A data-query call from a `dataQuery` node.
#[derive(Debug, Clone)]
pub struct DataQueryCall {
    /// The namespace (tenant) of the run; the host must look the query up inside it.
    pub namespace: String,
    /// The saved query's id.
    pub query_id: String,
    /// Its input values, templates resolved.
    pub inputs: Value,
    /// `instanceID:nodeID:attempt`.
    pub idempotency_key: String,
}

/// Runs saved data queries.
#[async_trait]
pub trait DataQueryRunner: Send + Sync + std::fmt::Debug {
    /// Runs the query and returns its result.
    async fn run(&self, call: DataQueryCall) -> Result<Value, NodeError>;
}

/// Finds the workflows that `subWorkflow` nodes start.
#[async_trait]
pub trait WorkflowSource: Send + Sync + std::fmt::Debug {
    /// The definition of `workflow_id` in `namespace`, or `None` when there is no such workflow.
    async fn load(
        &self,
        namespace: &str,
        workflow_id: &str,
    ) -> Result<Option<WorkflowDefinition>, NodeError>;
}
