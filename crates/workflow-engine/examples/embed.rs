//! Embedding the engine: build a workflow in code and another from JSON, register a custom
//! node type, run both on the in-memory store, and print the events as they are published.
//!
//! `cargo run -p workflow-engine --example embed`
#![allow(clippy::print_stdout)]

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Value, json};
use workflow_engine::{
    Completion, EdgeDefinition, Engine, EngineEventKind, Handles, MemoryStore, NodeDefinition,
    NodeError, NodeHandler, NodeInput, NodeOutcome, WorkflowDefinition,
};

/// A host node type: upper-cases `text` (a template) and leaves by `output`.
#[derive(Debug)]
struct Shout;

#[async_trait]
impl NodeHandler for Shout {
    fn node_type(&self) -> &str {
        "shout"
    }

    fn handles(&self, _node: &NodeDefinition) -> Handles {
        Handles::of(&["output"])
    }

    fn default_output_variable(&self) -> Option<&str> {
        Some("shouted")
    }

    async fn execute(&self, input: NodeInput) -> Result<NodeOutcome, NodeError> {
        let text = input.resolved("text")?;
        let loud = text.as_str().unwrap_or_default().to_uppercase();
        Ok(NodeOutcome::Complete(Completion::on(
            "output",
            Value::String(loud),
        )))
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (events, mut received) = tokio::sync::mpsc::unbounded_channel();
    let engine = Engine::builder(Arc::new(MemoryStore::new()))
        .node_type(Arc::new(Shout))
        .events(Arc::new(events))
        .build()?;

    // In code: start → shout → end.
    let in_code = WorkflowDefinition {
        nodes: vec![
            NodeDefinition::new("start", "start", Value::Null),
            NodeDefinition::new(
                "shout",
                "shout",
                json!({"text": "hello {{ctx.input.name}}"}),
            ),
            NodeDefinition::new(
                "end",
                "end",
                json!({"outputParameters": [{"name": "message", "sourceVariable": "{{ctx.shouted}}"}]}),
            ),
        ],
        edges: vec![
            EdgeDefinition::new("start", "shout"),
            EdgeDefinition::new("shout", "end"),
        ],
        ..WorkflowDefinition::default()
    };

    // From JSON, in the saved form: a loop over the input with a condition inside.
    let from_json: WorkflowDefinition = serde_json::from_value(json!({
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "each", "type": "loop", "config": {"sourceVariable": "{{ctx.input.names}}", "itemVariable": "name"}},
            {"id": "long?", "type": "condition", "config": {"branches": [
                {"id": "long", "conditions": [{"leftValue": "{{ctx.name}}", "operator": "matches_regex", "rightValue": "^.{5,}$"}]}]}},
            {"id": "shout", "type": "shout", "config": {"text": "{{ctx.name}}"}},
            {"id": "end", "type": "end", "config": {"outputParameters": [{"name": "results", "sourceVariable": "{{ctx.loopResults}}"}]}}
        ],
        "edges": [
            {"source": "start", "target": "each"},
            {"source": "each", "sourceHandle": "loop", "target": "long?"},
            {"source": "long?", "sourceHandle": "long", "target": "shout"},
            {"source": "shout", "target": "each"},
            {"source": "long?", "sourceHandle": "default", "target": "each"},
            {"source": "each", "sourceHandle": "completed", "target": "end"}
        ]
    }))?;

    let first = engine
        .start("example", in_code, json!({"name": "Ada"}))
        .await?;
    let second = engine
        .start(
            "example",
            from_json,
            json!({"names": ["Grace", "Alan", "Barbara"]}),
        )
        .await?;
    let first = engine.wait("example", first).await?;
    let second = engine.wait("example", second).await?;

    while let Ok(event) = received.try_recv() {
        let what = match &event.kind {
            EngineEventKind::NodeCompleted { node, handles, .. } => {
                format!("{node} completed → {handles:?}")
            }
            EngineEventKind::NodeStarted { node, attempt, .. } => {
                format!("{node} started (attempt {attempt})")
            }
            other => format!("{other:?}")
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string(),
        };
        println!(
            "#{:<3} {} {what}",
            event.seq.map_or("-".into(), |s| s.to_string()),
            &event.run_id.to_string()[..8]
        );
    }
    println!("in code:   {:?} {}", first.status, first.output);
    println!("from JSON: {:?} {}", second.status, second.output);
    Ok(())
}
