//! Deciding what happens next. Each function takes a run's state and a [`Tx`], emits events
//! (each applied to the state at once, exactly as the fold will replay it) and collects the
//! tasks they create. Nothing here does I/O; the caller commits the `Tx` with compare-and-swap
//! and discards the state if the commit loses.

use std::sync::Arc;

use serde_json::Value;

use crate::clock::after;
use crate::engine::{CancelOutcome, RunLimits};
use crate::error::Error;
use crate::event::{Event, EventKind, FailureOutcome};
use crate::graph::{CompiledWorkflow, NodeSettingsDefaults, compile};
use crate::host::HostServices;
use crate::inputs;
use crate::node::{ChildOutcome, ChildRequest, Completion, NodeError, NodeOutcome};
use crate::registry::Registry;
use crate::retry::backoff;
use crate::run::{RunId, RunStatus, Timestamp};
use crate::state::{Phase, RunState};
use crate::store::{Commit, NewRun, ParentLink, RunRecord, Task, TaskKind};

/// The deepest sub-workflow nesting the engine allows.
pub(crate) const MAX_DEPTH: u32 = 5;

/// The changes of one transition.
#[derive(Debug)]
pub(crate) struct Tx {
    pub now: Timestamp,
    pub events: Vec<Event>,
    pub enqueue: Vec<Task>,
    pub ack: Vec<String>,
    pub drop_run_tasks: bool,
    pub new_runs: Vec<NewRun>,
    pub cancel_children: Vec<RunId>,
}

impl Tx {
    pub fn new(now: Timestamp) -> Self {
        Tx {
            now,
            events: Vec::new(),
            enqueue: Vec::new(),
            ack: Vec::new(),
            drop_run_tasks: false,
            new_runs: Vec::new(),
            cancel_children: Vec::new(),
        }
    }

    /// Records `kind` and applies it to `state`.
    pub fn emit(&mut self, state: &mut RunState, kind: EventKind) {
        let event = Event {
            seq: state.version + 1,
            at: self.now,
            kind,
        };
        state.apply(&event);
        self.events.push(event);
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
            && self.enqueue.is_empty()
            && self.ack.is_empty()
            && self.new_runs.is_empty()
    }

    /// Whether a task it creates is due at once (the dispatcher should look now).
    pub fn has_due_work(&self) -> bool {
        self.enqueue.iter().any(|t| t.due <= self.now)
            || self
                .new_runs
                .iter()
                .any(|r| r.tasks.iter().any(|t| t.due <= self.now))
    }

    pub fn into_commit(self, run: RunId, expected_version: u64, status: RunStatus) -> Commit {
        Commit {
            run,
            expected_version,
            events: self.events,
            status,
            ack: self.ack,
            drop_run_tasks: self.drop_run_tasks,
            enqueue: self.enqueue,
            new_runs: self.new_runs,
        }
    }
}

/// What transitions need besides the state: the registry and defaults (to compile children).
#[derive(Debug)]
pub(crate) struct Rules<'a> {
    pub registry: &'a Registry,
    pub defaults: NodeSettingsDefaults,
    pub services: HostServices,
}

/// `instanceID:nodeID:attempt`, with `#activation` after the node id for the second and later
/// activations (loop bodies), so every execution has its own key and a redelivery the same.
pub(crate) fn idempotency_key(run: RunId, node: &str, activation: u32, attempt: u32) -> String {
    if activation <= 1 {
        format!("{run}:{node}:{attempt}")
    } else {
        format!("{run}:{node}#{activation}:{attempt}")
    }
}

fn execute_task(
    state: &RunState,
    node: &str,
    activation: u32,
    attempt: u32,
    due: Timestamp,
) -> Task {
    Task {
        id: format!("{}:{node}:{activation}:{attempt}", state.run_id),
        run: state.run_id,
        namespace: state.namespace.clone(),
        due,
        kind: TaskKind::Execute {
            node: node.to_string(),
            activation,
            attempt,
        },
    }
}

/// The id of the expiry task of a request.
pub(crate) fn expiry_task_id(request_id: &str) -> String {
    format!("{request_id}:expire")
}

/// A new run's first events and tasks, and its state.
pub(crate) fn new_run(
    run_id: RunId,
    namespace: String,
    workflow: Arc<CompiledWorkflow>,
    input: Value,
    parent: Option<ParentLink>,
    depth: u32,
    now: Timestamp,
) -> (NewRun, RunState) {
    let mut state = RunState::new(run_id, namespace.clone(), depth, parent.clone(), workflow);
    let mut tx = Tx::new(now);
    tx.emit(&mut state, EventKind::RunStarted { input });
    schedule(&mut state, &mut tx);
    let record = RunRecord {
        id: run_id,
        namespace,
        workflow: state.workflow.definition().clone(),
        parent,
        depth,
        status: state.status,
        version: state.version,
        created_at: now,
        updated_at: now,
    };
    let run = NewRun {
        record,
        events: tx.events,
        tasks: tx.enqueue,
    };
    (run, state)
}

