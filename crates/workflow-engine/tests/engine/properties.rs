//! Random valid DAGs: every run terminates, each node runs at most once per activation, and the
//! event log folds to the same context the live run ended with.

use std::collections::HashMap;
use std::time::Duration;

use proptest::prelude::*;
use serde_json::{Value, json};
use workflow_engine::*;

use crate::support::*;

/// A DAG: node i > 0 has edges from some earlier nodes; each node takes a random subset of its
/// two handles; joins are `all` or `any`.
fn dag() -> impl Strategy<Value = Value> {
    (2usize..12).prop_flat_map(|n| {
        (
            prop::collection::vec(prop::collection::vec(any::<bool>(), n), n),
            prop::collection::vec((any::<bool>(), any::<bool>(), any::<bool>()), n),
        )
            .prop_map(move |(links, behaviour)| {
                let mut nodes = vec![json!({"id": "n0", "type": "start"})];
                let mut edges = Vec::new();
                for i in 1..n {
                    let (takes_a, takes_b, any) = behaviour[i];
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
                    let mut parents: Vec<usize> = (0..i).filter(|&p| links[i][p]).collect();
                    if parents.is_empty() {
                        parents.push(i - 1);
                    }
                    for p in parents {
                        let handle = if p == 0 { "output" } else if links[p][i] { "a" } else { "b" };
                        edges.push(json!({"source": format!("n{p}"), "sourceHandle": handle, "target": format!("n{i}")}));
                    }
                }
                json!({"nodes": nodes, "edges": edges})
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_dags_terminate_run_nodes_once_and_replay_to_the_live_context(workflow in dag()) {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        runtime.block_on(async {
            let h = Harness::new();
            let mut rx = h.events.subscribe();
            let run = h.start(workflow, json!({"seed": 1})).await;
            let finished = tokio::time::timeout(Duration::from_secs(20), Harness::event(&mut rx, |e| {
                matches!(e.kind, EngineEventKind::RunCompleted { .. } | EngineEventKind::RunFailed { .. })
            }))
            .await
            .expect("the run did not terminate");
            let live = match finished.kind {
                EngineEventKind::RunCompleted { context, .. } => context,
                other => panic!("a run of probes cannot fail: {other:?}"),
            };
            let mut seen = HashMap::new();
            for execution in h.journal.of(run) {
                *seen.entry((execution.node, execution.activation)).or_insert(0) += 1;
            }
            assert!(seen.values().all(|&count| count == 1), "{seen:?}");
            let replayed = h.engine.snapshot(NS, run).await.unwrap();
            assert_eq!(replayed.status, RunStatus::Completed);
            assert_eq!(replayed.context, live);
        });
    }
}
