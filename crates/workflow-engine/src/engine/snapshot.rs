//! What the host reads about a run: its [`RunSnapshot`] (status, public context, output, open
//! requests, and each node's [`NodeSummary`]), and what a cancel did ([`CancelOutcome`]).

use serde::Serialize;
use serde_json::Value;

use crate::node::Suspension;
use crate::run::{RunId, RunStatus};
use crate::state::{Closed, Phase, RunState};

/// A run as the host sees it: status, public context, output, open requests and each node's
/// state.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RunSnapshot {
    /// The run.
    pub id: RunId,
    /// Its namespace.
    pub namespace: String,
    /// Its status.
    pub status: RunStatus,
    /// The context without internal `__` keys.
    pub context: Value,
    /// The workflow output.
    pub output: Value,
    /// Why it failed or was cancelled.
    pub error: Option<String>,
    /// The sequence number of its last event.
    pub version: u64,
    /// Open human-in-the-loop requests.
    pub pending: Vec<PendingRequest>,
    /// Every node of the workflow, in definition order.
    pub nodes: Vec<NodeSummary>,
}

/// A suspended node waiting for [`Engine::submit`](crate::Engine::submit).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PendingRequest {
    /// The id to submit to.
    pub request_id: String,
    /// The node.
    pub node: String,
    /// Its activation.
    pub activation: u32,
    /// What to show and when it expires.
    pub suspension: Suspension,
}

/// Where one node is, and how often it ran.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct NodeSummary {
    /// The node's id.
    pub node: String,
    /// Its type.
    pub node_type: String,
    /// Its state now.
    pub status: NodeStatus,
    /// Activations (a loop body activates once per item; a join once per round).
    pub activations: u32,
    /// Attempts dispatched: first attempts, retries and restarts.
    pub attempts: u32,
    /// Attempts that completed.
    pub completions: u32,
    /// Attempts that failed, whether retried or not.
    pub failures: u32,
    /// Rounds in which the node was skipped because no taken path reached it.
    pub skips: u32,
    /// Its last output (for a loop, the collected results once it completes).
    pub last_output: Option<Value>,
}

/// A node's state in a [`NodeSummary`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum NodeStatus {
    /// No path has reached it yet.
    NotReached,
    /// Dispatched: queued, delayed, backing off before a retry, or running (a worker's start
    /// is not logged, so these are one state).
    Running,
    /// Waiting for the host ([`Engine::submit`](crate::Engine::submit)).
    Suspended,
    /// Waiting for a child run.
    WaitingForChild,
    /// Its last activation completed.
    Completed,
    /// Its last activation failed for good.
    Failed,
    /// Its last round was skipped (no taken path reached it).
    Skipped,
}

/// What [`Engine::cancel`](crate::Engine::cancel) did. A caller racing the run's completion
/// can ignore `AlreadyFinished`: the run ended on its own first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CancelOutcome {
    /// The run was running (or pending) and is now cancelled.
    Cancelled,
    /// It was already cancelled; nothing changed.
    AlreadyCancelled,
    /// It had already finished with this status; nothing changed.
    AlreadyFinished {
        /// `COMPLETED` or `FAILED`.
        status: RunStatus,
    },
}

impl RunSnapshot {
    pub(crate) fn of(state: &RunState) -> Self {
        let mut pending: Vec<PendingRequest> = state
            .requests()
            .map(|(id, p)| PendingRequest {
                request_id: id.clone(),
                node: state.workflow.node(p.node).id.clone(),
                activation: p.activation,
                suspension: p.suspension.clone(),
            })
            .collect();
        pending.sort_by(|a, b| a.request_id.cmp(&b.request_id));
        let nodes = (0..state.workflow.len())
            .map(|index| NodeSummary::of(state, index))
            .collect();
        RunSnapshot {
            id: state.run_id,
            namespace: state.namespace.clone(),
            status: state.status,
            context: state.context.to_public_json(),
            output: Value::Object(state.output.clone()),
            error: state.error.clone(),
            version: state.version,
            pending,
            nodes,
        }
    }

    /// The summary of node `id`.
    pub fn node(&self, id: &str) -> Option<&NodeSummary> {
        self.nodes.iter().find(|n| n.node == id)
    }
}

impl NodeSummary {
    fn of(state: &RunState, index: usize) -> Self {
        let definition = state.workflow.node(index);
        let counts = state.counts(index);
        // An open activation says more than how the last closed one ended.
        let open = state
            .open_of(index)
            .map(|open| match open.phase {
                Phase::Queued => NodeStatus::Running,
                Phase::Suspended(_) => NodeStatus::Suspended,
                Phase::Child(_) => NodeStatus::WaitingForChild,
            })
            .min_by_key(|status| match status {
                NodeStatus::Running => 0,
                NodeStatus::WaitingForChild => 1,
                _ => 2,
            });
        let status = open.unwrap_or(match counts.last_closed {
            None => NodeStatus::NotReached,
            Some(Closed::Completed) => NodeStatus::Completed,
            Some(Closed::Failed) => NodeStatus::Failed,
            Some(Closed::Skipped) => NodeStatus::Skipped,
        });
        NodeSummary {
            node: definition.id.clone(),
            node_type: definition.node_type.clone(),
            status,
            activations: counts.activations,
            attempts: counts.attempts,
            completions: counts.completions,
            failures: counts.failures,
            skips: counts.skips,
            last_output: state.last_output(index).cloned(),
        }
    }
}
