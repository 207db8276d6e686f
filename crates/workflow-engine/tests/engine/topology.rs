//! Every topology and node type of the acceptance list, on a fake clock.

use std::time::Duration;

use serde_json::{Value, json};
use workflow_engine::*;

use crate::support::*;

#[tokio::test]
async fn a_linear_workflow_completes_with_its_end_output() {
    let h = Harness::new();
    let mut workflow = chain(&["a", "b"]);
    workflow["nodes"][3]["config"] = json!({"outputParameters": [
        {"name": "who", "sourceVariable": "{{ctx.input.name}}"},
        {"name": "greeting", "sourceVariable": "Hi {{ctx.input.name}}!"}
    ]});
    let run = h.start(workflow, json!({"name": "Ada"})).await;
    let done = h.finish(run).await;
    assert_eq!(done.status, RunStatus::Completed);
    assert_eq!(done.output, json!({"who": "Ada", "greeting": "Hi Ada!"}));
    let order: Vec<String> = h.journal.of(run).into_iter().map(|e| e.node).collect();
    assert_eq!(order, ["a", "b"]);
}

#[tokio::test]
async fn a_run_without_an_end_node_completes_when_nothing_is_left() {
    let h = Harness::new();
    let workflow = json!({
        "nodes": [{"id": "start", "type": "start"}, {"id": "a", "type": "probe"}],
        "edges": [{"source": "start", "target": "a"}]
    });
    let run = h.start(workflow, json!({})).await;
    assert_eq!(h.finish(run).await.status, RunStatus::Completed);
}

fn diamond(join_mode: &str) -> Value {
    json!({
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "left", "type": "probe", "config": {"outputVariable": "l"}},
            {"id": "right", "type": "probe", "config": {"outputVariable": "r"}},
            {"id": "join", "type": "probe", "joinMode": join_mode, "config": {"output": {"l": "{{ctx.l.node}}", "r": "{{ctx.r.node}}"}, "outputVariable": "joined"}},
            {"id": "end", "type": "end", "config": {"outputParameters": [{"name": "joined", "sourceVariable": "{{ctx.joined}}"}]}}
        ],
        "edges": [
            {"source": "start", "target": "left"}, {"source": "start", "target": "right"},
            {"source": "left", "target": "join"}, {"source": "right", "target": "join"},
            {"source": "join", "target": "end"}
        ]
    })
}

#[tokio::test]
async fn a_diamond_with_join_all_runs_the_join_once_after_both_branches() {
    let h = Harness::new();
    let run = h.start(diamond("all"), json!({})).await;
    let done = h.finish(run).await;
    assert_eq!(done.status, RunStatus::Completed);
    assert_eq!(h.journal.count(run, "join"), 1);
    assert_eq!(done.output["joined"], json!({"l": "left", "r": "right"}));
}

#[tokio::test]
async fn a_diamond_with_join_any_runs_the_join_once() {
    let h = Harness::new();
    let run = h.start(diamond("any"), json!({})).await;
    let done = h.finish(run).await;
    assert_eq!(done.status, RunStatus::Completed);
    assert_eq!(h.journal.count(run, "join"), 1);
    assert_eq!(
        h.journal.count(run, "end"),
        0,
        "end is a built-in, not a probe"
    );
}

#[tokio::test]
async fn a_fan_out_of_100_fans_in_to_one_join() {
    let h = Harness::new();
    let mut nodes = vec![
        json!({"id": "start", "type": "start"}),
        json!({"id": "fan", "type": "fanout"}),
        json!({"id": "gather", "type": "join", "config": {"sourceVariables": ["b0", "b99"]}}),
    ];
    let mut edges = vec![json!({"source": "start", "target": "fan"})];
    for i in 0..100 {
        nodes.push(json!({"id": format!("b{i}"), "type": "probe", "config": {"outputVariable": format!("b{i}")}}));
        edges.push(json!({"source": "fan", "target": format!("b{i}")}));
        edges.push(json!({"source": format!("b{i}"), "target": "gather"}));
    }
    let run = h
        .start(json!({"nodes": nodes, "edges": edges}), json!({}))
        .await;
    let done = h.finish(run).await;
    assert_eq!(done.status, RunStatus::Completed);
    assert_eq!(h.journal.of(run).len(), 100);
    assert_eq!(done.context["joined"]["b99"]["node"], "b99");
    let log = h.engine.events(NS, run).await.unwrap();
    let gathers = log
        .iter()
        .filter(|e| e.name() == "NODE_COMPLETED" && e.node() == Some("gather"))
        .count();
    assert_eq!(gathers, 1);
}

