//! The durability contract on the memory store: an engine dropped mid-run (a process killed
//! between a node's side effect and its result) loses nothing; another engine over the same
//! store resumes every run once the leases lapse, each node's effect recorded once per attempt
//! (`conformance::crash_resume`).

use std::sync::Arc;

use workflow_engine::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_survive_an_engine_dying_mid_node() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    conformance::crash_resume(store.clone(), store, 20).await;
}

/// A node that takes `ms` milliseconds of real time and counts the attempts that finished.
#[derive(Debug, Default)]
struct Slow {
    finished: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl NodeHandler for Slow {
    fn node_type(&self) -> &str {
        "slow"
    }

    fn handles(&self, _node: &NodeDefinition) -> Handles {
        Handles::of(&["output"])
    }

    async fn execute(&self, input: NodeInput) -> Result<NodeOutcome, NodeError> {
        let ms = input.config()["ms"].as_u64().unwrap_or(0);
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
        self.finished
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(NodeOutcome::Complete(Completion::on(
            "output",
            serde_json::json!({"slept": ms}),
        )))
    }
}

fn slow_chain(ms: u64) -> WorkflowDefinition {
    serde_json::from_value(serde_json::json!({
        "nodes": [{"id": "start", "type": "start"},
                  {"id": "slow", "type": "slow", "config": {"ms": ms}},
                  {"id": "end", "type": "end"}],
        "edges": [{"source": "start", "target": "slow"}, {"source": "slow", "target": "end"}],
    }))
    .unwrap()
}

fn slow_engine(store: &Arc<MemoryStore>, slow: &Arc<Slow>, lease_ms: u64) -> Engine {
    Engine::builder(store.clone())
        .node_type(slow.clone())
        .config(EngineConfig {
            lease: std::time::Duration::from_millis(lease_ms),
            poll_interval: std::time::Duration::from_millis(20),
            ..EngineConfig::default()
        })
        .build()
        .unwrap()
}

/// Returns once the run's `slow` node is running.
async fn until_running(engine: &Engine, run: RunId) {
    while engine
        .snapshot("t", run)
        .await
        .unwrap()
        .node("slow")
        .map(|n| n.status)
        != Some(NodeStatus::Running)
    {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

/// A drain lets the attempt in flight finish and commit, then claims nothing more: the next
/// node is left to another engine, which runs it without waiting for any lease.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drain_lets_attempts_in_flight_finish_and_claims_nothing_more() {
    let store = Arc::new(MemoryStore::new());
    let slow = Arc::new(Slow::default());
    // An hour's lease: if the slow attempt were abandoned, the second engine could not
    // resume it within the test.
    let first = slow_engine(&store, &slow, 3_600_000);
    let run = first
        .start("t", slow_chain(300), serde_json::json!({}))
        .await
        .unwrap();
    until_running(&first, run).await;
    first.drain(std::time::Duration::from_secs(30)).await;
    assert_eq!(slow.finished.load(std::sync::atomic::Ordering::SeqCst), 1);
    let after_drain = first.snapshot("t", run).await.unwrap();
    assert_eq!(after_drain.status, RunStatus::Running, "{after_drain:?}");
    assert_eq!(
        after_drain.node("slow").map(|n| n.status),
        Some(NodeStatus::Completed)
    );
    assert_eq!(
        after_drain.node("end").map(|n| n.completions),
        Some(0),
        "a drained engine claimed the next node"
    );

    let second = slow_engine(&store, &slow, 3_600_000);
    let done = second.wait("t", run).await.unwrap();
    assert_eq!(done.status, RunStatus::Completed);
    assert_eq!(slow.finished.load(std::sync::atomic::Ordering::SeqCst), 1);
}

/// Past the grace period the attempt is abandoned, and another engine resumes it once its lease
/// lapses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drain_abandons_what_outlives_its_grace() {
    let store = Arc::new(MemoryStore::new());
    let slow = Arc::new(Slow::default());
    let first = slow_engine(&store, &slow, 300);
    let run = first
        .start("t", slow_chain(1_000), serde_json::json!({}))
        .await
        .unwrap();
    until_running(&first, run).await;
    first.drain(std::time::Duration::from_millis(50)).await;
    assert_eq!(slow.finished.load(std::sync::atomic::Ordering::SeqCst), 0);

    let second = slow_engine(&store, &slow, 300);
    let done = second.wait("t", run).await.unwrap();
    assert_eq!(done.status, RunStatus::Completed);
    assert_eq!(slow.finished.load(std::sync::atomic::Ordering::SeqCst), 1);
}
