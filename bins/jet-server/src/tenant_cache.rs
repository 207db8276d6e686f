//! A short-lived cache whose entries each belong to one tenant: the one shape behind the access,
//! API-key and role-list caches (`access_sync::Caches`).
//!
//! Entries live at most `ttl` (zero: nothing is cached). A change in a tenant drops that
//! tenant's entries (`invalidate_tenant`, driven by the change bus in every process); a missed
//! bus message drops everything (`flush`). Only what was found is cached, so something new is
//! never hidden by the cache. Past [`MAX_ENTRIES`] the map is emptied wholesale: a cache, not a
//! store.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use uuid::Uuid;

/// Entries beyond this are dropped wholesale.
pub const MAX_ENTRIES: usize = 100_000;

#[derive(Debug)]
struct Entry<V> {
    stored: Instant,
    tenant_id: Uuid,
    value: V,
}

/// See the module documentation.
#[derive(Debug)]
pub struct TenantCache<K, V> {
    ttl: Duration,
    entries: Mutex<HashMap<K, Entry<V>>>,
}

impl<K: Eq + Hash, V: Clone> TenantCache<K, V> {
    /// A cache whose entries live `ttl` (zero: nothing is cached).
    pub fn new(ttl: Duration) -> Self {
        TenantCache {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<K, Entry<V>>> {
        // Every operation is a single map call: a panic cannot leave the map inconsistent.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The fresh entry for `key`, if any.
    pub fn get(&self, key: &K) -> Option<V> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.lock();
        let entry = entries.get(key)?;
        (entry.stored.elapsed() < self.ttl).then(|| entry.value.clone())
    }

    /// The fresh entry for `key`, or what `load` finds, remembered as part of the tenant
    /// `tenant_of` names. A failed load is not cached.
    pub async fn get_or_load<E>(
        &self,
        key: K,
        load: impl Future<Output = Result<V, E>>,
        tenant_of: impl FnOnce(&V) -> Uuid,
    ) -> Result<V, E> {
        if let Some(value) = self.get(&key) {
            return Ok(value);
        }
        let value = load.await?;
        self.put(key, tenant_of(&value), value.clone());
        Ok(value)
    }

    /// Remembers `value` for `key`, as part of `tenant_id`.
    pub fn put(&self, key: K, tenant_id: Uuid, value: V) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.lock();
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        let entry = Entry {
            stored: Instant::now(),
            tenant_id,
            value,
        };
        entries.insert(key, entry);
    }

    /// Forgets every entry of `tenant_id`.
    pub fn invalidate_tenant(&self, tenant_id: Uuid) {
        self.lock().retain(|_, entry| entry.tenant_id != tenant_id);
    }

    /// Forgets everything.
    pub fn flush(&self) {
        self.lock().clear();
    }

    /// Drops expired entries.
    pub fn forget_expired(&self) {
        let ttl = self.ttl;
        self.lock().retain(|_, entry| entry.stored.elapsed() < ttl);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_dropped_per_tenant_or_all() {
        let cache = TenantCache::new(Duration::from_secs(60));
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        cache.put("a1", a, 1);
        cache.put("a2", a, 2);
        cache.put("b1", b, 3);
        assert_eq!(cache.get(&"a1"), Some(1));
        assert_eq!(cache.get(&"zz"), None);
        cache.invalidate_tenant(a);
        assert_eq!((cache.get(&"a1"), cache.get(&"a2")), (None, None));
        assert_eq!(cache.get(&"b1"), Some(3), "other tenants keep theirs");
        cache.flush();
        assert_eq!(cache.get(&"b1"), None);
    }

    #[test]
    fn entries_expire_and_a_zero_ttl_caches_nothing() {
        let off = TenantCache::new(Duration::ZERO);
        off.put("k", Uuid::now_v7(), 1);
        assert_eq!(off.get(&"k"), None);
        let short = TenantCache::new(Duration::from_millis(1));
        short.put("k", Uuid::now_v7(), 1);
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(short.get(&"k"), None, "expired");
        short.forget_expired();
        assert_eq!(short.len(), 0);
    }
}