fn branch(id: &str, left: &str, operator: &str, right: Value) -> Value {
    json!({"id": id, "conditionLogic": "AND", "conditions": [{"leftValue": left, "operator": operator, "rightValue": right}]})
}

fn nested_conditions() -> Value {
    json!({
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "size", "type": "condition", "config": {"branches": [branch("big", "{{ctx.input.n}}", "greater_than", json!(10))]}},
            {"id": "huge?", "type": "condition", "config": {"branches": [branch("huge", "{{ctx.input.n}}", "greater_or_equal", json!("1000"))]}},
            {"id": "small", "type": "probe"},
            {"id": "large", "type": "probe"},
            {"id": "enormous", "type": "probe"},
            {"id": "after", "type": "probe"}
        ],
        "edges": [
            {"source": "start", "target": "size"},
            {"source": "size", "sourceHandle": "big", "target": "huge?"},
            {"source": "size", "sourceHandle": "default", "target": "small"},
            {"source": "huge?", "sourceHandle": "huge", "target": "enormous"},
            {"source": "huge?", "sourceHandle": "default", "target": "large"},
            {"source": "small", "target": "after"},
            {"source": "large", "target": "after"},
            {"source": "enormous", "target": "after"}
        ]
    })
}

#[tokio::test]
async fn nested_conditions_take_one_path_and_the_join_after_them_still_runs_once() {
    for (n, expected) in [(3, "small"), (50, "large"), (5000, "enormous")] {
        let h = Harness::new();
        let run = h.start(nested_conditions(), json!({"n": n})).await;
        assert_eq!(h.finish(run).await.status, RunStatus::Completed);
        let ran: Vec<String> = h.journal.of(run).into_iter().map(|e| e.node).collect();
        assert_eq!(ran, [expected, "after"], "n = {n}");
    }
}

#[tokio::test]
async fn a_switch_takes_the_matching_case_or_default() {
    let workflow = json!({
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "color", "type": "switch", "config": {"switchValue": "{{ctx.input.color}}", "cases": [
                {"id": "red", "matchValue": "red"}, {"id": "blue", "operator": "starts_with", "matchValue": "blu"}]}},
            {"id": "r", "type": "probe"}, {"id": "b", "type": "probe"}, {"id": "other", "type": "probe"}
        ],
        "edges": [
            {"source": "start", "target": "color"},
            {"source": "color", "sourceHandle": "red", "target": "r"},
            {"source": "color", "sourceHandle": "blue", "target": "b"},
            {"source": "color", "sourceHandle": "default", "target": "other"}
        ]
    });
    for (color, expected) in [("red", "r"), ("bluish", "b"), ("green", "other")] {
        let h = Harness::new();
        let run = h.start(workflow.clone(), json!({"color": color})).await;
        assert_eq!(h.finish(run).await.status, RunStatus::Completed);
        let ran: Vec<String> = h.journal.of(run).into_iter().map(|e| e.node).collect();
        assert_eq!(ran, [expected]);
    }
}

fn loop_workflow(pacing_ms: u64) -> Value {
    json!({
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "each", "type": "loop", "config": {"sourceVariable": "{{ctx.input.items}}", "itemVariable": "item", "maxIterations": 5000, "delayBetweenItems": pacing_ms}},
            {"id": "double", "type": "probe", "config": {"output": {"twice": "{{ctx.item}}", "index": "{{ctx.index}}"}}},
            {"id": "end", "type": "end", "config": {"outputParameters": [{"name": "results", "sourceVariable": "{{ctx.loopResults}}"}]}}
        ],
        "edges": [
            {"source": "start", "target": "each"},
            {"source": "each", "sourceHandle": "loop", "target": "double"},
            {"source": "double", "target": "each"},
            {"source": "each", "sourceHandle": "completed", "target": "end"}
        ]
    })
}

