//! Run identity and lifecycle: the id, the status and the namespace a run belongs to.

use serde::{Deserialize, Serialize};

/// Timestamps are UTC wall-clock times from the engine's [`crate::Clock`].
pub type Timestamp = chrono::DateTime<chrono::Utc>;

/// A run (workflow instance) id: a UUIDv7, so ids sort by creation time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RunId(pub uuid::Uuid);

impl RunId {
    /// A fresh id.
    pub fn new() -> Self {
        RunId(uuid::Uuid::now_v7())
    }
}

impl Default for RunId {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Display for RunId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for RunId {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        uuid::Uuid::parse_str(s).map(RunId)
    }
}

/// Where a run is in its lifecycle. Every run ends in one of the three terminal states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum RunStatus {
    /// Created, not yet started by a worker.
    Pending,
    /// Started; nodes are running, queued, delayed or suspended.
    Running,
    /// Finished: nothing left to run and no failure.
    Completed,
    /// A node failed with nowhere to go, or an `end` node said `error`.
    Failed,
    /// Cancelled by the host.
    Cancelled,
}

impl RunStatus {
    /// Whether the run is over.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            RunStatus::Completed | RunStatus::Failed | RunStatus::Cancelled
        )
    }

    /// The name as stored and shown (`RUNNING`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Pending => "PENDING",
            RunStatus::Running => "RUNNING",
            RunStatus::Completed => "COMPLETED",
            RunStatus::Failed => "FAILED",
            RunStatus::Cancelled => "CANCELLED",
        }
    }
}
