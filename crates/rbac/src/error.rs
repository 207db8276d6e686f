//! The rbac crate's error type.

use crate::catalog::Permission;
use crate::policy::Denied;

/// Errors of role, grant and API-key management.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The permit does not cover this operation (a bug in the caller).
    #[error("the permit does not cover {0}")]
    PermitMismatch(Permission),
    /// The acting principal lacks a permission this operation needs beyond its permit (cloning
    /// needs `read` on the source).
    #[error(transparent)]
    Denied(#[from] Denied),
    /// An input breaks a rule.
    #[error("{field}: {message}")]
    Invalid {
        /// The field, in the API's spelling.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The change would give more rights than the acting principal holds.
    #[error("cannot grant more rights than the acting principal holds")]
    Escalation,
    /// Built-in and global roles cannot be changed or deleted from a tenant.
    #[error("built-in and global roles cannot be changed")]
    ProtectedRole,
    /// The change conflicts with existing data (e.g. a duplicate title).
    #[error("{0}")]
    Conflict(String),
    /// A body field names an object that does not exist in this tenant (another tenant's id
    /// is the same answer as a missing one). Not "not found": the route's own object exists.
    #[error("{field}: {message}")]
    UnknownReference {
        /// The field, in the API's spelling.
        field: &'static str,
        /// What is missing.
        message: String,
    },
    /// The tenant is disabled: it accepts no change but re-enabling.
    #[error("the tenant is disabled")]
    TenantDisabled,
    /// No such object in this tenant.
    #[error("not found")]
    NotFound,
    /// The system random source failed.
    #[error("the system random source failed")]
    Random,
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
