//! The identity crate's error type.
//!
//! Callers answer every [`Error::Rejected`] the same way (401, no detail): the [`Rejection`]
//! reason exists for logs and tests, never for the client, because telling an attacker which
//! check failed helps them forge the next attempt.

/// Why a token was refused. Logged, never sent to the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// Not three base64url parts, bad JSON, or longer than the size limit.
    Malformed,
    /// The header's `alg` is not the one algorithm this verifier accepts.
    UnsupportedAlgorithm,
    /// The header has no `kid`, or one that is not in the key set.
    UnknownKeyId,
    /// The signature does not verify with the key named by `kid`.
    BadSignature,
    /// A claim is missing or has the wrong JSON type.
    InvalidClaims,
    /// `aud` is not the expected audience.
    WrongAudience,
    /// `iss` is not the expected issuer.
    WrongIssuer,
    /// `iat` lies in the future (beyond the allowed clock skew).
    IssuedInFuture,
    /// `auth_time` lies in the future (beyond the allowed clock skew).
    AuthTimeInFuture,
    /// `sub` is empty or longer than 128 characters.
    InvalidSubject,
}

/// Errors of the identity crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The `Authorization` header is not `Bearer <token>` or `api_key <key>`.
    #[error("malformed Authorization header")]
    MalformedAuthorization,
    /// The token's `exp` has passed.
    #[error("token expired")]
    Expired,
    /// The token failed a check; the reason is for logs only.
    #[error("token rejected: {0:?}")]
    Rejected(Rejection),
    /// The signing keys could not be fetched and none are cached.
    #[error("identity provider keys unavailable: {0}")]
    KeysUnavailable(String),
    /// The local identity key could not be read or created.
    #[error("local identity key at {path}: {source}")]
    LocalKey {
        /// The key file.
        path: std::path::PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
}

impl From<Rejection> for Error {
    fn from(reason: Rejection) -> Self {
        Error::Rejected(reason)
    }
}
