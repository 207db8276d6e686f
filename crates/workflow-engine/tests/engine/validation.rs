//! Validation: each rule refuses the workflow with an issue that names the culprit.

use serde_json::{Value, json};
use workflow_engine::*;

use crate::support::*;

fn issues(h: &Harness, workflow: Value) -> Vec<ValidationIssue> {
    match h.engine.validate(&parse(workflow)) {
        Err(Error::InvalidDefinition(issues)) => issues,
        other => panic!("expected a validation error, got {other:?}"),
    }
}

fn mentions(issues: &[ValidationIssue], needle: &str) -> bool {
    issues.iter().any(|i| i.to_string().contains(needle))
}

#[tokio::test]
async fn each_graph_rule_names_what_is_wrong() {
    let h = Harness::new();
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"nodes": [{"id": "a", "type": "probe"}], "edges": []}),
            "exactly one `start`",
        ),
        (
            json!({"nodes": [{"id": "s", "type": "start"}, {"id": "t", "type": "start"}], "edges": []}),
            "found 2",
        ),
        (
            json!({"nodes": [{"id": "start", "type": "start"}], "edges": [{"source": "start", "target": "ghost"}]}),
            "does not exist",
        ),
        (
            json!({"nodes": [{"id": "start", "type": "start"}, {"id": "x", "type": "nope"}], "edges": [{"source": "start", "target": "x"}]}),
            "unknown node type `nope`",
        ),
        (
            json!({"nodes": [{"id": "start", "type": "start"}, {"id": "j", "type": "javascript", "config": {"code": "return 1"}}, {"id": "n", "type": "probe"}],
                   "edges": [{"source": "start", "target": "j"}, {"source": "j", "sourceHandle": "sideways", "target": "n"}]}),
            "has no handle `sideways`",
        ),
        (
            json!({"nodes": [{"id": "start", "type": "start"}, {"id": "a", "type": "probe"}, {"id": "b", "type": "probe"}],
                   "edges": [{"source": "start", "target": "a"}, {"source": "a", "target": "b"}, {"source": "b", "target": "a"}]}),
            "cycle",
        ),
        (
            json!({"nodes": [{"id": "start", "type": "start"}, {"id": "island", "type": "probe"}], "edges": []}),
            "not reachable",
        ),
        (
            json!({"nodes": [{"id": "start", "type": "start"}, {"id": "a", "type": "probe"}, {"id": "a", "type": "probe"}],
                   "edges": [{"source": "start", "target": "a"}]}),
            "used twice",
        ),
        (
            json!({"nodes": [{"id": "start", "type": "start"}, {"id": "e", "type": "end"}, {"id": "a", "type": "probe"}],
                   "edges": [{"source": "start", "target": "e"}, {"source": "e", "target": "a"}]}),
            "end node cannot have outgoing",
        ),
        (
            json!({"nodes": [{"id": "start", "type": "start"}, {"id": "l", "type": "loop", "config": {"sourceVariable": "{{ctx.input}}"}}, {"id": "body", "type": "probe"}],
                   "edges": [{"source": "start", "target": "l"}, {"source": "l", "sourceHandle": "loop", "target": "body"}]}),
            "never returns",
        ),
    ];
    for (workflow, needle) in cases {
        let found = issues(&h, workflow.clone());
        assert!(mentions(&found, needle), "{needle}: {found:?}");
    }
}

fn single(node: Value) -> Value {
    json!({"id": "wf-1", "nodes": [{"id": "start", "type": "start"}, node], "edges": [{"source": "start", "target": "n"}]})
}

