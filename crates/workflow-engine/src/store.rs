//! The persistence contract: a [`RunStore`] of runs and their event logs, and a [`WorkQueue`] of
//! tasks claimed under leases. One backend implements both, because a [`Commit`] writes a run's
//! events, its new status and the tasks they create (and acknowledges the task it finishes) in
//! one atomic step, guarded by compare-and-swap on the run's version.
//!
//! The contract a durable backend must keep (the in-memory one keeps it while the process
//! lives; a SQL one keeps it across crashes with one transaction per commit and
//! `FOR UPDATE SKIP LOCKED` claims):
//! - `commit` succeeds only if the run's version still equals `expected_version`; otherwise it
//!   changes nothing and returns [`Error::Conflict`].
//! - a task stays in the queue until a commit acknowledges it (or drops the run's tasks); a
//!   claimed task whose lease lapses is handed out again. So work dispatched by a process that
//!   died is resumed by any other (at least once per node attempt).
//! - `claim` serves namespaces in turn, so one namespace's backlog cannot starve another's.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::error::Error;
use crate::event::Event;
use crate::model::WorkflowDefinition;
use crate::run::{RunId, RunStatus, Timestamp};

/// The parent node a child run reports to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParentLink {
    /// The parent run.
    pub run: RunId,
    /// The sub-workflow node.
    pub node: String,
    /// Its activation.
    pub activation: u32,
}

/// A run's row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunRecord {
    /// The run.
    pub id: RunId,
    /// The host's namespace (tenant).
    pub namespace: String,
    /// The definition the run executes (it travels with the run, so later edits of the workflow
    /// do not change a run in flight).
    pub workflow: WorkflowDefinition,
    /// The parent, for child runs.
    pub parent: Option<ParentLink>,
    /// Nesting depth.
    pub depth: u32,
    /// Current status.
    pub status: RunStatus,
    /// The sequence number of its last event.
    pub version: u64,
    /// Creation time.
    pub created_at: Timestamp,
    /// Time of the last commit.
    pub updated_at: Timestamp,
}

/// What a task asks a worker to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
#[non_exhaustive]
pub enum TaskKind {
    /// Run one attempt of a node.
    Execute {
        /// Node id.
        node: String,
        /// Activation.
        activation: u32,
        /// Attempt.
        attempt: u32,
    },
    /// Expire a suspended node's request.
    Expire {
        /// Node id.
        node: String,
        /// Activation.
        activation: u32,
        /// The request.
        request_id: String,
    },
    /// A child run ended; resume its parent node.
    ChildFinished {
        /// The parent's sub-workflow node.
        node: String,
        /// Its activation.
        activation: u32,
        /// The child run.
        child: RunId,
    },
}

/// A unit of queued work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    /// Deterministic id (`run:node:activation:attempt`, …): enqueueing it twice keeps one.
    pub id: String,
    /// The run it belongs to.
    pub run: RunId,
    /// The run's namespace (claims are fair between namespaces).
    pub namespace: String,
    /// Not before.
    pub due: Timestamp,
    /// What to do.
    pub kind: TaskKind,
}

/// A task handed to a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    /// The task.
    pub task: Task,
    /// The lease ends here unless renewed.
    pub lease_until: Timestamp,
    /// How many times it has been handed out (1 = first delivery).
    pub deliveries: u32,
}

/// A new run, with its first events and tasks.
#[derive(Debug, Clone)]
pub struct NewRun {
    /// Its row (`version` = the last event's sequence number).
    pub record: RunRecord,
    /// Its first events.
    pub events: Vec<Event>,
    /// Its first tasks.
    pub tasks: Vec<Task>,
}

/// One atomic change to a run.
#[derive(Debug, Clone)]
pub struct Commit {
    /// The run.
    pub run: RunId,
    /// The version the change was computed from.
    pub expected_version: u64,
    /// New events, numbered from `expected_version + 1`.
    pub events: Vec<Event>,
    /// The status after them.
    pub status: RunStatus,
    /// Finished tasks to remove.
    pub ack: Vec<String>,
    /// Remove every other task of this run (it failed or was cancelled).
    pub drop_run_tasks: bool,
    /// Tasks to add (possibly of other runs: a child's end resumes its parent).
    pub enqueue: Vec<Task>,
    /// Child runs created with this change.
    pub new_runs: Vec<NewRun>,
}

/// Runs and their event logs.
#[async_trait]
pub trait RunStore: Send + Sync + std::fmt::Debug {
    /// Stores a new run with its first events and tasks.
    async fn create(&self, run: NewRun) -> Result<(), Error>;

    /// Stores every run of `runs` whose id is free, and answers, in order, whether each was
    /// stored (`false`: a run with its id exists, and nothing of it was written). A store that
    /// can should do it in one transaction (a scheduler starting hundreds of runs on the same
    /// second pays one commit); the default stores them one by one and stops at the first
    /// other error, leaving the runs before it stored.
    async fn create_many(&self, runs: Vec<NewRun>) -> Result<Vec<bool>, Error> {
        let mut stored = Vec::with_capacity(runs.len());
        for run in runs {
            match self.create(run).await {
                Ok(()) => stored.push(true),
                Err(Error::Conflict) => stored.push(false),
                Err(other) => return Err(other),
            }
        }
        Ok(stored)
    }

