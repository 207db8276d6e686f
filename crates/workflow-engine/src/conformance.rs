//! The contract every [`Store`] must keep, as runnable scenarios (feature `conformance`): the
//! engine's own tests run them on [`MemoryStore`](crate::MemoryStore), a database-backed store
//! runs them on its database. Each scenario panics with what went wrong, like a test.
//!
//! - [`join_race`]: two engines (two processes) on one store complete diamonds whose branch
//!   results race into the join; the join must run exactly once per run, and both engines must
//!   have taken part.
//! - [`crash_resume`]: an engine dies inside a node (its effect recorded, its result never);
//!   another engine on the store resumes every run once the leases lapse, and every node's
//!   effect is recorded once per attempt, the redelivery under the same idempotency key.
//! - [`random_dags`]: random valid DAGs terminate, run each node at most once per activation,
//!   and their logs fold to the context the live run ended with.
//!
//! The scenarios drive a [`Probe`] node type that records every execution in a [`Journal`].
//!
//! Stores are handed over per engine, so a database store can give each engine its own
//! connection pool (another process) on the same database.
// A test kit: a failed expectation is a panic with the reason, as in a test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::{
    Completion, Engine, EngineBuilder, EngineConfig, EngineEventKind, FakeClock, Handles,
    NodeDefinition, NodeError, NodeHandler, NodeInput, NodeOutcome, RunId, RunSnapshot, RunStatus,
    Store, WorkflowDefinition,
};

/// One recorded execution of a [`Probe`].
#[derive(Debug, Clone, PartialEq)]
pub struct Execution {
    /// The run.
    pub run: RunId,
    /// The node.
    pub node: String,
    /// Its activation.
    pub activation: u32,
    /// Its attempt.
    pub attempt: u32,
    /// The attempt's idempotency key.
    pub key: String,
    /// The engine (`worker_id`) that executed it.
    pub worker: String,
}

/// Every [`Probe`] execution, shared by the engines of a scenario.
#[derive(Debug, Default)]
pub struct Journal {
    /// The executions, in order.
    pub executions: Mutex<Vec<Execution>>,
    /// When set, probes with `"crashAt": true` record and then hang (a process dying
    /// mid-node).
    pub crash_mode: AtomicBool,
}

impl Journal {
    /// The executions of `run`.
    pub fn of(&self, run: RunId) -> Vec<Execution> {
        self.executions
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.run == run)
            .cloned()
            .collect()
    }

    /// How often `node` of `run` executed.
    pub fn count(&self, run: RunId, node: &str) -> usize {
        self.of(run).iter().filter(|e| e.node == node).count()
    }

    /// All executions.
    pub fn all(&self) -> Vec<Execution> {
        self.executions.lock().unwrap().clone()
    }
}

/// `probe`: records its execution, then per config: `crashAt` (hang while the journal is in
/// crash mode), `sleepMs` (real sleep), `hang` (wait for cancellation), `failTimes` (fail that
/// many first attempts, retryable), `fatal` (fail for good), `output` (the output, default
/// `{node, item}`), `handles` (the handles to take, default `output`).
#[derive(Debug)]
pub struct Probe {
    /// Where executions are recorded.
    pub journal: Arc<Journal>,
    /// The engine it is registered on, recorded with each execution.
    pub worker: String,
}

#[async_trait]
impl NodeHandler for Probe {
    fn node_type(&self) -> &str {
        "probe"
    }

    fn handles(&self, _node: &NodeDefinition) -> Handles {
        Handles::any()
    }

