//! Live runs: the fan-out of run events to subscribers in this process whatever process runs
//! them ([`hub`]), the websocket endpoint and its protocol ([`socket`], [`protocol`], [`rooms`]),
//! and Server-Sent Events for clients without websockets ([`sse`]). `docs/realtime.md` is the
//! client's reference.

pub mod hub;
pub mod live_event;
pub mod protocol;
pub mod rooms;
pub mod socket;
pub mod sse;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio_util::sync::CancellationToken;

use crate::settings::RealtimeSettings;

/// What the realtime endpoints share: the hub, the limits, the open sockets per principal.
#[derive(Debug, Clone)]
pub struct Realtime {
    /// The fan-out.
    pub hub: hub::Hub,
    /// Limits.
    pub settings: RealtimeSettings,
    /// Cancelled when the server begins to stop: sockets close with 1001 and SSE streams end,
    /// so a graceful stop does not wait for long-lived connections.
    pub closing: CancellationToken,
    sockets: Arc<Mutex<HashMap<String, usize>>>,
}

/// One open socket of a principal; dropping it frees the place.
#[derive(Debug)]
pub struct SocketSlot {
    principal: String,
    sockets: Arc<Mutex<HashMap<String, usize>>>,
}

impl Drop for SocketSlot {
    fn drop(&mut self) {
        let mut sockets = self.sockets.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = sockets.get_mut(&self.principal) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                sockets.remove(&self.principal);
            }
        }
    }
}

impl Realtime {
    /// The realtime state around `hub`.
    pub fn new(hub: hub::Hub, settings: RealtimeSettings, closing: CancellationToken) -> Self {
        Realtime {
            hub,
            settings,
            closing,
            sockets: Arc::default(),
        }
    }

    /// A place for one more socket of `principal`, unless it has as many as allowed (counted
    /// per process: a principal's sockets spread over processes by the load balancer).
    pub fn open_socket(&self, principal: &str) -> Option<SocketSlot> {
        let mut sockets = self.sockets.lock().unwrap_or_else(PoisonError::into_inner);
        let count = sockets.entry(principal.to_string()).or_default();
        if *count >= self.settings.max_sockets_per_principal {
            return None;
        }
        *count += 1;
        Some(SocketSlot {
            principal: principal.to_string(),
            sockets: Arc::clone(&self.sockets),
        })
    }

    /// Open sockets in this process.
    pub fn open_sockets(&self) -> usize {
        self.sockets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .sum()
    }
}
