//! `join`: gathers `sourceVariables` from the context once its incoming edges have arrived (the
//! barrier itself is the engine's join mode; `requireAll: false` selects `any`).

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::model::NodeDefinition;
use crate::node::{Completion, Handles, NodeError, NodeHandler, NodeInput, NodeOutcome};
use crate::template::Path;
use crate::validate::IssueSink;

#[derive(Debug)]
pub(super) struct Join;

#[async_trait]
impl NodeHandler for Join {
    fn node_type(&self) -> &str {
        "join"
    }

    fn handles(&self, _node: &NodeDefinition) -> Handles {
        Handles::of(&["output", "error"])
    }

    fn default_output_variable(&self) -> Option<&str> {
        Some("joined")
    }

    fn validate(&self, node: &NodeDefinition, issues: &mut IssueSink<'_>) {
        match node.config.get("sourceVariables") {
            None | Some(Value::Null) => {}
            Some(Value::Array(names)) if names.iter().all(Value::is_string) => {}
            Some(_) => issues.field("sourceVariables", "must be a list of context keys"),
        }
    }

    async fn execute(&self, input: NodeInput) -> Result<NodeOutcome, NodeError> {
        let mut gathered = Map::new();
        if let Some(Value::Array(names)) = input.config().get("sourceVariables") {
            for name in names.iter().filter_map(Value::as_str) {
                let path = name
                    .trim()
                    .trim_start_matches("{{")
                    .trim_end_matches("}}")
                    .trim();
                let path = if path.starts_with("ctx") {
                    path.to_string()
                } else {
                    format!("ctx.{path}")
                };
                let value = Path::parse(&path)
                    .ok()
                    .and_then(|p| p.lookup(&input.context))
                    .unwrap_or(Value::Null);
                gathered.insert(name.to_string(), value);
            }
        }
        Ok(NodeOutcome::Complete(Completion::on(
            "output",
            Value::Object(gathered),
        )))
    }
}
