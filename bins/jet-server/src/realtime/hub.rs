//! The hub: hands each subscriber of a run every event of the run's log after its cursor, once
//! and in order, as the run progresses in any process; and feeds (all runs of a workflow, a
//! tenant's run statuses) their live events.
//!
//! The SQL store's commit hints ([`workflow_store::CommittedRuns`]) say which runs moved; the hub
//! then reads the log on from the lowest cursor among the run's subscribers, renders each event
//! once ([`LiveEvent`]) and hands it to each subscriber's [`Outbox`]. A new run subscriber is
//! served at once (its replay), then live.
//!
//! Queues are bounded and the hub never waits on one. A run subscriber whose queue is full
//! falls behind: it keeps its cursor, and when its reader has emptied the queue the hub reads
//! the log on from there (so a replay of a long run is paced by the reader, and a briefly slow
//! reader loses nothing). The socket decides when a reader that does not read is too slow.
//! Feeds are live only: they carry events committed after the feed was opened (by the event's
//! time), with no replay, and a feed whose queue is full marks its reader as lagging
//! ([`Inbox::lagged`]). A client that needs every event of a run subscribes to the run.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use workflow_engine::{RunId, RunStore};
use workflow_store::{Committed, RunOrigin, SqlStore};

use crate::realtime::live_event::LiveEvent;

/// How far before a commit hint's sequence number a feed starts reading a run it has not seen
/// (one commit holds at most a handful of events; older ones are filtered out by time).
const FEED_BACKLOG: u64 = 16;
/// Runs whose origin is remembered before the memory is cleared and looked up again.
const MAX_ORIGINS: usize = 10_000;

/// One event for one subscription.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The subscription it is for (the id [`Hub::follow_run`] or [`Hub::follow_feed`] gave).
    pub subscription: u64,
    /// The event.
    pub event: Arc<LiveEvent>,
}

/// The hub's end of a subscriber's queue. Cheap to clone; one per socket.
#[derive(Debug, Clone)]
pub struct Outbox {
    sender: mpsc::Sender<Delivery>,
    lagged: CancellationToken,
    /// Set when a run subscription could not be served for want of room.
    behind: Arc<AtomicBool>,
}

impl Outbox {
    fn is_behind(&self) -> bool {
        self.behind.load(Ordering::Acquire)
    }
}

/// The subscriber's end of its queue.
#[derive(Debug)]
pub struct Inbox {
    receiver: mpsc::Receiver<Delivery>,
    lagged: CancellationToken,
    behind: Arc<AtomicBool>,
    kick: mpsc::UnboundedSender<Kick>,
}

impl Inbox {
    /// The next delivery (`None` once every outbox is gone). Emptying the queue after it
    /// overflowed asks the hub to go on from where the subscriptions stopped.
    pub async fn next(&mut self) -> Option<Delivery> {
        let delivery = self.receiver.recv().await;
        self.ask_for_more_once_empty();
        delivery
    }

    /// The next delivery if one is queued now.
    pub fn try_next(&mut self) -> Option<Delivery> {
        let delivery = self.receiver.try_recv().ok();
        self.ask_for_more_once_empty();
        delivery
    }

    /// Once the queue is empty after it overflowed, asks the hub to serve the subscriptions
    /// from where they stopped.
    fn ask_for_more_once_empty(&self) {
        if self.receiver.is_empty() && self.behind.swap(false, Ordering::AcqRel) {
            let _ = self.kick.send(Kick::Behind);
        }
    }

    /// Fires when a feed's event could not be queued: the reader lost events.
    pub fn lagged(&self) -> &CancellationToken {
        &self.lagged
    }
}

/// Why the hub's task should serve runs outside hints.
#[derive(Debug, Clone, Copy)]
enum Kick {
    /// A follower arrived (its replay).
    Run(RunId),
    /// A reader emptied its queue after falling behind.
    Behind,
}

/// Which runs a feed carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedScope {
    /// Every event of every run of this workflow (host workflow id) in this namespace.
    Workflow {
        /// The namespace (tenant id).
        namespace: String,
        /// The host workflow id.
        workflow_id: String,
    },
    /// The status events of every run in this namespace.
    Statuses {
        /// The namespace (tenant id).
        namespace: String,
    },
}

