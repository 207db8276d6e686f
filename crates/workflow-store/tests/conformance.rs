//! The engine's contract scenarios (`workflow_engine::conformance`) on the SQL store, on SQLite
//! and PostgreSQL: the 1,000-diamond join race between two engines (on PostgreSQL two
//! processes' worth of pools and change-bus listeners), an engine dying mid-node and another
//! resuming its runs, and random DAGs whose logs fold to the live context.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;

use support::stores;
use test_support::{Backend, db_test};
use workflow_engine::{RunId, Store, conformance};

async fn the_diamond_join_runs_exactly_once_in_1000_racing_runs(backend: Backend) {
    let Some(stores) = stores(backend).await else {
        return;
    };
    let first: Arc<dyn Store> = stores.store.clone();
    let second: Arc<dyn Store> = Arc::new(stores.another_process().await);
    conformance::join_race([first, second], 1000).await;
}
db_test!(the_diamond_join_runs_exactly_once_in_1000_racing_runs);

async fn runs_survive_an_engine_dying_mid_node(backend: Backend) {
    let Some(stores) = stores(backend).await else {
        return;
    };
    let doomed: Arc<dyn Store> = stores.store.clone();
    let survivor: Arc<dyn Store> = Arc::new(stores.another_process().await);
    conformance::crash_resume(doomed, survivor, 20).await;
}
db_test!(runs_survive_an_engine_dying_mid_node);

async fn random_dags_terminate_and_replay_to_the_live_context(backend: Backend) {
    let Some(stores) = stores(backend).await else {
        return;
    };
    conformance::random_dags(stores.store.clone(), 1, 64).await;
}
db_test!(random_dags_terminate_and_replay_to_the_live_context);

/// Two processes start the same 50 runs by id at once (what two schedulers firing the same
/// tick do): each id starts one run, the other attempt is told it exists, and each run
/// completes once.
async fn a_start_with_a_chosen_id_happens_once_across_processes(backend: Backend) {
    let Some(stores) = stores(backend).await else {
        return;
    };
    let engines = two_processes(&stores).await;
    let workflow = start_to_end();
    let ids: Vec<RunId> = (0..50).map(|_| RunId::new()).collect();
    let workflow = &workflow;
    let attempts = ids.iter().flat_map(|id| {
        engines.iter().map(move |engine| {
            let workflow = workflow.clone();
            async move {
                engine
                    .start_as(*id, "ns", workflow, serde_json::json!({}))
                    .await
            }
        })
    });
    let outcomes = futures_util::future::join_all(attempts).await;
    let mut started = 0;
    for outcome in outcomes {
        match outcome {
            Ok(_) => started += 1,
            Err(workflow_engine::Error::RunExists(id)) => assert!(ids.contains(&id)),
            Err(other) => panic!("unexpected: {other}"),
        }
    }
    assert_eq!(started, ids.len());
    for id in &ids {
        let done = tokio::time::timeout(
            std::time::Duration::from_secs(60),
            engines[0].wait("ns", *id),
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(done.status, workflow_engine::RunStatus::Completed);
    }
    for engine in engines {
        engine.shutdown().await;
    }
}
db_test!(a_start_with_a_chosen_id_happens_once_across_processes);

/// Two processes start overlapping batches of runs at once with `start_many` (two schedulers
/// claiming the same second): each id starts one run, the other batch is told it exists, a
/// start whose input is refused fails alone, and every run started completes.
async fn batches_of_starts_start_each_id_once_across_processes(backend: Backend) {
    let Some(stores) = stores(backend).await else {
        return;
    };
    let engines = two_processes(&stores).await;
    let workflow = start_to_end();
    let ids: Vec<RunId> = (0..600).map(|_| RunId::new()).collect();
    let batch = |range: std::ops::Range<usize>| -> Vec<workflow_engine::StartRequest> {
        ids[range]
            .iter()
            .map(|id| workflow_engine::StartRequest {
                run_id: *id,
                namespace: "ns".into(),
                workflow: workflow.clone(),
                input: serde_json::json!({}),
            })
            .collect()
    };
    // 600 runs: more than one multi-row insert holds; the batches share 200 ids.
    let mut first_batch = batch(0..400);
    let refused = RunId::new();
    first_batch.push(workflow_engine::StartRequest {
        run_id: refused,
        namespace: "ns".into(),
        workflow: workflow.clone(),
        input: serde_json::json!("not an object"),
    });
    let (one, two) = tokio::join!(
        engines[0].start_many(first_batch),
        engines[1].start_many(batch(200..600))
    );
    let (one, two) = (one.unwrap(), two.unwrap());
    assert_eq!((one.len(), two.len()), (401, 400));
    assert!(matches!(
        one[400],
        Err(workflow_engine::Error::InvalidInput { .. })
    ));
    let mut started = std::collections::HashSet::new();
    for outcome in one[..400].iter().chain(&two) {
        match outcome {
            Ok(id) => assert!(started.insert(*id), "{id} started twice"),
            Err(workflow_engine::Error::RunExists(id)) => assert!(ids.contains(id)),
            Err(other) => panic!("unexpected: {other}"),
        }
    }
    assert_eq!(started.len(), ids.len());
    for id in &ids {
        let done = tokio::time::timeout(
            std::time::Duration::from_secs(60),
            engines[1].wait("ns", *id),
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(done.status, workflow_engine::RunStatus::Completed);
    }
    assert!(matches!(
        engines[0].snapshot("ns", refused).await,
        Err(workflow_engine::Error::RunNotFound)
    ));
    for engine in engines {
        engine.shutdown().await;
    }
}
db_test!(batches_of_starts_start_each_id_once_across_processes);

/// An engine on each of two processes' pools on the same database.
async fn two_processes(stores: &support::Stores) -> [workflow_engine::Engine; 2] {
    let first: Arc<dyn Store> = stores.store.clone();
    let second: Arc<dyn Store> = Arc::new(stores.another_process().await);
    [first, second].map(|store| workflow_engine::Engine::builder(store).build().unwrap())
}

/// `start → end`.
fn start_to_end() -> workflow_engine::WorkflowDefinition {
    workflow_engine::WorkflowDefinition::from_json(
        r#"{"nodes": [{"id": "start", "type": "start"}, {"id": "end", "type": "end"}],
            "edges": [{"source": "start", "target": "end"}]}"#,
    )
    .unwrap()
}
