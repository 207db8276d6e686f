//! Public keys, key sets, and where key sets come from.
//!
//! A [`KeySource`] produces a [`KeySet`] (keys by `kid`, plus how long it may be cached). The
//! server uses [`crate::JwksHttpSource`] against Google; tests inject a [`StaticKeySource`] built
//! from their own key, so every rule can be tested offline.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

/// A public key able to check one signature algorithm.
#[derive(Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// RSA modulus and exponent, big-endian, for RS256.
    Rsa {
        /// Modulus.
        n: Vec<u8>,
        /// Public exponent.
        e: Vec<u8>,
    },
    /// A raw 32-byte Ed25519 public key, for EdDSA.
    Ed25519(Vec<u8>),
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PublicKey::Rsa { n, .. } => write!(f, "Rsa({} bits)", n.len() * 8),
            PublicKey::Ed25519(_) => f.write_str("Ed25519"),
        }
    }
}

impl PublicKey {
    /// Verifies `signature` over `message`; RSA keys check RS256, Ed25519 keys check EdDSA.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match self {
            PublicKey::Rsa { n, e } => ring::signature::RsaPublicKeyComponents { n, e }
                .verify(
                    &ring::signature::RSA_PKCS1_2048_8192_SHA256,
                    message,
                    signature,
                )
                .is_ok(),
            PublicKey::Ed25519(key) => {
                ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, key)
                    .verify(message, signature)
                    .is_ok()
            }
        }
    }
}

/// Keys by `kid`, and how long they may be cached.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    /// The keys.
    pub keys: HashMap<String, PublicKey>,
    /// How long the set may be used before it must be fetched again.
    pub max_age: Duration,
}

#[derive(Deserialize)]
struct JwkSet {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    kid: String,
    kty: String,
    #[serde(default)]
    alg: Option<String>,
    n: Option<String>,
    e: Option<String>,
}

impl KeySet {
    /// Parses a JWK Set (`{"keys":[{"kid","kty":"RSA","n","e"}]}`), keeping the RSA keys meant
    /// for RS256. Keys of other types are skipped: a provider may publish them for other uses.
    pub fn from_jwks(json: &[u8], max_age: Duration) -> Result<Self, String> {
        let set: JwkSet =
            serde_json::from_slice(json).map_err(|e| format!("not a JWK set: {e}"))?;
        let mut keys = HashMap::new();
        for jwk in set.keys {
            if jwk.kty != "RSA" || jwk.alg.as_deref().is_some_and(|alg| alg != "RS256") {
                continue;
            }
            let (Some(n), Some(e)) = (jwk.n, jwk.e) else {
                return Err(format!("RSA key {} lacks n or e", jwk.kid));
            };
            let decode = |part: &str| {
                URL_SAFE_NO_PAD
                    .decode(part.trim_end_matches('='))
                    .map_err(|_| format!("key {}: bad base64url", jwk.kid))
            };
            keys.insert(
                jwk.kid.clone(),
                PublicKey::Rsa {
                    n: decode(&n)?,
                    e: decode(&e)?,
                },
            );
        }
        if keys.is_empty() {
            return Err("the JWK set holds no RS256 key".into());
        }
        Ok(KeySet { keys, max_age })
    }
}

/// Somewhere key sets come from.
#[async_trait]
pub trait KeySource: Send + Sync + std::fmt::Debug {
    /// Fetches the current key set. Errors are human-readable and contain no secrets.
    async fn fetch(&self) -> Result<KeySet, String>;
}

/// A fixed key set: for tests and for deployments that pin their keys.
#[derive(Debug, Clone)]
pub struct StaticKeySource(pub KeySet);

#[async_trait]
impl KeySource for StaticKeySource {
    async fn fetch(&self) -> Result<KeySet, String> {
        Ok(self.0.clone())
    }
}

/// Reads `max-age` from a `Cache-Control` value.
pub fn max_age_from_cache_control(value: &str) -> Option<Duration> {
    value.split(',').find_map(|directive| {
        let (name, seconds) = directive.trim().split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("max-age") {
            return None;
        }
        seconds.trim().parse::<u64>().ok().map(Duration::from_secs)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_is_read_from_cache_control() {
        let cases = [
            (
                "public, max-age=19770, must-revalidate, no-transform",
                Some(19770),
            ),
            ("max-age=60", Some(60)),
            ("MAX-AGE = 5", Some(5)),
            ("no-cache", None),
            ("max-age=soon", None),
            ("", None),
        ];
        for (header, expected) in cases {
            assert_eq!(
                max_age_from_cache_control(header),
                expected.map(Duration::from_secs),
                "{header}"
            );
        }
    }

    #[test]
    fn jwks_keeps_rs256_keys_and_refuses_empty_sets() {
        let json = br#"{"keys":[
            {"kid":"a","kty":"RSA","alg":"RS256","use":"sig","n":"AQAB","e":"AQAB"},
            {"kid":"b","kty":"EC","crv":"P-256","x":"AA","y":"AA"},
            {"kid":"c","kty":"RSA","alg":"RS512","n":"AQAB","e":"AQAB"}
        ]}"#;
        let set = KeySet::from_jwks(json, Duration::from_secs(1)).unwrap();
        assert_eq!(set.keys.len(), 1);
        assert!(set.keys.contains_key("a"));

        assert!(KeySet::from_jwks(br#"{"keys":[]}"#, Duration::ZERO).is_err());
        assert!(KeySet::from_jwks(b"<html>", Duration::ZERO).is_err());
        assert!(
            KeySet::from_jwks(br#"{"keys":[{"kid":"x","kty":"RSA"}]}"#, Duration::ZERO).is_err()
        );
    }
}