impl FeedScope {
    fn covers(&self, origin: &RunOrigin, event: &LiveEvent) -> bool {
        match self {
            FeedScope::Workflow {
                namespace,
                workflow_id,
            } => {
                *namespace == origin.namespace
                    && origin.workflow_id.as_deref() == Some(workflow_id.as_str())
            }
            FeedScope::Statuses { namespace } => *namespace == origin.namespace && event.is_status,
        }
    }

    fn namespace(&self) -> &str {
        match self {
            FeedScope::Workflow { namespace, .. } | FeedScope::Statuses { namespace } => namespace,
        }
    }
}

#[derive(Debug)]
struct Follower {
    id: u64,
    /// The last sequence number handed to it.
    cursor: u64,
    outbox: Outbox,
}

#[derive(Debug)]
struct Feed {
    id: u64,
    scope: FeedScope,
    since: DateTime<Utc>,
    outbox: Outbox,
}

/// A run the hub has looked up, and how far feeds have read it.
#[derive(Debug)]
struct KnownRun {
    origin: RunOrigin,
    feed_cursor: Option<u64>,
}

#[derive(Debug, Default)]
struct Rooms {
    runs: HashMap<RunId, Vec<Follower>>,
    feeds: Vec<Feed>,
    known: HashMap<RunId, KnownRun>,
}

#[derive(Debug)]
struct Inner {
    store: Arc<SqlStore>,
    db: DatabaseConnection,
    rooms: Mutex<Rooms>,
    next_id: AtomicU64,
    /// Runs to serve outside hints.
    kick: mpsc::UnboundedSender<Kick>,
}

impl Inner {
    fn rooms(&self) -> std::sync::MutexGuard<'_, Rooms> {
        self.rooms.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The fan-out of one process. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

/// A subscription; dropping it unsubscribes.
#[derive(Debug)]
pub struct Subscription {
    id: u64,
    run: Option<RunId>,
    hub: Weak<Inner>,
}

impl Subscription {
    /// Its id, as deliveries name it.
    pub fn id(&self) -> u64 {
        self.id
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let Some(inner) = self.hub.upgrade() else {
            return;
        };
        let mut rooms = inner.rooms();
        match self.run {
            Some(run) => {
                if let Some(followers) = rooms.runs.get_mut(&run) {
                    followers.retain(|f| f.id != self.id);
                    if followers.is_empty() {
                        rooms.runs.remove(&run);
                    }
                }
            }
            None => rooms.feeds.retain(|f| f.id != self.id),
        }
    }
}

impl Hub {
    /// Starts the hub on `store`'s hints (`db` is where it looks runs up); it stops with `stop`.
    pub fn start(store: Arc<SqlStore>, db: DatabaseConnection, stop: CancellationToken) -> Hub {
        let (kick, kicks) = mpsc::unbounded_channel();
        let inner = Arc::new(Inner {
            store,
            db,
            rooms: Mutex::new(Rooms::default()),
            next_id: AtomicU64::new(1),
            kick,
        });
        tokio::spawn(serve(Arc::clone(&inner), kicks, stop));
        Hub { inner }
    }

    /// A queue for one reader, holding at most `capacity` deliveries not yet taken.
    pub fn queue(&self, capacity: usize) -> (Outbox, Inbox) {
        let (sender, receiver) = mpsc::channel(capacity.max(1));
        let lagged = CancellationToken::new();
        let behind = Arc::new(AtomicBool::new(false));
        (
            Outbox {
                sender,
                lagged: lagged.clone(),
                behind: Arc::clone(&behind),
            },
            Inbox {
                receiver,
                lagged,
                behind,
                kick: self.inner.kick.clone(),
            },
        )
    }

    /// Follows `run` from after `after` (0: from the start) into `outbox`.
    pub fn follow_run(&self, run: RunId, after: u64, outbox: &Outbox) -> Subscription {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        self.inner
            .rooms()
            .runs
            .entry(run)
            .or_default()
            .push(Follower {
                id,
                cursor: after,
                outbox: outbox.clone(),
            });
        // Served by the hub's task, in turn with hints, so deliveries never interleave.
        let _ = self.inner.kick.send(Kick::Run(run));
        Subscription {
            id,
            run: Some(run),
            hub: Arc::downgrade(&self.inner),
        }
    }

