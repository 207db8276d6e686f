//! Random valid DAGs (proptest, so a failure shrinks to a small graph): every run terminates,
//! each node runs at most once per activation, and the event log folds to the same context the
//! live run ended with (`conformance::check_dag`, also run on the SQL store).

use std::sync::Arc;

use proptest::prelude::*;
use serde_json::Value;
use workflow_engine::*;

/// A DAG: node i > 0 has edges from some earlier nodes; each node takes a random subset of its
/// two handles; joins are `all` or `any` (`conformance::dag_of`).
fn dag() -> impl Strategy<Value = Value> {
    (2usize..12).prop_flat_map(|n| {
        (
            prop::collection::vec(prop::collection::vec(any::<bool>(), n), n),
            prop::collection::vec((any::<bool>(), any::<bool>(), any::<bool>()), n),
        )
            .prop_map(move |(links, behaviour)| {
                conformance::dag_of(n, &links, &mut |i| behaviour[i])
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_dags_terminate_run_nodes_once_and_replay_to_the_live_context(workflow in dag()) {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        runtime.block_on(conformance::check_dag(Arc::new(MemoryStore::new()), workflow));
    }
}
