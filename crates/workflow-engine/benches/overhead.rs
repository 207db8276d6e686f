//! Pure engine overhead with no-op nodes on the in-memory store: a 1,000-node chain, a
//! 1,000-wide fan-out/fan-in, and 100 concurrent 10-node diamonds. Throughput is in nodes, so
//! criterion prints nodes/s; `cargo xtask bench engine` turns the medians into µs per node.
//! The baseline, measured in the same run, is the least any async engine pays per node: one
//! spawned Tokio task awaited per node, calling the same no-op handler.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use async_trait::async_trait;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};
use workflow_engine::*;

#[derive(Debug)]
struct Noop;

#[async_trait]
impl NodeHandler for Noop {
    fn node_type(&self) -> &str {
        "noop"
    }
    fn handles(&self, _node: &NodeDefinition) -> Handles {
        Handles::of(&["output"])
    }
    async fn execute(&self, _input: NodeInput) -> Result<NodeOutcome, NodeError> {
        Ok(NodeOutcome::Complete(Completion::on("output", Value::Null)))
    }
}

fn chain(n: usize) -> WorkflowDefinition {
    let mut nodes = vec![json!({"id": "start", "type": "start"})];
    let mut edges = Vec::new();
    for i in 0..n {
        nodes.push(json!({"id": format!("n{i}"), "type": "noop"}));
        let from = if i == 0 {
            "start".to_string()
        } else {
            format!("n{}", i - 1)
        };
        edges.push(json!({"source": from, "target": format!("n{i}")}));
    }
    serde_json::from_value(json!({"nodes": nodes, "edges": edges})).unwrap()
}

fn fan(width: usize) -> WorkflowDefinition {
    let mut nodes = vec![
        json!({"id": "start", "type": "start"}),
        json!({"id": "join", "type": "noop"}),
    ];
    let mut edges = Vec::new();
    for i in 0..width {
        nodes.push(json!({"id": format!("b{i}"), "type": "noop"}));
        edges.push(json!({"source": "start", "target": format!("b{i}")}));
        edges.push(json!({"source": format!("b{i}"), "target": "join"}));
    }
    serde_json::from_value(json!({"nodes": nodes, "edges": edges})).unwrap()
}

fn engine() -> Engine {
    Engine::builder(Arc::new(MemoryStore::new()))
        .node_type(Arc::new(Noop))
        .build()
        .unwrap()
}

async fn run_all(engine: &Engine, workflow: &WorkflowDefinition, runs: usize) {
    let mut ids = Vec::with_capacity(runs);
    for _ in 0..runs {
        ids.push(
            engine
                .start("bench", workflow.clone(), Value::Null)
                .await
                .unwrap(),
        );
    }
    for id in ids {
        let done = engine.wait("bench", id).await.unwrap();
        assert_eq!(done.status, RunStatus::Completed);
    }
}

fn overhead(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let engine = runtime.block_on(async { engine() });
    let mut group = c.benchmark_group("engine");
    group.sample_size(20);

    let chain_1000 = chain(1000);
    group.throughput(Throughput::Elements(1001));
    group.bench_function("chain_1000", |b| {
        b.to_async(&runtime)
            .iter(|| run_all(&engine, &chain_1000, 1))
    });

    let fan_1000 = fan(1000);
    group.throughput(Throughput::Elements(1002));
    group.bench_function("fanout_1000", |b| {
        b.to_async(&runtime).iter(|| run_all(&engine, &fan_1000, 1))
    });

    let diamond = fan(8);
    group.throughput(Throughput::Elements(1000));
    group.bench_function("diamonds_100x10", |b| {
        b.to_async(&runtime)
            .iter(|| run_all(&engine, &diamond, 100))
    });

    group.throughput(Throughput::Elements(1000));
    group.bench_function("baseline_spawn_per_node_1000", |b| {
        b.to_async(&runtime).iter(|| async {
            let handler: Arc<dyn NodeHandler> = Arc::new(Noop);
            for _ in 0..1000 {
                let handler = Arc::clone(&handler);
                tokio::spawn(async move { handler.node_type().len() })
                    .await
                    .unwrap();
            }
        })
    });
    group.finish();
}

criterion_group!(benches, overhead);
criterion_main!(benches);
