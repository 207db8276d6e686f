//! A run's state as the fold of its event log. [`RunState::apply`] is the only code that changes
//! it, both live (each event is applied as it is decided) and on replay after a crash, so the
//! two cannot disagree.
//!
//! Scheduling is token passing with dead-path elimination. When a node finishes, each outgoing
//! edge receives a token: *taken* if its handle was taken, *skipped* otherwise. A node waits for
//! one token per incoming edge (join `all`) or for the first taken one (join `any`); a round of
//! only skipped tokens skips the node, which passes skipped tokens on. So a join after a
//! condition runs once the untaken branch is known to be dead, and every path resolves.
//! A loop's back edges (the end of its body) form a separate group: each round of them is one
//! finished iteration. Iteration handles never carry skipped tokens, so a finished loop does
//! not re-enter its body and an iterating loop does not skip what follows it.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::clock::after;
use crate::context::Context;
use crate::event::{Event, EventKind, FailureOutcome};
use crate::graph::CompiledWorkflow;
use crate::model::JoinMode;
use crate::node::{EndStatus, LoopCursor, LoopStep, Suspension};
use crate::run::{RunId, RunStatus, Timestamp};
use crate::store::ParentLink;

/// An activation decided but not yet dispatched.
#[derive(Debug, Clone, PartialEq)]
pub struct Ready {
    /// Node index.
    pub node: usize,
    /// Activation number.
    pub activation: u32,
    /// Triggered by a loop's back edges.
    pub via_back_edge: bool,
    /// The node whose taken edge triggered it.
    pub predecessor: Option<usize>,
    /// Not before this time (the delay of the node that led here).
    pub not_before: Option<Timestamp>,
}

/// What an open dispatch is waiting for.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    /// Queued or running.
    Queued,
    /// Suspended on a host request.
    Suspended(String),
    /// Waiting for a child run.
    Child(RunId),
}

/// A dispatched activation with no final result yet.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenDispatch {
    /// The current attempt.
    pub attempt: u32,
    /// What it waits for.
    pub phase: Phase,
    /// Triggered by a loop's back edges.
    pub via_back_edge: bool,
    /// The node whose taken edge triggered it.
    pub predecessor: Option<usize>,
}

/// A suspended node's open request.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    /// Node index.
    pub node: usize,
    /// Activation.
    pub activation: u32,
    /// What the host shows, and when it expires.
    pub suspension: Suspension,
}

/// How a node's last closed activation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Closed {
    /// It completed.
    Completed,
    /// It failed for good (routed to `error`, or failing the run).
    Failed,
    /// Its round held only skipped tokens.
    Skipped,
}

/// What happened to one node so far, for snapshots.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct NodeCounts {
    /// Activations (loop bodies activate once per item).
    pub(crate) activations: u32,
    /// Attempts dispatched (first attempts, retries and restarts).
    pub(crate) attempts: u32,
    /// Attempts that completed.
    pub(crate) completions: u32,
    /// Attempts that failed (retried or not).
    pub(crate) failures: u32,
    /// Rounds skipped (dead-path elimination).
    pub(crate) skips: u32,
    /// How the last closed activation ended.
    pub(crate) last_closed: Option<Closed>,
}

#[derive(Debug, Clone, Default, PartialEq)]
struct NodeState {
    /// What happened so far; `counts.activations` also numbers the next activation.
    counts: NodeCounts,
    /// How many entry edges / back edges hold at least one token, so a join of n edges
    /// learns it is complete in O(1) instead of scanning its edges on every arrival.
    filled: [usize; 2],
    last_output: Option<Value>,
    cursor: Option<LoopCursor>,
}

#[derive(Debug, Clone, Default, PartialEq)]
struct EdgeState {
    /// Tokens not yet consumed, oldest first (`true` = taken).
    pending: VecDeque<bool>,
    /// Tokens to drop on arrival: their round was already decided by a join `any`.
    absorb: u32,
}

/// The folded state of one run.
#[derive(Debug, Clone)]
pub struct RunState {
    /// The run.
    pub run_id: RunId,
    /// Its namespace.
    pub namespace: String,
    /// Nesting depth (0 = top level).
    pub depth: u32,
    /// The parent node waiting for this run, for child runs.
    pub parent: Option<ParentLink>,
    /// The compiled workflow.
    pub workflow: Arc<CompiledWorkflow>,
    /// Lifecycle status.
    pub status: RunStatus,
    /// The sequence number of the last applied event.
    pub version: u64,
    /// The context.
    pub context: Context,
    /// The workflow output collected from `end` nodes.
    pub output: Map<String, Value>,
    /// Why the run failed or was cancelled.
    pub error: Option<String>,
    nodes: Vec<NodeState>,
    edges: Vec<EdgeState>,
    ready: VecDeque<Ready>,
    open: BTreeMap<(usize, u32), OpenDispatch>,
    requests: HashMap<String, Pending>,
    failed: Vec<(usize, u32, u32)>,
    end_error: Option<String>,
}

