//! The idle signal behind [`Engine::idle`](super::Engine::idle): callers take a ticket, the
//! dispatcher reports the newest ticket it had seen when a whole pass found nothing due and
//! nothing of its own running. A report counts only for tickets taken before that pass began,
//! so an idle state observed before the caller's change (say, a clock advance) never answers.

use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::watch;

#[derive(Debug)]
pub(crate) struct IdleSignal {
    requested: AtomicU64,
    reported: watch::Sender<u64>,
}

impl Default for IdleSignal {
    fn default() -> Self {
        IdleSignal {
            requested: AtomicU64::new(0),
            reported: watch::Sender::new(0),
        }
    }
}

impl IdleSignal {
    /// A new ticket; wake the dispatcher after taking it.
    pub(crate) fn request(&self) -> u64 {
        self.requested.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// The newest ticket, read by the dispatcher at the start of a pass.
    pub(crate) fn newest(&self) -> u64 {
        self.requested.load(Ordering::SeqCst)
    }

    /// Whether a caller waits for a report newer than the last one.
    pub(crate) fn awaited(&self) -> bool {
        self.newest() > *self.reported.borrow()
    }

    /// The dispatcher's pass that began at `ticket` found nothing to do.
    pub(crate) fn report(&self, ticket: u64) {
        self.reported.send_if_modified(|reported| {
            let newer = ticket > *reported;
            if newer {
                *reported = ticket;
            }
            newer
        });
    }

    /// Resolves when a pass that began after `ticket` was taken reports idle.
    pub(crate) async fn reached(&self, ticket: u64) {
        let mut reports = self.reported.subscribe();
        // The sender lives as long as `self`: the wait ends only by a report.
        let _ = reports.wait_for(|reported| *reported >= ticket).await;
    }
}
