//! # workflow-store
//!
//! The workflow engine's durable [`Store`](workflow_engine::Store) on the platform database:
//! SQLite (the embedded default, one process) and PostgreSQL (several processes), with the
//! same migrations (`engine_runs`, `engine_events`, `engine_tasks`) and the same contract as
//! the engine's in-memory store, kept across crashes:
//!
//! - **One transaction per commit.** The first statement is the compare-and-swap on the run's
//!   version (`UPDATE … WHERE id = ? AND version = ?`); zero rows changed is
//!   [`Conflict`](workflow_engine::Error::Conflict) and nothing is written. Then the events
//!   (primary key `(run_id, seq)`: a gap or a duplicate cannot be written), the acknowledged
//!   and dropped tasks, the new tasks and the child runs.
//! - **Claims** lease up to `max` claimable tasks in one statement, taking namespaces in turn
//!   (each namespace's first task, then each one's second, …). PostgreSQL locks the rows it
//!   takes with `FOR UPDATE SKIP LOCKED`, so processes claiming at once never take the same
//!   task; SQLite needs no row locks (one writer at a time, one process), and runs the same
//!   ranking in an `UPDATE … RETURNING`.
//! - **Leases.** A task's `claimable_at` is its due time while unleased and its lease end while
//!   leased: a task whose owner died becomes claimable when the lease lapses, by any process.
//! - **Announcements.** A commit that ends a run publishes the run id on the change bus
//!   (`workflow-engine.finished`), which reaches every process (PostgreSQL `LISTEN/NOTIFY`) or
//!   this one (SQLite); [`RunStore::finished_runs`](workflow_engine::RunStore::finished_runs)
//!   hands them to `Engine::wait`, so nothing polls for a run to end. A commit that queues
//!   tasks publishes a hint (`workflow-engine.queued`, at most every 20 ms per store) that
//!   wakes idle dispatchers of other processes; their poll stays the floor.
//!
//! - **Commit hints.** Every commit's run and latest sequence number are published
//!   (`workflow-engine.committed`; a commit after a quiet spell at once, later ones gathered so
//!   that a process publishes at most once per [`FLUSH_INTERVAL`]), so a live view in any
//!   process ([`SqlStore::committed_runs`]) knows which logs to read on from; the log, not the
//!   hint, is what it delivers.
//!
//! Times are kept as microseconds since the Unix epoch (`BIGINT`), exact and ordered alike on
//! both databases.

mod announce;
mod committed;
mod error;
mod listing;
mod rows;
mod sql;
mod store;

pub use committed::{Committed, CommittedRuns, FLUSH_INTERVAL};
pub use error::Error;
pub use listing::{ListedRun, RunFilter, RunOrigin, find_run, list_runs, run_origin};
pub use store::SqlStore;