#[tokio::test]
async fn a_loop_over_1000_items_runs_its_body_once_per_item_and_collects_the_results() {
    let h = Harness::new();
    let items: Vec<u32> = (0..1000).collect();
    let run = h.start(loop_workflow(0), json!({"items": items})).await;
    let done = h.finish(run).await;
    assert_eq!(done.status, RunStatus::Completed, "{:?}", done.error);
    let results = done.output["results"].as_array().unwrap();
    assert_eq!(results.len(), 1000);
    assert_eq!(results[999], json!({"twice": 999, "index": 999}));
    let body = h.journal.of(run);
    assert_eq!(body.len(), 1000);
    assert!(
        body.iter()
            .enumerate()
            .all(|(i, e)| e.activation == i as u32 + 1)
    );
    let keys: std::collections::HashSet<&String> = body.iter().map(|e| &e.key).collect();
    assert_eq!(
        keys.len(),
        1000,
        "each iteration has its own idempotency key"
    );
}

#[tokio::test]
async fn an_empty_loop_completes_at_once() {
    let h = Harness::new();
    let run = h.start(loop_workflow(0), json!({"items": []})).await;
    let done = h.finish(run).await;
    assert_eq!(done.output["results"], json!([]));
    assert!(h.journal.of(run).is_empty());
}

#[tokio::test]
async fn loop_pacing_spaces_iterations_on_the_clock_without_blocking() {
    let h = Harness::new();
    let mut rx = h.events.subscribe();
    let t0 = h.clock.now();
    let run = h
        .start(loop_workflow(1_000), json!({"items": ["a", "b", "c"]}))
        .await;
    for index in 1..3u32 {
        let due_at = |e: &EngineEvent| matches!(&e.kind, EngineEventKind::NodeDispatched { node, activation, .. } if node == "double" && *activation == index + 1);
        let dispatched = Harness::event(&mut rx, due_at).await;
        let EngineEventKind::NodeDispatched { due, .. } = dispatched.kind else {
            unreachable!()
        };
        assert_eq!(
            due - t0,
            chrono::Duration::seconds(i64::from(index)),
            "item {index}"
        );
        assert_eq!(
            h.journal.count(run, "double"),
            index as usize,
            "item {index} waits for the clock"
        );
        h.clock.advance(Duration::from_secs(1));
    }
    let done = h.finish(run).await;
    assert_eq!(done.output["results"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn a_delay_schedules_the_next_node_later_and_nothing_waits() {
    let h = Harness::new();
    let workflow = json!({
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "wait", "type": "delay", "config": {"delayType": "fixed", "delayMinutes": 90}},
            {"id": "after", "type": "probe"}
        ],
        "edges": [{"source": "start", "target": "wait"}, {"source": "wait", "target": "after"}]
    });
    let mut rx = h.events.subscribe();
    let t0 = h.clock.now();
    let run = h.start(workflow, json!({})).await;
    let dispatched = Harness::event(
        &mut rx,
        |e| matches!(&e.kind, EngineEventKind::NodeDispatched { node, .. } if node == "after"),
    )
    .await;
    let EngineEventKind::NodeDispatched { due, .. } = dispatched.kind else {
        unreachable!()
    };
    assert_eq!(due - t0, chrono::Duration::minutes(90));
    h.engine.idle().await;
    assert_eq!(h.journal.count(run, "after"), 0);
    assert_eq!(
        h.engine.snapshot(NS, run).await.unwrap().status,
        RunStatus::Running
    );
    h.clock.advance(Duration::from_secs(90 * 60));
    assert_eq!(h.finish(run).await.status, RunStatus::Completed);
    assert_eq!(h.journal.count(run, "after"), 1);
}

#[tokio::test]
async fn a_dynamic_delay_reads_the_context_and_an_until_delay_reads_a_time() {
    let h = Harness::new();
    let until = (h.clock.now() + chrono::Duration::minutes(5)).to_rfc3339();
    let workflow = json!({
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "dynamic", "type": "delay", "config": {"delayType": "dynamic", "delayVariable": "{{ctx.input.ms}}"}},
            {"id": "until", "type": "delay", "config": {"delayType": "until", "untilTime": "{{ctx.input.until}}"}},
            {"id": "after", "type": "probe"}
        ],
        "edges": [{"source": "start", "target": "dynamic"}, {"source": "dynamic", "target": "until"}, {"source": "until", "target": "after"}]
    });
    let mut rx = h.events.subscribe();
    let run = h.start(workflow, json!({"ms": 2000, "until": until})).await;
    Harness::event(
        &mut rx,
        |e| matches!(&e.kind, EngineEventKind::NodeDispatched { node, .. } if node == "until"),
    )
    .await;
    h.clock.advance(Duration::from_secs(2));
    Harness::event(
        &mut rx,
        |e| matches!(&e.kind, EngineEventKind::NodeDispatched { node, .. } if node == "after"),
    )
    .await;
    assert_eq!(h.journal.count(run, "after"), 0);
    h.clock.advance(Duration::from_secs(5 * 60));
    assert_eq!(h.finish(run).await.status, RunStatus::Completed);
}

