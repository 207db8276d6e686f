//! Test ID tokens: RS256 signed with the committed keys in `keys/`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{KeyPair, RSA_PKCS1_SHA256, RsaKeyPair, RsaPublicKeyComponents};
use serde_json::{Value, json};

/// The Firebase project id the test servers are configured with.
pub const PROJECT_ID: &str = "jet-test-project";
/// The `kid` of [`TestKey::primary`].
pub const PRIMARY_KID: &str = "test-primary";

static PRIMARY: &[u8] = include_bytes!("../keys/test-rsa-primary.pk8");
static OTHER: &[u8] = include_bytes!("../keys/test-rsa-other.pk8");

/// One of the committed RSA test keys.
#[derive(Debug)]
pub struct TestKey {
    pair: RsaKeyPair,
    kid: &'static str,
}

impl TestKey {
    /// The key the test servers trust.
    pub fn primary() -> Self {
        Self::load(PRIMARY, PRIMARY_KID)
    }

    /// A key nobody trusts, presented under the primary `kid` to test signature checks.
    pub fn other() -> Self {
        Self::load(OTHER, PRIMARY_KID)
    }

    fn load(der: &[u8], kid: &'static str) -> Self {
        TestKey {
            pair: RsaKeyPair::from_pkcs8(der).expect("committed test key is valid PKCS#8"),
            kid,
        }
    }

    /// The JWK Set that publishes this key under its `kid`.
    pub fn jwks(&self) -> Value {
        let components: RsaPublicKeyComponents<Vec<u8>> = self.pair.public().into();
        json!({"keys": [{
            "kid": self.kid, "kty": "RSA", "alg": "RS256", "use": "sig",
            "n": b64(&components.n),
            "e": b64(&components.e),
        }]})
    }

    /// Signs `claims` under `header` with RS256.
    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let mut signature = vec![0; self.pair.public().modulus_len()];
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                input.as_bytes(),
                &mut signature,
            )
            .expect("RSA signing");
        format!("{input}.{}", b64(&signature))
    }

    /// The standard header for this key.
    pub fn header(&self) -> Value {
        json!({"alg": "RS256", "kid": self.kid, "typ": "JWT"})
    }

    /// A valid Firebase ID token for `subject` at time `now`.
    pub fn firebase_token(&self, subject: &str, email: &str, now: i64) -> String {
        self.sign(&self.header(), &firebase_claims(subject, email, now))
    }

    /// The DER-encoded public key, as an attacker would find it.
    pub fn public_key_der(&self) -> Vec<u8> {
        self.pair.public_key().as_ref().to_vec()
    }
}

/// Valid Firebase claims for [`PROJECT_ID`].
pub fn firebase_claims(subject: &str, email: &str, now: i64) -> Value {
    json!({
        "iss": format!("https://securetoken.google.com/{PROJECT_ID}"),
        "aud": PROJECT_ID,
        "sub": subject,
        "iat": now - 5,
        "auth_time": now - 5,
        "exp": now + 3600,
        "email": email,
        "email_verified": true,
        "name": "Test User",
    })
}

/// Signs with HS256 using `secret` — the forgery that uses a public key as an HMAC secret.
pub fn sign_hs256(secret: &[u8], header: &Value, claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    let tag = ring::hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", b64(tag.as_ref()))
}

/// An unsigned token (`alg: none`).
pub fn unsigned(claims: &Value) -> String {
    format!(
        "{}.{}.",
        b64(json!({"alg": "none", "typ": "JWT"}).to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    )
}

/// Current Unix time in seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}
