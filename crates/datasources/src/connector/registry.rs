//! Live connectors, one per datasource, reused between runs (their pools stay warm).
//!
//! An entry is keyed by the datasource id and remembers a fingerprint of the options it was
//! built from: options changed anywhere (this process or another, since every run opens the
//! stored options again) give another fingerprint and a fresh connector. Entries idle longer
//! than [`IDLE`] are dropped when the registry is next used, and at most [`MAX_ENTRIES`] are
//! kept (the least recently used goes first), so the pools' connections stay bounded.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ring::digest::{SHA256, digest};
use uuid::Uuid;

use super::{Connector, ConnectorEnv, connect};
use crate::Error;
use crate::options::OpenOptions;

/// An unused connector is closed after this long.
pub const IDLE: Duration = Duration::from_secs(600);
/// Most connectors kept at once.
pub const MAX_ENTRIES: usize = 256;

#[derive(Debug)]
struct Entry {
    fingerprint: Vec<u8>,
    connector: Arc<dyn Connector>,
    used: Instant,
}

/// The live connectors. Cheap to share behind an `Arc`.
#[derive(Debug, Default)]
pub struct ConnectorRegistry {
    entries: Mutex<HashMap<Uuid, Entry>>,
}

fn fingerprint(options: &OpenOptions) -> Vec<u8> {
    let mut bytes = options.datasource_type.as_str().as_bytes().to_vec();
    bytes.extend_from_slice(&serde_json::to_vec(&options.values).unwrap_or_default());
    digest(&SHA256, &bytes).as_ref().to_vec()
}

impl ConnectorRegistry {
    /// The connector of datasource `id` for `options`, built if missing or stale.
    pub async fn get(
        &self,
        id: Uuid,
        options: &OpenOptions,
        env: &ConnectorEnv,
    ) -> Result<Arc<dyn Connector>, Error> {
        let wanted = fingerprint(options);
        if let Some(found) = self.lookup(id, &wanted) {
            return Ok(found);
        }
        let built: Arc<dyn Connector> = Arc::from(connect(options, env).await?);
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let now = Instant::now();
        entries.retain(|_, entry| now.duration_since(entry.used) < IDLE);
        if entries.len() >= MAX_ENTRIES
            && !entries.contains_key(&id)
            && let Some(oldest) = entries.iter().min_by_key(|(_, e)| e.used).map(|(k, _)| *k)
        {
            entries.remove(&oldest);
        }
        entries.insert(
            id,
            Entry {
                fingerprint: wanted,
                connector: Arc::clone(&built),
                used: now,
            },
        );
        Ok(built)
    }

    fn lookup(&self, id: Uuid, wanted: &[u8]) -> Option<Arc<dyn Connector>> {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let entry = entries.get_mut(&id)?;
        if entry.fingerprint != wanted {
            return None;
        }
        entry.used = Instant::now();
        Some(Arc::clone(&entry.connector))
    }

    /// Drops the connector of datasource `id` (deleted, or its options changed here).
    pub fn forget(&self, id: Uuid) {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(&id);
    }

    /// How many connectors are live.
    pub fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
