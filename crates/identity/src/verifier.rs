//! Token verification: one algorithm per mode, the key named by `kid`, the signature, then the
//! claim rules.
//!
//! The algorithm is pinned by the mode, never read from the token: Firebase mode accepts only
//! RS256 with Google's keys, local mode only EdDSA with the data directory's key. That closes the
//! classic `alg: none` and "HS256 signed with the public key" forgeries by construction.

use std::sync::Arc;
use std::time::Duration;

use crate::claims::{ClaimRules, Claims};
use crate::error::{Error, Rejection};
use crate::jws::Jws;
use crate::key_cache::KeyCache;
use crate::keys::{KeySource, PublicKey};
use crate::local::{LOCAL_ISSUER, LocalSigningKey};

/// Tunables shared by both modes.
#[derive(Debug, Clone)]
pub struct VerifierConfig {
    /// Allowed clock difference for `iat` and `auth_time`.
    pub clock_skew: Duration,
    /// Fetches of the provider's keys start at most this often.
    pub min_key_refetch_interval: Duration,
}

impl Default for VerifierConfig {
    fn default() -> Self {
        VerifierConfig {
            clock_skew: Duration::from_secs(300),
            min_key_refetch_interval: Duration::from_secs(60),
        }
    }
}

/// Which identity provider issued a verified token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// Firebase Authentication.
    Firebase,
    /// The server's local identity key.
    Local,
}

/// The caller a valid token vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedIdentity {
    /// The provider's stable user id (`sub`).
    pub subject: String,
    /// E-mail address, if the provider has one.
    pub email: Option<String>,
    /// Whether the provider verified the address.
    pub email_verified: bool,
    /// Display name.
    pub name: Option<String>,
    /// Profile picture URL.
    pub picture: Option<String>,
    /// Who issued the token.
    pub provider: Provider,
    /// When the token expires (Unix seconds): a long-lived connection authenticated by it
    /// ends then.
    pub expires_at: i64,
}

#[derive(Debug)]
enum Keys {
    Provider(KeyCache),
    Fixed { kid: String, key: PublicKey },
}

/// Verifies ID tokens for one identity provider.
#[derive(Debug)]
pub struct TokenVerifier {
    provider: Provider,
    algorithm: &'static str,
    rules: ClaimRules,
    keys: Keys,
}

impl TokenVerifier {
    /// Firebase mode: RS256 tokens for `project_id`, keys from `source`.
    pub fn firebase(project_id: &str, source: Arc<dyn KeySource>, config: &VerifierConfig) -> Self {
        TokenVerifier {
            provider: Provider::Firebase,
            algorithm: "RS256",
            rules: ClaimRules {
                issuer: format!("https://securetoken.google.com/{project_id}"),
                audience: project_id.to_string(),
                clock_skew_secs: skew_secs(config),
            },
            keys: Keys::Provider(KeyCache::new(source, config.min_key_refetch_interval)),
        }
    }

    /// Local mode: EdDSA tokens signed by the data directory's key.
    pub fn local(key: &LocalSigningKey, config: &VerifierConfig) -> Self {
        TokenVerifier {
            provider: Provider::Local,
            algorithm: "EdDSA",
            rules: ClaimRules {
                issuer: LOCAL_ISSUER.to_string(),
                audience: LOCAL_ISSUER.to_string(),
                clock_skew_secs: skew_secs(config),
            },
            keys: Keys::Fixed {
                kid: key.kid().to_string(),
                key: key.public_key(),
            },
        }
    }

    /// Which provider this verifier trusts.
    pub fn provider(&self) -> Provider {
        self.provider
    }

    /// Verifies `token` at `now` (Unix seconds).
    pub async fn verify(&self, token: &str, now: i64) -> Result<VerifiedIdentity, Error> {
        let jws = Jws::parse(token)?;
        if jws.header.alg != self.algorithm {
            return Err(Rejection::UnsupportedAlgorithm.into());
        }
        let kid = jws.header.kid.as_deref().ok_or(Rejection::UnknownKeyId)?;
        let key = match &self.keys {
            Keys::Provider(cache) => cache.key(kid).await?,
            Keys::Fixed { kid: known, key } if known == kid => key.clone(),
            Keys::Fixed { .. } => return Err(Rejection::UnknownKeyId.into()),
        };
        if !key.verify(jws.signing_input.as_bytes(), &jws.signature) {
            return Err(Rejection::BadSignature.into());
        }
        let claims = Claims::from_json(&jws.payload()?)?;
        claims.check(&self.rules, now)?;
        Ok(VerifiedIdentity {
            subject: claims.sub,
            email: claims.email,
            email_verified: claims.email_verified.unwrap_or(false),
            name: claims.name,
            picture: claims.picture,
            provider: self.provider,
            expires_at: claims.exp,
        })
    }
}

fn skew_secs(config: &VerifierConfig) -> i64 {
    i64::try_from(config.clock_skew.as_secs()).unwrap_or(i64::MAX)
}
