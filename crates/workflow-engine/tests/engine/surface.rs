//! What an embedder reads and relies on: `wait` without polling, `wait_timeout`, node
//! summaries in snapshots, host services checked at validation, delay bounds, and the parse
//! error of `WorkflowDefinition::from_json`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};
use workflow_engine::*;

use crate::support::*;

/// A store that delegates to a shared [`MemoryStore`], counts the run reads made through it,
/// and claims no work: an engine on it only observes (waits, reads snapshots).
#[derive(Debug)]
struct Observer {
    inner: Arc<MemoryStore>,
    reads: AtomicUsize,
    /// Whether it passes on the memory store's announcements of finished runs.
    announces: bool,
}

#[async_trait]
impl RunStore for Observer {
    async fn create(&self, run: NewRun) -> Result<(), Error> {
        self.inner.create(run).await
    }

    async fn commit(&self, commit: Commit) -> Result<(), Error> {
        self.inner.commit(commit).await
    }

    async fn record(&self, run: RunId) -> Result<Option<RunRecord>, Error> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.record(run).await
    }

    async fn events(&self, run: RunId, after: u64) -> Result<Vec<Event>, Error> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.events(run, after).await
    }

    async fn runs(
        &self,
        namespace: Option<&str>,
        status: Option<RunStatus>,
    ) -> Result<Vec<RunRecord>, Error> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.runs(namespace, status).await
    }

    fn finished_runs(&self) -> Option<FinishedRuns> {
        self.announces.then(|| self.inner.finished_runs()).flatten()
    }
}

#[async_trait]
impl WorkQueue for Observer {
    async fn claim(
        &self,
        _worker: &str,
        _now: Timestamp,
        _lease: Duration,
        _max: usize,
    ) -> Result<Vec<Claimed>, Error> {
        Ok(Vec::new())
    }

    async fn renew(&self, _task: &str, _worker: &str, _until: Timestamp) -> Result<bool, Error> {
        Ok(false)
    }

    async fn next_due(&self) -> Result<Option<Timestamp>, Error> {
        Ok(None)
    }
}

/// A form that suspends the run until the host submits `{"age": n}`.
fn form() -> Value {
    json!({
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "ask", "type": "dataCollection", "config": {"title": "Age?",
                "formSchema": {"type": "object", "required": ["age"], "properties": {"age": {"type": "number"}}}}},
            {"id": "end", "type": "end", "config": {"outputParameters": [{"name": "age", "sourceVariable": "{{ctx.collectedData.age}}"}]}}
        ],
        "edges": [{"source": "start", "target": "ask"}, {"source": "ask", "target": "end"}]
    })
}

