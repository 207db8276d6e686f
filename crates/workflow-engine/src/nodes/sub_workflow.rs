//! `subWorkflow`: starts another workflow of the namespace as a child run (input from the
//! templated `inputMapping`) and waits for it; the child's output becomes this node's output
//! (`subResult`). Nesting stops at `maxDepth` (≤ 5) and a workflow may not start itself.

use async_trait::async_trait;
use serde_json::Value;

use crate::model::NodeDefinition;
use crate::node::{ChildRequest, Handles, NodeError, NodeHandler, NodeInput, NodeOutcome};
use crate::validate::IssueSink;

/// The deepest nesting of sub-workflows.
pub const MAX_DEPTH: u32 = 5;

#[derive(Debug)]
pub(super) struct SubWorkflow;

fn child_id(config: &Value) -> Option<&str> {
    config
        .get("childWorkflowID")
        .or_else(|| config.get("workflowID"))
        .and_then(Value::as_str)
}

#[async_trait]
impl NodeHandler for SubWorkflow {
    fn node_type(&self) -> &str {
        "subWorkflow"
    }

    fn handles(&self, _node: &NodeDefinition) -> Handles {
        Handles::of(&["success", "error"])
    }

    fn default_handle(&self) -> &str {
        "success"
    }

    fn default_output_variable(&self) -> Option<&str> {
        Some("subResult")
    }

    fn validate(&self, node: &NodeDefinition, issues: &mut IssueSink<'_>) {
        let config = &node.config;
        match child_id(config) {
            Some(id) if !id.trim().is_empty() => {
                if issues.workflow_id() == Some(id) {
                    issues.field("childWorkflowID", "a workflow may not start itself");
                }
            }
            _ => issues.field("childWorkflowID", "is required"),
        }
        issues.number_in(config, "maxDepth", 1.0, f64::from(MAX_DEPTH));
        issues.templates(config, "inputMapping");
        issues.needs_workflows();
    }

    async fn execute(&self, input: NodeInput) -> Result<NodeOutcome, NodeError> {
        let config = input.config();
        let id = child_id(config)
            .ok_or_else(|| NodeError::fatal("`childWorkflowID` is required"))?
            .to_string();
        if input.workflow.definition().id.as_deref() == Some(id.as_str()) {
            return Err(NodeError::fatal("a workflow may not start itself"));
        }
        let max_depth = config
            .get("maxDepth")
            .and_then(Value::as_u64)
            .map_or(MAX_DEPTH, |d| (d as u32).min(MAX_DEPTH));
        let workflow = input
            .services
            .workflows()?
            .load(&input.namespace, &id)
            .await?
            .ok_or_else(|| NodeError::fatal(format!("workflow `{id}` not found")))?;
        let child_input = match input.resolved("inputMapping")? {
            Value::Null => Value::Object(Default::default()),
            other => other,
        };
        Ok(NodeOutcome::StartChild(ChildRequest {
            workflow,
            input: child_input,
            max_depth,
        }))
    }
}
