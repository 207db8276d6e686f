//! The workflows crate's error type.

use workflow_engine::{RunStatus, ValidationIssue};

/// Errors of the workflows crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A field breaks a rule; `field` names it as the API does.
    #[error("{field}: {message}")]
    Invalid {
        /// The field, in the API's spelling.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The graph breaks rules: every problem found, each with its node, edge or field.
    #[error("the workflow has {} problems", .0.len())]
    InvalidGraph(Vec<ValidationIssue>),
    /// No such workflow, run or request in this tenant (or not visible).
    #[error("not found")]
    NotFound,
    /// A body field names an object that does not exist in this tenant.
    #[error("{field}: {message}")]
    UnknownReference {
        /// The field, in the API's spelling.
        field: String,
        /// What is missing.
        message: String,
    },
    /// The workflow is disabled: it starts no runs.
    #[error("the workflow is disabled")]
    Disabled,
    /// The run is not in a state that allows this (cancel a finished run, restart one that
    /// did not fail, submit to a run that is not running).
    #[error("the run is {}", .status.as_str())]
    RunState {
        /// Its status.
        status: RunStatus,
    },
    /// The engine is stopping; the caller may retry on another process.
    #[error("the workflow engine is shutting down")]
    ShuttingDown,
    /// The acting principal lacks a permission the change needs.
    #[error(transparent)]
    Denied(#[from] rbac::Denied),
    /// A permit, lock or tenant rule refused the change.
    #[error(transparent)]
    Rbac(#[from] rbac::Error),
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sea_orm::DbErr),
    /// The engine's store failed.
    #[error("engine store: {0}")]
    Engine(String),
}

impl From<db_entity::title::InvalidTitle> for Error {
    fn from(invalid: db_entity::title::InvalidTitle) -> Self {
        Error::Invalid {
            field: invalid.field.to_string(),
            message: invalid.message,
        }
    }
}

impl Error {
    /// An [`Error::Invalid`] for `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl From<workflow_engine::Error> for Error {
    fn from(error: workflow_engine::Error) -> Self {
        use workflow_engine::Error as E;
        match error {
            E::Parse(error) => Error::invalid("workflow", error.to_string()),
            E::InvalidDefinition(issues) => Error::InvalidGraph(issues),
            E::InvalidInput { field, message } => {
                Error::invalid(format!("inputValues.{field}"), message)
            }
            E::RunNotFound | E::RequestNotFound => Error::NotFound,
            E::NotRunning { status } | E::NotRestartable { status } => Error::RunState { status },
            E::ShuttingDown => Error::ShuttingDown,
            other => Error::Engine(other.to_string()),
        }
    }
}
