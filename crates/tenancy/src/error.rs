//! The tenancy crate's error type.

/// Errors of the tenancy crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The user exists but has been disabled by an operator.
    #[error("user is disabled")]
    UserDisabled,
    /// An input breaks a rule; `field` names it as the API does.
    #[error("{field}: {message}")]
    Invalid {
        /// The field, in the API's spelling.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// Role storage failed.
    #[error(transparent)]
    Rbac(#[from] rbac::store::StoreError),
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sea_orm::DbErr),
}
