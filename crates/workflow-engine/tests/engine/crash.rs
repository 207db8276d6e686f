//! The durability contract: an engine dropped mid-run (a process killed between a node's side
//! effect and its result) loses nothing. A new engine over the same store resumes every run
//! once the dead engine's leases lapse; each node's effect, deduplicated by its idempotency
//! key as an idempotent sink would, is recorded exactly once per attempt.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::json;
use workflow_engine::*;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_survive_an_engine_dying_mid_node() {
    let store = Arc::new(MemoryStore::new());
    let clock = FakeClock::new();
    let journal = Arc::new(Journal::default());
    journal.crash_mode.store(true, Ordering::SeqCst);
    // Enough slots for every run to be inside p3 at once when the engine dies.
    let doomed = Harness::with(store.clone(), clock.clone(), journal.clone(), 32, "doomed");
    let mut workflow = chain(&["p1", "p2", "p3", "p4", "p5"]);
    workflow["nodes"][3]["config"] = json!({"crashAt": true});
    let mut runs = Vec::new();
    for _ in 0..20 {
        runs.push(doomed.start(workflow.clone(), json!({})).await);
    }
    // Wait until every run is stuck inside p3 (its effect recorded, its result never will be).
    tokio::time::timeout(Duration::from_secs(20), async {
        while journal
            .executions
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.node == "p3")
            .count()
            < runs.len()
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the runs did not reach p3");
    doomed.engine.shutdown().await;
    journal.crash_mode.store(false, Ordering::SeqCst);
    for run in &runs {
        assert_eq!(
            store.record(*run).await.unwrap().unwrap().status,
            RunStatus::Running
        );
    }

    let survivor = Harness::with(
        store.clone(),
        clock.clone(),
        journal.clone(),
        10,
        "survivor",
    );
    clock.advance(Duration::from_secs(31));
    for run in &runs {
        let done = survivor.finish(*run).await;
        assert_eq!(done.status, RunStatus::Completed);
    }
    let executions = journal.executions.lock().unwrap().clone();
    for run in &runs {
        let mine: Vec<_> = executions.iter().filter(|e| e.run == *run).collect();
        let effects: HashSet<&str> = mine.iter().map(|e| e.key.as_str()).collect();
        let per_node: HashMap<&str, usize> = effects.iter().fold(HashMap::new(), |mut acc, key| {
            *acc.entry(key.rsplit(':').nth(1).unwrap()).or_default() += 1;
            acc
        });
        assert_eq!(
            per_node.len(),
            5,
            "every node's effect is recorded: {per_node:?}"
        );
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
    assert_eq!(store.task_count(), 0);
}
