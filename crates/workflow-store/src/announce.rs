//! Finished runs announced through the change bus, so `Engine::wait` in any process hears a run
//! end without polling. A commit publishes the run id; one subscription per store hands each
//! message to the store's local subscribers, and the bus's "messages may have been lost" to them
//! as [`FinishedRun::Missed`] (they re-read).

use change_bus::{ChangeBus, Event};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use workflow_engine::{FinishedRun, FinishedRuns, RunId};

/// The topic of finished runs.
pub(crate) const TOPIC: &str = "workflow-engine.finished";

/// Local subscribers of announcements; a subscriber falling this far behind hears `Missed`.
const BUFFER: usize = 1024;

/// Publishes and relays the announcements of one store.
#[derive(Debug)]
pub(crate) struct Announcer {
    bus: ChangeBus,
    local: broadcast::Sender<FinishedRun>,
    stop: CancellationToken,
}

impl Announcer {
    /// Subscribes to the topic and relays it until dropped. Must be called inside a Tokio
    /// runtime.
    pub(crate) fn start(bus: ChangeBus) -> Result<Self, change_bus::Error> {
        let (local, _) = broadcast::channel(BUFFER);
        let mut subscription = bus.subscribe(TOPIC)?;
        let stop = CancellationToken::new();
        let relay = local.clone();
        let stopped = stop.clone();
        tokio::spawn(async move {
            loop {
                let event = tokio::select! {
                    () = stopped.cancelled() => return,
                    event = subscription.recv() => event,
                };
                let announcement = match event {
                    None => return,
                    Some(Event::Missed) => FinishedRun::Missed,
                    Some(Event::Message(message)) => match message.payload.parse::<RunId>() {
                        Ok(run) => FinishedRun::Finished(run),
                        Err(_) => {
                            tracing::warn!(payload = %message.payload, "not a run id on {TOPIC}");
                            continue;
                        }
                    },
                };
                // Nobody waiting is not an error.
                let _ = relay.send(announcement);
            }
        });
        Ok(Announcer { bus, local, stop })
    }

    /// Tells every process that `run` ended. Best effort: a lost announcement leaves waiters on
    /// their `Missed` path or their own re-read.
    pub(crate) async fn finished(&self, run: RunId) {
        if let Err(error) = self.bus.publish(TOPIC, &run.to_string()).await {
            tracing::warn!(%run, %error, "could not announce a finished run");
        }
    }

    /// A new local subscription.
    pub(crate) fn subscribe(&self) -> FinishedRuns {
        FinishedRuns::new(self.local.subscribe())
    }
}

impl Drop for Announcer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