impl RunState {
    /// An empty state, before its first event.
    pub fn new(
        run_id: RunId,
        namespace: String,
        depth: u32,
        parent: Option<ParentLink>,
        workflow: Arc<CompiledWorkflow>,
    ) -> Self {
        RunState {
            run_id,
            namespace,
            depth,
            parent,
            nodes: vec![NodeState::default(); workflow.len()],
            edges: vec![EdgeState::default(); workflow.edges().len()],
            workflow,
            status: RunStatus::Pending,
            version: 0,
            context: Context::default(),
            output: Map::new(),
            error: None,
            ready: VecDeque::new(),
            open: BTreeMap::new(),
            requests: HashMap::new(),
            failed: Vec::new(),
            end_error: None,
        }
    }

    /// The oldest activation decided but not yet dispatched.
    pub fn next_ready(&self) -> Option<Ready> {
        self.ready.front().cloned()
    }

    /// The open dispatch of `(node, activation)`.
    pub fn open(&self, node: usize, activation: u32) -> Option<&OpenDispatch> {
        self.open.get(&(node, activation))
    }

    /// Every open dispatch.
    pub fn open_dispatches(&self) -> impl Iterator<Item = (&(usize, u32), &OpenDispatch)> {
        self.open.iter()
    }

    /// The open request `request_id`.
    pub fn request(&self, request_id: &str) -> Option<&Pending> {
        self.requests.get(request_id)
    }

    /// Every open request.
    pub fn requests(&self) -> impl Iterator<Item = (&String, &Pending)> {
        self.requests.iter()
    }

    /// The dispatches whose failure failed the run (restart targets): node, activation, attempt.
    pub fn failed_dispatches(&self) -> &[(usize, u32, u32)] {
        &self.failed
    }

    /// The error of an `end` node with status `error`, once one ran.
    pub fn end_error(&self) -> Option<&str> {
        self.end_error.as_deref()
    }

    /// Whether nothing is queued, running, delayed, suspended or about to be dispatched.
    pub fn is_quiescent(&self) -> bool {
        self.open.is_empty() && self.ready.is_empty()
    }

    /// The last output of node `index`.
    pub fn last_output(&self, index: usize) -> Option<&Value> {
        self.nodes[index].last_output.as_ref()
    }

    /// What happened to node `index` so far.
    pub fn counts(&self, index: usize) -> NodeCounts {
        self.nodes[index].counts
    }

    /// The open dispatches of node `index`.
    pub fn open_of(&self, index: usize) -> impl Iterator<Item = &OpenDispatch> {
        self.open
            .range((index, 0)..=(index, u32::MAX))
            .map(|(_, open)| open)
    }

    /// The loop cursor of node `index`.
    pub fn cursor(&self, index: usize) -> Option<&LoopCursor> {
        self.nodes[index].cursor.as_ref()
    }