    /// Opens a live feed of `scope` into `outbox`.
    pub fn follow_feed(&self, scope: FeedScope, outbox: &Outbox) -> Subscription {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        self.inner.rooms().feeds.push(Feed {
            id,
            scope,
            since: Utc::now(),
            outbox: outbox.clone(),
        });
        Subscription {
            id,
            run: None,
            hub: Arc::downgrade(&self.inner),
        }
    }

    /// Runs with at least one follower, and open feeds.
    pub fn followed(&self) -> (usize, usize) {
        let rooms = self.inner.rooms();
        (rooms.runs.len(), rooms.feeds.len())
    }
}

/// The hub's task: serves a run on each hint for it, every known run on `Missed`, and a run
/// whose follower just arrived.
async fn serve(
    inner: Arc<Inner>,
    mut kicks: mpsc::UnboundedReceiver<Kick>,
    stop: CancellationToken,
) {
    let mut hints = inner.store.committed_runs();
    loop {
        let followed = |inner: &Inner| -> Vec<(RunId, Option<u64>)> {
            let rooms = inner.rooms();
            rooms.runs.keys().map(|run| (*run, None)).collect()
        };
        let runs: Vec<(RunId, Option<u64>)> = tokio::select! {
            () = stop.cancelled() => return,
            kicked = kicks.recv() => match kicked {
                Some(Kick::Run(run)) => vec![(run, None)],
                Some(Kick::Behind) => followed(&inner),
                None => return,
            },
            hint = hints.next() => match hint {
                Some(Committed::Run { run, seq }) => vec![(run, Some(seq))],
                Some(Committed::Missed) => {
                    let mut runs = followed(&inner);
                    let rooms = inner.rooms();
                    runs.extend(rooms.known.keys().map(|run| (*run, None)));
                    runs
                }
                None => return,
            },
        };
        for (run, seq) in runs {
            deliver(&inner, run, seq).await;
        }
    }
}

/// What to read of a run for its subscribers.
struct Reading {
    from: u64,
    origin: RunOrigin,
    /// Whether some feed covers the run's namespace.
    for_feeds: bool,
}

/// Decides where to read `run` from, looking its origin up when a feed might want it.
async fn plan(inner: &Inner, run: RunId, hint_seq: Option<u64>) -> Option<Reading> {
    let (followers_from, feeds_in, known) = {
        let rooms = inner.rooms();
        // A follower whose queue is full is served when its reader has emptied it, not now:
        // reading (and rendering) the log from its cursor on every commit would be wasted.
        let followers_from = rooms.runs.get(&run).and_then(|f| {
            f.iter()
                .filter(|f| !f.outbox.is_behind())
                .map(|f| f.cursor)
                .min()
        });
        let known = rooms.known.get(&run).map(|k| k.origin.clone());
        let feeds_in: Vec<String> = rooms
            .feeds
            .iter()
            .map(|f| f.scope.namespace().to_string())
            .collect();
        (followers_from, feeds_in, known)
    };
    if followers_from.is_none() && feeds_in.is_empty() {
        return None;
    }
    let origin = match known {
        Some(origin) => origin,
        None => match workflow_store::run_origin(&inner.db, run).await {
            Ok(Some(origin)) => origin,
            Ok(None) => return None,
            Err(error) => {
                tracing::warn!(%run, %error, "could not look a followed run up");
                return None;
            }
        },
    };
    let for_feeds = feeds_in.contains(&origin.namespace);
    let feed_from = {
        let mut rooms = inner.rooms();
        if rooms.known.len() >= MAX_ORIGINS && !rooms.known.contains_key(&run) {
            rooms.known.clear();
        }
        let known = rooms.known.entry(run).or_insert_with(|| KnownRun {
            origin: origin.clone(),
            feed_cursor: None,
        });
        if for_feeds && known.feed_cursor.is_none() {
            known.feed_cursor = hint_seq.map(|seq| seq.saturating_sub(FEED_BACKLOG));
        }
        known.feed_cursor.filter(|_| for_feeds)
    };
    let from = match (followers_from, feed_from) {
        (Some(a), Some(b)) => a.min(b),
        (Some(a), None) | (None, Some(a)) => a,
        (None, None) => return None,
    };
    Some(Reading {
        from,
        origin,
        for_feeds: feed_from.is_some(),
    })
}

/// Reads `run`'s log after its subscribers' lowest cursor and hands each subscriber its part.
async fn deliver(inner: &Inner, run: RunId, hint_seq: Option<u64>) {
    let Some(reading) = plan(inner, run, hint_seq).await else {
        return;
    };
    let events = match inner.store.events(run, reading.from).await {
        Ok(events) if !events.is_empty() => events,
        Ok(_) => return,
        Err(error) => {
            // The next hint (or the subscriber's reconnect with its cursor) serves them.
            tracing::warn!(%run, %error, "could not read a followed run's events");
            return;
        }
    };
    let workflow_id = reading.origin.workflow_id.as_deref();
    let live: Vec<(Arc<LiveEvent>, DateTime<Utc>)> = events
        .iter()
        .map(|event| {
            let rendered = LiveEvent::render(run, workflow_id, event);
            (Arc::new(rendered), event.at())
        })
        .collect();
    let mut rooms = inner.rooms();
    let rooms = &mut *rooms;
    if let Some(followers) = rooms.runs.get_mut(&run) {
        followers.retain_mut(|follower| {
            // Not served by this reading: a follower that arrived, or whose reader caught
            // up, after the log was read (its own kick brings it a reading from its cursor),
            // and one whose queue is still full.
            if follower.cursor < reading.from || follower.outbox.is_behind() {
                return !follower.outbox.sender.is_closed();
            }
            let from = follower.cursor;
            for (event, _) in live.iter().filter(|(e, _)| e.seq > from) {
                match hand(&follower.outbox, follower.id, event) {
                    Handed::Queued => follower.cursor = event.seq,
                    // Behind: it keeps its cursor; its reader asks for more once it caught up.
                    Handed::Full => {
                        follower.outbox.behind.store(true, Ordering::Release);
                        // The reader may have emptied the queue before the flag was up, and
                        // then it would never ask: try once more now that it is.
                        match hand(&follower.outbox, follower.id, event) {
                            Handed::Queued => follower.cursor = event.seq,
                            Handed::Full => return true,
                            Handed::Gone => return false,
                        }
                    }
                    Handed::Gone => return false,
                }
            }
            true
        });
        if followers.is_empty() {
            rooms.runs.remove(&run);
        }
    }
    if reading.for_feeds {
        let Some(known) = rooms.known.get_mut(&run) else {
            return;
        };
        let from = known.feed_cursor.unwrap_or(0);
        let origin = &known.origin;
        rooms.feeds.retain(|feed| {
            live.iter()
                .filter(|(e, at)| e.seq > from && *at >= feed.since && feed.scope.covers(origin, e))
                .all(|(event, _)| match hand(&feed.outbox, feed.id, event) {
                    Handed::Queued => true,
                    // A live feed cannot replay what it missed: its reader is told.
                    Handed::Full => {
                        feed.outbox.lagged.cancel();
                        false
                    }
                    Handed::Gone => false,
                })
        });
        if let Some((last, _)) = live.last() {
            known.feed_cursor = Some(known.feed_cursor.unwrap_or(0).max(last.seq));
        }
    }
}

/// What became of an event handed to an outbox.
enum Handed {
    Queued,
    Full,
    Gone,
}

/// Queues `event` for subscription `id`.
fn hand(outbox: &Outbox, id: u64, event: &Arc<LiveEvent>) -> Handed {
    let delivery = Delivery {
        subscription: id,
        event: Arc::clone(event),
    };
    match outbox.sender.try_send(delivery) {
        Ok(()) => Handed::Queued,
        Err(mpsc::error::TrySendError::Full(_)) => Handed::Full,
        Err(mpsc::error::TrySendError::Closed(_)) => Handed::Gone,
    }
}
