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
    /// A body field names an object that does not exist in this tenant (another tenant's id
    /// is the same answer as a missing one). Not "not found": the route's own object exists.
    #[error("{field}: {message}")]
    UnknownReference {
        /// The field, in the API's spelling.
        field: &'static str,
        /// What is missing.
        message: String,
    },
    /// No such object in this tenant.
    #[error("not found")]
    NotFound,
    /// The change conflicts with existing data.
    #[error("{0}")]
    Conflict(String),
    /// The tenant is disabled: only re-enabling it is allowed.
    #[error("the tenant is disabled")]
    TenantDisabled,
    /// The change would leave the tenant without an active admin.
    #[error("the last admin of a tenant cannot be removed or demoted")]
    LastAdmin,
    /// The acting principal lacks a permission the change needs (on one of its objects).
    #[error(transparent)]
    Denied(#[from] rbac::Denied),
    /// A role or grant rule refused the change.
    #[error(transparent)]
    Rbac(#[from] rbac::Error),
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sea_orm::DbErr),
}

impl From<db_entity::title::InvalidTitle> for Error {
    fn from(invalid: db_entity::title::InvalidTitle) -> Self {
        Error::Invalid {
            field: invalid.field,
            message: invalid.message,
        }
    }
}
