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
