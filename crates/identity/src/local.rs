//! Local identity: the embedded default's own token issuer, for running without Firebase.
//!
//! With no Firebase project configured, the server trusts EdDSA (Ed25519) tokens signed by a key
//! kept in its data directory (`local-identity.key`, mode `0600`). `cargo xtask token` mints such
//! tokens for development. Anyone who can read that file can become any user, which is why the
//! server refuses this mode in production unless told explicitly.
//!
//! Ed25519 rather than RSA because `ring` can generate it; the verifier still pins the algorithm
//! per mode, so an RS256 token is refused here exactly as an EdDSA token is refused in Firebase
//! mode.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde_json::json;

use crate::error::Error;
use crate::jws;
use crate::keys::PublicKey;

/// Issuer and audience of local tokens.
pub const LOCAL_ISSUER: &str = "jet-local";
/// The key file's name inside the data directory.
pub const LOCAL_KEY_FILE: &str = "local-identity.key";

/// The data directory's signing key.
#[derive(Debug)]
pub struct LocalSigningKey {
    pair: Ed25519KeyPair,
    kid: String,
}

impl LocalSigningKey {
    /// Loads the key from `data_dir`, creating it on first use.
    pub fn load_or_create(data_dir: &Path) -> Result<Self, Error> {
        let path = data_dir.join(LOCAL_KEY_FILE);
        let local_key_error = |source| Error::LocalKey {
            path: path.clone(),
            source,
        };
        let pkcs8 = keyfile::load_or_create(&path, || {
            Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
                .map(|doc| doc.as_ref().to_vec())
                .map_err(|_| std::io::Error::other("the system random source failed"))
        })
        .map_err(local_key_error)?;
        let pair = Ed25519KeyPair::from_pkcs8(&pkcs8).map_err(|_| {
            local_key_error(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "not an Ed25519 PKCS#8 key",
            ))
        })?;
        Ok(Self::from_pair(pair))
    }

    fn from_pair(pair: Ed25519KeyPair) -> Self {
        let digest = ring::digest::digest(&ring::digest::SHA256, pair.public_key().as_ref());
        let kid = hex::encode(&digest.as_ref()[..8]);
        LocalSigningKey { pair, kid }
    }

    /// Where the key of `data_dir` lives.
    pub fn path_in(data_dir: &Path) -> PathBuf {
        data_dir.join(LOCAL_KEY_FILE)
    }

    /// The key id written into every token's header.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public half, for the verifier.
    pub fn public_key(&self) -> PublicKey {
        PublicKey::Ed25519(self.pair.public_key().as_ref().to_vec())
    }

    /// Mints a token for `email` valid for `ttl` from `now` (Unix seconds).
    ///
    /// The subject is derived from the lower-cased address, so the same address always maps to
    /// the same user. The address counts as verified: only the holder of the server's local key
    /// (the operator) can mint, so the operator vouches for it, and invitations to it are taken up.
    pub fn mint(&self, email: &str, name: Option<&str>, ttl: Duration, now: i64) -> String {
        let email = email.trim().to_lowercase();
        let header = json!({"alg": "EdDSA", "kid": self.kid, "typ": "JWT"});
        let ttl_secs = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
        let mut claims = json!({
            "iss": LOCAL_ISSUER,
            "aud": LOCAL_ISSUER,
            "sub": local_subject(&email),
            "iat": now,
            "auth_time": now,
            "exp": now.saturating_add(ttl_secs),
            "email": email,
            "email_verified": true,
        });
        if let Some(name) = name {
            claims["name"] = json!(name);
        }
        let signing_input = format!(
            "{}.{}",
            jws::encode(header.to_string().as_bytes()),
            jws::encode(claims.to_string().as_bytes())
        );
        let signature = self.pair.sign(signing_input.as_bytes());
        format!("{signing_input}.{}", jws::encode(signature.as_ref()))
    }
}

/// The stable subject of a local user: `local-` and 32 hex characters of SHA-256(email).
pub fn local_subject(email: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, email.as_bytes());
    format!("local-{}", hex::encode(&digest.as_ref()[..16]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = LocalSigningKey::load_or_create(dir.path()).unwrap();
        let second = LocalSigningKey::load_or_create(dir.path()).unwrap();
        assert_eq!(first.kid(), second.kid());
        assert_eq!(first.public_key(), second.public_key());
    }

    #[test]
    fn a_corrupt_key_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = LocalSigningKey::path_in(dir.path());
        keyfile::load_or_create(&path, || Ok(b"garbage".to_vec())).unwrap();
        let error = LocalSigningKey::load_or_create(dir.path()).unwrap_err();
        assert!(
            error.to_string().contains("not an Ed25519 PKCS#8 key"),
            "{error}"
        );
    }

    #[test]
    fn the_subject_ignores_case_and_surrounding_space() {
        let dir = tempfile::tempdir().unwrap();
        let key = LocalSigningKey::load_or_create(dir.path()).unwrap();
        let a = key.mint(" Alice@Example.com ", None, Duration::from_secs(60), 0);
        let b = key.mint("alice@example.com", None, Duration::from_secs(60), 0);
        let subject = |t: &str| {
            let payload = jws::Jws::parse(t).unwrap().payload().unwrap();
            serde_json::from_slice::<serde_json::Value>(&payload).unwrap()["sub"].clone()
        };
        assert_eq!(subject(&a), subject(&b));
        assert_eq!(subject(&a).as_str().unwrap().len(), "local-".len() + 32);
    }
}