#[tokio::test]
async fn a_failure_takes_the_error_edge_and_the_run_completes() {
    let h = Harness::new();
    let workflow = json!({
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "query", "type": "dataQuery", "config": {"dataQueryID": "broken"}},
            {"id": "ok", "type": "probe"},
            {"id": "recover", "type": "probe", "config": {"output": "{{ctx.queryResult.error.message}}"}}
        ],
        "edges": [
            {"source": "start", "target": "query"},
            {"source": "query", "sourceHandle": "success", "target": "ok"},
            {"source": "query", "sourceHandle": "error", "target": "recover"}
        ]
    });
    let run = h.start(workflow, json!({})).await;
    let done = h.finish(run).await;
    assert_eq!(done.status, RunStatus::Completed);
    let ran: Vec<String> = h.journal.of(run).into_iter().map(|e| e.node).collect();
    assert_eq!(ran, ["recover"]);
    assert_eq!(done.context["queryResult"]["success"], false);
}

#[tokio::test]
async fn a_data_query_gets_templated_inputs_and_the_idempotency_key() {
    let h = Harness::new();
    let workflow = json!({
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "q", "type": "dataQuery", "config": {"dataQueryID": "users", "inputValues": {"id": "{{ctx.input.id}}", "label": "user {{ctx.input.id}}"}}}
        ],
        "edges": [{"source": "start", "target": "q"}]
    });
    let run = h.start(workflow, json!({"id": 7})).await;
    let done = h.finish(run).await;
    assert_eq!(
        done.context["queryResult"]["inputs"],
        json!({"id": 7, "label": "user 7"})
    );
    assert_eq!(done.context["queryResult"]["key"], format!("{run}:q:1"));
}

#[tokio::test]
async fn a_failing_node_without_an_error_edge_fails_the_run() {
    let h = Harness::new();
    let mut workflow = chain(&["a", "bad", "c"]);
    workflow["nodes"][2]["config"] = json!({"fatal": true});
    let run = h.start(workflow, json!({})).await;
    let done = h.finish(run).await;
    assert_eq!(done.status, RunStatus::Failed);
    assert!(
        done.error.as_deref().unwrap().contains("`bad`"),
        "{:?}",
        done.error
    );
    assert_eq!(h.journal.count(run, "c"), 0);
}

#[tokio::test]
async fn an_end_node_with_status_error_fails_the_run() {
    let h = Harness::new();
    let mut workflow = chain(&["a"]);
    workflow["nodes"][2]["config"] = json!({"status": "error"});
    let run = h.start(workflow, json!({})).await;
    assert_eq!(h.finish(run).await.status, RunStatus::Failed);
}

