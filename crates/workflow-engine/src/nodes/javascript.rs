//! `javascript`: runs `code` through the host's [`crate::ScriptRunner`] with `ctx` bound; the
//! returned value is the output.

use async_trait::async_trait;

use crate::host::ScriptCall;
use crate::model::NodeDefinition;
use crate::node::{Completion, Handles, NodeError, NodeHandler, NodeInput, NodeOutcome};
use crate::validate::IssueSink;

#[derive(Debug)]
pub(super) struct JavaScript;

#[async_trait]
impl NodeHandler for JavaScript {
    fn node_type(&self) -> &str {
        "javascript"
    }

    fn handles(&self, _node: &NodeDefinition) -> Handles {
        Handles::of(&["success", "error"])
    }

    fn default_handle(&self) -> &str {
        "success"
    }

    fn default_output_variable(&self) -> Option<&str> {
        Some("jsResult")
    }

    fn validate(&self, node: &NodeDefinition, issues: &mut IssueSink<'_>) {
        issues.required_str(&node.config, "code");
        issues.needs_scripts("a javascript node");
        issues.number_in(&node.config, "timeoutSeconds", 0.001, 3600.0);
        issues.optional_str(&node.config, "outputVariable");
    }

    async fn execute(&self, input: NodeInput) -> Result<NodeOutcome, NodeError> {
        let code = input
            .node()
            .config_str("code")
            .ok_or_else(|| NodeError::fatal("`code` is required"))?
            .to_string();
        let value = input
            .services
            .scripts()?
            .run(ScriptCall {
                namespace: input.namespace.clone(),
                code,
                ctx: input.context.to_json(),
                timeout: input.timeout,
                idempotency_key: input.idempotency_key.clone(),
            })
            .await?;
        Ok(NodeOutcome::Complete(Completion::on("success", value)))
    }
}
