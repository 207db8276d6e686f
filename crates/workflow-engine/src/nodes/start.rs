//! `start`: the run's entry; its output is the run's input.

use async_trait::async_trait;

use crate::model::NodeDefinition;
use crate::node::{Completion, Handles, NodeError, NodeHandler, NodeInput, NodeOutcome};

#[derive(Debug)]
pub(super) struct Start;

#[async_trait]
impl NodeHandler for Start {
    fn node_type(&self) -> &str {
        "start"
    }

    fn handles(&self, _node: &NodeDefinition) -> Handles {
        Handles::of(&["output"])
    }

    async fn execute(&self, input: NodeInput) -> Result<NodeOutcome, NodeError> {
        let received = input.context.get("input").cloned().unwrap_or_default();
        Ok(NodeOutcome::Complete(Completion::on("output", received)))
    }
}
