//! The hub: hands each follower of a run every event of the run's log after the follower's
//! cursor, once and in order, as the run progresses in any process.
//!
//! The SQL store's commit hints ([`workflow_store::CommittedRuns`]) say which runs moved; the hub
//! then reads the log on from the lowest cursor among the run's followers and gives each its
//! part. A new follower is served at once (its replay), then live. Each follower has a bounded
//! channel: one that cannot keep up is dropped (its receiver ends) and never slows the others.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use workflow_engine::{Event, RunId, RunStore};
use workflow_store::{Committed, SqlStore};

/// One follower of a run.
#[derive(Debug)]
struct Follower {
    id: u64,
    /// The last sequence number handed to it.
    cursor: u64,
    sender: mpsc::Sender<Event>,
}

#[derive(Debug)]
struct Inner {
    store: Arc<SqlStore>,
    rooms: Mutex<HashMap<RunId, Vec<Follower>>>,
    next_id: AtomicU64,
    /// Runs to serve now (a new follower's replay).
    kick: mpsc::UnboundedSender<RunId>,
}

/// The fan-out of one process. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

/// A follower's end: the run's events after its cursor, in order. `None` once it was dropped
/// for falling behind (or the hub stopped).
#[derive(Debug)]
pub struct Following {
    id: u64,
    run: RunId,
    receiver: mpsc::Receiver<Event>,
    hub: Weak<Inner>,
}

impl Following {
    /// The next event.
    pub async fn next(&mut self) -> Option<Event> {
        self.receiver.recv().await
    }
}

impl Drop for Following {
    fn drop(&mut self) {
        if let Some(inner) = self.hub.upgrade() {
            let mut rooms = inner.rooms.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(followers) = rooms.get_mut(&self.run) {
                followers.retain(|f| f.id != self.id);
                if followers.is_empty() {
                    rooms.remove(&self.run);
                }
            }
        }
    }
}

impl Hub {
    /// Starts the hub on `store`'s hints; it stops with `stop`.
    pub fn start(store: Arc<SqlStore>, stop: CancellationToken) -> Hub {
        let (kick, kicks) = mpsc::unbounded_channel();
        let inner = Arc::new(Inner {
            store,
            rooms: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            kick,
        });
        tokio::spawn(serve(Arc::clone(&inner), kicks, stop));
        Hub { inner }
    }

    /// Follows `run` from after `after` (0: from the start), with room for `capacity` events
    /// not yet taken before the follower is dropped.
    pub fn follow(&self, run: RunId, after: u64, capacity: usize) -> Following {
        let (sender, receiver) = mpsc::channel(capacity.max(1));
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        self.inner
            .rooms
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(run)
            .or_default()
            .push(Follower {
                id,
                cursor: after,
                sender,
            });
        // Served by the hub's task, in turn with hints, so deliveries never interleave.
        let _ = self.inner.kick.send(run);
        Following {
            id,
            run,
            receiver,
            hub: Arc::downgrade(&self.inner),
        }
    }

    /// Runs with at least one follower.
    pub fn followed(&self) -> usize {
        self.inner
            .rooms
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// The hub's task: serves a run on each hint for it, every followed run on `Missed`, and a run
/// whose follower just arrived.
async fn serve(
    inner: Arc<Inner>,
    mut kicks: mpsc::UnboundedReceiver<RunId>,
    stop: CancellationToken,
) {
    let mut hints = inner.store.committed_runs();
    loop {
        let runs: Vec<RunId> = tokio::select! {
            () = stop.cancelled() => return,
            kicked = kicks.recv() => match kicked {
                Some(run) => vec![run],
                None => return,
            },
            hint = hints.next() => match hint {
                Some(Committed::Run { run, .. }) => vec![run],
                Some(Committed::Missed) => inner
                    .rooms
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .keys()
                    .copied()
                    .collect(),
                None => return,
            },
        };
        for run in runs {
            deliver(&inner, run).await;
        }
    }
}

/// Reads `run`'s log after its followers' lowest cursor and hands each follower its part.
async fn deliver(inner: &Inner, run: RunId) {
    let lowest = {
        let rooms = inner.rooms.lock().unwrap_or_else(PoisonError::into_inner);
        match rooms
            .get(&run)
            .and_then(|f| f.iter().map(|f| f.cursor).min())
        {
            Some(lowest) => lowest,
            None => return,
        }
    };
    let events = match inner.store.events(run, lowest).await {
        Ok(events) if !events.is_empty() => events,
        Ok(_) => return,
        Err(error) => {
            // The next hint (or the follower's reconnect with its cursor) serves them.
            tracing::warn!(%run, %error, "could not read a followed run's events");
            return;
        }
    };
    let mut rooms = inner.rooms.lock().unwrap_or_else(PoisonError::into_inner);
    let Some(followers) = rooms.get_mut(&run) else {
        return;
    };
    followers.retain_mut(|follower| {
        let from = follower.cursor;
        for event in events.iter().filter(|e| e.seq() > from) {
            match follower.sender.try_send(event.clone()) {
                Ok(()) => follower.cursor = event.seq(),
                // Full: it cannot keep up; closed: it is gone. Either way it leaves.
                Err(_) => return false,
            }
        }
        true
    });
    if followers.is_empty() {
        rooms.remove(&run);
    }
}
