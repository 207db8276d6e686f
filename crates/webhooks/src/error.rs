//! The crate's one error type.

/// What can go wrong with webhooks.
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
    /// No such hook (or workflow) in this tenant.
    #[error("not found")]
    NotFound,
    /// The acting principal lacks a permission the change needs.
    #[error(transparent)]
    Denied(#[from] rbac::Denied),
    /// A permit, lock or tenant rule refused the change.
    #[error(transparent)]
    Rbac(#[from] rbac::Error),
    /// The hook's secret cannot be sealed or opened with this server's keys.
    #[error("the hook's secret: {0}")]
    Secret(#[from] sealed_secrets::SecretError),
    /// A stored row does not read back (a bug or a hand edit).
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sea_orm::DbErr),
}

impl Error {
    pub(crate) fn invalid(field: &str, message: &str) -> Error {
        Error::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl From<db_entity::title::InvalidTitle> for Error {
    fn from(invalid: db_entity::title::InvalidTitle) -> Self {
        Error::Invalid {
            field: invalid.field.to_string(),
            message: invalid.message,
        }
    }
}

impl From<workflows::Error> for Error {
    fn from(error: workflows::Error) -> Self {
        match error {
            workflows::Error::NotFound => Error::NotFound,
            workflows::Error::Database(error) => Error::Database(error),
            other => Error::Corrupt(other.to_string()),
        }
    }
}
