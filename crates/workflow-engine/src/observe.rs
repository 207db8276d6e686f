//! The typed event stream a host fans out (to websockets, logs, metrics). Events are published
//! only after the change they describe is committed, in commit order per run.

use serde::Serialize;
use serde_json::Value;

use crate::event::{Event, EventKind, FailureOutcome};
use crate::node::{NodeError, Suspension};
use crate::run::{RunId, Timestamp};

/// One published event.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct EngineEvent {
    /// The run.
    pub run_id: RunId,
    /// Its namespace: hosts route events only to subscribers of that namespace.
    pub namespace: String,
    /// The log sequence number, for events that are logged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// When it happened.
    pub at: Timestamp,
    /// What happened.
    pub kind: EngineEventKind,
}

/// The kinds of published events.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase", tag = "type")]
#[non_exhaustive]
pub enum EngineEventKind {
    /// The run started.
    RunStarted,
    /// A node attempt was queued.
    NodeDispatched {
        /// Node id.
        node: String,
        /// Activation.
        activation: u32,
        /// Attempt.
        attempt: u32,
        /// When it may start.
        due: Timestamp,
    },
    /// A worker started a node attempt (not logged).
    NodeStarted {
        /// Node id.
        node: String,
        /// Activation.
        activation: u32,
        /// Attempt.
        attempt: u32,
    },
    /// A node finished.
    NodeCompleted {
        /// Node id.
        node: String,
        /// Activation.
        activation: u32,
        /// Handles taken.
        handles: Vec<String>,
        /// Its output.
        output: Value,
    },
    /// A node attempt failed and will be retried.
    NodeRetrying {
        /// Node id.
        node: String,
        /// Activation.
        activation: u32,
        /// The failed attempt.
        attempt: u32,
        /// Why.
        error: NodeError,
        /// When the next attempt is due.
        retry_at: Timestamp,
    },
    /// A node failed for good (its `error` edge is taken, or the run fails).
    NodeFailed {
        /// Node id.
        node: String,
        /// Activation.
        activation: u32,
        /// The last attempt.
        attempt: u32,
        /// Why.
        error: NodeError,
    },
    /// A node waits for the host.
    NodeSuspended {
        /// Node id.
        node: String,
        /// Activation.
        activation: u32,
        /// The request to answer.
        request_id: String,
        /// What to show.
        suspension: Suspension,
    },
    /// The run completed.
    RunCompleted {
        /// The workflow output.
        output: Value,
        /// The final context without internal keys.
        context: Value,
    },
    /// The run failed.
    RunFailed {
        /// Why.
        error: String,
        /// The node that failed it, if one did.
        node: Option<String>,
        /// The context at failure without internal keys.
        context: Value,
    },
    /// The run was cancelled.
    RunCancelled {
        /// The host's reason.
        reason: Option<String>,
    },
    /// A failed run restarted from its failed nodes.
    RunRestarted,
}

/// Receives published events. Called on the engine's tasks: hand the event off quickly.
pub trait EventSink: Send + Sync + std::fmt::Debug {
    /// One event.
    fn publish(&self, event: EngineEvent);
}

impl EventSink for tokio::sync::mpsc::UnboundedSender<EngineEvent> {
    fn publish(&self, event: EngineEvent) {
        let _ = self.send(event);
    }
}

impl EventSink for tokio::sync::broadcast::Sender<EngineEvent> {
    fn publish(&self, event: EngineEvent) {
        let _ = self.send(event);
    }
}

/// The published form of a run's logged events (`context` is called for terminal events).
pub(crate) fn published_events(
    run_id: RunId,
    namespace: &str,
    events: &[Event],
    context: impl Fn() -> Value,
) -> Vec<EngineEvent> {
    events
        .iter()
        .filter_map(|event| {
            published(event, &context).map(|kind| EngineEvent {
                run_id,
                namespace: namespace.to_string(),
                seq: Some(event.seq),
                at: event.at,
                kind,
            })
        })
        .collect()
}

/// The published form of a logged event (`None` for events that are not published).
fn published(event: &Event, context: impl Fn() -> Value) -> Option<EngineEventKind> {
    Some(match &event.kind {
        EventKind::RunStarted { .. } => EngineEventKind::RunStarted,
        EventKind::SystemSet { .. } | EventKind::ChildStarted { .. } => return None,
        EventKind::NodeDispatched {
            node,
            activation,
            attempt,
            due,
        } => EngineEventKind::NodeDispatched {
            node: node.clone(),
            activation: *activation,
            attempt: *attempt,
            due: *due,
        },
        EventKind::NodeCompleted {
            node,
            activation,
            handles,
            output,
            ..
        } => EngineEventKind::NodeCompleted {
            node: node.clone(),
            activation: *activation,
            handles: handles.clone(),
            output: output.clone(),
        },
        EventKind::NodeFailed {
            node,
            activation,
            attempt,
            error,
            outcome,
        } => match outcome {
            FailureOutcome::Retry { at } => EngineEventKind::NodeRetrying {
                node: node.clone(),
                activation: *activation,
                attempt: *attempt,
                error: error.clone(),
                retry_at: *at,
            },
            FailureOutcome::Routed | FailureOutcome::FailsRun => EngineEventKind::NodeFailed {
                node: node.clone(),
                activation: *activation,
                attempt: *attempt,
                error: error.clone(),
            },
        },
        EventKind::NodeSuspended {
            node,
            activation,
            request_id,
            suspension,
            ..
        } => EngineEventKind::NodeSuspended {
            node: node.clone(),
            activation: *activation,
            request_id: request_id.clone(),
            suspension: suspension.clone(),
        },
        EventKind::RunCompleted { output } => EngineEventKind::RunCompleted {
            output: output.clone(),
            context: context(),
        },
        EventKind::RunFailed { error, node } => EngineEventKind::RunFailed {
            error: error.clone(),
            node: node.clone(),
            context: context(),
        },
        EventKind::RunCancelled { reason } => EngineEventKind::RunCancelled {
            reason: reason.clone(),
        },
        EventKind::RunRestarted => EngineEventKind::RunRestarted,
    })
}
