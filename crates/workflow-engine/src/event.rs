//! The run's append-only event log. Each event has a per-run sequence number that only grows;
//! the run's state, context included, is the fold of its events in that order
//! ([`crate::state::RunState::apply`]).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::node::{EndStatus, LoopStep, NodeError, Suspension};
use crate::run::{RunId, Timestamp};

/// One entry of a run's log.
///
/// To a store it is data: keep [`seq`](Event::seq) and [`at`](Event::at) in columns if you
/// like and the whole event as its serde JSON, and hand it back as it was. To a host it is a
/// record to show: its [`name`](Event::name) (`NODE_COMPLETED`, …), the [`node`](Event::node)
/// it concerns, and the JSON, which holds the details (`{"seq", "at", "type", "node",
/// "activation", "attempt", "output", …}`). The engine folds the log into the run's state; the
/// variants are its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// 1, 2, 3, … within the run; also the run's version after this event.
    pub(crate) seq: u64,
    /// When it was recorded.
    pub(crate) at: Timestamp,
    /// What happened.
    #[serde(flatten)]
    pub(crate) kind: EventKind,
}

impl Event {
    /// 1, 2, 3, … within the run, without gaps; the run's version after this event.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// When it was recorded (the engine's clock).
    pub fn at(&self) -> Timestamp {
        self.at
    }

    /// The original product's log type name (`INPUT_SET`, `NODE_DISPATCHED`,
    /// `NODE_COMPLETED`, `NODE_FAILED`, `NODE_SUSPENDED`, `CHILD_STARTED`, `RUN_COMPLETED`,
    /// `RUN_FAILED`, `RUN_CANCELLED`, `RUN_RESTARTED`, `SYSTEM_SET`).
    pub fn name(&self) -> &'static str {
        self.kind.name()
    }

    /// The node the event concerns, for node events.
    pub fn node(&self) -> Option<&str> {
        match &self.kind {
            EventKind::NodeDispatched { node, .. }
            | EventKind::NodeCompleted { node, .. }
            | EventKind::NodeFailed { node, .. }
            | EventKind::NodeSuspended { node, .. }
            | EventKind::ChildStarted { node, .. } => Some(node),
            EventKind::RunFailed { node, .. } => node.as_deref(),
            _ => None,
        }
    }
}

/// What a failed attempt leads to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "then")]
pub(crate) enum FailureOutcome {
    /// Another attempt is scheduled at `at`.
    Retry {
        /// When the next attempt is due.
        at: Timestamp,
    },
    /// The node leaves by its `error` handle with `{success: false, error}` as output.
    Routed,
    /// The run fails.
    FailsRun,
}

/// The kinds of events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "type")]
pub(crate) enum EventKind {
    /// INPUT_SET: the run started with this input (`ctx.input`).
    RunStarted {
        /// The checked input.
        input: Value,
    },
    /// SYSTEM_SET: host metadata merged into the context.
    SystemSet {
        /// Keys to set.
        patch: Map<String, Value>,
    },
    /// A node attempt was queued (due now, or later after a delay or backoff).
    NodeDispatched {
        /// Node id.
        node: String,
        /// Activation (1-based).
        activation: u32,
        /// Attempt (1-based).
        attempt: u32,
        /// When it may start.
        due: Timestamp,
    },
    /// A node finished and left by `handles`.
    NodeCompleted {
        /// Node id.
        node: String,
        /// Activation.
        activation: u32,
        /// Attempt that finished.
        attempt: u32,
        /// The handles taken.
        handles: Vec<String>,
        /// The output (stored under the node's output variable).
        output: Value,
        /// Extra context keys.
        #[serde(default, skip_serializing_if = "Map::is_empty")]
        patch: Map<String, Value>,
        /// Delay before the next nodes, in milliseconds.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        delay_ms: Option<u64>,
        /// A loop's cursor move.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        loop_step: Option<LoopStep>,
        /// An end node's verdict.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        end: Option<(EndStatus, Value)>,
    },
    /// A node attempt failed.
    NodeFailed {
        /// Node id.
        node: String,
        /// Activation.
        activation: u32,
        /// The failed attempt.
        attempt: u32,
        /// Why.
        error: NodeError,
        /// What happens next.
        outcome: FailureOutcome,
    },
    /// A node waits for the host (data collection, approval).
    NodeSuspended {
        /// Node id.
        node: String,
        /// Activation.
        activation: u32,
        /// Attempt.
        attempt: u32,
        /// The request the host answers with [`crate::Engine::submit`].
        request_id: String,
        /// What the host shows.
        suspension: Suspension,
    },
    /// A sub-workflow node started a child run and waits for it.
    ChildStarted {
        /// Node id.
        node: String,
        /// Activation.
        activation: u32,
        /// Attempt.
        attempt: u32,
        /// The child run.
        child: RunId,
    },
    /// The run completed.
    RunCompleted {
        /// The workflow output (from `end` nodes).
        output: Value,
    },
    /// The run failed.
    RunFailed {
        /// Why.
        error: String,
        /// The node whose failure failed the run, if one did.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        node: Option<String>,
    },
    /// The run was cancelled.
    RunCancelled {
        /// The host's reason.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// A failed run was restarted from its failed nodes.
    RunRestarted,
}

impl EventKind {
    /// The original product's log type name (`NODE_COMPLETED`, …).
    pub(crate) fn name(&self) -> &'static str {
        match self {
            EventKind::RunStarted { .. } => "INPUT_SET",
            EventKind::SystemSet { .. } => "SYSTEM_SET",
            EventKind::NodeDispatched { .. } => "NODE_DISPATCHED",
            EventKind::NodeCompleted { .. } => "NODE_COMPLETED",
            EventKind::NodeFailed { .. } => "NODE_FAILED",
            EventKind::NodeSuspended { .. } => "NODE_SUSPENDED",
            EventKind::ChildStarted { .. } => "CHILD_STARTED",
            EventKind::RunCompleted { .. } => "RUN_COMPLETED",
            EventKind::RunFailed { .. } => "RUN_FAILED",
            EventKind::RunCancelled { .. } => "RUN_CANCELLED",
            EventKind::RunRestarted => "RUN_RESTARTED",
        }
    }
}
