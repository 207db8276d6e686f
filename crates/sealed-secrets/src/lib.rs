//! # sealed-secrets
//!
//! Secrets at rest: AES-256-GCM envelopes ([`envelope`]) under a key ring ([`keyring`]).
//!
//! Each secret (a datasource's secret option, a webhook's signing secret) is sealed on its own.
//! The associated data binds the ciphertext to its kind of owner, its tenant, its owner and its
//! field ([`SecretSlot`]), so an envelope copied to another row, tenant, field or kind of
//! object fails to open instead of leaking into the wrong place.

pub mod envelope;
pub mod keyring;

pub use envelope::{Envelope, SecretSlot};
pub use keyring::{Key, KeyId, KeyParseError, KeyRing, KeyRingError};

/// Why a secret could not be sealed or opened. Never carries key or plaintext bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// The envelope names a key the ring does not hold (neither active nor previous).
    #[error("sealed with key `{0}`, which is not configured (JET_ENCRYPTION_PREVIOUS_KEYS)")]
    UnknownKey(String),
    /// Authentication failed: wrong key, tampered ciphertext, or an envelope from another
    /// datasource, tenant or field.
    #[error("the ciphertext does not open under key `{0}` (tampered, or copied from another row)")]
    Forged(String),
    /// The envelope is not `{v: 1, kid, nonce, ct}` with base64 nonce and ciphertext.
    #[error("not a sealed envelope: {0}")]
    Malformed(String),
    /// The system's random source failed.
    #[error("the random source failed")]
    Random,
}
