//! The join race on the memory store: two engines (as two processes) on one store complete
//! 1,000 diamonds whose branch results race into the join; compare-and-swap on the run version
//! must let exactly one of them dispatch the join, every time (`conformance::join_race`).

use std::sync::Arc;

use workflow_engine::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_diamond_join_runs_exactly_once_in_1000_racing_runs() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    conformance::join_race([store.clone(), store], 1000).await;
}
