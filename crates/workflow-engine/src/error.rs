//! The engine's error type: what a caller (or a store implementation) gets back.

use crate::validate::ValidationIssue;

/// Why an engine call failed. Everything but [`Error::Store`] and [`Error::Conflict`] is the
/// caller's doing and safe to show to a user.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The workflow definition is not valid; every problem found is listed.
    #[error("the workflow is not valid: {}", summary(.0))]
    Invalid(Vec<ValidationIssue>),
    /// A run's input does not match the workflow's input definitions.
    #[error("input `{field}`: {message}")]
    InvalidInput {
        /// The input's name.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// No run with this id (in this namespace).
    #[error("run not found")]
    RunNotFound,
    /// No pending request with this id.
    #[error("request not found")]
    RequestNotFound,
    /// The call does not fit the run's current state (restart a run that did not fail, submit to
    /// a request already answered, …).
    #[error("{0}")]
    InvalidState(String),
    /// The engine is shutting down.
    #[error("the engine is shutting down")]
    ShuttingDown,
    /// Another writer changed the run first (compare-and-swap on the run version). The engine
    /// retries these itself; stores return it.
    #[error("the run changed concurrently")]
    Conflict,
    /// The store failed.
    #[error("store failure: {0}")]
    Store(Box<dyn std::error::Error + Send + Sync>),
}

impl Error {
    /// Wraps a store implementation's failure.
    pub fn store(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Error::Store(error.into())
    }
}

fn summary(issues: &[ValidationIssue]) -> String {
    issues
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
