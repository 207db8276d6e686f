//! The live-run hub on the real SQL store: a follower in one process gets every event of a run
//! another process executes, once and in order; a late follower gets the replay after its
//! cursor; a follower that never reads is dropped without holding up the others.

use std::sync::Arc;
use std::time::Duration;

use change_bus::{ChangeBus, PostgresConfig};
use jet_server::realtime::hub::Hub;
use serde_json::json;
use test_support::{Backend, db_test};
use tokio_util::sync::CancellationToken;
use workflow_engine::{Engine, WorkflowDefinition};
use workflow_store::SqlStore;

async fn bus(
    backend: Backend,
    url: &str,
    shared: &ChangeBus,
    stop: &CancellationToken,
) -> ChangeBus {
    match backend {
        Backend::Sqlite => shared.clone(),
        Backend::Postgres => {
            let mut config = PostgresConfig::new(url);
            config.listener_name = format!("hub-test-{}", uuid::Uuid::now_v7().simple());
            let (bus, listener) = ChangeBus::postgres(config).await.unwrap();
            tokio::spawn(listener.run(stop.clone()));
            bus
        }
    }
}

async fn the_hub_follows_a_run_another_process_executes(backend: Backend) {
    let Some((database, db)) = test_support::migrated(backend).await else {
        return;
    };
    let stop = CancellationToken::new();
    let shared = ChangeBus::in_process();
    let executing = Arc::new(
        SqlStore::new(
            db.clone(),
            bus(backend, &database.url, &shared, &stop).await,
        )
        .unwrap(),
    );
    let other_db = match backend {
        Backend::Sqlite => db.clone(),
        Backend::Postgres => database::connect(&database::DatabaseConfig::new(&database.url))
            .await
            .unwrap(),
    };
    let following = Arc::new(
        SqlStore::new(other_db, bus(backend, &database.url, &shared, &stop).await).unwrap(),
    );
    let hub = Hub::start(following, stop.clone());
    let engine = Engine::builder(executing).build().unwrap();
    let workflow: WorkflowDefinition = serde_json::from_value(json!({
        "nodes": [{"id": "start", "type": "start"},
                  {"id": "a", "type": "delay", "config": {"delayMs": 50}},
                  {"id": "b", "type": "delay", "config": {"delayMs": 50}},
                  {"id": "end", "type": "end"}],
        "edges": [{"source": "start", "target": "a"}, {"source": "a", "target": "b"},
                  {"source": "b", "target": "end"}]
    }))
    .unwrap();
    let run = engine.start("t", workflow, json!({})).await.unwrap();
    let mut follower = hub.follow(run, 0, 1_000);
    let mut laggard = hub.follow(run, 0, 1);

    let mut seqs = Vec::new();
    let all = async {
        while let Some(event) = follower.next().await {
            seqs.push(event.seq());
            if event.name() == "RUN_COMPLETED" {
                return;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(20), all)
        .await
        .expect("the follower never saw the run complete");
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
    assert!(seqs.len() >= 8, "{seqs:?}");

    // The laggard never read: it was dropped after its one buffered event.
    assert_eq!(laggard.next().await.map(|e| e.seq()), Some(1));
    assert!(laggard.next().await.is_none(), "a laggard is dropped");

    // A follower arriving after the end gets the replay after its cursor.
    let mut late = hub.follow(run, 3, 1_000);
    let mut replay = Vec::new();
    while replay.len() < seqs.len() - 3 {
        let event = tokio::time::timeout(Duration::from_secs(20), late.next())
            .await
            .expect("the replay stopped")
            .expect("the late follower was dropped");
        replay.push(event.seq());
    }
    assert_eq!(replay, (4..=seqs.len() as u64).collect::<Vec<_>>());
    drop((follower, late));
    assert_eq!(hub.followed(), 0);
    stop.cancel();
}
db_test!(the_hub_follows_a_run_another_process_executes);
