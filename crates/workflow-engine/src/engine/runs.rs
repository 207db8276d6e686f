//! The run cache and the commit loop. Each run's folded state is cached behind an async lock,
//! so transitions of one run in this process are serialised; across processes the store's
//! compare-and-swap on the run version decides. A transition that loses the swap discards its
//! state, reloads the log and decides again, so exactly one writer advances each version:
//! when results race into a join, one dispatches it and the other sees it dispatched.

use std::sync::Arc;

use super::transition::{self, Tx};
use super::{Core, RunSnapshot};
use crate::error::Error;
use crate::graph::compile;
use crate::host::HostServices;
use crate::observe::published_events;
use crate::run::RunId;
use crate::state::RunState;

/// How many lost swaps in a row a transition tolerates before reporting a conflict.
const MAX_CONFLICTS: usize = 64;

impl Core {
    fn slot(&self, run: RunId) -> Arc<tokio::sync::Mutex<Option<RunState>>> {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(cache.entry(run).or_default())
    }

    fn evict(&self, run: RunId) {
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&run);
    }

    /// Folds a run's log from the store.
    pub(crate) async fn load(&self, run: RunId) -> Result<RunState, Error> {
        let record = self.store.record(run).await?.ok_or(Error::RunNotFound)?;
        let workflow = compile(
            record.workflow,
            &self.registry,
            self.config.node_defaults,
            &HostServices::ASSUMED,
        )?;
        let mut state = RunState::new(
            run,
            record.namespace,
            record.depth,
            record.parent,
            Arc::new(workflow),
        );
        for event in self.store.events(run, 0).await? {
            state.apply(&event);
        }
        Ok(state)
    }

    /// Runs `decide` on the run's current state and commits what it emitted, retrying on lost
    /// swaps. `decide` must be repeatable: it may run again on a fresher state.
    pub(crate) async fn transact<R>(
        &self,
        run: RunId,
        mut decide: impl FnMut(&Core, &mut RunState, &mut Tx) -> Result<R, Error>,
    ) -> Result<R, Error> {
        let slot = self.slot(run);
        let mut guard = slot.lock().await;
        let mut conflicts = 0;
        loop {
            if guard.is_none() {
                *guard = Some(self.load(run).await?);
            }
            let Some(state) = guard.as_mut() else {
                return Err(Error::RunNotFound);
            };
            let expected = state.version;
            let mut tx = Tx::new(self.clock.now());
            let value = match decide(self, state, &mut tx) {
                Ok(value) => value,
                Err(error) => {
                    if !tx.events.is_empty() {
                        *guard = None;
                    }
                    return Err(error);
                }
            };
            if !tx.is_empty() {
                transition::enforce_limits(&self.config.limits, state, &mut tx);
            }
            if tx.is_empty() {
                if state.status.is_terminal() {
                    *guard = None;
                    drop(guard);
                    self.evict(run);
                }
                return Ok(value);
            }
            let publish = self.sink.as_ref().map(|_| {
                published_events(run, &state.namespace, &tx.events, || {
                    state.context.to_public_json()
                })
            });
            let wake = tx.has_due_work();
            let children = std::mem::take(&mut tx.cancel_children);
            let status = state.status;
            let final_snapshot = status
                .is_terminal()
                .then(|| Arc::new(RunSnapshot::of(state)));
            match self
                .store
                .commit(tx.into_commit(run, expected, status))
                .await
            {
                Ok(()) => {
                    if let (Some(sink), Some(events)) = (&self.sink, publish) {
                        for event in events {
                            sink.publish(event);
                        }
                    }
                    if wake {
                        self.wake.notify_one();
                    }
                    if status.is_terminal() {
                        *guard = None;
                        drop(guard);
                        self.evict(run);
                        self.cancel_in_flight(run);
                        if let Some(snapshot) = final_snapshot {
                            let _ = self.finished.send((run, snapshot));
                        }
                    }
                    self.cancel_children(children);
                    return Ok(value);
                }
                Err(Error::Conflict) if conflicts < MAX_CONFLICTS => {
                    conflicts += 1;
                    *guard = None;
                }
                Err(error) => {
                    *guard = None;
                    return Err(error);
                }
            }
        }
    }

    /// Tells this process's in-flight attempts of `run` to stop.
    pub(crate) fn cancel_in_flight(&self, run: RunId) {
        if let Some(token) = self
            .run_tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&run)
        {
            token.cancel();
        }
    }

    /// The cancellation token of `run`'s in-flight attempts in this process.
    pub(crate) fn run_token(&self, run: RunId) -> tokio_util::sync::CancellationToken {
        self.run_tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(run)
            .or_default()
            .child_token()
    }

    fn cancel_children(&self, children: Vec<RunId>) {
        for child in children {
            let Some(core) = self.me.upgrade() else {
                return;
            };
            self.tracker.spawn(async move {
                let result = core
                    .transact(child, |_, state, tx| {
                        Ok(super::transition::cancel(
                            state,
                            tx,
                            Some("the parent run ended".into()),
                        ))
                    })
                    .await;
                if let Err(error) = result {
                    tracing::debug!(%child, %error, "could not cancel a child run");
                }
            });
        }
    }
}
