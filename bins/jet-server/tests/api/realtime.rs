//! The live-run hub on the real SQL store: a follower in one process gets every event of a run
//! another process executes, once and in order; a late follower gets the replay after its
//! cursor; a follower that does not read falls behind without holding up the others, and
//! catches up, in order, when it reads again; a tenant's
//! status feed carries the status events of runs started after it opened.

use std::sync::Arc;
use std::time::Duration;

use change_bus::{ChangeBus, PostgresConfig};
use jet_server::realtime::hub::{FeedScope, Hub};
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
    let hub_db = match backend {
        Backend::Sqlite => db.clone(),
        Backend::Postgres => database::connect(&database::DatabaseConfig::new(&database.url))
            .await
            .unwrap(),
    };
    let hub = Hub::start(following, hub_db, stop.clone());
    let (outbox, mut statuses) = hub.queue(100);
    let _feed = hub.follow_feed(
        FeedScope::Statuses {
            namespace: "t".into(),
        },
        &outbox,
    );
    let (other_outbox, mut elsewhere) = hub.queue(100);
    let _other_feed = hub.follow_feed(
        FeedScope::Statuses {
            namespace: "u".into(),
        },
        &other_outbox,
    );
    drop((outbox, other_outbox));
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
    let (outbox, mut follower) = hub.queue(1_000);
    let _following = hub.follow_run(run, 0, &outbox);
    let (laggard_outbox, mut laggard) = hub.queue(1);
    let _lagging = hub.follow_run(run, 0, &laggard_outbox);
    drop((outbox, laggard_outbox));

    let mut seqs = Vec::new();
    let all = async {
        while let Some(delivery) = follower.next().await {
            seqs.push(delivery.event.seq);
            if delivery.event.is_terminal {
                return;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(20), all)
        .await
        .expect("the follower never saw the run complete");
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
    assert!(seqs.len() >= 8, "{seqs:?}");

    // The laggard did not read while the run went by: it got what its queue held, and the
    // rest, in order, as it read.
    let mut caught_up = Vec::new();
    while caught_up.len() < seqs.len() {
        let delivery = tokio::time::timeout(Duration::from_secs(20), laggard.next())
            .await
            .expect("the laggard was not served")
            .expect("the laggard was dropped");
        caught_up.push(delivery.event.seq);
    }
    assert_eq!(caught_up, seqs);

    // The feed saw the run's status events only, in order; the other namespace's saw none.
    let mut statuses_seen = Vec::new();
    while let Ok(Some(delivery)) =
        tokio::time::timeout(Duration::from_secs(5), statuses.next()).await
    {
        assert!(delivery.event.is_status, "{:?}", delivery.event.frame());
        statuses_seen.push(delivery.event.seq);
        if delivery.event.is_terminal {
            break;
        }
    }
    assert_eq!(statuses_seen, vec![1, *seqs.last().unwrap()], "{seqs:?}");
    assert!(
        tokio::time::timeout(Duration::from_millis(200), elsewhere.next())
            .await
            .is_err(),
        "another namespace's feed got an event"
    );

    // A follower arriving after the end gets the replay after its cursor.
    let (outbox, mut late) = hub.queue(1_000);
    let following_late = hub.follow_run(run, 3, &outbox);
    drop(outbox);
    let mut replay = Vec::new();
    while replay.len() < seqs.len() - 3 {
        let delivery = tokio::time::timeout(Duration::from_secs(20), late.next())
            .await
            .expect("the replay stopped")
            .expect("the late follower was dropped");
        replay.push(delivery.event.seq);
    }
    assert_eq!(replay, (4..=seqs.len() as u64).collect::<Vec<_>>());
    drop((_following, _lagging, following_late));
    assert_eq!(hub.followed().0, 0);
    stop.cancel();
}
db_test!(the_hub_follows_a_run_another_process_executes);
