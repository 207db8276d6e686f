//! SQL results: `{rows, columns[{name, type}], rowCount, truncated, durationMs}`, built row by
//! row under the row and byte caps.

use serde_json::{Map, Value, json};

use super::RunLimits;

/// A result column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// Its name.
    pub name: String,
    /// The database's type name (`INT8`, `VARCHAR`).
    pub type_name: String,
}

/// Rows of a SQL query.
#[derive(Debug, Clone, PartialEq)]
pub struct SqlResult {
    /// The rows, as objects keyed by column name.
    pub rows: Vec<Map<String, Value>>,
    /// The columns.
    pub columns: Vec<Column>,
    /// Rows returned, or rows affected by a statement that returns none.
    pub row_count: u64,
    /// Whether rows were dropped by the row or byte cap.
    pub truncated: bool,
    /// Time taken.
    pub duration_ms: u64,
}

impl SqlResult {
    /// As the API shows it.
    pub fn to_json(&self) -> Value {
        json!({
            "rows": self.rows,
            "columns": self.columns.iter().map(|c| json!({"name": c.name, "type": c.type_name})).collect::<Vec<_>>(),
            "rowCount": self.row_count,
            "truncated": self.truncated,
            "durationMs": self.duration_ms,
        })
    }
}

/// Collects rows until a cap is reached.
#[derive(Debug)]
pub(crate) struct Collector {
    limits: RunLimits,
    bytes: usize,
    pub(crate) result: SqlResult,
}

impl Collector {
    pub(crate) fn new(limits: RunLimits) -> Self {
        Collector {
            limits,
            bytes: 0,
            result: SqlResult {
                rows: Vec::new(),
                columns: Vec::new(),
                row_count: 0,
                truncated: false,
                duration_ms: 0,
            },
        }
    }

    /// Adds a row; `false` when the caps are reached (the caller stops reading).
    pub(crate) fn push(&mut self, row: Map<String, Value>) -> bool {
        let size: usize = row.iter().map(|(k, v)| k.len() + approximate_size(v)).sum();
        if self.result.rows.len() >= self.limits.max_rows
            || self.bytes + size > self.limits.max_bytes
        {
            self.result.truncated = true;
            return false;
        }
        self.bytes += size;
        self.result.rows.push(row);
        self.result.row_count += 1;
        true
    }
}

fn approximate_size(value: &Value) -> usize {
    match value {
        Value::Null | Value::Bool(_) => 5,
        Value::Number(_) => 12,
        Value::String(text) => text.len() + 2,
        Value::Array(items) => items.iter().map(approximate_size).sum::<usize>() + 2,
        Value::Object(map) => {
            map.iter()
                .map(|(k, v)| k.len() + approximate_size(v))
                .sum::<usize>()
                + 2
        }
    }
}
