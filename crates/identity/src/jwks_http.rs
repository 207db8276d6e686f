//! A [`KeySource`] that downloads a JWK Set over HTTPS (Google's Firebase key endpoint).
//!
//! The TLS stack is rustls on `ring` with the webpki root certificates, configured on the client
//! itself rather than through rustls's process-wide default provider, so this crate installs no
//! global state.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::keys::{KeySet, KeySource, max_age_from_cache_control};

/// Google's JWK endpoint for Firebase ID tokens.
pub const GOOGLE_SECURETOKEN_JWKS_URL: &str =
    "https://www.googleapis.com/service_accounts/v1/jwk/securetoken@system.gserviceaccount.com";

/// Used when the response has no usable `Cache-Control: max-age`.
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(3600);
/// Bound on the key set response (Google's is about 2 KB).
const MAX_BODY: usize = 256 * 1024;

/// Fetches a JWK Set from a URL.
#[derive(Debug, Clone)]
pub struct JwksHttpSource {
    client: reqwest::Client,
    url: String,
}

impl JwksHttpSource {
    /// A source for `url`, with a 10-second request timeout.
    pub fn new(url: impl Into<String>) -> Result<Self, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS configuration: {e}"))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(JwksHttpSource {
            client,
            url: url.into(),
        })
    }
}

#[async_trait]
impl KeySource for JwksHttpSource {
    async fn fetch(&self) -> Result<KeySet, String> {
        let response = self
            .client
            .get(&self.url)
            .send()
            .await
            .map_err(|e| format!("GET {}: {e}", self.url))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("GET {}: status {status}", self.url));
        }
        let max_age = response
            .headers()
            .get(reqwest::header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .and_then(max_age_from_cache_control)
            .unwrap_or(DEFAULT_MAX_AGE);
        let body = response
            .bytes()
            .await
            .map_err(|e| format!("GET {}: {e}", self.url))?;
        if body.len() > MAX_BODY {
            return Err(format!(
                "GET {}: key set larger than {MAX_BODY} bytes",
                self.url
            ));
        }
        KeySet::from_jwks(&body, max_age)
    }
}