/// Dispatches every ready activation, then ends the run if nothing is left.
pub(crate) fn schedule(state: &mut RunState, tx: &mut Tx) {
    while state.status == RunStatus::Running {
        let Some(ready) = state.next_ready() else {
            break;
        };
        let node = state.workflow.node(ready.node).id.clone();
        let due = ready.not_before.map_or(tx.now, |t| t.max(tx.now));
        tx.emit(
            state,
            EventKind::NodeDispatched {
                node: node.clone(),
                activation: ready.activation,
                attempt: 1,
                due,
            },
        );
        tx.enqueue
            .push(execute_task(state, &node, ready.activation, 1, due));
    }
    if state.status != RunStatus::Running {
        return;
    }
    if let Some(error) = state.end_error().map(str::to_string) {
        fail_run(state, tx, error, None);
    } else if state.is_quiescent() {
        let output = Value::Object(state.output.clone());
        tx.emit(state, EventKind::RunCompleted { output });
        finish(state, tx);
    }
}

/// Fails a running run that has gone over `limits` (checked before each commit that records
/// something, so the run's store never holds more than one commit beyond them).
pub(crate) fn enforce_limits(limits: &RunLimits, state: &mut RunState, tx: &mut Tx) {
    if state.status != RunStatus::Running {
        return;
    }
    if state.version > limits.max_events {
        let error = format!(
            "the run recorded {} events; a run may record at most {}",
            state.version, limits.max_events
        );
        fail_run(state, tx, error, None);
        return;
    }
    // Measuring the context walks all of it: only when this commit changed it.
    let changes_context = tx.events.iter().any(|event| {
        matches!(
            event.kind,
            EventKind::RunStarted { .. }
                | EventKind::SystemSet { .. }
                | EventKind::NodeCompleted { .. }
        )
    });
    if !changes_context {
        return;
    }
    let bytes = state.context.encoded_len();
    if bytes > limits.max_context_bytes {
        let error = format!(
            "the run's context grew to {bytes} bytes; a run's context may hold at most {} bytes",
            limits.max_context_bytes
        );
        fail_run(state, tx, error, None);
    }
}

fn fail_run(state: &mut RunState, tx: &mut Tx, error: String, node: Option<String>) {
    tx.emit(state, EventKind::RunFailed { error, node });
    finish(state, tx);
}

/// After a terminal event: drop the run's queued work, stop its children, tell its parent.
fn finish(state: &RunState, tx: &mut Tx) {
    tx.drop_run_tasks = true;
    for (_, open) in state.open_dispatches() {
        if let Phase::Child(child) = open.phase {
            tx.cancel_children.push(child);
        }
    }
    if let Some(parent) = &state.parent {
        tx.enqueue.push(Task {
            id: format!(
                "{}:{}:{}:child:{}",
                parent.run, parent.node, parent.activation, state.run_id
            ),
            run: parent.run,
            namespace: state.namespace.clone(),
            due: tx.now,
            kind: TaskKind::ChildFinished {
                node: parent.node.clone(),
                activation: parent.activation,
                child: state.run_id,
            },
        });
    }
}

/// Whether `(node, activation, attempt)` is the run's current, running dispatch.
pub(crate) fn is_current(state: &RunState, node: usize, activation: u32, attempt: u32) -> bool {
    state.status == RunStatus::Running
        && state
            .open(node, activation)
            .is_some_and(|open| open.attempt == attempt && open.phase == Phase::Queued)
}

/// Records what a handler returned for a current dispatch.
pub(crate) fn on_outcome(
    rules: &Rules<'_>,
    state: &mut RunState,
    tx: &mut Tx,
    node: usize,
    activation: u32,
    attempt: u32,
    outcome: Result<NodeOutcome, NodeError>,
) {
    let node_id = state.workflow.node(node).id.clone();
    match outcome {
        Ok(NodeOutcome::Complete(completion)) => {
            complete(state, tx, &node_id, activation, attempt, completion)
        }
        Ok(NodeOutcome::Suspend(suspension)) => {
            let request_id = format!("{}:{node_id}:{activation}", state.run_id);
            if let Some(expires_at) = suspension.expires_at {
                tx.enqueue.push(Task {
                    id: expiry_task_id(&request_id),
                    run: state.run_id,
                    namespace: state.namespace.clone(),
                    due: expires_at,
                    kind: TaskKind::Expire {
                        node: node_id.clone(),
                        activation,
                        request_id: request_id.clone(),
                    },
                });
            }
            tx.emit(
                state,
                EventKind::NodeSuspended {
                    node: node_id,
                    activation,
                    attempt,
                    request_id,
                    suspension,
                },
            );
        }
        Ok(NodeOutcome::StartChild(request)) => {
            if let Err(error) =
                start_child(rules, state, tx, &node_id, activation, attempt, request)
            {
                fail_node(state, tx, node, activation, attempt, error);
            }
        }
        Err(error) => fail_node(state, tx, node, activation, attempt, error),
    }
    schedule(state, tx);
}

