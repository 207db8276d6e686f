//! The engine's error type: what a caller (or a store implementation) gets back.

use crate::run::RunStatus;
use crate::validate::ValidationIssue;

/// Why an engine call failed. Everything but [`Error::Store`] and [`Error::Conflict`] is the
/// caller's doing and safe to show to a user.
///
/// New variants may be added in minor releases: match with a wildcard arm.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A workflow's JSON could not be read as a definition
    /// ([`WorkflowDefinition::from_json`](crate::WorkflowDefinition::from_json)).
    #[error("the workflow is not a valid definition: {0}")]
    Parse(#[source] serde_json::Error),
    /// The workflow definition is not valid; every problem found is listed.
    #[error("the workflow is not valid: {}", summary(.0))]
    InvalidDefinition(Vec<ValidationIssue>),
    /// A run's input does not match the workflow's input definitions, or a submission does not
    /// fit the request it answers.
    #[error("input `{field}`: {message}")]
    InvalidInput {
        /// The input's name (`data` for a submission).
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// No run with this id (in this namespace). A run of another namespace is reported the
    /// same way.
    #[error("run not found")]
    RunNotFound,
    /// No open request with this id in the run.
    #[error("request not found")]
    RequestNotFound,
    /// The run is not running (it finished, or has not started), so it cannot take a
    /// submission.
    #[error("the run is {}, not running", .status.as_str())]
    NotRunning {
        /// Its status.
        status: RunStatus,
    },
    /// Only a run that a node's failure failed can be restarted.
    #[error("the run is {}: only a run failed by a node can be restarted", .status.as_str())]
    NotRestartable {
        /// Its status.
        status: RunStatus,
    },
    /// [`EngineBuilder::build`](crate::EngineBuilder::build) was called outside a Tokio
    /// runtime.
    #[error("build the engine inside a Tokio runtime")]
    NoRuntime,
    /// The engine is shutting down.
    #[error("the engine is shutting down")]
    ShuttingDown,
    /// Another writer changed the run first (compare-and-swap on the run version). The engine
    /// retries these itself; stores return it.
    #[error("the run changed concurrently")]
    Conflict,
    /// [`Engine::start_as`](crate::Engine::start_as): a run with this id exists already (the
    /// start happened before).
    #[error("a run with id {} exists already", .0.0)]
    RunExists(crate::RunId),
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
