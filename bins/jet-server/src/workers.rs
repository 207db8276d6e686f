//! Background workers: tasks that live as long as the server and stop when it stops.
//!
//! Each worker gets a cancellation token; [`Workers::stop`] cancels them all and waits for each to
//! finish its current step, so shutdown never cuts a worker off mid-write.

use std::future::Future;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// The running workers.
#[derive(Debug, Default)]
pub struct Workers {
    cancel: CancellationToken,
    tasks: JoinSet<()>,
}

impl Workers {
    /// No workers yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts `work`, which must return soon after its token is cancelled.
    pub fn spawn<F, Fut>(&mut self, name: &'static str, work: F)
    where
        F: FnOnce(CancellationToken) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let future = work(self.cancel.child_token());
        self.tasks.spawn(async move {
            future.await;
            tracing::debug!(worker = name, "worker stopped");
        });
    }

    /// A token cancelled when the workers stop, for a task that spawns itself.
    pub fn stop_token(&self) -> CancellationToken {
        self.cancel.child_token()
    }

    /// Runs `step` every `period` until stopped.
    pub fn spawn_periodic<F>(&mut self, name: &'static str, period: Duration, step: F)
    where
        F: Fn() + Send + 'static,
    {
        self.spawn(name, move |cancel| async move {
            let mut ticks = tokio::time::interval(period);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    _ = ticks.tick() => step(),
                }
            }
        });
    }

    /// Cancels every worker and waits for all of them.
    pub async fn stop(mut self) {
        self.cancel.cancel();
        while let Some(outcome) = self.tasks.join_next().await {
            if let Err(error) = outcome {
                tracing::error!(%error, "a worker ended abnormally");
            }
        }
    }
}
