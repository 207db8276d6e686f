//! The async front: runs go to tokio's blocking threads, at most `max_in_flight` at once, so
//! user code never occupies an async worker and a burst of runs cannot exhaust the machine.
//!
//! The time limit starts when a run starts, not while it waits for a slot. A run past its
//! deadline is interrupted inside QuickJS and its thread returns; nothing is left spinning.

use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::engine::run_blocking;
use crate::error::Error;
use crate::limits::Limits;
use crate::outcome::Outcome;
use crate::predicates;
use crate::script::Script;

/// A handle to the sandbox; cheap to clone, shared by all callers.
#[derive(Debug, Clone)]
pub struct Sandbox {
    slots: Arc<Semaphore>,
}

impl Sandbox {
    /// A sandbox running at most `max_in_flight` scripts at once (at least one).
    pub fn new(max_in_flight: usize) -> Self {
        Sandbox {
            slots: Arc::new(Semaphore::new(max_in_flight.max(1))),
        }
    }

    /// Runs `script` under `limits`.
    pub async fn run(&self, script: Script, limits: Limits) -> Result<Outcome, Error> {
        self.on_blocking_thread(move || run_blocking(&script, &limits))
            .await
    }

    /// Evaluates `Boolean(expression)` with `ctx` bound.
    pub async fn condition(
        &self,
        expression: &str,
        ctx: serde_json::Value,
        limits: Limits,
    ) -> Result<bool, Error> {
        let script = predicates::condition_script(expression, ctx);
        let outcome = self.run(script, limits).await?;
        predicates::as_bool(&outcome.value)
    }

    /// Tests `subject` against the user regex `pattern` with `flags`.
    pub async fn regex_matches(
        &self,
        pattern: &str,
        flags: &str,
        subject: &str,
        limits: Limits,
    ) -> Result<bool, Error> {
        let script = predicates::regex_script(pattern, flags, subject)?;
        let outcome = self.run(script, limits).await?;
        predicates::as_bool(&outcome.value)
    }

    async fn on_blocking_thread<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        let slot = Arc::clone(&self.slots)
            .acquire_owned()
            .await
            .map_err(|_| Error::Engine("the sandbox has been shut down".into()))?;
        let joined = tokio::task::spawn_blocking(move || {
            let result = work();
            drop(slot);
            result
        })
        .await;
        joined.map_err(|e| Error::Engine(format!("a sandbox thread failed: {e}")))?
    }
}
