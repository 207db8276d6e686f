//! The caches derived from a tenant's access data (grants, resolved API keys, the role list),
//! kept in step across server processes through the change bus.
//!
//! After a successful call to a route declared `changes_access`, [`announce`] drops the tenant's
//! entries here at once and publishes the tenant id on [`TOPIC`]; [`follow`], running in every
//! process, drops them there when the message arrives, and flushes every cache whenever the bus
//! says messages may have been missed (a reconnect). The TTL (`JET_ACCESS_CACHE_SECS`) bounds
//! staleness only while the bus is down.

use std::sync::Arc;
use std::time::Duration;

use change_bus::{ChangeBus, Event, Subscription};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::access_cache::AccessCache;
use crate::http::pagination::Rendered;
use crate::key_cache::KeyCache;
use crate::tenant_cache::TenantCache;

/// The bus topic; its payload is the tenant id.
pub const TOPIC: &str = "access";

/// A tenant's roles with their grants, serialized as `GET …/roles` shows them (once, on a miss).
pub type RoleListCache = TenantCache<Uuid, Arc<Vec<Rendered>>>;

/// The caches kept in step. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Caches {
    /// Grants by tenant and principal.
    pub access: Arc<AccessCache>,
    /// Resolved API keys.
    pub keys: Arc<KeyCache>,
    /// Role lists by tenant.
    pub roles: Arc<RoleListCache>,
}

impl Caches {
    /// Empty caches whose entries live `ttl` (zero: nothing is cached).
    pub fn new(ttl: Duration) -> Self {
        Caches {
            access: Arc::new(TenantCache::new(ttl)),
            keys: Arc::new(TenantCache::new(ttl)),
            roles: Arc::new(TenantCache::new(ttl)),
        }
    }

    fn invalidate_tenant(&self, tenant_id: Uuid) {
        self.access.invalidate_tenant(tenant_id);
        self.keys.invalidate_tenant(tenant_id);
        self.roles.invalidate_tenant(tenant_id);
    }

    fn flush(&self) {
        self.access.flush();
        self.keys.flush();
        self.roles.flush();
    }

    /// Drops expired entries (run periodically, so idle entries do not pile up).
    pub fn forget_expired(&self) {
        self.access.forget_expired();
        self.keys.forget_expired();
        self.roles.forget_expired();
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