#[tokio::test]
async fn each_config_rule_names_the_field() {
    let h = Harness::new();
    let cases = [
        (
            json!({"id": "n", "type": "loop", "config": {"sourceVariable": "{{ctx.items}}", "maxIterations": 100001}}),
            "maxIterations",
        ),
        (
            json!({"id": "n", "type": "loop", "config": {"sourceVariable": "{{ctx.items", "itemVariable": "not ok"}}),
            "sourceVariable",
        ),
        (
            json!({"id": "n", "type": "delay", "config": {"delayMinutes": 1441}}),
            "delayMinutes",
        ),
        (
            json!({"id": "n", "type": "delay", "config": {"delayType": "someday"}}),
            "delayType",
        ),
        (
            json!({"id": "n", "type": "subWorkflow", "config": {"childWorkflowID": "wf-1"}}),
            "may not start itself",
        ),
        (
            json!({"id": "n", "type": "subWorkflow", "config": {"childWorkflowID": "other", "maxDepth": 6}}),
            "maxDepth",
        ),
        (
            json!({"id": "n", "type": "javascript", "config": {}}),
            "code",
        ),
        (
            json!({"id": "n", "type": "dataQuery", "config": {"inputValues": {"a": "{{process.env}}"}}}),
            "dataQueryID",
        ),
        (
            json!({"id": "n", "type": "condition", "config": {"branches": [{"id": "b", "conditions": [{"leftValue": "{{ctx.a}}", "operator": "eval"}]}]}}),
            "operator",
        ),
        (
            json!({"id": "n", "type": "end", "config": {"status": "meh"}}),
            "status",
        ),
        (
            json!({"id": "n", "type": "probe", "retry": {"limit": 11}}),
            "retry limit",
        ),
        (
            json!({"id": "n", "type": "probe", "timeoutSeconds": 0}),
            "timeoutSeconds",
        ),
    ];
    for (node, needle) in cases {
        let found = issues(&h, single(node.clone()));
        assert!(mentions(&found, needle), "{needle}: {found:?}");
    }
    let templated = issues(
        &h,
        single(
            json!({"id": "n", "type": "dataQuery", "config": {"dataQueryID": "q", "inputValues": {"a": "{{process.env}}"}}}),
        ),
    );
    assert!(
        mentions(&templated, "must start with `ctx`"),
        "{templated:?}"
    );
}

#[tokio::test]
async fn the_original_field_names_load() {
    let h = Harness::new();
    let saved = json!({
        "nodes": [
            {"nodeID": "s", "nodeType": "start", "nodeConfig": {}},
            {"nodeID": "l", "nodeType": "loop", "nodeConfig": {"sourceVariable": "{{ctx.input.xs}}"}},
            {"nodeID": "b", "nodeType": "probe", "nodeConfig": {}},
            {"nodeID": "e", "nodeType": "end", "nodeConfig": {}}
        ],
        "edges": [
            {"upstreamNodeID": "s", "downstreamNodeID": "l"},
            {"upstreamNodeID": "l", "downstreamNodeID": "b", "sourceHandle": "loop"},
            {"upstreamNodeID": "b", "downstreamNodeID": "l"},
            {"upstreamNodeID": "l", "downstreamNodeID": "e", "sourceHandle": "done"}
        ],
        "workflowOptions": {"inputDefinitions": []}
    });
    let run = h.start(saved, json!({"xs": [1, 2]})).await;
    assert_eq!(h.finish(run).await.status, RunStatus::Completed);
    assert_eq!(h.journal.of(run).len(), 2);
}

/// `b` suspends (a form nobody answers), so only joins that wait for any one edge run.
#[tokio::test]
async fn join_modes_come_from_join_mode_require_all_or_the_node_type() {
    let h = Harness::new();
    let workflow = json!({
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "a", "type": "probe"},
            {"id": "b", "type": "dataCollection", "config": {"title": "never answered"}},
            {"id": "gather-any", "type": "join", "config": {"requireAll": false}},
            {"id": "gather-all", "type": "join"},
            {"id": "explicit", "type": "probe", "joinMode": "any"}
        ],
        "edges": [
            {"source": "start", "target": "a"}, {"source": "start", "target": "b"},
            {"source": "a", "target": "gather-any"}, {"source": "b", "target": "gather-any"},
            {"source": "a", "target": "gather-all"}, {"source": "b", "target": "gather-all"},
            {"source": "a", "target": "explicit"}, {"source": "b", "target": "explicit"}
        ]
    });
    let run = h.start(workflow, json!({})).await;
    h.engine.idle().await;
    let snapshot = h.engine.snapshot(NS, run).await.unwrap();
    let status = |id: &str| snapshot.node(id).unwrap().status;
    assert_eq!(status("b"), NodeStatus::Suspended);
    assert_eq!(status("gather-any"), NodeStatus::Completed);
    assert_eq!(status("gather-all"), NodeStatus::NotReached);
    assert_eq!(status("explicit"), NodeStatus::Completed);
}
