//! The store's error type. The engine sees it as `workflow_engine::Error::Store`.

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] sea_orm::DbErr),
    /// The change bus refused the store's subscriptions.
    #[error("change bus: {0}")]
    ChangeBus(#[from] change_bus::Error),
    /// A stored row could not be read back (a column of the wrong shape: a corrupted row, or a
    /// row written by an incompatible version).
    #[error("stored row of {table} is unreadable: {problem}")]
    Unreadable {
        /// The table.
        table: &'static str,
        /// What is wrong.
        problem: String,
    },
}

impl Error {
    pub(crate) fn unreadable(table: &'static str, problem: impl std::fmt::Display) -> Self {
        Error::Unreadable {
            table,
            problem: problem.to_string(),
        }
    }
}

impl From<Error> for workflow_engine::Error {
    fn from(error: Error) -> Self {
        workflow_engine::Error::store(error)
    }
}

/// A database error as the engine's: a unique violation is a lost race (a run or an event
/// written concurrently), which the engine retries as a conflict.
pub(crate) fn engine_error(error: sea_orm::DbErr) -> workflow_engine::Error {
    match error.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => workflow_engine::Error::Conflict,
        _ => Error::Database(error).into(),
    }
}