    async fn execute(&self, input: NodeInput) -> Result<NodeOutcome, NodeError> {
        let config = input.config().clone();
        self.journal.executions.lock().unwrap().push(Execution {
            run: input.run_id(),
            node: input.node().id.clone(),
            activation: input.activation(),
            attempt: input.attempt(),
            key: input.idempotency_key().to_string(),
            worker: self.worker.clone(),
        });
        if config.get("crashAt").is_some() && self.journal.crash_mode.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        if let Some(ms) = config.get("sleepMs").and_then(Value::as_u64) {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        if config.get("hang").is_some() {
            input.cancelled().await;
            return Err(NodeError::fatal("cancelled"));
        }
        if let Some(times) = config.get("failTimes").and_then(Value::as_u64)
            && u64::from(input.attempt()) <= times
        {
            return Err(NodeError::retryable(format!(
                "attempt {} failed",
                input.attempt()
            )));
        }
        if config.get("fatal").and_then(Value::as_bool) == Some(true) {
            return Err(NodeError::fatal("probe failed"));
        }
        let output = match config.get("output") {
            Some(template) => input.resolve(template)?,
            None => json!({"node": input.node().id, "item": input.context().get("item")}),
        };
        let handles: Vec<String> = match config.get("handles").and_then(Value::as_array) {
            Some(list) => list
                .iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect(),
            None => vec!["output".to_string()],
        };
        Ok(NodeOutcome::Complete(Completion::on_handles(
            handles, output,
        )))
    }
}

/// An engine builder on `store` with the [`Probe`] type, `clock`, `concurrency` slots, a 30 s
/// lease and a 20 ms poll, named `worker`; add host services or an event sink, then build.
pub fn probe_builder(
    store: Arc<dyn Store>,
    clock: &FakeClock,
    journal: &Arc<Journal>,
    concurrency: usize,
    worker: &str,
) -> EngineBuilder {
    Engine::builder(store)
        .clock(Arc::new(clock.clone()))
        .node_type(Arc::new(Probe {
            journal: Arc::clone(journal),
            worker: worker.into(),
        }))
        .config(EngineConfig {
            concurrency,
            lease: Duration::from_secs(30),
            poll_interval: Duration::from_millis(20),
            worker_id: Some(worker.into()),
            ..EngineConfig::default()
        })
}

/// Waits (real time, at most 60 s) for the run to finish.
pub async fn finish(engine: &Engine, namespace: &str, run: RunId) -> RunSnapshot {
    tokio::time::timeout(Duration::from_secs(60), engine.wait(namespace, run))
        .await
        .expect("the run did not finish within 60 s")
        .unwrap()
}

/// `start → ids… (probes) → end`, one edge after another.
pub fn chain(ids: &[&str]) -> Value {
    let mut nodes = vec![json!({"id": "start", "type": "start"})];
    let mut edges = Vec::new();
    let mut previous = "start".to_string();
    for id in ids {
        nodes.push(json!({"id": id, "type": "probe"}));
        edges.push(json!({"source": previous, "target": id}));
        previous = id.to_string();
    }
    nodes.push(json!({"id": "end", "type": "end"}));
    edges.push(json!({"source": previous, "target": "end"}));
    json!({"nodes": nodes, "edges": edges})
}

fn parse(workflow: Value) -> WorkflowDefinition {
    serde_json::from_value(workflow).unwrap()
}

const NS: &str = "conformance";

/// The join race: `runs` diamonds (a fan-out of three probes into a join) started alternately
/// on two engines, one on each of `stores` (the same backend), on a multi-threaded runtime.
/// Each join must execute exactly once, both engines must have executed joins, and no task may
/// be left.
pub async fn join_race(stores: [Arc<dyn Store>; 2], runs: usize) {
    let clock = FakeClock::new();
    let journal = Arc::new(Journal::default());
    let [first_store, second_store] = stores;
    let first = probe_builder(first_store.clone(), &clock, &journal, 8, "process-1")
        .build()
        .unwrap();
    let second = probe_builder(second_store, &clock, &journal, 8, "process-2")
        .build()
        .unwrap();
    let diamond = parse(json!({
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "fan", "type": "fanout"},
            {"id": "left", "type": "probe"}, {"id": "middle", "type": "probe"}, {"id": "right", "type": "probe"},
            {"id": "join", "type": "probe"}
        ],
        "edges": [
            {"source": "start", "target": "fan"},
            {"source": "fan", "target": "left"}, {"source": "fan", "target": "middle"}, {"source": "fan", "target": "right"},
            {"source": "left", "target": "join"}, {"source": "middle", "target": "join"}, {"source": "right", "target": "join"}
        ]
    }));
    let mut started = Vec::with_capacity(runs);
    for batch in 0..runs.div_ceil(50) {
        let mut this_batch = Vec::new();
        for i in 0..50.min(runs - batch * 50) {
            let engine = if (batch + i) % 2 == 0 {
                &first
            } else {
                &second
            };
            this_batch.push(engine.start(NS, diamond.clone(), json!({})).await.unwrap());
        }
        for run in &this_batch {
            let done = finish(&first, NS, *run).await;
            assert_eq!(done.status, RunStatus::Completed, "{:?}", done.error);
        }
        started.extend(this_batch);
    }
    let executions = journal.all();
    let mut joins = HashMap::<RunId, usize>::new();
    for execution in executions.iter().filter(|e| e.node == "join") {
        *joins.entry(execution.run).or_default() += 1;
    }
    let wrong = started
        .iter()
        .filter(|run| joins.get(run) != Some(&1))
        .count();
    assert_eq!(
        wrong, 0,
        "{wrong} runs did not execute the join exactly once"
    );
    let joined_by: HashSet<&str> = executions
        .iter()
        .filter(|e| e.node == "join")
        .map(|e| e.worker.as_str())
        .collect();
    assert_eq!(
        joined_by,
        ["process-1", "process-2"].into(),
        "both engines must have dispatched joins"
    );
    assert_eq!(
        first_store.next_due().await.unwrap(),
        None,
        "tasks were left"
    );
}

