//! `end`: sets the workflow output from `outputParameters` and the run's verdict: `success`
//! (the run completes once nothing else runs) or `error` (the run fails at once).

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::model::NodeDefinition;
use crate::node::{Completion, EndStatus, Handles, NodeError, NodeHandler, NodeInput, NodeOutcome};
use crate::validate::IssueSink;

#[derive(Debug)]
pub(super) struct End;

#[async_trait]
impl NodeHandler for End {
    fn node_type(&self) -> &str {
        "end"
    }

    fn handles(&self, _node: &NodeDefinition) -> Handles {
        Handles::none()
    }

    fn default_output_variable(&self) -> Option<&str> {
        Some("output")
    }

    fn validate(&self, node: &NodeDefinition, issues: &mut IssueSink<'_>) {
        let config = &node.config;
        if let Some(status) = config.get("status")
            && !matches!(status.as_str(), Some("success" | "error"))
        {
            issues.field("status", "must be `success` or `error`");
        }
        match config.get("outputParameters") {
            None | Some(Value::Null) => {}
            Some(Value::Array(parameters)) => {
                for (i, parameter) in parameters.iter().enumerate() {
                    let field = format!("outputParameters[{i}]");
                    match parameter.get("name").and_then(Value::as_str) {
                        Some(name) if !name.trim().is_empty() => {}
                        _ => issues.field(&field, "needs a `name`"),
                    }
                    if let Some(source) = parameter.get("sourceVariable")
                        && let Err(error) = crate::template::check(source)
                    {
                        issues.field(&field, error.0);
                    }
                }
            }
            Some(_) => issues.field("outputParameters", "must be a list"),
        }
    }

    async fn execute(&self, input: NodeInput) -> Result<NodeOutcome, NodeError> {
        let config = input.config();
        let status = match config.get("status").and_then(Value::as_str) {
            Some("error") => EndStatus::Error,
            _ => EndStatus::Success,
        };
        let mut output = Map::new();
        if let Some(Value::Array(parameters)) = config.get("outputParameters") {
            for parameter in parameters {
                let Some(name) = parameter.get("name").and_then(Value::as_str) else {
                    continue;
                };
                let value = match parameter.get("sourceVariable") {
                    Some(source) => input.resolve(source)?,
                    None => Value::Null,
                };
                output.insert(name.to_string(), value);
            }
        }
        let output = Value::Object(output);
        Ok(NodeOutcome::Complete(Completion {
            end: Some((status, output.clone())),
            output,
            ..Completion::default()
        }))
    }
}
