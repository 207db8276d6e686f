//! `fanout`: fires every branch (and `output`) at once.

use async_trait::async_trait;
use serde_json::{Value, json};

use crate::model::NodeDefinition;
use crate::node::{Completion, Handles, NodeError, NodeHandler, NodeInput, NodeOutcome};
use crate::validate::IssueSink;

#[derive(Debug)]
pub(super) struct Fanout;

fn branch_ids(node: &NodeDefinition) -> Vec<String> {
    let mut ids: Vec<String> = node
        .config
        .get("branches")
        .and_then(Value::as_array)
        .map(|branches| {
            branches
                .iter()
                .filter_map(|b| b.get("id").and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

#[async_trait]
impl NodeHandler for Fanout {
    fn node_type(&self) -> &str {
        "fanout"
    }

    fn handles(&self, node: &NodeDefinition) -> Handles {
        let mut handles = branch_ids(node);
        handles.push("output".into());
        Handles::list(handles)
    }

    fn validate(&self, node: &NodeDefinition, issues: &mut IssueSink<'_>) {
        if let Some(branches) = node.config.get("branches") {
            match branches.as_array() {
                Some(list)
                    if list
                        .iter()
                        .all(|b| b.get("id").and_then(Value::as_str).is_some()) => {}
                _ => issues.field("branches", "must be a list of `{id}`"),
            }
        }
    }

    async fn execute(&self, input: NodeInput) -> Result<NodeOutcome, NodeError> {
        let mut handles = branch_ids(input.node());
        handles.push("output".into());
        let fired = json!(handles);
        Ok(NodeOutcome::Complete(Completion {
            output: json!({ "branches": fired }),
            handles,
            ..Completion::default()
        }))
    }
}
