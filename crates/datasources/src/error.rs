//! The datasources crate's error type.

use uuid::Uuid;

use crate::secrets::SecretError;

/// Errors of the datasources crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An input breaks a rule; `field` names it as the API does (`datasourceOptions.port`).
    #[error("{field}: {message}")]
    Invalid {
        /// The field, in the API's spelling.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A stored datasource's secrets cannot be opened (unknown key, tampered or moved
    /// ciphertext). Names the datasource, never the secret.
    #[error("the secrets of datasource {datasource_id} cannot be opened: {source}")]
    Unopenable {
        /// The datasource.
        datasource_id: Uuid,
        /// Why.
        #[source]
        source: SecretError,
    },
    /// Sealing failed (the system's random source failed).
    #[error(transparent)]
    Seal(SecretError),
    /// The connector could not connect (closed port, refused login, TLS). The message is
    /// scrubbed of secrets.
    #[error("connection failed: {0}")]
    Connection(String),
    /// A connect, statement or request ran over its time limit.
    #[error("timed out: {0}")]
    Timeout(String),
    /// The server refused or failed the query. The message is scrubbed of secrets.
    #[error("query failed: {0}")]
    Query(String),
    /// The network policy refuses the address.
    #[error("network policy: {0}")]
    NetworkDenied(String),
    /// The type does not do this (introspecting a broker, say).
    #[error("{0}")]
    Unsupported(String),
    /// Too many runs of this tenant at once.
    #[error("too many queries of this tenant are running; try again shortly")]
    Busy,
    /// No such object in this tenant.
    #[error("not found")]
    NotFound,
    /// A body field names an object that does not exist in this tenant.
    #[error("{field}: {message}")]
    UnknownReference {
        /// The field, in the API's spelling.
        field: &'static str,
        /// What is missing.
        message: String,
    },
    /// The datasource is used by data queries; deleting it needs `force`.
    #[error("the datasource is used by {} data queries; delete them first or force", queries.len())]
    InUse {
        /// The queries using it: id and title.
        queries: Vec<(Uuid, String)>,
    },
    /// The acting principal lacks a permission the change needs.
    #[error(transparent)]
    Denied(#[from] rbac::Denied),
    /// A permit, lock or tenant rule refused the change.
    #[error(transparent)]
    Rbac(#[from] rbac::Error),
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sea_orm::DbErr),
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