/// The crash contract: `runs` five-probe chains on an engine over `doomed` that dies while
/// every run is inside the third probe (its effect recorded, its result never); an engine over
/// `survivor` (the same backend) resumes them all once the 30 s leases lapse on the shared
/// clock. Every node's effect must be recorded once per attempt, the third probe's twice under
/// the same idempotency key, and no task may be left.
pub async fn crash_resume(doomed: Arc<dyn Store>, survivor: Arc<dyn Store>, runs: usize) {
    let clock = FakeClock::new();
    let journal = Arc::new(Journal::default());
    journal.crash_mode.store(true, Ordering::SeqCst);
    // Enough slots for every run to be inside p3 at once when the engine dies.
    let dying = probe_builder(doomed, &clock, &journal, runs.max(1), "doomed")
        .build()
        .unwrap();
    let mut workflow = chain(&["p1", "p2", "p3", "p4", "p5"]);
    workflow["nodes"][3]["config"] = json!({"crashAt": true});
    let workflow = parse(workflow);
    let mut started = Vec::new();
    for _ in 0..runs {
        started.push(dying.start(NS, workflow.clone(), json!({})).await.unwrap());
    }
    tokio::time::timeout(Duration::from_secs(60), async {
        while journal.all().iter().filter(|e| e.node == "p3").count() < started.len() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the runs did not reach p3");
    dying.shutdown().await;
    journal.crash_mode.store(false, Ordering::SeqCst);
    for run in &started {
        let record = survivor.record(*run).await.unwrap().unwrap();
        assert_eq!(record.status, RunStatus::Running);
    }

    let resumer = probe_builder(survivor.clone(), &clock, &journal, 10, "survivor")
        .build()
        .unwrap();
    clock.advance(Duration::from_secs(31));
    for run in &started {
        let done = finish(&resumer, NS, *run).await;
        assert_eq!(done.status, RunStatus::Completed, "{:?}", done.error);
    }
    let executions = journal.all();
    for run in &started {
        let mine: Vec<&Execution> = executions.iter().filter(|e| e.run == *run).collect();
        let effects: HashSet<&str> = mine.iter().map(|e| e.key.as_str()).collect();
        let mut per_node: HashMap<&str, usize> = HashMap::new();
        for key in &effects {
            *per_node
                .entry(key.rsplit(':').nth(1).unwrap_or_default())
                .or_default() += 1;
        }
        assert_eq!(per_node.len(), 5, "every node's effect: {per_node:?}");
        assert!(
            per_node.values().all(|&n| n == 1),
            "one effect per attempt: {per_node:?}"
        );
        let p3: Vec<&str> = mine
            .iter()
            .filter(|e| e.node == "p3")
            .map(|e| e.key.as_str())
            .collect();
        assert_eq!(p3.len(), 2, "p3 was delivered again after the crash");
        assert_eq!(p3[0], p3[1], "with the same idempotency key");
    }
    assert_eq!(survivor.next_due().await.unwrap(), None, "tasks were left");
}

/// A small deterministic generator (xorshift64*), so a failing case is reproduced by its seed.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn flip(&mut self) -> bool {
        self.next() & 1 == 1
    }
}

