//! The engine's contract scenarios (`workflow_engine::conformance`) on the SQL store, on SQLite
//! and PostgreSQL: the 1,000-diamond join race between two engines (on PostgreSQL two
//! processes' worth of pools and change-bus listeners), an engine dying mid-node and another
//! resuming its runs, and random DAGs whose logs fold to the live context.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;

use support::stores;
use test_support::{Backend, db_test};
use workflow_engine::{Store, conformance};

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