pub(crate) fn complete(
    state: &mut RunState,
    tx: &mut Tx,
    node_id: &str,
    activation: u32,
    attempt: u32,
    completion: Completion,
) {
    tx.emit(
        state,
        EventKind::NodeCompleted {
            node: node_id.to_string(),
            activation,
            attempt,
            handles: completion.handles,
            output: completion.output,
            patch: completion.patch,
            delay_ms: completion.delay.map(|d| d.as_millis() as u64),
            loop_step: completion.loop_step,
            end: completion.end,
        },
    );
}

/// A failed attempt: retry it, follow the `error` edge, or fail the run, per the node's settings.
pub(crate) fn fail_node(
    state: &mut RunState,
    tx: &mut Tx,
    node: usize,
    activation: u32,
    attempt: u32,
    error: NodeError,
) {
    let settings = state.workflow.settings(node).clone();
    let node_id = state.workflow.node(node).id.clone();
    let mode = settings.error_handling;
    if error.retryable && mode.retries() && attempt <= settings.retry.limit {
        let key = idempotency_key(state.run_id, &node_id, activation, attempt);
        let at = after(tx.now, backoff(&settings.retry, attempt, &key));
        tx.emit(
            state,
            EventKind::NodeFailed {
                node: node_id.clone(),
                activation,
                attempt,
                error,
                outcome: FailureOutcome::Retry { at },
            },
        );
        tx.emit(
            state,
            EventKind::NodeDispatched {
                node: node_id.clone(),
                activation,
                attempt: attempt + 1,
                due: at,
            },
        );
        tx.enqueue
            .push(execute_task(state, &node_id, activation, attempt + 1, at));
    } else if mode.continues() && state.workflow.has_edge_on(node, "error") {
        tx.emit(
            state,
            EventKind::NodeFailed {
                node: node_id,
                activation,
                attempt,
                error,
                outcome: FailureOutcome::Routed,
            },
        );
    } else {
        let message = format!("node `{node_id}` failed: {}", error.message);
        tx.emit(
            state,
            EventKind::NodeFailed {
                node: node_id.clone(),
                activation,
                attempt,
                error,
                outcome: FailureOutcome::FailsRun,
            },
        );
        fail_run(state, tx, message, Some(node_id));
    }
}

fn start_child(
    rules: &Rules<'_>,
    state: &mut RunState,
    tx: &mut Tx,
    node_id: &str,
    activation: u32,
    attempt: u32,
    request: ChildRequest,
) -> Result<(), NodeError> {
    let depth = state.depth + 1;
    let limit = request.max_depth.min(MAX_DEPTH);
    if depth > limit {
        return Err(NodeError::fatal(format!(
            "sub-workflows may nest at most {limit} deep"
        )));
    }
    let workflow = compile(
        request.workflow,
        rules.registry,
        rules.defaults,
        &rules.services,
    )
    .map_err(|e| NodeError::fatal(format!("the child workflow is not valid: {e}")))?;
    let input = inputs::check(
        &workflow.definition().options.input_definitions,
        request.input,
    )
    .map_err(|e| NodeError::fatal(format!("the child workflow's input: {e}")))?;
    let child = RunId::new();
    let parent = ParentLink {
        run: state.run_id,
        node: node_id.to_string(),
        activation,
    };
    let (run, _) = new_run(
        child,
        state.namespace.clone(),
        Arc::new(workflow),
        input,
        Some(parent),
        depth,
        tx.now,
    );
    tx.new_runs.push(run);
    tx.emit(
        state,
        EventKind::ChildStarted {
            node: node_id.to_string(),
            activation,
            attempt,
            child,
        },
    );
    Ok(())
}

/// A child run ended: resume the parent node waiting for it.
pub(crate) fn on_child_finished(
    state: &mut RunState,
    tx: &mut Tx,
    node: usize,
    activation: u32,
    outcome: ChildOutcome,
) {
    let Some(open) = state.open(node, activation).cloned() else {
        return;
    };
    if state.status != RunStatus::Running || open.phase != Phase::Child(outcome.run_id) {
        return;
    }
    let node_def = state.workflow.node(node).clone();
    let result = state
        .workflow
        .handler(node)
        .child_finished(&node_def, outcome);
    match result {
        Ok(completion) => complete(
            state,
            tx,
            &node_def.id,
            activation,
            open.attempt,
            completion,
        ),
        Err(error) => fail_node(state, tx, node, activation, open.attempt, error),
    }
    schedule(state, tx);
}