    /// Applies one event. Events naming unknown nodes (a corrupted log) are ignored with a warning.
    pub fn apply(&mut self, event: &Event) {
        self.version = event.seq;
        match &event.kind {
            EventKind::RunStarted { input } => {
                self.status = RunStatus::Running;
                self.context.set("input", input.clone());
                let start = self.workflow.start();
                self.nodes[start].counts.activations += 1;
                self.ready.push_back(Ready {
                    node: start,
                    activation: self.nodes[start].counts.activations,
                    via_back_edge: false,
                    predecessor: None,
                    not_before: None,
                });
            }
            EventKind::SystemSet { patch } => self.context.merge(patch),
            EventKind::NodeDispatched {
                node,
                activation,
                attempt,
                ..
            } => {
                let Some(n) = self.index(node) else { return };
                self.nodes[n].counts.attempts += 1;
                let (via_back_edge, predecessor) = match self
                    .ready
                    .iter()
                    .position(|r| r.node == n && r.activation == *activation)
                {
                    Some(position) => {
                        let ready = self.ready.remove(position);
                        ready.map_or((false, None), |r| (r.via_back_edge, r.predecessor))
                    }
                    None => self
                        .open
                        .get(&(n, *activation))
                        .map_or((false, None), |o| (o.via_back_edge, o.predecessor)),
                };
                self.open.insert(
                    (n, *activation),
                    OpenDispatch {
                        attempt: *attempt,
                        phase: Phase::Queued,
                        via_back_edge,
                        predecessor,
                    },
                );
            }
            EventKind::NodeCompleted {
                node,
                activation,
                handles,
                output,
                patch,
                delay_ms,
                loop_step,
                end,
                ..
            } => {
                let Some(n) = self.index(node) else { return };
                self.close(n, *activation);
                self.nodes[n].counts.completions += 1;
                self.nodes[n].counts.last_closed = Some(Closed::Completed);
                // A loop's per-item outputs stay out of its output variable, which receives
                // the collected results when the loop completes.
                if handles
                    .iter()
                    .any(|h| self.workflow.is_iteration_handle(n, h))
                {
                    self.nodes[n].last_output = Some(output.clone());
                } else {
                    self.record_output(n, output.clone());
                }
                self.context.merge(patch);
                if let Some(step) = loop_step {
                    self.step_cursor(n, step);
                }
                if let Some((status, value)) = end {
                    match value {
                        Value::Object(fields) => self.output.extend(fields.clone()),
                        Value::Null => {}
                        other => {
                            self.output.insert("output".into(), other.clone());
                        }
                    }
                    if *status == EndStatus::Error {
                        self.end_error =
                            Some(format!("end node `{node}` finished with status error"));
                    }
                }
                let not_before = delay_ms.map(|ms| after(event.at, Duration::from_millis(ms)));
                self.route(n, handles, not_before);
            }
            EventKind::NodeFailed {
                node,
                activation,
                attempt,
                error,
                outcome,
            } => {
                let Some(n) = self.index(node) else { return };
                self.nodes[n].counts.failures += 1;
                if !matches!(outcome, FailureOutcome::Retry { .. }) {
                    self.nodes[n].counts.last_closed = Some(Closed::Failed);
                }
                match outcome {
                    FailureOutcome::Retry { .. } => {}
                    FailureOutcome::Routed => {
                        self.close(n, *activation);
                        self.record_output(n, json!({"success": false, "error": error}));
                        self.route(n, &["error".to_string()], None);
                    }
                    FailureOutcome::FailsRun => {
                        self.close(n, *activation);
                        self.failed.push((n, *activation, *attempt));
                    }
                }
            }
            EventKind::NodeSuspended {
                node,
                activation,
                request_id,
                suspension,
                ..
            } => {
                let Some(n) = self.index(node) else { return };
                if let Some(open) = self.open.get_mut(&(n, *activation)) {
                    open.phase = Phase::Suspended(request_id.clone());
                    self.requests.insert(
                        request_id.clone(),
                        Pending {
                            node: n,
                            activation: *activation,
                            suspension: suspension.clone(),
                        },
                    );
                }
            }
            EventKind::ChildStarted {
                node,
                activation,
                child,
                ..
            } => {
                let Some(n) = self.index(node) else { return };
                if let Some(open) = self.open.get_mut(&(n, *activation)) {
                    open.phase = Phase::Child(*child);
                }
            }
            EventKind::RunCompleted { output } => {
                self.status = RunStatus::Completed;
                if let Value::Object(fields) = output {
                    self.output = fields.clone();
                }
            }
            EventKind::RunFailed { error, .. } => {
                self.status = RunStatus::Failed;
                self.error = Some(error.clone());
            }
            EventKind::RunCancelled { reason } => {
                self.status = RunStatus::Cancelled;
                self.error = reason.clone();
            }
            EventKind::RunRestarted => {
                self.status = RunStatus::Running;
                self.error = None;
                self.end_error = None;
                self.failed.clear();
            }
        }
    }

    fn index(&self, node: &str) -> Option<usize> {
        let found = self.workflow.index_of(node);
        if found.is_none() {
            tracing::warn!(run = %self.run_id, node, "event names a node the workflow does not have");
        }
        found
    }

    fn close(&mut self, node: usize, activation: u32) {
        if let Some(OpenDispatch {
            phase: Phase::Suspended(request),
            ..
        }) = self.open.remove(&(node, activation))
        {
            self.requests.remove(&request);
        }
    }

    fn record_output(&mut self, node: usize, output: Value) {
        if let Some(variable) = &self.workflow.settings(node).output_variable {
            self.context.set(variable.clone(), output.clone());
        }
        self.nodes[node].last_output = Some(output);
    }

