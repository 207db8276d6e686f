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
    let first: Arc<dyn Store> = stores.store.clone();
    let second: Arc<dyn Store> = Arc::new(stores.another_process().await);
    let engines =
        [first, second].map(|store| workflow_engine::Engine::builder(store).build().unwrap());
    let workflow = workflow_engine::WorkflowDefinition::from_json(
        r#"{"nodes": [{"id": "start", "type": "start"}, {"id": "end", "type": "end"}],
            "edges": [{"source": "start", "target": "end"}]}"#,
    )
    .unwrap();
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
