//! Commit hints: which runs recorded new events, up to which sequence number, told to every
//! process through the change bus (topic `workflow-engine.committed`), so a live view (the
//! server's realtime fan-out) follows runs that any process executes.
//!
//! A hint is not the record: a follower reads the events after the last one it delivered from
//! the log (`RunStore::events(run, after)`), so what it hands on has no gap and no duplicate
//! however hints are batched, repeated or lost. Hints are throttled, not delayed: a commit after
//! a quiet spell is published at once, and the runs committed within [`FLUSH_INTERVAL`] of a
//! publication travel together in the next message (the highest sequence number of each), so
//! a process publishes at most one message per interval whatever its commit rate, and a lone
//! commit waits for nothing. `Missed` (the bus lost messages) tells followers to re-read every
//! run they follow.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use change_bus::{ChangeBus, Event, Subscription};
use tokio::sync::{Notify, broadcast};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use workflow_engine::RunId;

/// The topic of commit hints.
pub(crate) const TOPIC: &str = "workflow-engine.committed";

/// The least time between two publications of one process: commits that follow one within
/// this time are gathered and published together when it has passed.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(10);

/// PostgreSQL's `NOTIFY` payloads are below 8,000 bytes: a hint line is at most 58 (a test
/// checks 60).
const LINES_PER_MESSAGE: usize = 100;
const _: () = assert!(LINES_PER_MESSAGE * 60 < 8_000);

/// Local followers falling this far behind hear `Missed`.
const BUFFER: usize = 4096;

/// What a follower hears.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Committed {
    /// `run` has events up to `seq` (at least).
    Run {
        /// The run.
        run: RunId,
        /// Its latest sequence number when the hint was made.
        seq: u64,
    },
    /// Hints may have been lost: re-read every followed run.
    Missed,
}

/// A subscription to commit hints ([`crate::SqlStore::committed_runs`]).
#[derive(Debug)]
pub struct CommittedRuns {
    receiver: broadcast::Receiver<Committed>,
}

impl CommittedRuns {
    /// The next hint; `None` once the store is gone.
    pub async fn next(&mut self) -> Option<Committed> {
        match self.receiver.recv().await {
            Ok(hint) => Some(hint),
            Err(broadcast::error::RecvError::Lagged(_)) => Some(Committed::Missed),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }
}

/// Gathers this store's commits and publishes them; relays every process's hints locally.
#[derive(Debug)]
pub(crate) struct Hints {
    pending: Arc<Mutex<HashMap<RunId, u64>>>,
    /// Wakes the flusher: something was noted.
    noted: Arc<Notify>,
    local: broadcast::Sender<Committed>,
    stop: CancellationToken,
}

impl Hints {
    /// Starts the flusher and the relay. Must be called inside a Tokio runtime.
    pub(crate) fn start(bus: ChangeBus) -> Result<Self, change_bus::Error> {
        let (local, _) = broadcast::channel(BUFFER);
        let topic = bus.subscribe(TOPIC)?;
        let pending = Arc::new(Mutex::new(HashMap::new()));
        let noted = Arc::new(Notify::new());
        let stop = CancellationToken::new();
        tokio::spawn(relay(topic, local.clone(), stop.clone()));
        tokio::spawn(flush(
            bus,
            Arc::clone(&pending),
            Arc::clone(&noted),
            stop.clone(),
        ));
        Ok(Hints {
            pending,
            noted,
            local,
            stop,
        })
    }

    /// Notes that `run` committed events up to `seq`.
    pub(crate) fn note(&self, run: RunId, seq: u64) {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let latest = pending.entry(run).or_insert(seq);
        *latest = (*latest).max(seq);
        drop(pending);
        // Stores a permit when the flusher is busy publishing: the note is not missed.
        self.noted.notify_one();
    }

    /// A new local subscription.
    pub(crate) fn subscribe(&self) -> CommittedRuns {
        CommittedRuns {
            receiver: self.local.subscribe(),
        }
    }
}

impl Drop for Hints {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Publishes what was noted: at once when the last publication is [`FLUSH_INTERVAL`] old,
/// else when it will be (what is noted meanwhile joins the same message).
async fn flush(
    bus: ChangeBus,
    pending: Arc<Mutex<HashMap<RunId, u64>>>,
    noted: Arc<Notify>,
    stop: CancellationToken,
) {
    let mut last: Option<Instant> = None;
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = noted.notified() => {}
        }
        if let Some(last) = last {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep_until(last + FLUSH_INTERVAL) => {}
            }
        }
        last = Some(Instant::now());
        let batch: Vec<(RunId, u64)> =
            std::mem::take(&mut *pending.lock().unwrap_or_else(PoisonError::into_inner))
                .into_iter()
                .collect();
        for chunk in batch.chunks(LINES_PER_MESSAGE) {
            let payload: String = chunk
                .iter()
                .map(|(run, seq)| format!("{run} {seq}\n"))
                .collect();
            if let Err(error) = bus.publish(TOPIC, &payload).await {
                // Followers of other processes see these runs at their next hint or re-read.
                tracing::debug!(%error, "could not publish commit hints");
            }
        }
    }
}

/// One hint line: `RUN SEQ`.
fn parse(line: &str) -> Option<Committed> {
    let (run, seq) = line.split_once(' ')?;
    Some(Committed::Run {
        run: run.parse().ok()?,
        seq: seq.parse().ok()?,
    })
}

/// Hands every process's hints to the local followers until `stop`.
async fn relay(
    mut topic: Subscription,
    local: broadcast::Sender<Committed>,
    stop: CancellationToken,
) {
    loop {
        let event = tokio::select! {
            () = stop.cancelled() => return,
            event = topic.recv() => event,
        };
        match event {
            None => return,
            Some(Event::Missed) => {
                let _ = local.send(Committed::Missed);
            }
            Some(Event::Message(message)) => {
                for line in message.payload.lines() {
                    match parse(line) {
                        // Nobody following is not an error.
                        Some(hint) => drop(local.send(hint)),
                        None => tracing::warn!(%line, "not a commit hint on {TOPIC}"),
                    }
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn hint_lines_round_trip() {
        let run = RunId::new();
        assert_eq!(
            parse(&format!("{run} 42")),
            Some(Committed::Run { run, seq: 42 })
        );
        assert_eq!(parse("nonsense"), None);
        assert_eq!(parse(&format!("{run} x")), None);
        // The longest line fits the bound the chunking assumes.
        assert!(format!("{run} {}\n", u64::MAX).len() <= 60);
    }
}