    fn step_cursor(&mut self, node: usize, step: &LoopStep) {
        let state = &mut self.nodes[node];
        match step {
            LoopStep::Begin { items } => {
                state.cursor = Some(LoopCursor {
                    items: Arc::new(items.clone()),
                    next_index: 1,
                    results: imbl::Vector::new(),
                });
            }
            LoopStep::Advance { result } => {
                if let Some(cursor) = state.cursor.as_mut() {
                    cursor.results.push_back(result.clone());
                    cursor.next_index += 1;
                }
            }
            LoopStep::Finish => state.cursor = None,
        }
    }

    /// Sends tokens down `node`'s outgoing edges and settles every node they reach.
    fn route(&mut self, node: usize, handles: &[String], not_before: Option<Timestamp>) {
        let workflow = Arc::clone(&self.workflow);
        let iterating = handles
            .iter()
            .any(|h| workflow.is_iteration_handle(node, h));
        let mut reached = VecDeque::new();
        for &e in workflow.outgoing(node) {
            let edge = &workflow.edges()[e];
            if handles.contains(&edge.handle) {
                self.deliver(e, true);
            } else if iterating || edge.iteration {
                continue;
            } else {
                self.deliver(e, false);
            }
            reached.push_back(edge.target);
        }
        while let Some(target) = reached.pop_front() {
            self.settle(target, not_before, &mut reached);
        }
    }

    fn deliver(&mut self, edge: usize, taken: bool) {
        let state = &mut self.edges[edge];
        if state.absorb > 0 {
            state.absorb -= 1;
            return;
        }
        state.pending.push_back(taken);
        if state.pending.len() == 1 {
            let compiled = &self.workflow.edges()[edge];
            self.nodes[compiled.target].filled[usize::from(compiled.back)] += 1;
        }
    }

    fn pop_token(&mut self, edge: usize) -> Option<bool> {
        let token = self.edges[edge].pending.pop_front()?;
        if self.edges[edge].pending.is_empty() {
            let compiled = &self.workflow.edges()[edge];
            self.nodes[compiled.target].filled[usize::from(compiled.back)] -= 1;
        }
        Some(token)
    }

    /// Turns every complete round of tokens at `node` into an activation or a skip.
    fn settle(
        &mut self,
        node: usize,
        not_before: Option<Timestamp>,
        reached: &mut VecDeque<usize>,
    ) {
        let workflow = Arc::clone(&self.workflow);
        loop {
            let mode = workflow.settings(node).join;
            if let Some((taken, edge)) = self.take_round(node, false, mode) {
                if taken {
                    self.activate(
                        node,
                        false,
                        edge.map(|e| workflow.edges()[e].source),
                        not_before,
                    );
                } else {
                    self.nodes[node].counts.skips += 1;
                    self.nodes[node].counts.last_closed = Some(Closed::Skipped);
                    for &e in workflow.outgoing(node) {
                        if !workflow.edges()[e].iteration {
                            self.deliver(e, false);
                            reached.push_back(workflow.edges()[e].target);
                        }
                    }
                }
                continue;
            }
            // A round of back edges is one finished iteration, even when the body was skipped.
            if let Some((_, edge)) = self.take_round(node, true, JoinMode::All) {
                self.activate(
                    node,
                    true,
                    edge.map(|e| workflow.edges()[e].source),
                    not_before,
                );
                continue;
            }
            break;
        }
    }

    /// Takes the next round of tokens of `node`'s entry (or back) edges, if complete: whether a
    /// taken token is in it, and which edge delivered it.
    fn take_round(
        &mut self,
        node: usize,
        back: bool,
        mode: JoinMode,
    ) -> Option<(bool, Option<usize>)> {
        let workflow = Arc::clone(&self.workflow);
        let group = if back {
            workflow.back_edges(node)
        } else {
            workflow.entry_edges(node)
        };
        if group.is_empty() {
            return None;
        }
        if mode == JoinMode::Any
            && let Some(&winner) = group
                .iter()
                .find(|&&e| self.edges[e].pending.front() == Some(&true))
        {
            for &e in group {
                if self.pop_token(e).is_none() {
                    self.edges[e].absorb += 1;
                }
            }
            return Some((true, Some(winner)));
        }
        if self.nodes[node].filled[usize::from(back)] < group.len() {
            return None;
        }
        let mut winner = None;
        for &e in group {
            if self.pop_token(e) == Some(true) && winner.is_none() {
                winner = Some(e);
            }
        }
        Some((winner.is_some(), winner))
    }

    fn activate(
        &mut self,
        node: usize,
        via_back_edge: bool,
        predecessor: Option<usize>,
        not_before: Option<Timestamp>,
    ) {
        self.nodes[node].counts.activations += 1;
        self.ready.push_back(Ready {
            node,
            activation: self.nodes[node].counts.activations,
            via_back_edge,
            predecessor,
            not_before,
        });
    }
}