/// The host answered a suspended node.
pub(crate) fn submit(
    state: &mut RunState,
    tx: &mut Tx,
    request_id: &str,
    data: Value,
) -> Result<(), Error> {
    if state.status != RunStatus::Running {
        return Err(Error::NotRunning {
            status: state.status,
        });
    }
    let pending = state
        .request(request_id)
        .cloned()
        .ok_or(Error::RequestNotFound)?;
    let node_def = state.workflow.node(pending.node).clone();
    let completion = state
        .workflow
        .handler(pending.node)
        .resume(&node_def, data)
        .map_err(|e| Error::InvalidInput {
            field: "data".into(),
            message: e.message,
        })?;
    let attempt = state
        .open(pending.node, pending.activation)
        .map_or(1, |o| o.attempt);
    tx.ack.push(expiry_task_id(request_id));
    complete(
        state,
        tx,
        &node_def.id,
        pending.activation,
        attempt,
        completion,
    );
    schedule(state, tx);
    Ok(())
}

/// A request's expiry came.
pub(crate) fn expire(state: &mut RunState, tx: &mut Tx, request_id: &str) {
    if state.status != RunStatus::Running {
        return;
    }
    let Some(pending) = state.request(request_id).cloned() else {
        return;
    };
    let node_def = state.workflow.node(pending.node).clone();
    let attempt = state
        .open(pending.node, pending.activation)
        .map_or(1, |o| o.attempt);
    match state.workflow.handler(pending.node).expire(&node_def) {
        Ok(completion) => complete(
            state,
            tx,
            &node_def.id,
            pending.activation,
            attempt,
            completion,
        ),
        Err(mut error) => {
            error.retryable = false;
            fail_node(state, tx, pending.node, pending.activation, attempt, error);
        }
    }
    schedule(state, tx);
}

/// Cancels a run that has not finished; a finished one is left as it is.
pub(crate) fn cancel(state: &mut RunState, tx: &mut Tx, reason: Option<String>) -> CancelOutcome {
    match state.status {
        RunStatus::Cancelled => CancelOutcome::AlreadyCancelled,
        status if status.is_terminal() => CancelOutcome::AlreadyFinished { status },
        _ => {
            tx.emit(state, EventKind::RunCancelled { reason });
            finish(state, tx);
            CancelOutcome::Cancelled
        }
    }
}

/// Restarts a failed run from the dispatches that failed it, keeping everything before them.
pub(crate) fn restart(state: &mut RunState, tx: &mut Tx) -> Result<(), Error> {
    let failed = state.failed_dispatches().to_vec();
    if state.status != RunStatus::Failed || failed.is_empty() {
        return Err(Error::NotRestartable {
            status: state.status,
        });
    }
    tx.emit(state, EventKind::RunRestarted);
    let mut redispatch: Vec<(usize, u32, u32)> = failed;
    let mut requeue = Vec::new();
    for (&(node, activation), open) in state.open_dispatches() {
        match &open.phase {
            Phase::Queued => requeue.push((node, activation, open.attempt)),
            // The child was cancelled with the parent's failure: start a new one.
            Phase::Child(_) => redispatch.push((node, activation, open.attempt)),
            Phase::Suspended(_) => {}
        }
    }
    for (node, activation, attempt) in redispatch {
        let node_id = state.workflow.node(node).id.clone();
        tx.emit(
            state,
            EventKind::NodeDispatched {
                node: node_id.clone(),
                activation,
                attempt: attempt + 1,
                due: tx.now,
            },
        );
        tx.enqueue.push(execute_task(
            state,
            &node_id,
            activation,
            attempt + 1,
            tx.now,
        ));
    }
    for (node, activation, attempt) in requeue {
        let node_id = state.workflow.node(node).id.clone();
        tx.enqueue
            .push(execute_task(state, &node_id, activation, attempt, tx.now));
    }
    let expiries: Vec<Task> = state
        .requests()
        .filter_map(|(request_id, pending)| {
            pending.suspension.expires_at.map(|due| Task {
                id: expiry_task_id(request_id),
                run: state.run_id,
                namespace: state.namespace.clone(),
                due,
                kind: TaskKind::Expire {
                    node: state.workflow.node(pending.node).id.clone(),
                    activation: pending.activation,
                    request_id: request_id.clone(),
                },
            })
        })
        .collect();
    tx.enqueue.extend(expiries);
    schedule(state, tx);
    Ok(())
}
