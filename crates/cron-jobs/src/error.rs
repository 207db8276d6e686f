//! The crate's one error type.

/// What can go wrong with cron jobs.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The cron expression does not parse, or never fires.
    #[error("invalid schedule: {0}")]
    InvalidSchedule(String),
    /// Not an IANA time zone name.
    #[error("unknown time zone `{0}` (an IANA name such as Europe/Berlin, or UTC)")]
    UnknownTimeZone(String),
    /// A field breaks a rule; `field` names it as the API does.
    #[error("{field}: {message}")]
    Invalid {
        /// The field, in the API's spelling.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A field names an object that does not exist in this tenant (the target, the folder).
    #[error("{field}: {message}")]
    UnknownReference {
        /// The field, in the API's spelling.
        field: String,
        /// What is missing.
        message: String,
    },
    /// No such job in this tenant.
    #[error("not found")]
    NotFound,
    /// The acting principal lacks a permission the change needs.
    #[error(transparent)]
    Denied(#[from] rbac::Denied),
    /// A permit, lock or tenant rule refused the change.
    #[error(transparent)]
    Rbac(#[from] rbac::Error),
    /// Looking the target up failed for another reason than its absence.
    #[error("target: {0}")]
    Target(String),
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
