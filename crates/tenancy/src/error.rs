//! The tenancy crate's error type.

/// Errors of the tenancy crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The user exists but has been disabled by an operator.
    #[error("user is disabled")]
    UserDisabled,
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sea_orm::DbErr),
}
