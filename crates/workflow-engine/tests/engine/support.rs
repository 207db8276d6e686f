//! Test host: the conformance kit's `probe` node type (it records every execution and behaves
//! as its config says), a harness with a fake clock, and helpers to drive runs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};
use tokio::sync::broadcast;
pub use workflow_engine::conformance::{Journal, chain, probe_builder};
use workflow_engine::*;

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
        let engine = probe_builder(store.clone(), &clock, &journal, concurrency, worker)
            .data_queries(Arc::new(EchoQueries))
            .workflows(library.clone())
            .events(Arc::new(events.clone()))
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
