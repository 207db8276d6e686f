//! What a store tells every process through the change bus:
//! - **finished runs**, so `Engine::wait` in any process hears a run end without polling: a
//!   commit that ends a run publishes its id, and the bus's "messages may have been lost" reaches
//!   waiters as [`FinishedRun::Missed`] (they re-read);
//! - **queued work**, a hint that wakes idle dispatchers of other processes at once instead of at
//!   their next poll: published when a commit queues tasks, at most once per [`HINT_INTERVAL`]
//!   per store (a hint, not a record: the poll stays the floor).
//!
//! One relay task per store hands both to the store's local subscribers.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use change_bus::{ChangeBus, Event, Subscription};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use workflow_engine::{FinishedRun, FinishedRuns, QueuedWork, RunId};

/// The topic of finished runs.
pub(crate) const TOPIC: &str = "workflow-engine.finished";

/// The topic of queued-work hints.
pub(crate) const QUEUED_TOPIC: &str = "workflow-engine.queued";

/// The least time between two queued-work hints of one store.
pub(crate) const HINT_INTERVAL: Duration = Duration::from_millis(20);

/// Local subscribers of announcements; a subscriber falling this far behind hears `Missed`.
const BUFFER: usize = 1024;

/// Publishes and relays the announcements of one store.
#[derive(Debug)]
pub(crate) struct Announcer {
    bus: ChangeBus,
    local: broadcast::Sender<FinishedRun>,
    queued: broadcast::Sender<()>,
    last_hint: Mutex<Option<Instant>>,
    stop: CancellationToken,
}

impl Announcer {
    /// Subscribes to the topic and relays it until dropped. Must be called inside a Tokio
    /// runtime.
    pub(crate) fn start(bus: ChangeBus) -> Result<Self, change_bus::Error> {
        let (local, _) = broadcast::channel(BUFFER);
        let (queued, _) = broadcast::channel(BUFFER);
        let finished_topic = bus.subscribe(TOPIC)?;
        let queued_topic = bus.subscribe(QUEUED_TOPIC)?;
        let stop = CancellationToken::new();
        tokio::spawn(relay(
            finished_topic,
            queued_topic,
            local.clone(),
            queued.clone(),
            stop.clone(),
        ));
        Ok(Announcer {
            bus,
            local,
            queued,
            last_hint: Mutex::new(None),
            stop,
        })
    }

    /// Tells every process that work was queued, unless this store did so within the last
    /// [`HINT_INTERVAL`].
    pub(crate) async fn queued(&self) {
        {
            let mut last = self
                .last_hint
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if last.is_some_and(|at| at.elapsed() < HINT_INTERVAL) {
                return;
            }
            *last = Some(Instant::now());
        }
        if let Err(error) = self.bus.publish(QUEUED_TOPIC, "").await {
            tracing::debug!(%error, "could not hint at queued work");
        }
    }

    /// A new local subscription to queued-work hints.
    pub(crate) fn queued_work(&self) -> QueuedWork {
        QueuedWork::new(self.queued.subscribe())
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

/// Hands the bus's messages to the local subscribers until `stop`.
async fn relay(
    mut finished_topic: Subscription,
    mut queued_topic: Subscription,
    finished: broadcast::Sender<FinishedRun>,
    queued: broadcast::Sender<()>,
    stop: CancellationToken,
) {
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            event = finished_topic.recv() => {
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
                let _ = finished.send(announcement);
            }
            event = queued_topic.recv() => {
                if event.is_none() {
                    return;
                }
                // A missed hint is a hint too: look for work.
                let _ = queued.send(());
            }
        }
    }
}
