//! # workflow-engine
//!
//! An embeddable DAG workflow engine that never loses a run. It depends on no database, HTTP
//! stack or JavaScript engine: the host supplies a [`Store`] (an in-memory one ships here),
//! and, as needed, a [`ScriptRunner`], a [`DataQueryRunner`], a [`WorkflowSource`], a
//! [`Clock`] and an [`EventSink`]. With the `sandbox` feature, [`SandboxScripts`] runs
//! JavaScript in the workspace's QuickJS sandbox.
//!
//! ## The run loop
//! A run's state is the **fold of its event log**: `RunStarted`, `NodeDispatched`,
//! `NodeCompleted`, `NodeFailed`, `NodeSuspended`, … each with a per-run sequence number that
//! only grows. The context (`ctx`) is part of that fold: each completed node sets its output
//! variable, loops set their item variables.
//!
//! 1. [`Engine::start`] validates the workflow, checks the input, and stores the run with its
//!    first events and a task for the start node, atomically.
//! 2. The dispatcher claims due tasks under a lease, at most `concurrency` (10) at once, taking
//!    namespaces in turn so one tenant's backlog cannot starve another.
//! 3. A worker runs the node's [`NodeHandler`] with a snapshot of the context, the node's
//!    timeout (on the injected clock), a cancellation token and the idempotency key
//!    `instanceID:nodeID:attempt`, renewing the lease while it runs.
//! 4. The result becomes events in one transition: the node's completion, tokens sent down its
//!    outgoing edges, the nodes that became ready dispatched as new tasks (delayed ones with a
//!    due time; nothing sleeps), and the task acknowledged. The transition commits with
//!    compare-and-swap on the run's version; a loser reloads and decides again.
//!
//! ## Guarantees
//! - **Every run ends** COMPLETED, FAILED or CANCELLED. It completes when nothing is running,
//!   queued, delayed or suspended (an `end` node is optional); a failure without an `error`
//!   edge, or an `end` node with status `error`, fails it.
//! - **Joins run once per round.** Edges carry *taken* or *skipped* tokens (dead-path
//!   elimination), so a join after a condition runs once the untaken branch is known dead; CAS
//!   on the version makes exactly one racer dispatch it.
//! - **No run is lost.** Tasks stay queued until a commit acknowledges them. If a process dies,
//!   its leases lapse and another engine on the same store resumes the work: each node attempt
//!   runs at least once, with the same idempotency key on every delivery.
//! - **Retries** follow each node's [`RetryPolicy`] (exponential backoff, jitter) and its
//!   [`ErrorHandling`] mode; **timeouts** are per attempt.
//! - **Human in the loop**: `dataCollection` and `approval` suspend until [`Engine::submit`],
//!   or until their expiry takes the `expired` handle (or fails, as configured).
//! - **Cancel** any run; **restart** a failed run from its failed node, keeping its context.
//! - The log replays to exactly the live state: both are built by one function
//!   (`RunState::apply`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), workflow_engine::Error> {
//! use std::sync::Arc;
//! use workflow_engine::{Engine, MemoryStore, WorkflowDefinition};
//!
//! let engine = Engine::builder(Arc::new(MemoryStore::new())).build()?;
//! let workflow: WorkflowDefinition = serde_json::from_str(r#"{
//!   "nodes": [{"id": "start", "type": "start"},
//!             {"id": "done", "type": "end", "config": {"outputParameters": [
//!               {"name": "greeting", "sourceVariable": "Hello {{ctx.input.name}}"}]}}],
//!   "edges": [{"source": "start", "target": "done"}]
//! }"#).map_err(|e| workflow_engine::Error::InvalidState(e.to_string()))?;
//! let run = engine.start("tenant-a", workflow, serde_json::json!({"name": "Ada"})).await?;
//! let finished = engine.wait("tenant-a", run).await?;
//! assert_eq!(finished.output["greeting"], "Hello Ada");
//! # Ok(()) }
//! ```

pub mod clock;
pub mod context;
mod engine;
mod error;
pub mod event;
pub mod graph;
pub mod host;
mod inputs;
pub mod memory;
pub mod model;
pub mod node;
pub mod nodes;
pub mod observe;
pub mod registry;
mod retry;
pub mod run;
#[cfg(feature = "sandbox")]
mod sandbox_scripts;
pub mod state;
pub mod store;
pub mod template;
pub mod validate;

pub use clock::{Clock, FakeClock, SystemClock};
pub use context::Context;
pub use engine::transition::{MAX_DEPTH, idempotency_key};
pub use engine::{Engine, EngineBuilder, EngineConfig, PendingRequest, RunSnapshot};
pub use error::Error;
pub use event::{Event, EventKind};
pub use graph::{CompiledWorkflow, NodeSettingsDefaults};
pub use host::{DataQueryCall, DataQueryRunner, ScriptCall, ScriptRunner, WorkflowSource};
pub use memory::MemoryStore;
pub use model::{
    EdgeDefinition, ErrorHandling, InputDefinition, InputType, JoinMode, NodeDefinition,
    RetryPolicy, WorkflowDefinition, WorkflowOptions,
};
pub use node::{Completion, Handles, NodeError, NodeHandler, NodeInput, NodeOutcome, Suspension};
pub use observe::{EngineEvent, EngineEventKind, EventSink};
pub use registry::Registry;
pub use run::{RunId, RunStatus, Timestamp};
#[cfg(feature = "sandbox")]
pub use sandbox_scripts::SandboxScripts;
pub use store::{RunStore, Store, WorkQueue};
pub use validate::ValidationIssue;