#[tokio::test]
async fn a_node_past_its_timeout_fails() {
    let h = Harness::new();
    let workflow = json!({
        "nodes": [{"id": "start", "type": "start"}, {"id": "slow", "type": "probe", "timeoutSeconds": 5, "config": {"hang": true}}],
        "edges": [{"source": "start", "target": "slow"}]
    });
    let t0 = h.engine.now();
    let mut rx = h.events.subscribe();
    let run = h.start(workflow, json!({})).await;
    Harness::event(
        &mut rx,
        |e| matches!(&e.kind, EngineEventKind::NodeStarted { node, .. } if node == "slow"),
    )
    .await;
    // The attempt hangs, so the engine never idles; the clock shows what can happen instead:
    // once the attempt has armed its timers, the earliest is the timeout, 5 s after it started.
    tokio::time::timeout(Duration::from_secs(10), async {
        while h.clock.next_deadline() != Some(t0 + chrono::Duration::seconds(5)) {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the attempt did not arm a timeout at 5 s");
    assert_eq!(
        h.clock.advance(Duration::from_secs(4)),
        0,
        "nothing is due before 5 s"
    );
    assert_eq!(
        h.engine.snapshot(NS, run).await.unwrap().status,
        RunStatus::Running
    );
    h.clock.advance(Duration::from_secs(1));
    let done = h.finish(run).await;
    assert_eq!(done.status, RunStatus::Failed);
    assert!(done.error.unwrap().contains("timed out"));
}

#[tokio::test]
async fn retries_back_off_on_the_clock_then_succeed() {
    let h = Harness::new();
    let workflow = json!({
        "nodes": [{"id": "start", "type": "start"},
                  {"id": "flaky", "type": "probe", "retry": {"limit": 3, "initialBackoffMs": 1000, "jitter": 0}, "config": {"failTimes": 2}}],
        "edges": [{"source": "start", "target": "flaky"}]
    });
    let mut rx = h.events.subscribe();
    let run = h.start(workflow, json!({})).await;
    for (attempt, wait) in [(1u32, 1u64), (2, 2)] {
        let retrying = Harness::event(&mut rx, |e| matches!(&e.kind, EngineEventKind::NodeRetrying { attempt: a, .. } if *a == attempt)).await;
        let EngineEventKind::NodeRetrying { retry_at, .. } = retrying.kind else {
            unreachable!()
        };
        assert_eq!(
            retry_at - h.clock.now(),
            chrono::Duration::seconds(wait as i64),
            "exponential backoff"
        );
        h.clock.advance(Duration::from_secs(wait));
    }
    let done = h.finish(run).await;
    assert_eq!(done.status, RunStatus::Completed);
    let keys: Vec<String> = h.journal.of(run).into_iter().map(|e| e.key).collect();
    assert_eq!(keys, [1, 2, 3].map(|a| format!("{run}:flaky:{a}")));
}

#[tokio::test]
async fn exhausted_retries_fail_the_run_or_follow_the_error_edge() {
    for (mode, expected) in [
        ("retry_then_fail", RunStatus::Failed),
        ("retry_then_continue", RunStatus::Completed),
    ] {
        let h = Harness::new();
        let workflow = json!({
            "nodes": [{"id": "start", "type": "start"},
                      {"id": "flaky", "type": "probe", "errorHandling": mode, "retry": {"limit": 2, "initialBackoffMs": 10, "jitter": 0}, "config": {"failTimes": 99}},
                      {"id": "fallback", "type": "probe"}],
            "edges": [{"source": "start", "target": "flaky"}, {"source": "flaky", "sourceHandle": "error", "target": "fallback"}]
        });
        let run = h.start(workflow, json!({})).await;
        let done = loop {
            h.clock.advance(Duration::from_millis(10));
            h.engine.idle().await;
            let snapshot = h.engine.snapshot(NS, run).await.unwrap();
            if snapshot.status.is_terminal() {
                break snapshot;
            }
        };
        assert_eq!(done.status, expected, "{mode}");
        assert_eq!(
            h.journal.count(run, "flaky"),
            3,
            "{mode}: 1 attempt + 2 retries"
        );
        assert_eq!(
            h.journal.count(run, "fallback"),
            usize::from(expected == RunStatus::Completed)
        );
    }
}

fn form_workflow(expiry_minutes: u32, on_expire: &str) -> Value {
    json!({
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "ask", "type": "dataCollection", "config": {"title": "Hello {{ctx.input.name}}", "expiryMinutes": expiry_minutes, "onExpire": on_expire,
                "formSchema": {"type": "object", "required": ["age"], "properties": {"age": {"type": "number"}}}}},
            {"id": "got", "type": "probe", "config": {"output": "{{ctx.collectedData.age}}", "outputVariable": "age"}},
            {"id": "late", "type": "probe"}
        ],
        "edges": [
            {"source": "start", "target": "ask"},
            {"source": "ask", "sourceHandle": "output", "target": "got"},
            {"source": "ask", "sourceHandle": "expired", "target": "late"}
        ]
    })
}

#[tokio::test]
async fn a_data_collection_suspends_until_the_host_submits() {
    let h = Harness::new();
    let mut rx = h.events.subscribe();
    let run = h
        .start(form_workflow(60, "expired"), json!({"name": "Ada"}))
        .await;
    let suspended = Harness::event(&mut rx, |e| {
        matches!(e.kind, EngineEventKind::NodeSuspended { .. })
    })
    .await;
    let EngineEventKind::NodeSuspended {
        request_id,
        suspension,
        ..
    } = suspended.kind
    else {
        unreachable!()
    };
    assert_eq!(suspension.payload["title"], "Hello Ada");
    assert_eq!(
        suspension.expires_at,
        Some(h.clock.now() + chrono::Duration::minutes(60))
    );
    let pending = h.engine.snapshot(NS, run).await.unwrap().pending;
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].request_id, request_id);

    let missing = h
        .engine
        .submit(NS, run, &request_id, json!({"name": "x"}))
        .await;
    assert!(
        matches!(missing, Err(Error::InvalidInput { .. })),
        "{missing:?}"
    );
    assert!(matches!(
        h.engine
            .submit("tenant-b", run, &request_id, json!({"age": 1}))
            .await,
        Err(Error::RunNotFound)
    ));
    h.engine
        .submit(NS, run, &request_id, json!({"age": 36}))
        .await
        .unwrap();
    let done = h.finish(run).await;
    assert_eq!(done.status, RunStatus::Completed);
    assert_eq!(done.context["age"], 36);
    let ran: Vec<String> = h.journal.of(run).into_iter().map(|e| e.node).collect();
    assert_eq!(ran, ["got"]);
    assert!(matches!(
        h.engine
            .submit(NS, run, &request_id, json!({"age": 1}))
            .await,
        Err(Error::NotRunning {
            status: RunStatus::Completed
        })
    ));
    h.clock.advance(Duration::from_secs(3600 * 2));
    h.engine.idle().await;
    assert_eq!(
        h.journal.count(run, "late"),
        0,
        "the expiry task was cancelled by the submission"
    );
}

