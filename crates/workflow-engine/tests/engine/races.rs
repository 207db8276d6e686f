//! The join race: two engines (as two processes) on one store, on a multi-threaded runtime,
//! complete diamonds whose branch results race into the join. Compare-and-swap on the run
//! version must let exactly one of them dispatch the join, every time.

use std::sync::Arc;

use serde_json::json;
use workflow_engine::*;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_diamond_join_runs_exactly_once_in_1000_racing_runs() {
    let store = Arc::new(MemoryStore::new());
    let clock = FakeClock::new();
    let journal = Arc::new(Journal::default());
    let first = Harness::with(
        store.clone(),
        clock.clone(),
        journal.clone(),
        8,
        "process-1",
    );
    let second = Harness::with(store.clone(), clock, journal.clone(), 8, "process-2");
    let diamond = json!({
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
    });
    let mut runs = Vec::new();
    for batch in 0..20 {
        let mut started = Vec::new();
        for i in 0..50 {
            let engine = if (batch + i) % 2 == 0 {
                &first
            } else {
                &second
            };
            started.push(engine.start(diamond.clone(), json!({})).await);
        }
        for run in &started {
            let done = first.finish(*run).await;
            assert_eq!(done.status, RunStatus::Completed);
        }
        runs.extend(started);
    }
    assert_eq!(runs.len(), 1000);
    let executions = journal.executions.lock().unwrap().clone();
    let mut joins = std::collections::HashMap::<RunId, usize>::new();
    for execution in executions.iter().filter(|e| e.node == "join") {
        *joins.entry(execution.run).or_default() += 1;
    }
    let wrong: Vec<_> = runs
        .iter()
        .filter(|run| joins.get(run) != Some(&1))
        .collect();
    assert!(
        wrong.is_empty(),
        "{} runs did not execute the join exactly once",
        wrong.len()
    );
    // Both engines took part in the race: each executed some joins (a run's join may be
    // dispatched by either, whichever won the compare-and-swap).
    let joined_by: std::collections::HashSet<&str> = executions
        .iter()
        .filter(|e| e.node == "join")
        .map(|e| e.worker.as_str())
        .collect();
    assert_eq!(
        joined_by,
        ["process-1", "process-2"].into(),
        "both engines must have dispatched joins"
    );
    assert_eq!(store.task_count(), 0);
}
