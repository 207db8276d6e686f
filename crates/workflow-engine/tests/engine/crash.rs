//! The durability contract on the memory store: an engine dropped mid-run (a process killed
//! between a node's side effect and its result) loses nothing; another engine over the same
//! store resumes every run once the leases lapse, each node's effect recorded once per attempt
//! (`conformance::crash_resume`).

use std::sync::Arc;

use workflow_engine::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_survive_an_engine_dying_mid_node() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    conformance::crash_resume(store.clone(), store, 20).await;
}