/// A random valid DAG of 2–11 nodes from `seed`: node i > 0 has edges from some earlier nodes;
/// each probe takes a random subset of its handles `a` and `b`; joins are `all` or `any`.
pub fn random_dag(seed: u64) -> Value {
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let n = 2 + (rng.next() % 10) as usize;
    let links: Vec<Vec<bool>> = (0..n)
        .map(|_| (0..n).map(|_| rng.flip()).collect())
        .collect();
    dag_of(n, &links, &mut |_| (rng.flip(), rng.flip(), rng.flip()))
}

/// The DAG of `n` nodes with `links[i][p]` (an edge p → i for p < i; its handle `a` when
/// `links[p][i]`, else `b`) and each node's behaviour `(takes a, takes b, joins any)`.
pub fn dag_of(
    n: usize,
    links: &[Vec<bool>],
    behaviour: &mut dyn FnMut(usize) -> (bool, bool, bool),
) -> Value {
    let mut nodes = vec![json!({"id": "n0", "type": "start"})];
    let mut edges = Vec::new();
    for (i, parents_of_i) in links.iter().enumerate().take(n).skip(1) {
        let (takes_a, takes_b, any) = behaviour(i);
        let mut handles = Vec::new();
        if takes_a {
            handles.push("a");
        }
        if takes_b {
            handles.push("b");
        }
        nodes.push(json!({
            "id": format!("n{i}"), "type": "probe",
            "joinMode": if any { "any" } else { "all" },
            "config": {"handles": handles, "outputVariable": format!("v{i}")}
        }));
        let mut parents: Vec<usize> = (0..i).filter(|&p| parents_of_i[p]).collect();
        if parents.is_empty() {
            parents.push(i - 1);
        }
        for p in parents {
            let handle = if p == 0 {
                "output"
            } else if links[p][i] {
                "a"
            } else {
                "b"
            };
            edges.push(json!({"source": format!("n{p}"), "sourceHandle": handle, "target": format!("n{i}")}));
        }
    }
    json!({"nodes": nodes, "edges": edges})
}

/// Runs `workflow` on a fresh probe engine over `store` and checks the run terminates
/// (completed: probes cannot fail), each node ran at most once per activation, and the log
/// folds to the context the live run published when it completed.
pub async fn check_dag(store: Arc<dyn Store>, workflow: Value) {
    let journal = Arc::new(Journal::default());
    let (events, mut received) = broadcast::channel(100_000);
    let engine = probe_builder(store, &FakeClock::new(), &journal, 10, "dags")
        .events(Arc::new(events))
        .build()
        .unwrap();
    let run = engine
        .start(NS, parse(workflow.clone()), json!({"seed": 1}))
        .await
        .unwrap();
    let live = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match received.recv().await {
                Ok(event) if event.run_id == run => match event.kind {
                    EngineEventKind::RunCompleted { context, .. } => return context,
                    EngineEventKind::RunFailed { error, .. } => {
                        panic!("a run of probes cannot fail: {error} in {workflow}")
                    }
                    _ => {}
                },
                Ok(_) => {}
                Err(error) => panic!("event stream: {error}"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the run did not terminate: {workflow}"));
    let mut seen = HashMap::new();
    for execution in journal.of(run) {
        *seen
            .entry((execution.node, execution.activation))
            .or_insert(0) += 1;
    }
    assert!(
        seen.values().all(|&count| count == 1),
        "{seen:?} in {workflow}"
    );
    let replayed = engine.snapshot(NS, run).await.unwrap();
    assert_eq!(replayed.status, RunStatus::Completed);
    assert_eq!(
        replayed.context, live,
        "the log folds to the live context: {workflow}"
    );
}

/// [`check_dag`] on `cases` random DAGs from seeds `seed`, `seed + 1`, …
pub async fn random_dags(store: Arc<dyn Store>, seed: u64, cases: u64) {
    for case in seed..seed + cases {
        check_dag(Arc::clone(&store), random_dag(case)).await;
    }
}
