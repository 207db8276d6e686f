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

/// A read through a missing path is false and takes the default branch, keeping the error in
/// the node's output; a syntax error still fails the run.
#[tokio::test]
async fn an_expression_reading_a_missing_path_is_false_and_other_script_errors_fail() {
    let engine = engine();
    let workflow = |expression: &str| {
        serde_json::from_value(json!({
            "nodes": [
                {"id": "start", "type": "start"},
                {"id": "gold?", "type": "condition", "config": {"branches": [{"id": "gold",
                    "conditions": [{"operator": "expression", "expression": expression}]}]}},
                {"id": "yes", "type": "end", "config": {"outputParameters": [{"name": "verdict", "sourceVariable": "gold"}]}},
                {"id": "no", "type": "end", "config": {"outputParameters": [{"name": "verdict", "sourceVariable": "other"}]}}
            ],
            "edges": [
                {"source": "start", "target": "gold?"},
                {"source": "gold?", "sourceHandle": "gold", "target": "yes"},
                {"source": "gold?", "sourceHandle": "default", "target": "no"}
            ]
        }))
        .unwrap()
    };
    for input in [
        json!({}),
        json!({"order": {}}),
        json!({"order": {"customer": null}}),
    ] {
        let run = engine
            .start(
                "t",
                workflow("ctx.input.order.customer.tier === 'gold'"),
                input.clone(),
            )
            .await
            .unwrap();
        let done = finish(&engine, run).await;
        assert_eq!(
            done.status,
            RunStatus::Completed,
            "{input}: {:?}",
            done.error
        );
        assert_eq!(done.output["verdict"], "other", "{input}");
        let output = done.node("gold?").unwrap().last_output.clone().unwrap();
        let errors = output["expressionErrors"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(errors.len(), 1, "{input}: {output}");
        assert!(
            errors[0]["error"].as_str().unwrap().contains("TypeError"),
            "{output}"
        );
    }
    let present = engine
        .start(
            "t",
            workflow("ctx.input.order.customer.tier === 'gold'"),
            json!({"order": {"customer": {"tier": "gold"}}}),
        )
        .await
        .unwrap();
    assert_eq!(finish(&engine, present).await.output["verdict"], "gold");
    let broken = engine
        .start("t", workflow("ctx.input.(("), json!({}))
        .await
        .unwrap();
    assert_eq!(finish(&engine, broken).await.status, RunStatus::Failed);
}
