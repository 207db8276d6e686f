//! `approval`: suspends the run until someone approves or rejects (with an optional comment);
//! leaves by `approved`, `rejected`, or `expired` after `expiryMinutes` (default 60), or fails
//! on expiry when `onTimeout` is `fail`.

use async_trait::async_trait;
use serde_json::{Value, json};

use super::expiry;
use crate::model::NodeDefinition;
use crate::node::{
    Completion, Handles, NodeError, NodeHandler, NodeInput, NodeOutcome, Suspension,
};
use crate::validate::IssueSink;

#[derive(Debug)]
pub(super) struct Approval;

#[async_trait]
impl NodeHandler for Approval {
    fn node_type(&self) -> &str {
        "approval"
    }

    fn handles(&self, _node: &NodeDefinition) -> Handles {
        Handles::of(&["approved", "rejected", "expired", "error"])
    }

    fn default_handle(&self) -> &str {
        "approved"
    }

    fn default_output_variable(&self) -> Option<&str> {
        Some("approval")
    }

    fn validate(&self, node: &NodeDefinition, issues: &mut IssueSink<'_>) {
        issues.templates(&node.config, "title");
        issues.templates(&node.config, "description");
        issues.number_in(&node.config, "expiryMinutes", 0.0, 525_600.0);
        if let Some(on_timeout) = node.config.get("onTimeout")
            && !matches!(on_timeout.as_str(), Some("expired" | "fail"))
        {
            issues.field("onTimeout", "must be `expired` or `fail`");
        }
    }

    async fn execute(&self, input: NodeInput) -> Result<NodeOutcome, NodeError> {
        let payload = json!({
            "collectionType": "approval",
            "title": match input.resolved("title")? { Value::Null => json!("Approval required"), title => title },
            "description": input.resolved("description")?,
            "formSchema": {
                "type": "object",
                "required": ["decision"],
                "properties": {
                    "decision": {"type": "string", "enum": ["approve", "reject"]},
                    "comment": {"type": "string"}
                }
            },
        });
        Ok(NodeOutcome::Suspend(Suspension {
            kind: "approval".into(),
            payload,
            expires_at: expiry(input.config(), 60.0, input.services.clock().now()),
        }))
    }

    fn resume(&self, _node: &NodeDefinition, data: Value) -> Result<Completion, NodeError> {
        let handle = match data.get("decision").and_then(Value::as_str) {
            Some("approve" | "approved") => "approved",
            Some("reject" | "rejected") => "rejected",
            _ => return Err(NodeError::fatal("`decision` must be `approve` or `reject`")),
        };
        let comment = data.get("comment").cloned().unwrap_or(Value::Null);
        Ok(Completion::on(
            handle,
            json!({"decision": handle, "comment": comment}),
        ))
    }

    fn expire(&self, node: &NodeDefinition) -> Result<Completion, NodeError> {
        match node.config.get("onTimeout").and_then(Value::as_str) {
            Some("fail") => Err(NodeError::fatal("the approval request expired")),
            _ => Ok(Completion::on("expired", json!({"decision": "expired"}))),
        }
    }
}
