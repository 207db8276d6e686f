//! What a successful run returns.

use std::time::Duration;

/// The console method a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsoleLevel {
    /// `console.log` and `console.info`.
    Log,
    /// `console.warn`.
    Warn,
    /// `console.error`.
    Error,
    /// `console.debug`.
    Debug,
}

/// One captured console line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleLine {
    /// Which method printed it.
    pub level: ConsoleLevel,
    /// The arguments, strings as-is and other values as JSON, joined by spaces.
    pub text: String,
}

/// A finished run.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The script's result as JSON (`undefined` becomes `null`).
    pub value: serde_json::Value,
    /// Captured console output, within the console limits.
    pub console: Vec<ConsoleLine>,
    /// Console lines beyond the limits, counted but not kept.
    pub console_dropped: usize,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Largest JavaScript heap observed, sampled after compilation and after every job; a
    /// transient peak inside one job can be higher, never above the memory limit.
    pub peak_heap_bytes: usize,
}
