//! `loop`: a resumable iterator. On entry it resolves `sourceVariable` to a list and emits item 0
//! on the `loop` handle; each return through the body's back edge records that iteration's
//! result (the output of the node that closed the body) and emits the next item, paced by
//! `delayBetweenItems`; after the last item it leaves by `completed` with every result, which
//! is also its output variable (`loopResults`). The cursor lives in the run's event log.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use crate::model::NodeDefinition;
use crate::node::{Completion, Handles, LoopStep, NodeError, NodeHandler, NodeInput, NodeOutcome};
use crate::validate::IssueSink;

/// The largest `maxIterations` a loop may set.
pub const MAX_ITERATIONS: u64 = 100_000;

#[derive(Debug)]
pub(super) struct Loop;

fn variable<'a>(config: &'a Value, field: &str, default: &'a str) -> &'a str {
    config.get(field).and_then(Value::as_str).unwrap_or(default)
}

fn emit(config: &Value, items: &[Value], index: usize, step: LoopStep) -> Completion {
    let item = items.get(index).cloned().unwrap_or(Value::Null);
    let mut patch = Map::new();
    patch.insert(
        variable(config, "itemVariable", "item").to_string(),
        item.clone(),
    );
    patch.insert(
        variable(config, "indexVariable", "index").to_string(),
        json!(index),
    );
    let pacing = config
        .get("delayBetweenItems")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    Completion {
        output: json!({
            "currentItem": item,
            "currentIndex": index,
            "totalItems": items.len(),
            "remainingItems": items.len() - index - 1,
        }),
        handles: vec!["loop".into()],
        patch,
        delay: (index > 0 && pacing > 0).then(|| Duration::from_millis(pacing)),
        loop_step: Some(step),
        end: None,
    }
}

#[async_trait]
impl NodeHandler for Loop {
    fn node_type(&self) -> &str {
        "loop"
    }

    fn handles(&self, _node: &NodeDefinition) -> Handles {
        Handles::of(&["loop", "completed", "error"]).with_iteration("loop")
    }

    fn default_handle(&self) -> &str {
        "completed"
    }

    fn default_output_variable(&self) -> Option<&str> {
        Some("loopResults")
    }

    fn validate(&self, node: &NodeDefinition, issues: &mut IssueSink<'_>) {
        let config = &node.config;
        issues.required_str(config, "sourceVariable");
        issues.templates(config, "sourceVariable");
        issues.identifier(config, "itemVariable");
        issues.identifier(config, "indexVariable");
        issues.number_in(config, "maxIterations", 1.0, MAX_ITERATIONS as f64);
        issues.number_in(config, "delayBetweenItems", 0.0, 60_000.0);
    }

    async fn execute(&self, input: NodeInput) -> Result<NodeOutcome, NodeError> {
        let config = input.config();
        if let (true, Some(cursor)) = (input.trigger.via_back_edge, input.loop_cursor.as_ref()) {
            let result = input
                .trigger
                .predecessor_output
                .clone()
                .unwrap_or(Value::Null);
            if cursor.next_index < cursor.items.len() {
                let step = LoopStep::Advance { result };
                return Ok(NodeOutcome::Complete(emit(
                    config,
                    &cursor.items,
                    cursor.next_index,
                    step,
                )));
            }
            let mut results: Vec<Value> = cursor.results.iter().cloned().collect();
            results.push(result);
            return Ok(NodeOutcome::Complete(finished(results)));
        }
        let items = match input.resolved("sourceVariable")? {
            Value::Array(items) => items,
            Value::Null => Vec::new(),
            scalar => vec![scalar],
        };
        let limit = config
            .get("maxIterations")
            .and_then(Value::as_u64)
            .unwrap_or(1_000)
            .min(MAX_ITERATIONS);
        if items.len() as u64 > limit {
            return Err(NodeError::fatal(format!(
                "{} items exceed maxIterations ({limit})",
                items.len()
            )));
        }
        if items.is_empty() {
            return Ok(NodeOutcome::Complete(finished(Vec::new())));
        }
        let step = LoopStep::Begin {
            items: items.clone(),
        };
        Ok(NodeOutcome::Complete(emit(config, &items, 0, step)))
    }
}

fn finished(results: Vec<Value>) -> Completion {
    Completion {
        output: Value::Array(results),
        handles: vec!["completed".into()],
        loop_step: Some(LoopStep::Finish),
        ..Completion::default()
    }
}
