//! Time, injected. Delays, retry backoff, timeouts, leases and expiries all read this clock, so
//! tests drive them with [`FakeClock::advance`] instead of sleeping.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::sync::oneshot;

use crate::run::Timestamp;

/// A source of time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current time.
    fn now(&self) -> Timestamp;

    /// Resolves at `deadline` (at once if it has passed).
    fn sleep_until(&self, deadline: Timestamp) -> BoxFuture<'static, ()>;
}

/// Adds a `Duration` to a timestamp, saturating instead of overflowing.
pub fn after(at: Timestamp, delay: Duration) -> Timestamp {
    chrono::Duration::from_std(delay)
        .ok()
        .and_then(|d| at.checked_add_signed(d))
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC)
}

/// The machine's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        chrono::Utc::now()
    }

    fn sleep_until(&self, deadline: Timestamp) -> BoxFuture<'static, ()> {
        let wait = (deadline - chrono::Utc::now()).to_std().unwrap_or_default();
        Box::pin(tokio::time::sleep(wait))
    }
}

/// A clock that moves only when told. Clones share the same time.
#[derive(Debug, Clone)]
pub struct FakeClock {
    inner: Arc<Mutex<FakeInner>>,
}

#[derive(Debug)]
struct FakeInner {
    now: Timestamp,
    next_id: u64,
    sleepers: BTreeMap<(Timestamp, u64), oneshot::Sender<()>>,
}

impl FakeClock {
    /// A clock stopped at `start`.
    pub fn at(start: Timestamp) -> Self {
        FakeClock {
            inner: Arc::new(Mutex::new(FakeInner {
                now: start,
                next_id: 0,
                sleepers: BTreeMap::new(),
            })),
        }
    }

    /// A clock stopped at 2026-01-01T00:00:00Z.
    pub fn new() -> Self {
        Self::at(chrono::DateTime::from_timestamp(1_767_225_600, 0).unwrap_or_default())
    }

    fn lock(&self) -> MutexGuard<'_, FakeInner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Moves time forward and wakes every sleeper whose deadline has come; returns how many
    /// were woken (sleepers already dropped are not counted).
    pub fn advance(&self, by: Duration) -> usize {
        let woken = {
            let mut inner = self.lock();
            inner.now = after(inner.now, by);
            let now = inner.now;
            let later = inner.sleepers.split_off(&(now, u64::MAX));
            std::mem::replace(&mut inner.sleepers, later)
        };
        // `send` fails for a sleeper already dropped: only live ones count.
        woken
            .into_values()
            .filter_map(|sender| sender.send(()).ok())
            .count()
    }

    /// The earliest deadline anyone still sleeps until: the next moment at which advancing the
    /// clock can make something happen.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        self.lock()
            .sleepers
            .iter()
            .find(|(_, sender)| !sender.is_closed())
            .map(|((deadline, _), _)| *deadline)
    }
}

impl Default for FakeClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for FakeClock {
    fn now(&self) -> Timestamp {
        self.lock().now
    }

    fn sleep_until(&self, deadline: Timestamp) -> BoxFuture<'static, ()> {
        let mut inner = self.lock();
        if deadline <= inner.now {
            return Box::pin(async {});
        }
        // Sleepers dropped before their deadline (a task that finished first) leave closed
        // senders behind; drop them so the map stays as small as the live timers.
        inner.sleepers.retain(|_, sender| !sender.is_closed());
        let (sender, receiver) = oneshot::channel();
        let id = inner.next_id;
        inner.next_id += 1;
        inner.sleepers.insert((deadline, id), sender);
        Box::pin(async move {
            let _ = receiver.await;
        })
    }
}
