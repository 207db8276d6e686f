//! Test host: a `probe` node type that records every execution and behaves as its config says,
//! a harness with a fake clock, and helpers to drive runs.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};
use tokio::sync::broadcast;
use workflow_engine::*;

/// One recorded execution.
#[derive(Debug, Clone, PartialEq)]
pub struct Execution {
    pub run: RunId,
    pub node: String,
    pub activation: u32,
    pub attempt: u32,
    pub key: String,
    /// The engine (`worker_id`) that executed it.
    pub worker: String,
}

/// Shared record of executions.
#[derive(Debug, Default)]
pub struct Journal {
    pub executions: Mutex<Vec<Execution>>,
    /// When set, probes with `"crashAt": true` record and then hang (a process dying mid-node).
    pub crash_mode: AtomicBool,
}

impl Journal {
    pub fn of(&self, run: RunId) -> Vec<Execution> {
        self.executions
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.run == run)
            .cloned()
            .collect()
    }

    pub fn count(&self, run: RunId, node: &str) -> usize {
        self.of(run).iter().filter(|e| e.node == node).count()
    }
}

/// `probe`: records its execution, then per config: `failTimes` (fail that many first attempts,
/// retryable), `fatal` (fail, not retryable), `hang` (wait for cancellation), `sleepMs` (real
/// sleep), `output` (the output, default `{node, item}`), `handles` (handles to take).
#[derive(Debug)]
pub struct Probe {
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
        let handles = match config.get("handles").and_then(Value::as_array) {
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

/// Workflows by id, for sub-workflow nodes.
#[derive(Debug, Default)]
pub struct Library {
    pub workflows: Mutex<HashMap<String, WorkflowDefinition>>,
}

#[async_trait]
impl WorkflowSource for Library {
    async fn load(
        &self,
        _namespace: &str,
        id: &str,
    ) -> Result<Option<WorkflowDefinition>, NodeError> {
        Ok(self.workflows.lock().unwrap().get(id).cloned())
    }
}

/// Data queries that echo their inputs, or fail for the query id `broken`.
#[derive(Debug)]
pub struct EchoQueries;

#[async_trait]
impl DataQueryRunner for EchoQueries {
    async fn run(&self, call: DataQueryCall) -> Result<Value, NodeError> {
        if call.query_id == "broken" {
            return Err(NodeError::fatal("connection refused"));
        }
        Ok(json!({"query": call.query_id, "inputs": call.inputs, "key": call.idempotency_key}))
    }
}

/// An engine over a memory store with a fake clock, the probe type and an event channel.
pub struct Harness {
    pub engine: Engine,
    pub store: Arc<MemoryStore>,
    pub clock: FakeClock,
    pub journal: Arc<Journal>,
    pub library: Arc<Library>,
    pub events: broadcast::Sender<EngineEvent>,
}

pub const NS: &str = "tenant-a";

impl Harness {
    pub fn new() -> Self {
        Self::with(
            Arc::new(MemoryStore::new()),
            FakeClock::new(),
            Arc::new(Journal::default()),
            10,
            "engine-1",
        )
    }

    pub fn with(
        store: Arc<MemoryStore>,
        clock: FakeClock,
        journal: Arc<Journal>,
        concurrency: usize,
        worker: &str,
    ) -> Self {
        let library = Arc::new(Library::default());
        let (events, _) = broadcast::channel(200_000);
        let engine = Engine::builder(store.clone())
            .clock(Arc::new(clock.clone()))
            .node_type(Arc::new(Probe {
                journal: journal.clone(),
                worker: worker.into(),
            }))
            .data_queries(Arc::new(EchoQueries))
            .workflows(library.clone())
            .events(Arc::new(events.clone()))
            .config(EngineConfig {
                concurrency,
                lease: Duration::from_secs(30),
                poll_interval: Duration::from_millis(20),
                worker_id: Some(worker.into()),
                ..EngineConfig::default()
            })
            .build()
            .unwrap();
        Harness {
            engine,
            store,
            clock,
            journal,
            library,
            events,
        }
    }

    pub async fn start(&self, workflow: Value, input: Value) -> RunId {
        self.engine.start(NS, parse(workflow), input).await.unwrap()
    }

    /// Waits (real time, bounded) for the run to finish.
    pub async fn finish(&self, run: RunId) -> RunSnapshot {
        tokio::time::timeout(Duration::from_secs(30), self.engine.wait(NS, run))
            .await
            .expect("the run did not finish within 30 s")
            .unwrap()
    }

    /// Waits (real time, bounded) for a published event matching `predicate`.
    pub async fn event(
        rx: &mut broadcast::Receiver<EngineEvent>,
        predicate: impl Fn(&EngineEvent) -> bool,
    ) -> EngineEvent {
        tokio::time::timeout(Duration::from_secs(30), async {
            loop {
                match rx.recv().await {
                    Ok(event) if predicate(&event) => return event,
                    Ok(_) => {}
                    Err(error) => panic!("event stream: {error}"),
                }
            }
        })
        .await
        .expect("the event did not come within 30 s")
    }
}

/// A workflow from JSON.
pub fn parse(workflow: Value) -> WorkflowDefinition {
    serde_json::from_value(workflow).unwrap()
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
