//! A cache in front of a [`KeySource`] that cannot be turned into a fetch storm.
//!
//! - A known `kid` in a fresh set is answered from memory under a read lock.
//! - The set is refetched when its `max-age` has passed, or when a token names an unknown `kid`
//!   (the provider may have rotated keys) — but fetches of any kind start at most once per
//!   `min_refetch_interval` (default one minute), so a flood of tokens with invented `kid`s costs
//!   one request a minute, not one per token.
//! - Fetches are single-flight: concurrent misses wait for one fetch instead of each starting one.
//! - When a refetch fails, the stale set keeps serving; only with no set at all is the failure
//!   reported as [`Error::KeysUnavailable`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, RwLock};

use crate::error::{Error, Rejection};
use crate::keys::{KeySet, KeySource, PublicKey};

/// Lower bound for a set's lifetime, whatever `Cache-Control` says.
const MIN_MAX_AGE: Duration = Duration::from_secs(60);

#[derive(Debug, Default)]
struct Cached {
    set: Option<Arc<KeySet>>,
    expires_at: Option<Instant>,
}

#[derive(Debug, Default)]
struct FetchState {
    last_attempt: Option<Instant>,
}

/// See the module documentation.
#[derive(Debug)]
pub struct KeyCache {
    source: Arc<dyn KeySource>,
    min_refetch_interval: Duration,
    cached: RwLock<Cached>,
    fetch: Mutex<FetchState>,
}

impl KeyCache {
    /// A cache over `source` that starts fetches at most once per `min_refetch_interval`.
    pub fn new(source: Arc<dyn KeySource>, min_refetch_interval: Duration) -> Self {
        KeyCache {
            source,
            min_refetch_interval,
            cached: RwLock::new(Cached::default()),
            fetch: Mutex::new(FetchState::default()),
        }
    }

    /// The key named `kid`, fetching the set when the rules above allow it.
    pub async fn key(&self, kid: &str) -> Result<PublicKey, Error> {
        if let Some(key) = self.lookup(kid, Instant::now()).await {
            return Ok(key);
        }

        let mut fetch = self.fetch.lock().await;
        let now = Instant::now();
        // Another task may have refreshed the set while this one waited for the lock.
        if let Some(key) = self.lookup(kid, now).await {
            return Ok(key);
        }
        let may_fetch = fetch
            .last_attempt
            .is_none_or(|at| now.duration_since(at) >= self.min_refetch_interval);
        if may_fetch {
            fetch.last_attempt = Some(now);
            match self.source.fetch().await {
                Ok(set) => {
                    let lifetime = set.max_age.max(MIN_MAX_AGE);
                    let mut cached = self.cached.write().await;
                    cached.set = Some(Arc::new(set));
                    cached.expires_at = Some(now + lifetime);
                }
                Err(reason) => {
                    tracing::warn!(%reason, "fetching identity provider keys failed");
                    if self.cached.read().await.set.is_none() {
                        return Err(Error::KeysUnavailable(reason));
                    }
                }
            }
        }
        drop(fetch);

        let cached = self.cached.read().await;
        match &cached.set {
            None => Err(Error::KeysUnavailable(
                "no key set fetched yet; retrying shortly".into(),
            )),
            // A stale set still answers: failing every login because a refresh failed would
            // turn a provider hiccup into an outage.
            Some(set) => set
                .keys
                .get(kid)
                .cloned()
                .ok_or(Error::Rejected(Rejection::UnknownKeyId)),
        }
    }

    async fn lookup(&self, kid: &str, now: Instant) -> Option<PublicKey> {
        let cached = self.cached.read().await;
        let fresh = cached.expires_at.is_some_and(|at| now < at);
        if !fresh {
            return None;
        }
        cached.set.as_ref()?.keys.get(kid).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_trait::async_trait;
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(Debug)]
    struct CountingSource {
        fetches: AtomicUsize,
        kids: std::sync::Mutex<Vec<&'static str>>,
        fail: std::sync::atomic::AtomicBool,
    }

    impl CountingSource {
        fn new(kids: &[&'static str]) -> Arc<Self> {
            Arc::new(CountingSource {
                fetches: AtomicUsize::new(0),
                kids: std::sync::Mutex::new(kids.to_vec()),
                fail: Default::default(),
            })
        }
        fn count(&self) -> usize {
            self.fetches.load(Ordering::SeqCst)
        }
    }

    #[async_trait]
    impl KeySource for CountingSource {
        async fn fetch(&self) -> Result<KeySet, String> {
            self.fetches.fetch_add(1, Ordering::SeqCst);
            if self.fail.load(Ordering::SeqCst) {
                return Err("offline".into());
            }
            let keys: HashMap<_, _> = self
                .kids
                .lock()
                .unwrap()
                .iter()
                .map(|kid| (kid.to_string(), PublicKey::Ed25519(vec![0; 32])))
                .collect();
            Ok(KeySet {
                keys,
                max_age: Duration::from_secs(3600),
            })
        }
    }

    #[tokio::test]
    async fn known_keys_are_served_from_memory() {
        let source = CountingSource::new(&["a"]);
        let cache = KeyCache::new(source.clone(), Duration::from_secs(60));
        for _ in 0..100 {
            cache.key("a").await.unwrap();
        }
        assert_eq!(source.count(), 1);
    }

    #[tokio::test]
    async fn a_flood_of_unknown_kids_fetches_at_most_once_per_interval() {
        let source = CountingSource::new(&["a"]);
        let cache = Arc::new(KeyCache::new(source.clone(), Duration::from_secs(60)));
        cache.key("a").await.unwrap();

        let tasks: Vec<_> = (0..200)
            .map(|i| {
                let cache = Arc::clone(&cache);
                tokio::spawn(async move { cache.key(&format!("forged-{i}")).await })
            })
            .collect();
        for task in tasks {
            assert!(matches!(
                task.await.unwrap(),
                Err(Error::Rejected(Rejection::UnknownKeyId))
            ));
        }
        assert_eq!(
            source.count(),
            1,
            "the first fetch was moments ago: no refetch"
        );
    }

    #[tokio::test]
    async fn an_unknown_kid_refetches_after_the_interval_and_finds_a_rotated_key() {
        let source = CountingSource::new(&["old"]);
        let cache = KeyCache::new(source.clone(), Duration::from_millis(50));
        cache.key("old").await.unwrap();
        source.kids.lock().unwrap().push("new");

        tokio::time::sleep(Duration::from_millis(60)).await;
        cache.key("new").await.unwrap();
        assert_eq!(source.count(), 2);
    }

    #[tokio::test]
    async fn concurrent_first_requests_share_one_fetch() {
        let source = CountingSource::new(&["a"]);
        let cache = Arc::new(KeyCache::new(source.clone(), Duration::from_secs(60)));
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let cache = Arc::clone(&cache);
                tokio::spawn(async move { cache.key("a").await })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        assert_eq!(source.count(), 1);
    }

    #[tokio::test]
    async fn no_keys_and_a_failing_source_is_reported_as_unavailable() {
        let source = CountingSource::new(&["a"]);
        source.fail.store(true, Ordering::SeqCst);
        let cache = KeyCache::new(source.clone(), Duration::from_secs(60));
        assert!(matches!(
            cache.key("a").await,
            Err(Error::KeysUnavailable(_))
        ));
        // Throttled: the second call does not hit the source again.
        assert!(matches!(
            cache.key("a").await,
            Err(Error::KeysUnavailable(_))
        ));
        assert_eq!(source.count(), 1);
    }
}
