//! Keeps cached access (grants, `access_cache`; resolved API keys, `key_cache`) in step across
//! server processes through the change bus.
//!
//! After a successful call to a route declared `changes_access`, [`announce`] drops the tenant's
//! entries here at once and publishes the tenant id on [`TOPIC`]; [`follow`], running in every
//! process, drops them there when the message arrives, and flushes both caches whenever the bus
//! says messages may have been missed (a reconnect). The caches' TTL bounds staleness only while
//! the bus is down.

use std::sync::Arc;

use change_bus::{ChangeBus, Event, Subscription};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::access_cache::AccessCache;
use crate::key_cache::KeyCache;

/// The bus topic; its payload is the tenant id.
pub const TOPIC: &str = "access";

/// The two caches kept in step.
#[derive(Debug, Clone)]
pub struct Caches {
    /// Grants by tenant and principal.
    pub access: Arc<AccessCache>,
    /// Resolved API keys.
    pub keys: Arc<KeyCache>,
}

impl Caches {
    fn invalidate_tenant(&self, tenant_id: Uuid) {
        self.access.invalidate_tenant(tenant_id);
        self.keys.invalidate_tenant(tenant_id);
    }

    fn flush(&self) {
        self.access.flush();
        self.keys.flush();
    }
}

/// Access in `tenant_id` changed: forget it here and tell the other processes.
pub async fn announce(bus: &ChangeBus, caches: &Caches, tenant_id: Uuid) {
    caches.invalidate_tenant(tenant_id);
    if let Err(error) = bus.publish(TOPIC, &tenant_id.to_string()).await {
        // The change is committed; other processes see it within the caches' TTL.
        tracing::warn!(%error, %tenant_id, "could not announce an access change on the bus");
    }
}

/// Applies other processes' announcements until `stop`. `subscription` is taken before the
/// server starts serving, so no announcement falls between start-up and this loop.
pub async fn follow(mut subscription: Subscription, caches: Caches, stop: CancellationToken) {
    loop {
        let event = tokio::select! {
            _ = stop.cancelled() => return,
            event = subscription.recv() => event,
        };
        match event {
            Some(Event::Message(message)) => match Uuid::parse_str(&message.payload) {
                Ok(tenant_id) => caches.invalidate_tenant(tenant_id),
                Err(_) => {
                    tracing::warn!("an access announcement without a tenant id; flushing");
                    caches.flush();
                }
            },
            Some(Event::Missed) => {
                tracing::info!("access announcements may have been missed; flushing the caches");
                caches.flush();
            }
            None => return,
        }
    }
}
