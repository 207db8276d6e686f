//! The run context: top-level keys to JSON values, the fold of the run's event log. A persistent
//! map, so handing a snapshot to a running node is O(1) however large the context grows.

use imbl::OrdMap;
use serde_json::{Map, Value};

/// A snapshot of a run's context. Cloning is cheap; changes never affect other snapshots.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Context {
    entries: OrdMap<String, Value>,
}

impl Context {
    /// The value of a top-level key.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entries.get(key)
    }

    /// Sets a top-level key (last writer wins).
    pub(crate) fn set(&mut self, key: impl Into<String>, value: Value) {
        self.entries.insert(key.into(), value);
    }

    /// Shallow-merges a patch: each top-level key of `patch` replaces the context's.
    pub(crate) fn merge(&mut self, patch: &Map<String, Value>) {
        for (key, value) in patch {
            self.entries.insert(key.clone(), value.clone());
        }
    }

    /// Number of top-level keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The size of the context as JSON, in bytes, measured without building the text.
    pub(crate) fn encoded_len(&self) -> usize {
        /// Counts what would be written.
        struct Counter(usize);
        impl std::io::Write for Counter {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0 += bytes.len();
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut counter = Counter(2);
        for (key, value) in &self.entries {
            // `"key":value,` — the quotes, colon and comma, plus the escaped key and value.
            counter.0 += 4;
            // Writing to a counter cannot fail, and every JSON value serializes.
            let _ = serde_json::to_writer(&mut counter, key);
            let _ = serde_json::to_writer(&mut counter, value);
        }
        counter.0
    }

    /// Whether the context is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The whole context as a JSON object (what JavaScript nodes see as `ctx`).
    pub fn to_json(&self) -> Value {
        Value::Object(
            self.entries
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        )
    }

    /// The context without the engine's internal `__` keys: what may be shown to users.
    pub fn to_public_json(&self) -> Value {
        Value::Object(
            self.entries
                .iter()
                .filter(|(k, _)| !k.starts_with("__"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        )
    }
}
