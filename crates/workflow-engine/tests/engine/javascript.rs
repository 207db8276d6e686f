//! JavaScript through the QuickJS sandbox (feature `sandbox`): the node's result, `expression`
//! conditions, script errors on the `error` edge, and the node timeout enforced inside QuickJS.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use workflow_engine::*;

fn engine() -> Engine {
    Engine::builder(Arc::new(MemoryStore::new()))
        .scripts(Arc::new(SandboxScripts::new(2)))
        .build()
        .unwrap()
}

async fn finish(engine: &Engine, run: RunId) -> RunSnapshot {
    tokio::time::timeout(Duration::from_secs(20), engine.wait("t", run))
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn a_javascript_node_returns_its_result_and_an_expression_routes_on_it() {
    let engine = engine();
    let workflow = json!({
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "sum", "type": "javascript", "config": {"code": "return ctx.input.xs.reduce((a, b) => a + b, 0);", "outputVariable": "total"}},
            {"id": "big?", "type": "condition", "config": {"branches": [{"id": "big", "conditions": [{"operator": "expression", "expression": "ctx.total > 5"}]}]}},
            {"id": "yes", "type": "end", "config": {"outputParameters": [{"name": "verdict", "sourceVariable": "big"}]}},
            {"id": "no", "type": "end", "config": {"outputParameters": [{"name": "verdict", "sourceVariable": "small"}]}}
        ],
        "edges": [
            {"source": "start", "target": "sum"}, {"source": "sum", "target": "big?"},
            {"source": "big?", "sourceHandle": "big", "target": "yes"}, {"source": "big?", "sourceHandle": "default", "target": "no"}
        ]
    });
    for (xs, verdict) in [(json!([1, 2, 3]), "big"), (json!([1]), "small")] {
        let run = engine
            .start(
                "t",
                serde_json::from_value(workflow.clone()).unwrap(),
                json!({"xs": xs}),
            )
            .await
            .unwrap();
        let done = finish(&engine, run).await;
        assert_eq!(done.status, RunStatus::Completed, "{:?}", done.error);
        assert_eq!(done.output["verdict"], verdict);
    }
}

#[tokio::test]
async fn a_throwing_script_takes_the_error_edge_and_a_runaway_one_times_out() {
    let engine = engine();
    let workflow = json!({
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "throw", "type": "javascript", "config": {"code": "throw new Error('nope')"}},
            {"id": "spin", "type": "javascript", "config": {"code": "while (true) {}", "timeoutSeconds": 0.2}}
        ],
        "edges": [{"source": "start", "target": "throw"}, {"source": "throw", "sourceHandle": "error", "target": "spin"}]
    });
    let run = engine
        .start("t", serde_json::from_value(workflow).unwrap(), json!({}))
        .await
        .unwrap();
    let done = finish(&engine, run).await;
    assert_eq!(done.status, RunStatus::Failed);
    assert!(
        done.context["jsResult"]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nope")
    );
    assert!(done.error.unwrap().contains("`spin`"));
}
