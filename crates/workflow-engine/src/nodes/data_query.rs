//! `dataQuery`: runs a saved query of the run's namespace through the host's
//! [`crate::DataQueryRunner`], with templated `inputValues`.

use async_trait::async_trait;
use serde_json::Value;

use crate::host::DataQueryCall;
use crate::model::NodeDefinition;
use crate::node::{Completion, Handles, NodeError, NodeHandler, NodeInput, NodeOutcome};
use crate::validate::IssueSink;

#[derive(Debug)]
pub(super) struct DataQuery;

fn query_id(config: &Value) -> Option<&str> {
    config
        .get("dataQueryID")
        .or_else(|| config.get("dataQueryId"))
        .and_then(Value::as_str)
}

#[async_trait]
impl NodeHandler for DataQuery {
    fn node_type(&self) -> &str {
        "dataQuery"
    }

    fn handles(&self, _node: &NodeDefinition) -> Handles {
        Handles::of(&["success", "error"])
    }

    fn default_handle(&self) -> &str {
        "success"
    }

    fn default_output_variable(&self) -> Option<&str> {
        Some("queryResult")
    }

    fn validate(&self, node: &NodeDefinition, issues: &mut IssueSink<'_>) {
        if query_id(&node.config).is_none_or(|id| id.trim().is_empty()) {
            issues.field("dataQueryID", "is required");
        }
        if node
            .config
            .get("inputValues")
            .is_some_and(|v| !v.is_object() && !v.is_null())
        {
            issues.field("inputValues", "must be an object");
        }
        issues.templates(&node.config, "inputValues");
        issues.needs_data_queries();
    }

    async fn execute(&self, input: NodeInput) -> Result<NodeOutcome, NodeError> {
        let query_id = query_id(input.config())
            .ok_or_else(|| NodeError::fatal("`dataQueryID` is required"))?
            .to_string();
        let inputs = match input.resolved("inputValues")? {
            Value::Null => Value::Object(Default::default()),
            other => other,
        };
        let result = input
            .services
            .data_queries()?
            .run(DataQueryCall {
                namespace: input.namespace.clone(),
                query_id,
                inputs,
                idempotency_key: input.idempotency_key.clone(),
            })
            .await?;
        Ok(NodeOutcome::Complete(Completion::on("success", result)))
    }
}
