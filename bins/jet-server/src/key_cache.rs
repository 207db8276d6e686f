//! A short-lived cache of resolved API keys, so an authorized request with a key does not look
//! the key up (and compare its hash) in the database every time.
//!
//! Entries are keyed by the SHA-256 of the presented key (the secret itself is not kept) and live
//! at most `ttl` (`JET_ACCESS_CACHE_SECS`, the same bound as cached grants; 0 turns it off). A
//! change to a tenant's keys (disable, delete, roles) reaches every process through the change
//! bus (`access_sync`), which drops the tenant's entries at once; `ttl` bounds the staleness only
//! while the bus is down. Only keys that resolved are cached: an unknown key is looked up every
//! time, so a brand-new key works at once.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use rbac::api_keys::ResolvedKey;
use uuid::Uuid;

/// Entries beyond this are dropped wholesale (a cache, not a store).
const MAX_ENTRIES: usize = 100_000;

type Digest = [u8; 32];

/// See the module documentation.
#[derive(Debug)]
pub struct KeyCache {
    ttl: Duration,
    entries: Mutex<HashMap<Digest, (Instant, ResolvedKey)>>,
}

fn digest(raw: &str) -> Digest {
    let mut out = [0u8; 32];
    out.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, raw.as_bytes()).as_ref());
    out
}

impl KeyCache {
    /// A cache whose entries live `ttl` (zero: nothing is cached).
    pub fn new(ttl: Duration) -> Self {
        KeyCache {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Digest, (Instant, ResolvedKey)>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The fresh entry for the presented key `raw`, if any.
    pub fn get(&self, raw: &str) -> Option<ResolvedKey> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.lock();
        let (stored, key) = entries.get(&digest(raw))?;
        (stored.elapsed() < self.ttl).then(|| key.clone())
    }

    /// Remembers that `raw` resolved to `key`.
    pub fn put(&self, raw: &str, key: ResolvedKey) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.lock();
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(digest(raw), (Instant::now(), key));
    }

    /// Forgets every key of `tenant_id`.
    pub fn invalidate_tenant(&self, tenant_id: Uuid) {
        self.lock().retain(|_, (_, key)| key.tenant_id != tenant_id);
    }

    /// Forgets everything (messages may have been missed).
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

    fn key(tenant_id: Uuid) -> ResolvedKey {
        ResolvedKey {
            id: Uuid::now_v7(),
            tenant_id,
            title: "k".into(),
        }
    }

    #[test]
    fn keys_are_found_by_their_secret_and_dropped_per_tenant_or_all() {
        let cache = KeyCache::new(Duration::from_secs(60));
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        cache.put("jet_a", key(a));
        cache.put("jet_b", key(b));
        assert_eq!(cache.get("jet_a").map(|k| k.tenant_id), Some(a));
        assert!(cache.get("jet_c").is_none());
        cache.invalidate_tenant(a);
        assert!(cache.get("jet_a").is_none());
        assert!(cache.get("jet_b").is_some());
        cache.flush();
        assert!(cache.get("jet_b").is_none());
    }

    #[test]
    fn entries_expire_and_a_zero_ttl_caches_nothing() {
        let off = KeyCache::new(Duration::ZERO);
        off.put("jet_a", key(Uuid::now_v7()));
        assert!(off.get("jet_a").is_none());
        let short = KeyCache::new(Duration::from_millis(1));
        short.put("jet_a", key(Uuid::now_v7()));
        std::thread::sleep(Duration::from_millis(5));
        assert!(short.get("jet_a").is_none());
        short.forget_expired();
        assert!(short.lock().is_empty());
    }
}
