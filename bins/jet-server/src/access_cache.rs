//! A short-lived cache of what a principal holds in a tenant (tenant row, membership, grants),
//! so tenant routes do not reload roles and grants on every request.
//!
//! Entries live at most `ttl` (default 2 s, `JET_ACCESS_CACHE_SECS`; 0 turns the cache off).
//! A change to roles, grants, memberships, keys or the tenant's status invalidates the tenant's
//! entries in every process at once, through the change bus (`access_sync`); `ttl` bounds the
//! staleness only while the bus is down. Only successful lookups are cached, so a new member or
//! key is never refused because of the cache.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rbac::{Grants, Subject};
use tenancy::tenants::{Membership, Tenant};
use uuid::Uuid;

/// Entries beyond this are dropped wholesale (a cache, not a store).
const MAX_ENTRIES: usize = 100_000;

/// What a principal holds in one tenant.
#[derive(Debug, Clone)]
pub struct Access {
    /// The tenant.
    pub tenant: Tenant,
    /// The user's membership (`None` for an API key).
    pub membership: Option<Membership>,
    /// The grants.
    pub grants: Grants,
}

/// Entries by (tenant, principal), with the time they were stored.
type Entries = HashMap<(Uuid, Subject), (Instant, Arc<Access>)>;

/// See the module documentation.
#[derive(Debug)]
pub struct AccessCache {
    ttl: Duration,
    entries: Mutex<Entries>,
}

impl AccessCache {
    /// A cache whose entries live `ttl` (zero: nothing is cached).
    pub fn new(ttl: Duration) -> Self {
        AccessCache {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        // A panic while holding the lock cannot leave the map inconsistent (single operations).
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The fresh entry for `subject` in `tenant_id`, if any.
    pub fn get(&self, tenant_id: Uuid, subject: Subject) -> Option<Arc<Access>> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.lock();
        let (stored, access) = entries.get(&(tenant_id, subject))?;
        (stored.elapsed() < self.ttl).then(|| Arc::clone(access))
    }

    /// Remembers `access` for `subject` in `tenant_id`.
    pub fn put(&self, tenant_id: Uuid, subject: Subject, access: Arc<Access>) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.lock();
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert((tenant_id, subject), (Instant::now(), access));
    }

    /// Forgets every entry of `tenant_id` (after a change to its roles, grants, members or keys).
    pub fn invalidate_tenant(&self, tenant_id: Uuid) {
        self.lock().retain(|(tenant, _), _| *tenant != tenant_id);
    }

    /// Forgets everything (announcements may have been missed).
    pub fn flush(&self) {
        self.lock().clear();
    }

    /// Drops expired entries.
    pub fn forget_expired(&self) {
        let ttl = self.ttl;
        self.lock().retain(|_, (stored, _)| stored.elapsed() < ttl);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn access(tenant_id: Uuid) -> Arc<Access> {
        Arc::new(Access {
            tenant: Tenant {
                id: tenant_id,
                title: "t".into(),
                logo_url: None,
                creator_user_id: None,
                is_disabled: false,
                disabled_at: None,
                disable_reason: None,
                created_at: Utc::now(),
                updated_at: Utc::now(),
            },
            membership: None,
            grants: Grants::new(),
        })
    }

    #[test]
    fn entries_expire_and_are_invalidated_per_tenant() {
        let cache = AccessCache::new(Duration::from_millis(50));
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let subject = Subject::User(Uuid::now_v7());
        cache.put(a, subject, access(a));
        cache.put(b, subject, access(b));
        assert!(cache.get(a, subject).is_some());

        cache.invalidate_tenant(a);
        assert!(cache.get(a, subject).is_none());
        assert!(
            cache.get(b, subject).is_some(),
            "other tenants keep their entries"
        );

        std::thread::sleep(Duration::from_millis(60));
        assert!(cache.get(b, subject).is_none(), "expired");
        cache.forget_expired();
        assert!(cache.lock().is_empty());
    }

    #[test]
    fn a_zero_ttl_caches_nothing() {
        let cache = AccessCache::new(Duration::ZERO);
        let tenant = Uuid::now_v7();
        let subject = Subject::System;
        cache.put(tenant, subject, access(tenant));
        assert!(cache.get(tenant, subject).is_none());
    }
}
