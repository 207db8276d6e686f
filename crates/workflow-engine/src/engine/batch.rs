//! Starting many runs at once ([`Engine::start_many`]): what a scheduler needs when hundreds
//! of jobs fall due on the same second. Each start is checked on its own (a bad definition or
//! input fails that start only); the runs that pass are stored together
//! ([`RunStore::create_many`](crate::RunStore::create_many): one transaction on a SQL store).

use serde_json::Value;

use super::Engine;
use crate::error::Error;
use crate::model::WorkflowDefinition;
use crate::run::RunId;

/// One run for [`Engine::start_many`]: [`Engine::start_as`]'s arguments.
#[derive(Debug, Clone)]
pub struct StartRequest {
    /// The run's id (see [`Engine::start_as`]: at most one run ever has it).
    pub run_id: RunId,
    /// The namespace it runs in.
    pub namespace: String,
    /// The workflow.
    pub workflow: WorkflowDefinition,
    /// Its input, checked against the workflow's input definitions.
    pub input: Value,
}

impl Engine {
    /// Starts every run of `starts`, as [`start_as`](Engine::start_as) would one by one, and
    /// answers each start's outcome in order: its id, [`Error::RunExists`] when a run has that
    /// id already, or why it could not start (an invalid definition or input). The outer
    /// error is the store's: then no run of the batch was started (on a store that writes
    /// them together) and the batch may be retried as it is, the ids keeping it from starting
    /// a run twice.
    pub async fn start_many(
        &self,
        starts: Vec<StartRequest>,
    ) -> Result<Vec<Result<RunId, Error>>, Error> {
        let mut outcomes: Vec<Result<RunId, Error>> = Vec::with_capacity(starts.len());
        let mut runs = Vec::new();
        let mut published = Vec::new();
        for start in starts {
            match self.new_run(start.run_id, &start.namespace, start.workflow, start.input) {
                Ok(run) => {
                    published.push(self.events_to_publish(&run));
                    runs.push(run);
                    outcomes.push(Ok(start.run_id));
                }
                Err(error) => outcomes.push(Err(error)),
            }
        }
        if runs.is_empty() {
            return Ok(outcomes);
        }
        let stored = self.core.store.create_many(runs).await?;
        let mut stored = stored.into_iter().zip(published);
        for outcome in outcomes.iter_mut() {
            let Ok(run_id) = outcome else { continue };
            match stored.next() {
                Some((true, events)) => self.publish(events),
                Some((false, _)) => *outcome = Err(Error::RunExists(*run_id)),
                None => {
                    return Err(Error::store(
                        "the store answered for fewer runs than it was given",
                    ));
                }
            }
        }
        self.core.wake.notify_one();
        Ok(outcomes)
    }
}