/// Engine B waits for a run that engine A finishes 300 ms later, reading through a counting
/// store. Returns B's reads and the final snapshot.
async fn wait_on_another_engine(announces: bool) -> (usize, RunSnapshot) {
    let a = Harness::new();
    let observer = Arc::new(Observer {
        inner: Arc::clone(&a.store),
        reads: AtomicUsize::new(0),
        announces,
    });
    let b = Engine::builder(observer.clone())
        .config(EngineConfig {
            // A polling `wait` would read every 5 ms: about 60 times while A keeps the run.
            poll_interval: Duration::from_millis(5),
            worker_id: Some("observer".into()),
            ..EngineConfig::default()
        })
        .build()
        .unwrap();
    let mut rx = a.events.subscribe();
    let run = a.start(form(), json!({})).await;
    let suspended = Harness::event(&mut rx, |e| {
        matches!(e.kind, EngineEventKind::NodeSuspended { .. })
    })
    .await;
    let EngineEventKind::NodeSuspended { request_id, .. } = suspended.kind else {
        unreachable!()
    };
    let waiting = tokio::spawn(async move {
        let finished = b.wait(NS, run).await;
        (b, finished)
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    a.engine
        .submit(NS, run, &request_id, json!({"age": 36}))
        .await
        .unwrap();
    let (_b, finished) = tokio::time::timeout(Duration::from_secs(30), waiting)
        .await
        .expect("B's wait did not return")
        .unwrap();
    (observer.reads.load(Ordering::SeqCst), finished.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_hears_a_run_another_engine_finished_without_polling() {
    let (reads, finished) = wait_on_another_engine(true).await;
    assert_eq!(finished.status, RunStatus::Completed);
    assert_eq!(finished.output["age"], 36);
    // One read of the record before waiting, then one fold of the log (record + events) when
    // the store announces the finish: however long the run took.
    assert!(reads <= 3, "wait read the store {reads} times");

    // The fallback for a store that announces nothing is to re-read: this is what the
    // announcement saves.
    let (polled, finished) = wait_on_another_engine(false).await;
    assert_eq!(finished.status, RunStatus::Completed);
    assert!(polled > reads, "without announcements: {polled} reads");
}

#[tokio::test]
async fn start_many_starts_each_run_and_answers_each_start_in_order() {
    let h = Harness::new();
    let workflow = parse(json!({"nodes": [{"id": "start", "type": "start"},
        {"id": "end", "type": "end"}], "edges": [{"source": "start", "target": "end"}]}));
    let (taken, fresh, refused) = (RunId::new(), RunId::new(), RunId::new());
    h.engine
        .start_as(taken, NS, workflow.clone(), json!({}))
        .await
        .unwrap();
    let start = |run_id, input| StartRequest {
        run_id,
        namespace: NS.into(),
        workflow: workflow.clone(),
        input,
    };
    let outcomes = h
        .engine
        .start_many(vec![
            start(taken, json!({})),
            start(fresh, json!({"x": 1})),
            start(refused, json!([1])),
        ])
        .await
        .unwrap();
    assert!(matches!(outcomes[0], Err(Error::RunExists(id)) if id == taken));
    assert_eq!(outcomes[1].as_ref().ok(), Some(&fresh));
    assert!(matches!(outcomes[2], Err(Error::InvalidInput { .. })));
    let done = h.engine.wait(NS, fresh).await.unwrap();
    assert_eq!(done.status, RunStatus::Completed);
    assert!(matches!(
        h.engine.snapshot(NS, refused).await,
        Err(Error::RunNotFound)
    ));
}

#[tokio::test]
async fn wait_timeout_answers_none_while_the_run_goes_on() {
    let h = Harness::new();
    let run = h.start(form(), json!({})).await;
    h.engine.idle().await;
    let still = h
        .engine
        .wait_timeout(NS, run, Duration::from_millis(50))
        .await
        .unwrap();
    assert_eq!(still, None);
    assert!(matches!(
        h.engine
            .wait_timeout("tenant-b", run, Duration::from_millis(50))
            .await,
        Err(Error::RunNotFound)
    ));
}

#[tokio::test]
async fn snapshots_count_each_nodes_attempts_and_say_where_it_is() {
    let h = Harness::new();
    let workflow = json!({
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "shaky", "type": "probe", "config": {"failTimes": 2}, "retry": {"limit": 3, "initialBackoffMs": 1}},
            {"id": "route", "type": "condition", "config": {"branches": [
                {"id": "yes", "conditions": [{"leftValue": 1, "operator": "equals", "rightValue": 1}]}]}},
            {"id": "taken", "type": "probe"},
            {"id": "dead", "type": "probe"},
            {"id": "each", "type": "loop", "config": {"sourceVariable": "{{ctx.input.items}}"}},
            {"id": "body", "type": "probe"},
            {"id": "end", "type": "end"}
        ],
        "edges": [
            {"source": "start", "target": "shaky"},
            {"source": "shaky", "target": "route"},
            {"source": "route", "sourceHandle": "yes", "target": "taken"},
            {"source": "route", "sourceHandle": "default", "target": "dead"},
            {"source": "taken", "target": "each"},
            {"source": "each", "sourceHandle": "loop", "target": "body"},
            {"source": "body", "target": "each"},
            {"source": "each", "sourceHandle": "completed", "target": "end"}
        ]
    });
    let run = h.start(workflow, json!({"items": [1, 2, 3]})).await;
    loop {
        h.clock.advance(Duration::from_secs(1));
        h.engine.idle().await;
        let now = h.engine.snapshot(NS, run).await.unwrap();
        if now.status.is_terminal() {
            break;
        }
    }
    let done = h.finish(run).await;
    assert_eq!(done.status, RunStatus::Completed, "{:?}", done.error);
    let node = |id: &str| done.node(id).unwrap().clone();
    let shaky = node("shaky");
    assert_eq!(
        (
            shaky.status,
            shaky.attempts,
            shaky.failures,
            shaky.completions
        ),
        (NodeStatus::Completed, 3, 2, 1)
    );
    assert_eq!(node("taken").status, NodeStatus::Completed);
    let dead = node("dead");
    assert_eq!(
        (dead.status, dead.skips, dead.attempts),
        (NodeStatus::Skipped, 1, 0)
    );
    let body = node("body");
    assert_eq!((body.activations, body.completions), (3, 3));
    assert_eq!(
        node("each").last_output,
        Some(json!([
            {"node": "body", "item": 1}, {"node": "body", "item": 2}, {"node": "body", "item": 3}
        ]))
    );
    assert_eq!(done.nodes.len(), 8);
    assert_eq!(node("end").node_type, "end");
}

fn refused(engine: &Engine, workflow: Value) -> Vec<ValidationIssue> {
    match engine.validate(&serde_json::from_value(workflow).unwrap()) {
        Err(Error::InvalidDefinition(issues)) => issues,
        other => panic!("expected refusal, got {other:?}"),
    }
}

fn single(node: Value) -> Value {
    json!({
        "nodes": [{"id": "start", "type": "start"}, node],
        "edges": [{"source": "start", "target": "x"}]
    })
}

#[tokio::test]
async fn nodes_that_need_a_host_service_are_refused_when_the_engine_has_none() {
    let bare = Engine::builder(Arc::new(MemoryStore::new()))
        .build()
        .unwrap();
    let cases = [
        (
            json!({"id": "x", "type": "condition", "config": {"expression": "ctx.a > 1"}}),
            "JavaScript runner",
        ),
        (
            json!({"id": "x", "type": "condition", "config": {"branches": [{"id": "b",
                "conditions": [{"operator": "expression", "leftValue": "ctx.a > 1"}]}]}}),
            "JavaScript runner",
        ),
        (
            json!({"id": "x", "type": "javascript", "config": {"code": "return 1"}}),
            "JavaScript runner",
        ),
        (
            json!({"id": "x", "type": "dataQuery", "config": {"dataQueryID": "q"}}),
            "data-query runner",
        ),
        (
            json!({"id": "x", "type": "subWorkflow", "config": {"childWorkflowID": "w"}}),
            "workflow source",
        ),
    ];
    for (node, needed) in cases {
        let issues = refused(&bare, single(node.clone()));
        assert!(
            issues
                .iter()
                .any(|i| i.node_id.as_deref() == Some("x") && i.message.contains(needed)),
            "{node}: {issues:?}"
        );
        let started = bare.start(NS, serde_json::from_value(single(node)).unwrap(), json!({}));
        assert!(matches!(started.await, Err(Error::InvalidDefinition(_))));
    }
    // The harness has a data-query runner and a workflow source.
    let h = Harness::new();
    h.engine
        .validate(&parse(single(
            json!({"id": "x", "type": "dataQuery", "config": {"dataQueryID": "q"}}),
        )))
        .unwrap();
}

#[tokio::test]
async fn delays_take_any_combination_of_parts_up_to_a_day() {
    let h = Harness::new();
    for config in [
        json!({"delayMs": 86_400_000}),
        json!({"delayMinutes": 1440}),
        json!({"delaySeconds": 86_400}),
        json!({"delayMinutes": 1, "delaySeconds": 90, "delayMs": 1500}),
    ] {
        h.engine
            .validate(&parse(single(
                json!({"id": "x", "type": "delay", "config": config}),
            )))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    for config in [
        json!({"delayMs": 86_400_001}),
        json!({"delayMinutes": 1440, "delayMs": 1}),
        json!({"delaySeconds": -1}),
    ] {
        let issues = refused(
            &h.engine,
            single(json!({"id": "x", "type": "delay", "config": config})),
        );
        assert!(!issues.is_empty(), "{config}");
    }
}

#[tokio::test]
async fn a_dynamic_delay_over_a_day_fails_its_node_saying_why() {
    let h = Harness::new();
    let workflow = single(
        json!({"id": "x", "type": "delay", "config": {"delayType": "dynamic", "delayVariable": "{{ctx.input.ms}}"}}),
    );
    let run = h.start(workflow, json!({"ms": 90_000_000})).await;
    let failed = h.finish(run).await;
    assert_eq!(failed.status, RunStatus::Failed);
    let error = failed.error.clone().unwrap_or_default();
    assert!(
        error.contains("90000000 ms") && error.contains("24 hours"),
        "{error}"
    );
    assert_eq!(failed.node("x").unwrap().status, NodeStatus::Failed);
}

#[test]
fn from_json_reads_both_forms_and_has_a_parse_error_of_its_own() {
    let ours =
        WorkflowDefinition::from_json(r#"{"nodes": [{"id": "s", "type": "start"}], "edges": []}"#)
            .unwrap();
    let original = WorkflowDefinition::from_json(
        r#"{"nodes": [{"nodeID": "s", "nodeType": "start", "nodeConfig": {}}], "edges": []}"#,
    )
    .unwrap();
    assert_eq!(ours.nodes[0].id, original.nodes[0].id);
    let broken = WorkflowDefinition::from_json(r#"{"nodes": [{"id": 7}]}"#).unwrap_err();
    assert!(matches!(broken, Error::Parse(_)), "{broken:?}");
    assert!(broken.to_string().contains("not a valid definition"));
}

/// Outputs `{"text": "x" × bytes}`.
#[derive(Debug)]
struct Big;

#[async_trait]
impl NodeHandler for Big {
    fn node_type(&self) -> &str {
        "big"
    }

    fn handles(&self, _node: &NodeDefinition) -> Handles {
        Handles::of(&["output"])
    }

    async fn execute(&self, input: NodeInput) -> Result<NodeOutcome, NodeError> {
        let bytes = input.config()["bytes"].as_u64().unwrap_or(0) as usize;
        Ok(NodeOutcome::Complete(Completion::on(
            "output",
            json!({"text": "x".repeat(bytes)}),
        )))
    }
}

fn limited(limits: RunLimits) -> Engine {
    Engine::builder(Arc::new(MemoryStore::new()))
        .node_type(Arc::new(Big))
        .config(EngineConfig {
            limits,
            ..EngineConfig::default()
        })
        .build()
        .unwrap()
}

/// A run whose context outgrows the limit, or whose log does, fails with a message naming the
/// limit; under the limits the same runs complete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_over_their_limits_fail_naming_the_limit() {
    let big = |bytes: u64| {
        serde_json::from_value::<WorkflowDefinition>(json!({
            "nodes": [{"id": "start", "type": "start"},
                      {"id": "big", "type": "big", "config": {"bytes": bytes, "outputVariable": "big"}},
                      {"id": "end", "type": "end"}],
            "edges": [{"source": "start", "target": "big"}, {"source": "big", "target": "end"}]
        }))
        .unwrap()
    };
    let engine = limited(RunLimits {
        max_context_bytes: 10_000,
        ..RunLimits::default()
    });
    let small = engine.start("t", big(1_000), json!({})).await.unwrap();
    assert_eq!(
        engine.wait("t", small).await.unwrap().status,
        RunStatus::Completed
    );
    let large = engine.start("t", big(20_000), json!({})).await.unwrap();
    let failed = engine.wait("t", large).await.unwrap();
    assert_eq!(failed.status, RunStatus::Failed);
    let error = failed.error.unwrap_or_default();
    assert!(
        error.contains("context grew to") && error.contains("at most 10000 bytes"),
        "{error}"
    );

    let looping = |items: usize| {
        serde_json::from_value::<WorkflowDefinition>(json!({
            "nodes": [{"id": "start", "type": "start"},
                      {"id": "each", "type": "loop", "config": {"sourceVariable": "{{ctx.input.items}}"}},
                      {"id": "body", "type": "big", "config": {"bytes": 1}},
                      {"id": "end", "type": "end"}],
            "edges": [{"source": "start", "target": "each"},
                      {"source": "each", "target": "body", "sourceHandle": "loop"},
                      {"source": "body", "target": "each"},
                      {"source": "each", "target": "end", "sourceHandle": "completed"}]
        }))
        .map(|workflow| (workflow, json!({"items": vec![0; items]})))
        .unwrap()
    };
    let engine = limited(RunLimits {
        max_events: 60,
        ..RunLimits::default()
    });
    let (workflow, input) = looping(3);
    let short = engine.start("t", workflow, input).await.unwrap();
    assert_eq!(
        engine.wait("t", short).await.unwrap().status,
        RunStatus::Completed
    );
    let (workflow, input) = looping(100);
    let long = engine.start("t", workflow, input).await.unwrap();
    let failed = engine.wait("t", long).await.unwrap();
    assert_eq!(failed.status, RunStatus::Failed);
    let error = failed.error.unwrap_or_default();
    assert!(error.contains("a run may record at most 60"), "{error}");
    // The commit that crossed the limit is kept, with the failure: a handful of events over.
    let recorded = engine.events("t", long).await.unwrap().len();
    assert!((61..=70).contains(&recorded), "{recorded} events");
}