#[tokio::test]
async fn an_expired_data_collection_takes_the_expired_path_or_fails() {
    for (on_expire, status, late_runs) in [
        ("expired", RunStatus::Completed, 1),
        ("fail", RunStatus::Failed, 0),
    ] {
        let h = Harness::new();
        let mut rx = h.events.subscribe();
        let run = h.start(form_workflow(1, on_expire), json!({})).await;
        Harness::event(&mut rx, |e| {
            matches!(e.kind, EngineEventKind::NodeSuspended { .. })
        })
        .await;
        h.clock.advance(Duration::from_secs(59));
        h.engine.idle().await;
        assert_eq!(
            h.engine.snapshot(NS, run).await.unwrap().status,
            RunStatus::Running
        );
        h.clock.advance(Duration::from_secs(1));
        let done = h.finish(run).await;
        assert_eq!(done.status, status, "{on_expire}");
        assert_eq!(h.journal.count(run, "late"), late_runs);
        assert_eq!(h.journal.count(run, "got"), 0);
    }
}

#[tokio::test]
async fn an_approval_routes_approved_and_rejected() {
    let workflow = json!({
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "approve", "type": "approval", "config": {"title": "Refund?"}},
            {"id": "yes", "type": "probe"}, {"id": "no", "type": "probe"}
        ],
        "edges": [
            {"source": "start", "target": "approve"},
            {"source": "approve", "sourceHandle": "approved", "target": "yes"},
            {"source": "approve", "sourceHandle": "rejected", "target": "no"}
        ]
    });
    for (decision, expected) in [("approve", "yes"), ("reject", "no")] {
        let h = Harness::new();
        let mut rx = h.events.subscribe();
        let run = h.start(workflow.clone(), json!({})).await;
        let suspended = Harness::event(&mut rx, |e| {
            matches!(e.kind, EngineEventKind::NodeSuspended { .. })
        })
        .await;
        let EngineEventKind::NodeSuspended { request_id, .. } = suspended.kind else {
            unreachable!()
        };
        assert!(matches!(
            h.engine
                .submit(NS, run, &request_id, json!({"decision": "maybe"}))
                .await,
            Err(Error::InvalidInput { .. })
        ));
        h.engine
            .submit(
                NS,
                run,
                &request_id,
                json!({"decision": decision, "comment": "ok"}),
            )
            .await
            .unwrap();
        let done = h.finish(run).await;
        assert_eq!(done.status, RunStatus::Completed);
        assert_eq!(done.context["approval"]["comment"], "ok");
        let ran: Vec<String> = h.journal.of(run).into_iter().map(|e| e.node).collect();
        assert_eq!(ran, [expected]);
    }
}

