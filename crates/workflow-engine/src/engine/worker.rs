//! The dispatcher and the workers. The dispatcher claims due tasks from the queue (fairly
//! across namespaces) while fewer than `concurrency` are in flight, and sleeps until a commit
//! adds work, the clock reaches the next due time, or the poll interval passes (to see work
//! other processes added). A pass that finds nothing due with no attempt in flight reports
//! idle ([`super::Engine::idle`]). Each claimed task runs on its own Tokio task: a node attempt under
//! its timeout and lease, then a transition that records the result and acknowledges the task.

use std::sync::Arc;

use tokio::sync::Semaphore;

use super::Core;
use super::transition::{self, Rules, idempotency_key, is_current};
use crate::clock::after;
use crate::error::Error;
use crate::node::{ChildOutcome, NodeError, NodeInput, Trigger};
use crate::observe::{EngineEvent, EngineEventKind};
use crate::run::RunStatus;
use crate::store::{Claimed, QueuedWork, TaskKind};

/// Claims and starts tasks until shutdown.
pub(crate) async fn dispatch(core: Arc<Core>) {
    let concurrency = core.config.concurrency;
    if concurrency == 0 {
        // A front-end engine: others execute.
        return;
    }
    let slots = Arc::new(Semaphore::new(concurrency));
    let mut queued = core.store.queued_work();
    loop {
        if core.draining.is_cancelled() {
            return;
        }
        let free = slots.available_permits();
        if free == 0 {
            tokio::select! {
                permit = Arc::clone(&slots).acquire_owned() => drop(permit),
                () = core.draining.cancelled() => return,
            }
            continue;
        }
        let idle_ticket = core.idle.newest();
        let claimed = match core
            .store
            .claim(&core.worker, core.clock.now(), core.config.lease, free)
            .await
        {
            Ok(claimed) => {
                if claimed.is_empty() && free == concurrency {
                    core.idle.report(idle_ticket);
                }
                claimed
            }
            Err(error) => {
                tracing::warn!(%error, "claiming tasks failed");
                Vec::new()
            }
        };
        // Fewer tasks than free slots: nothing else is claimable now, so rather than claim
        // again at once (a wasted round trip per step on a database store), wait for a wake-up
        // (a commit queued work, a slot freed for an `idle` waiter), the next due time or the
        // poll.
        let exhausted = claimed.len() < free;
        for task in claimed {
            let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else {
                break;
            };
            let worker = Arc::clone(&core);
            core.tracker.spawn(async move {
                run_task(&worker, task).await;
                drop(permit);
                // Someone waits for idleness: look again now rather than at the next poll.
                if worker.idle.awaited() {
                    worker.wake.notify_one();
                }
            });
        }
        if exhausted {
            let next_due = core.store.next_due().await.ok().flatten();
            let timer = async {
                match next_due {
                    Some(at) => core.clock.sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = core.wake.notified() => {}
                () = timer => {}
                () = next_hint(&mut queued) => {}
                () = tokio::time::sleep(core.config.poll_interval) => {}
                () = core.draining.cancelled() => return,
            }
        }
    }
}

/// The store's next hint that work was queued elsewhere; never, once it stops hinting (or never
/// did): the poll remains.
async fn next_hint(queued: &mut Option<QueuedWork>) {
    match queued {
        Some(hints) => {
            if hints.next().await.is_none() {
                *queued = None;
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending().await,
    }
}

async fn run_task(core: &Arc<Core>, claimed: Claimed) {
    let task = claimed.task;
    let run = task.run;
    let id = task.id.clone();
    let result = match task.kind {
        TaskKind::Execute {
            node,
            activation,
            attempt,
        } => {
            execute(
                core,
                claimed.lease_until,
                &task.id,
                run,
                &node,
                activation,
                attempt,
            )
            .await
        }
        TaskKind::Expire { request_id, .. } => {
            core.transact(run, |_, state, tx| {
                tx.ack.push(id.clone());
                transition::expire(state, tx, &request_id);
                Ok(())
            })
            .await
        }
        TaskKind::ChildFinished {
            node,
            activation,
            child,
        } => {
            async {
                let outcome = child_outcome(core, child).await?;
                core.transact(run, |_, state, tx| {
                    tx.ack.push(id.clone());
                    if let Some(index) = state.workflow.index_of(&node) {
                        transition::on_child_finished(
                            state,
                            tx,
                            index,
                            activation,
                            outcome.clone(),
                        );
                    }
                    Ok(())
                })
                .await
            }
            .await
        }
    };
    match result {
        Ok(()) | Err(Error::ShuttingDown) => {}
        Err(Error::RunNotFound) => {
            tracing::warn!(task = %task.id, "a task names a run the store does not have");
        }
        Err(error) => {
            tracing::warn!(task = %task.id, %error, "a task failed; it will be retried when its lease lapses")
        }
    }
}

async fn child_outcome(core: &Core, child: crate::run::RunId) -> Result<ChildOutcome, Error> {
    let state = core.load(child).await?;
    let completed = state.status == RunStatus::Completed;
    let value = if completed {
        serde_json::Value::Object(state.output.clone())
    } else {
        serde_json::json!({"status": state.status.as_str(), "error": state.error})
    };
    Ok(ChildOutcome {
        run_id: child,
        completed,
        value,
    })
}

/// Runs one node attempt and records its result.
async fn execute(
    core: &Arc<Core>,
    lease_until: crate::run::Timestamp,
    task_id: &str,
    run: crate::run::RunId,
    node_id: &str,
    activation: u32,
    attempt: u32,
) -> Result<(), Error> {
    let prepared = core
        .transact(run, |core, state, tx| {
            let Some(node) = state.workflow.index_of(node_id) else {
                tx.ack.push(task_id.to_string());
                return Ok(None);
            };
            if !is_current(state, node, activation, attempt) {
                tx.ack.push(task_id.to_string());
                return Ok(None);
            }
            let open = state.open(node, activation).cloned();
            let trigger = Trigger {
                via_back_edge: open.as_ref().is_some_and(|o| o.via_back_edge),
                predecessor_output: open
                    .and_then(|o| o.predecessor)
                    .and_then(|p| state.last_output(p).cloned()),
            };
            Ok(Some(NodeInput {
                run_id: run,
                namespace: state.namespace.clone(),
                depth: state.depth,
                workflow: Arc::clone(&state.workflow),
                node_index: node,
                activation,
                attempt,
                idempotency_key: idempotency_key(run, node_id, activation, attempt),
                context: state.context.clone(),
                trigger,
                loop_cursor: state.cursor(node).cloned(),
                timeout: state.workflow.settings(node).timeout,
                // Created only for a current dispatch: the run's entry is removed when it ends.
                cancelled: core.run_token(run),
                services: core.services.clone(),
            }))
        })
        .await?;
    let Some(input) = prepared else { return Ok(()) };
    let node = input.node_index;
    let handler = Arc::clone(input.workflow.handler(node));
    let started = core.clock.now();
    let deadline = after(started, input.timeout);
    tracing::debug!(
        worker = %core.worker,
        key = %input.idempotency_key,
        "node attempt started"
    );
    if let Some(sink) = &core.sink {
        sink.publish(EngineEvent {
            run_id: run,
            namespace: input.namespace.clone(),
            seq: None,
            at: started,
            kind: EngineEventKind::NodeStarted {
                node: node_id.to_string(),
                activation,
                attempt,
            },
        });
    }
    let timeout = input.timeout;
    let attempt_token = input.cancelled.clone();
    let mut work = handler.execute(input);
    let mut lease_until = lease_until;
    let outcome = loop {
        let renew_at = after(core.clock.now(), core.config.lease / 3).min(lease_until);
        tokio::select! {
            result = &mut work => break result,
            () = core.clock.sleep_until(deadline) => {
                attempt_token.cancel();
                break Err(NodeError::retryable(format!("the node timed out after {timeout:?}")));
            }
            () = attempt_token.cancelled() => return Ok(()),
            () = core.shutdown.cancelled() => return Err(Error::ShuttingDown),
            () = core.clock.sleep_until(renew_at) => {
                let until = after(core.clock.now(), core.config.lease);
                match core.store.renew(task_id, &core.worker, until).await {
                    Ok(true) => lease_until = until,
                    // The task is gone (the run was cancelled or failed elsewhere) or another
                    // worker owns it now: this attempt's result would be discarded anyway.
                    Ok(false) => return Ok(()),
                    Err(error) => tracing::warn!(%error, task = task_id, "renewing a lease failed"),
                }
            }
        }
    };
    drop(work);
    core.transact(run, |core, state, tx| {
        tx.ack.push(task_id.to_string());
        if is_current(state, node, activation, attempt) {
            let rules = Rules {
                registry: &core.registry,
                defaults: core.config.node_defaults,
                services: core.services.available(),
            };
            transition::on_outcome(
                &rules,
                state,
                tx,
                node,
                activation,
                attempt,
                outcome.clone(),
            );
        }
        Ok(())
    })
    .await
}
