//! Who is calling: verification of ID tokens and parsing of the `Authorization` header.
//!
//! This crate knows nothing about HTTP servers or databases. It answers one question — does this
//! credential prove an identity, and which — and leaves user rows, API-key lookup and status codes
//! to its callers.
//!
//! Two providers, one rule set:
//! - **Firebase** ([`TokenVerifier::firebase`]): RS256 tokens checked against Google's published
//!   keys, fetched through a [`KeySource`] and cached by `Cache-Control: max-age`, with refetches
//!   on an unknown `kid` limited to one a minute (see [`key_cache`]).
//! - **Local** ([`TokenVerifier::local`]): EdDSA tokens signed by a key in the data directory, for
//!   the embedded default with no Firebase project ([`LocalSigningKey`]).
//!
//! Every token must pass all of Google's documented checks: pinned `alg`, a `kid` in the key set,
//! the signature, `aud`, `iss`, `exp` in the future, `iat` and `auth_time` not in the future
//! (within a clock skew), and a `sub` of 1–128 characters. Claims are parsed into strict types.
//! A refused token yields [`Error::Rejected`] with a [`Rejection`] reason meant for logs only.
//!
//! Why not the `firebase-auth` crate: its key URL is a constant, it panics when keys cannot be
//! fetched, it skips the `iat`/`auth_time`/`sub` checks, and an environment variable turns
//! signature checking off (see `docs/decisions.md`).

pub mod claims;
pub mod credentials;
pub mod error;
pub mod jwks_http;
pub mod jws;
pub mod key_cache;
pub mod keys;
pub mod local;
pub mod verifier;

pub use credentials::{API_KEY_PREFIX, Credentials};
pub use error::{Error, Rejection};
pub use jwks_http::{GOOGLE_SECURETOKEN_JWKS_URL, JwksHttpSource};
pub use keys::{KeySet, KeySource, PublicKey, StaticKeySource};
pub use local::{LocalSigningKey, local_subject};
pub use verifier::{Provider, TokenVerifier, VerifiedIdentity, VerifierConfig};