#[tokio::test]
async fn a_sub_workflow_runs_as_a_child_and_returns_its_output() {
    let h = Harness::new();
    let mut child = chain(&["inner"]);
    child["id"] = json!("child");
    child["nodes"][2]["config"] = json!({"outputParameters": [{"name": "doubled", "sourceVariable": "{{ctx.input.x}}{{ctx.input.x}}"}]});
    h.library
        .workflows
        .lock()
        .unwrap()
        .insert("child".into(), parse(child));
    let workflow = json!({
        "id": "parent",
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "call", "type": "subWorkflow", "config": {"childWorkflowID": "child", "inputMapping": {"x": "{{ctx.input.value}}"}}},
            {"id": "after", "type": "probe", "config": {"output": "{{ctx.subResult.doubled}}", "outputVariable": "seen"}}
        ],
        "edges": [{"source": "start", "target": "call"}, {"source": "call", "sourceHandle": "success", "target": "after"}]
    });
    let run = h.start(workflow, json!({"value": "ab"})).await;
    let done = h.finish(run).await;
    assert_eq!(done.status, RunStatus::Completed, "{:?}", done.error);
    assert_eq!(done.context["seen"], "abab");
    let runs = h.store.runs(Some(NS), None).await.unwrap();
    assert_eq!(runs.len(), 2);
    let child_run = runs.iter().find(|r| r.id != run).unwrap();
    assert_eq!(child_run.parent.as_ref().unwrap().run, run);
    assert_eq!(child_run.status, RunStatus::Completed);
}

#[tokio::test]
async fn sub_workflows_stop_nesting_at_depth_five() {
    let h = Harness::new();
    for (id, next) in [("a", "b"), ("b", "a")] {
        let workflow = json!({
            "id": id,
            "nodes": [{"id": "start", "type": "start"}, {"id": "call", "type": "subWorkflow", "config": {"childWorkflowID": next}}],
            "edges": [{"source": "start", "target": "call"}]
        });
        h.library
            .workflows
            .lock()
            .unwrap()
            .insert(id.into(), parse(workflow));
    }
    let top = h.library.workflows.lock().unwrap()["a"].clone();
    let run = h.engine.start(NS, top, json!({})).await.unwrap();
    let done = h.finish(run).await;
    assert_eq!(done.status, RunStatus::Failed);
    let runs = h.store.runs(Some(NS), None).await.unwrap();
    assert_eq!(runs.len(), 6, "the top run and five nested children");
    assert_eq!(runs.iter().map(|r| r.depth).max(), Some(5));
    assert!(runs.iter().all(|r| r.status == RunStatus::Failed));
}

#[tokio::test]
async fn cancelling_a_run_stops_its_in_flight_node_and_starts_nothing_new() {
    let h = Harness::new();
    let mut workflow = chain(&["slow", "never"]);
    workflow["nodes"][1]["config"] = json!({"hang": true});
    let mut rx = h.events.subscribe();
    let run = h.start(workflow, json!({})).await;
    Harness::event(
        &mut rx,
        |e| matches!(&e.kind, EngineEventKind::NodeStarted { node, .. } if node == "slow"),
    )
    .await;
    assert!(matches!(
        h.engine.cancel("tenant-b", run, None).await,
        Err(Error::RunNotFound)
    ));
    assert_eq!(
        h.engine
            .cancel(NS, run, Some("operator".into()))
            .await
            .unwrap(),
        CancelOutcome::Cancelled
    );
    let done = h.finish(run).await;
    assert_eq!(done.status, RunStatus::Cancelled);
    assert_eq!(done.error.as_deref(), Some("operator"));
    Harness::event(&mut rx, |e| {
        matches!(e.kind, EngineEventKind::RunCancelled { .. })
    })
    .await;
    h.engine.idle().await;
    assert_eq!(h.journal.count(run, "never"), 0);
    assert_eq!(h.store.task_count(), 0, "no queued work is left behind");
    assert_eq!(
        h.engine.cancel(NS, run, None).await.unwrap(),
        CancelOutcome::AlreadyCancelled
    );
    assert!(matches!(
        h.engine.restart(NS, run).await,
        Err(Error::NotRestartable {
            status: RunStatus::Cancelled
        })
    ));
}

