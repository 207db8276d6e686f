//! The sandbox crate's error type: why a run produced no result.

use std::time::Duration;

/// Why a run failed. Every variant except [`Error::Engine`] is the script's doing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The run exceeded its time budget and was interrupted.
    #[error("the script ran longer than {limit:?} and was stopped")]
    Timeout {
        /// The budget.
        limit: Duration,
    },
    /// The run tried to use more memory than allowed.
    #[error("the script exceeded its memory limit of {limit} bytes")]
    MemoryLimit {
        /// The cap.
        limit: usize,
    },
    /// Recursion went deeper than the stack limit.
    #[error("the script exceeded the maximum call stack size")]
    StackOverflow,
    /// The script threw (or failed to compile).
    #[error("{message}")]
    Script {
        /// `Name: message`, as JavaScript prints it.
        message: String,
        /// 1-based line in the user's code, when known.
        line: Option<u32>,
        /// 1-based column in the user's code, when known.
        column: Option<u32>,
        /// The JavaScript stack trace, when there is one.
        stack: Option<String>,
    },
    /// The result cannot be represented as JSON (a function, a symbol, a BigInt, a cycle).
    #[error("the script's result is not JSON: {reason}")]
    InvalidResult {
        /// What was wrong.
        reason: String,
    },
    /// The result is larger than allowed.
    #[error("the script's result is larger than {limit} bytes")]
    OutputTooLarge {
        /// The cap.
        limit: usize,
    },
    /// The engine itself failed (a bug or resource exhaustion on the host).
    #[error("sandbox engine failure: {0}")]
    Engine(String),
}
