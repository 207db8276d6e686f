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
//! ## Quick start
//!
//! An engine on the in-memory store, one custom node type, one run and its published events:
//!
//! ```
//! use std::sync::Arc;
//! use workflow_engine::{
//!     Completion, Engine, EngineEventKind, Handles, MemoryStore, NodeDefinition, NodeError,
//!     NodeHandler, NodeInput, NodeOutcome, RunStatus, WorkflowDefinition,
//! };
//!
//! /// `shout`: upper-cases its `text` config (templates resolved) and leaves by `output`.
//! #[derive(Debug)]
//! struct Shout;
//!
//! #[async_trait::async_trait]
//! impl NodeHandler for Shout {
//!     fn node_type(&self) -> &str { "shout" }
//!     fn handles(&self, _node: &NodeDefinition) -> Handles { Handles::of(&["output"]) }
//!     async fn execute(&self, input: NodeInput) -> Result<NodeOutcome, NodeError> {
//!         let text = input.resolved("text")?;
//!         let loud = text.as_str().unwrap_or_default().to_uppercase();
//!         Ok(NodeOutcome::Complete(Completion::on("output", loud.into())))
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), workflow_engine::Error> {
//! let (events, mut published) = tokio::sync::mpsc::unbounded_channel();
//! let engine = Engine::builder(Arc::new(MemoryStore::new()))
//!     .node_type(Arc::new(Shout))
//!     .events(Arc::new(events))
//!     .build()?;
//! let workflow = WorkflowDefinition::from_json(r#"{
//!   "nodes": [{"id": "start", "type": "start"},
//!             {"id": "loud", "type": "shout",
//!              "config": {"text": "hello {{ctx.input.name}}", "outputVariable": "loud"}},
//!             {"id": "done", "type": "end", "config": {"outputParameters": [
//!               {"name": "greeting", "sourceVariable": "{{ctx.loud}}"}]}}],
//!   "edges": [{"source": "start", "target": "loud"}, {"source": "loud", "target": "done"}]
//! }"#)?;
//! let run = engine.start("tenant-a", workflow, serde_json::json!({"name": "Ada"})).await?;
//! let finished = engine.wait("tenant-a", run).await?;
//! assert_eq!(finished.status, RunStatus::Completed);
//! assert_eq!(finished.output["greeting"], "HELLO ADA");
//! while let Ok(event) = published.try_recv() {
//!     if let EngineEventKind::NodeCompleted { node, output, .. } = event.kind {
//!         println!("{node} → {output}");
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! ## The public surface
//! Everything is at the crate root, each type under one path:
//! - **Running**: [`Engine`], [`EngineBuilder`], [`EngineConfig`], [`NodeSettingsDefaults`],
//!   [`RunSnapshot`], [`NodeSummary`], [`NodeStatus`], [`PendingRequest`], [`CancelOutcome`],
//!   [`Error`], [`ValidationIssue`].
//! - **Workflows**: [`WorkflowDefinition`] and its parts ([`NodeDefinition`], [`EdgeDefinition`],
//!   [`WorkflowOptions`], [`NodeDefaults`], [`InputDefinition`], [`InputType`],
//!   [`RetryPolicy`], [`ErrorHandling`], [`JoinMode`]).
//! - **Custom node types**: [`NodeHandler`] and what it names ([`NodeInput`], [`NodeOutcome`],
//!   [`Completion`], [`NodeError`], [`Handles`], [`Suspension`], [`ChildRequest`],
//!   [`ChildOutcome`], [`IssueSink`], [`Context`]).
//! - **Host services**: [`ScriptRunner`], [`DataQueryRunner`], [`WorkflowSource`] (with
//!   [`ScriptCall`], [`DataQueryCall`]), [`Clock`] ([`SystemClock`], [`FakeClock`]), and the
//!   published events ([`EventSink`], [`EngineEvent`], [`EngineEventKind`]).
//! - **Storage backends**: [`Store`] = [`RunStore`] + [`WorkQueue`], with [`Commit`],
//!   [`NewRun`], [`RunRecord`], [`ParentLink`], [`Task`], [`TaskKind`], [`Claimed`], [`Event`],
//!   [`FinishedRuns`], [`FinishedRun`], [`QueuedWork`], [`RunId`], [`RunStatus`], [`Timestamp`];
//!   [`MemoryStore`] implements it.

#![warn(missing_docs)]

mod clock;
#[cfg(feature = "conformance")]
pub mod conformance;
mod context;
mod engine;
mod error;
mod event;
mod graph;
mod host;
mod inputs;
mod memory;
mod model;
mod node;
mod nodes;
mod observe;
mod registry;
mod retry;
mod run;
#[cfg(feature = "sandbox")]
mod sandbox_scripts;
mod state;
mod store;
mod template;
mod validate;

pub use clock::{Clock, FakeClock, SystemClock};
pub use context::Context;
pub use engine::{
    CancelOutcome, Engine, EngineBuilder, EngineConfig, NodeStatus, NodeSummary, PendingRequest,
    RunLimits, RunSnapshot, StartRequest,
};
pub use error::Error;
pub use event::Event;
pub use graph::NodeSettingsDefaults;
pub use host::{DataQueryCall, DataQueryRunner, ScriptCall, ScriptRunner, WorkflowSource};
pub use memory::MemoryStore;
pub use model::{
    EdgeDefinition, ErrorHandling, InputDefinition, InputType, JoinMode, NodeDefaults,
    NodeDefinition, RetryPolicy, WorkflowDefinition, WorkflowOptions,
};
pub use node::{
    ChildOutcome, ChildRequest, Completion, Handles, NodeError, NodeHandler, NodeInput,
    NodeOutcome, Suspension,
};
pub use observe::{EngineEvent, EngineEventKind, EventSink};
pub use run::{RunId, RunStatus, Timestamp};
#[cfg(feature = "sandbox")]
pub use sandbox_scripts::SandboxScripts;
pub use store::{
    Claimed, Commit, FinishedRun, FinishedRuns, NewRun, ParentLink, QueuedWork, RunRecord,
    RunStore, Store, Task, TaskKind, WorkQueue,
};
pub use validate::{IssueSink, ValidationIssue};