#[tokio::test]
async fn a_failed_run_restarts_from_the_failed_node_keeping_its_context() {
    let h = Harness::new();
    let workflow = json!({
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "first", "type": "probe", "config": {"outputVariable": "first"}},
            {"id": "shaky", "type": "probe", "config": {"failTimes": 1, "output": "{{ctx.first.node}}", "outputVariable": "shaky"}},
            {"id": "last", "type": "probe"}
        ],
        "edges": [{"source": "start", "target": "first"}, {"source": "first", "target": "shaky"}, {"source": "shaky", "target": "last"}]
    });
    let run = h.start(workflow, json!({})).await;
    let failed = h.finish(run).await;
    assert_eq!(failed.status, RunStatus::Failed);
    h.engine.restart(NS, run).await.unwrap();
    let done = h.finish(run).await;
    assert_eq!(done.status, RunStatus::Completed, "{:?}", done.error);
    assert_eq!(
        done.context["shaky"], "first",
        "the context before the failed node was kept"
    );
    let ran: Vec<(String, u32)> = h
        .journal
        .of(run)
        .into_iter()
        .map(|e| (e.node, e.attempt))
        .collect();
    assert_eq!(
        ran,
        [
            ("first".into(), 1),
            ("shaky".into(), 1),
            ("shaky".into(), 2),
            ("last".into(), 1)
        ]
    );
    assert!(matches!(
        h.engine.restart(NS, run).await,
        Err(Error::NotRestartable {
            status: RunStatus::Completed
        })
    ));
    assert_eq!(
        h.engine.cancel(NS, run, None).await.unwrap(),
        CancelOutcome::AlreadyFinished {
            status: RunStatus::Completed
        },
        "a cancel racing the completion is told the run finished first"
    );
}

#[tokio::test]
async fn the_event_log_has_a_gapless_sequence_and_folds_to_the_live_context() {
    let h = Harness::new();
    let mut rx = h.events.subscribe();
    let run = h.start(diamond("all"), json!({"k": 1})).await;
    let finished = Harness::event(&mut rx, |e| {
        matches!(e.kind, EngineEventKind::RunCompleted { .. })
    })
    .await;
    let EngineEventKind::RunCompleted { context, .. } = finished.kind else {
        unreachable!()
    };
    let log = h.engine.events(NS, run).await.unwrap();
    assert!(log.iter().enumerate().all(|(i, e)| e.seq() == i as u64 + 1));
    assert_eq!(h.engine.snapshot(NS, run).await.unwrap().context, context);
    assert!(matches!(
        h.engine.snapshot("tenant-b", run).await,
        Err(Error::RunNotFound)
    ));
}

#[tokio::test]
async fn one_namespace_flooding_the_engine_does_not_starve_another() {
    let store = std::sync::Arc::new(MemoryStore::new());
    let h = Harness::with(store, FakeClock::new(), Default::default(), 2, "fair");
    let mut slow = chain(&["work"]);
    slow["nodes"][1]["config"] = json!({"sleepMs": 5});
    let mut flood = Vec::new();
    for _ in 0..100 {
        flood.push(
            h.engine
                .start("flooder", parse(slow.clone()), json!({}))
                .await
                .unwrap(),
        );
    }
    let quiet = h
        .engine
        .start("quiet", parse(slow.clone()), json!({}))
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(30), h.engine.wait("quiet", quiet))
        .await
        .unwrap()
        .unwrap();
    let flooder_done = h
        .store
        .runs(Some("flooder"), Some(RunStatus::Completed))
        .await
        .unwrap()
        .len();
    assert!(
        flooder_done < 20,
        "the quiet namespace waited for {flooder_done} flooder runs"
    );
    for run in flood {
        tokio::time::timeout(Duration::from_secs(30), h.engine.wait("flooder", run))
            .await
            .unwrap()
            .unwrap();
    }
}

#[tokio::test]
async fn inputs_are_checked_against_their_definitions() {
    let h = Harness::new();
    let mut workflow = chain(&["a"]);
    workflow["options"] =
        json!({"inputDefinitions": [{"name": "n", "type": "number", "required": true}]});
    let refused = h.engine.start(NS, parse(workflow.clone()), json!({})).await;
    assert!(matches!(refused, Err(Error::InvalidInput { field, .. }) if field == "n"));
    let run = h.start(workflow, json!({"n": "42"})).await;
    assert_eq!(h.finish(run).await.context["input"]["n"], json!(42.0));
}