    /// Applies `commit` atomically if the run is still at `expected_version`, else
    /// [`Error::Conflict`] and nothing changes.
    async fn commit(&self, commit: Commit) -> Result<(), Error>;

    /// A run's row.
    async fn record(&self, run: RunId) -> Result<Option<RunRecord>, Error>;

    /// A run's events with a sequence number above `after`, in order.
    async fn events(&self, run: RunId, after: u64) -> Result<Vec<Event>, Error>;

    /// Runs, newest first, optionally of one namespace and status.
    async fn runs(
        &self,
        namespace: Option<&str>,
        status: Option<RunStatus>,
    ) -> Result<Vec<RunRecord>, Error>;

    /// Announcements of runs reaching a terminal status, whichever engine committed it (a SQL
    /// store hears other processes' commits through its change notifications). `None` (the
    /// default): the store cannot announce, and [`Engine::wait`](crate::Engine::wait) re-reads
    /// the run every [`EngineConfig::poll_interval`](crate::EngineConfig::poll_interval)
    /// instead.
    fn finished_runs(&self) -> Option<FinishedRuns> {
        None
    }
}

/// A subscription to the runs a store announces as finished ([`RunStore::finished_runs`]). A
/// store keeps a [`broadcast::Sender`] of [`FinishedRun`]s, sends each run that reaches a
/// terminal status once its commit is durable (and `Missed` when its own notifications may have
/// lost some), and hands out its receivers wrapped in this.
#[derive(Debug)]
pub struct FinishedRuns {
    receiver: broadcast::Receiver<FinishedRun>,
}

/// What a store announces to [`FinishedRuns`] subscribers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FinishedRun {
    /// This run reached a terminal status.
    Finished(RunId),
    /// Announcements may have been lost (the store's notifications reconnected): any run may
    /// have finished, and waiters re-read.
    Missed,
}

impl FinishedRuns {
    /// Wraps a receiver of announcements.
    pub fn new(receiver: broadcast::Receiver<FinishedRun>) -> Self {
        FinishedRuns { receiver }
    }

    /// The next announcement; `None` once the store stopped announcing. A subscriber that fell
    /// behind hears `Missed`.
    pub(crate) async fn next(&mut self) -> Option<FinishedRun> {
        match self.receiver.recv().await {
            Ok(announcement) => Some(announcement),
            Err(broadcast::error::RecvError::Lagged(_)) => Some(FinishedRun::Missed),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }
}

/// Queued tasks, handed out under leases.
#[async_trait]
pub trait WorkQueue: Send + Sync + std::fmt::Debug {
    /// Up to `max` tasks due at `now` (and tasks whose lease lapsed), leased to `worker` until
    /// `now + lease`, taking namespaces in turn.
    async fn claim(
        &self,
        worker: &str,
        now: Timestamp,
        lease: Duration,
        max: usize,
    ) -> Result<Vec<Claimed>, Error>;

    /// Extends `worker`'s lease on `task`; `false` when the task is gone (finished elsewhere,
    /// its run cancelled) or leased to another worker.
    async fn renew(&self, task: &str, worker: &str, until: Timestamp) -> Result<bool, Error>;

    /// The earliest time a task becomes claimable (due, or its lease lapses).
    async fn next_due(&self) -> Result<Option<Timestamp>, Error>;

    /// Hints that work was queued, by whichever engine queued it (a SQL store hears other
    /// processes' commits through its change notifications), so an idle dispatcher claims at
    /// once instead of at its next poll. `None` (the default): the dispatcher finds work queued
    /// elsewhere at its [`EngineConfig::poll_interval`](crate::EngineConfig::poll_interval),
    /// which stays the floor either way.
    fn queued_work(&self) -> Option<QueuedWork> {
        None
    }
}

/// A subscription to a store's hints that work was queued ([`WorkQueue::queued_work`]). A store
/// keeps a [`broadcast::Sender`] of `()`, sends when tasks were queued (at most as often as it
/// likes: a hint, not a record), and hands out its receivers wrapped in this.
#[derive(Debug)]
pub struct QueuedWork {
    receiver: broadcast::Receiver<()>,
}

impl QueuedWork {
    /// Wraps a receiver of hints.
    pub fn new(receiver: broadcast::Receiver<()>) -> Self {
        QueuedWork { receiver }
    }

    /// The next hint (a lagging subscriber hears one for all it missed); `None` once the
    /// store stopped hinting.
    pub(crate) async fn next(&mut self) -> Option<()> {
        match self.receiver.recv().await {
            Ok(()) | Err(broadcast::error::RecvError::Lagged(_)) => Some(()),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }
}

/// A backend: both halves, in one place, so commits are atomic across them.
pub trait Store: RunStore + WorkQueue {}

impl<T: RunStore + WorkQueue> Store for T {}
