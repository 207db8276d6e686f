//! How a hook checks a delivery.
//!
//! The server hands over what the request presented ([`Presented`]: the headers that matter and
//! the raw body) and the hook's configured [`HookAuth`]; [`HookAuth::check`] answers whether the
//! delivery may start a run, or why not ([`Refused`], one reason per HTTP error code, so a
//! sender can tell a wrong secret from a stale clock).
//!
//! The signature (mode `hmac`) is `sha256=` + the lower-case hex of HMAC-SHA256(secret,
//! `timestamp + "." + body`), sent in [`SIGNATURE_HEADER`] with the Unix timestamp (seconds) in
//! [`TIMESTAMP_HEADER`] and a unique id in [`DELIVERY_HEADER`]: signing the timestamp with the
//! body means a captured delivery cannot be replayed with a fresh timestamp, and the window
//! ([`WINDOW_SECS`]) bounds how long the delivery id must be remembered to refuse a replay
//! inside it (the caller's job: this module does not keep state).
//!
//! Secrets are compared in constant time: a presented value and the configured one are each
//! given to HMAC under a key made per comparison, and the tags compared with `ring`'s
//! constant-time verification, so how long a refusal takes says nothing about the secret.

use base64::Engine as _;
use ring::hmac;

/// The signature header of mode `hmac`.
pub const SIGNATURE_HEADER: &str = "X-Jet-Signature";
/// The Unix timestamp (seconds) the signature covers.
pub const TIMESTAMP_HEADER: &str = "X-Jet-Timestamp";
/// A unique id per delivery (a retry of the same delivery keeps it).
pub const DELIVERY_HEADER: &str = "X-Jet-Delivery";
/// How far a signed timestamp may be from the server's clock, either way.
pub const WINDOW_SECS: i64 = 5 * 60;

/// What a hook requires of a delivery.
#[derive(Clone, PartialEq, Eq)]
pub enum HookAuth {
    /// Nothing (anyone who knows the hook's URL).
    None,
    /// `Authorization: Basic` with these credentials.
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: String,
    },
    /// `Authorization: Bearer` with this token.
    Bearer {
        /// The token.
        token: String,
    },
    /// This secret in the header `name`.
    Header {
        /// The header's name.
        name: String,
        /// The secret it must carry.
        secret: String,
    },
    /// An HMAC-SHA256 signature with this secret (see the module documentation).
    Hmac {
        /// The signing secret.
        secret: Vec<u8>,
    },
}

impl std::fmt::Debug for HookAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never a secret, not even in a debug print.
        f.write_str(self.mode())
    }
}

/// What a delivery presented: the headers that matter, and the body as received.
#[derive(Debug, Clone, Copy, Default)]
pub struct Presented<'a> {
    /// `Authorization`.
    pub authorization: Option<&'a str>,
    /// The header a `header` mode hook names.
    pub named_header: Option<&'a str>,
    /// [`SIGNATURE_HEADER`].
    pub signature: Option<&'a str>,
    /// [`TIMESTAMP_HEADER`].
    pub timestamp: Option<&'a str>,
    /// [`DELIVERY_HEADER`].
    pub delivery_id: Option<&'a str>,
    /// The raw body.
    pub body: &'a [u8],
}

/// A delivery that passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// Its delivery id, when it carried one (required by mode `hmac`): what the caller
    /// remembers for [`WINDOW_SECS`] to refuse a replay.
    pub delivery_id: Option<String>,
}

/// Why a delivery was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// The credentials the mode needs are missing.
    #[error("this hook needs credentials ({0})")]
    MissingCredentials(&'static str),
    /// The credentials are wrong.
    #[error("wrong credentials")]
    BadCredentials,
    /// The signature, its timestamp or the delivery id is missing or malformed.
    #[error("{0}")]
    MalformedSignature(String),
    /// The signature does not match the body and timestamp.
    #[error("the signature does not match the body and timestamp")]
    BadSignature,
    /// The timestamp is outside the window.
    #[error("the timestamp is {0} s from the server's clock (at most {WINDOW_SECS} s)")]
    StaleTimestamp(i64),
}

impl HookAuth {
    /// The mode's name as the API spells it.
    pub fn mode(&self) -> &'static str {
        match self {
            HookAuth::None => "none",
            HookAuth::Basic { .. } => "basic",
            HookAuth::Bearer { .. } => "bearer",
            HookAuth::Header { .. } => "header",
            HookAuth::Hmac { .. } => "hmac",
        }
    }

    /// Checks `presented` at `now` (Unix seconds).
    pub fn check(&self, presented: &Presented<'_>, now: i64) -> Result<Checked, Refused> {
        let delivery_id = presented.delivery_id.map(str::to_string);
        match self {
            HookAuth::None => {}
            HookAuth::Basic { username, password } => {
                let encoded = scheme(presented.authorization, "Basic")
                    .ok_or(Refused::MissingCredentials("Authorization: Basic"))?;
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(encoded.trim())
                    .map_err(|_| Refused::BadCredentials)?;
                let expected = format!("{username}:{password}");
                if !same_secret(&decoded, expected.as_bytes()) {
                    return Err(Refused::BadCredentials);
                }
            }
            HookAuth::Bearer { token } => {
                let presented = scheme(presented.authorization, "Bearer")
                    .ok_or(Refused::MissingCredentials("Authorization: Bearer"))?;
                if !same_secret(presented.trim().as_bytes(), token.as_bytes()) {
                    return Err(Refused::BadCredentials);
                }
            }
            HookAuth::Header { secret, .. } => {
                let presented = presented
                    .named_header
                    .ok_or(Refused::MissingCredentials("the hook's secret header"))?;
                if !same_secret(presented.as_bytes(), secret.as_bytes()) {
                    return Err(Refused::BadCredentials);
                }
            }
            HookAuth::Hmac { secret } => check_signature(secret, presented, now)?,
        }
        Ok(Checked { delivery_id })
    }
}

/// The signature header's value for `body` sent at `timestamp` (what a sender computes; the
/// server's tests and the documentation's example use it).
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let tag = hmac::sign(&key, &signed_message(timestamp, body));
    format!("sha256={}", hex(tag.as_ref()))
}

fn check_signature(secret: &[u8], presented: &Presented<'_>, now: i64) -> Result<(), Refused> {
    let signature = presented
        .signature
        .ok_or_else(|| Refused::MalformedSignature(format!("{SIGNATURE_HEADER} is missing")))?;
    let timestamp: i64 = presented
        .timestamp
        .ok_or_else(|| Refused::MalformedSignature(format!("{TIMESTAMP_HEADER} is missing")))?
        .trim()
        .parse()
        .map_err(|_| {
            Refused::MalformedSignature(format!("{TIMESTAMP_HEADER} must be Unix seconds"))
        })?;
    if presented.delivery_id.is_none_or(|id| id.trim().is_empty()) {
        return Err(Refused::MalformedSignature(format!(
            "{DELIVERY_HEADER} is missing"
        )));
    }
    let tag = signature
        .trim()
        .strip_prefix("sha256=")
        .and_then(unhex)
        .ok_or_else(|| {
            Refused::MalformedSignature(format!(
                "{SIGNATURE_HEADER} must be sha256= and 64 hex digits"
            ))
        })?;
    // The signature first: a stale timestamp is only reported to a sender who holds the secret.
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    hmac::verify(&key, &signed_message(timestamp, presented.body), &tag)
        .map_err(|_| Refused::BadSignature)?;
    let skew = now.saturating_sub(timestamp);
    if skew.abs() > WINDOW_SECS {
        return Err(Refused::StaleTimestamp(skew));
    }
    Ok(())
}

fn signed_message(timestamp: i64, body: &[u8]) -> Vec<u8> {
    let mut message = timestamp.to_string().into_bytes();
    message.push(b'.');
    message.extend_from_slice(body);
    message
}

/// The credentials after `scheme ` in an `Authorization` value (the scheme in any case).
fn scheme<'a>(authorization: Option<&'a str>, scheme: &str) -> Option<&'a str> {
    let value = authorization?.trim();
    let (name, rest) = value.split_once(' ')?;
    name.eq_ignore_ascii_case(scheme).then_some(rest)
}

/// Whether two secrets are equal, in time that does not depend on where they differ.
fn same_secret(presented: &[u8], expected: &[u8]) -> bool {
    // Both go through HMAC under a key of their own; ring compares the tags in constant time,
    // and the tags have one length whatever the secrets' lengths.
    let key = hmac::Key::new(hmac::HMAC_SHA256, b"jet webhook secret comparison");
    let expected_tag = hmac::sign(&key, expected);
    hmac::verify(&key, presented, expected_tag.as_ref()).is_ok()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() != 64 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;
    const BODY: &[u8] = br#"{"order": 42}"#;

    fn hmac_hook() -> HookAuth {
        HookAuth::Hmac {
            secret: b"whsec_test".to_vec(),
        }
    }

    /// A delivery's signed headers: sent at `sent`, signed as if sent at `signed_at`.
    struct Signed {
        timestamp: String,
        signature: String,
    }

    impl Signed {
        fn new(sent: i64, signed_at: i64, signed_body: &[u8]) -> Signed {
            Signed {
                timestamp: sent.to_string(),
                signature: sign(b"whsec_test", signed_at, signed_body),
            }
        }

        fn honest(sent: i64) -> Signed {
            Signed::new(sent, sent, BODY)
        }

        fn with<'a>(&'a self, body: &'a [u8]) -> Presented<'a> {
            Presented {
                signature: Some(&self.signature),
                timestamp: Some(&self.timestamp),
                delivery_id: Some("d-1"),
                body,
                ..Presented::default()
            }
        }
    }

    #[test]
    fn a_signed_delivery_in_the_window_passes_with_its_delivery_id() {
        let signed = Signed::honest(NOW - 30);
        assert_eq!(
            hmac_hook().check(&signed.with(BODY), NOW),
            Ok(Checked {
                delivery_id: Some("d-1".into())
            })
        );
    }

    #[test]
    fn signatures_are_refused_with_distinct_reasons() {
        let hook = hmac_hook();
        // Another body under the same signature.
        let now = Signed::honest(NOW);
        let tampered = now.with(br#"{"order": 43}"#);
        assert_eq!(hook.check(&tampered, NOW), Err(Refused::BadSignature));
        // The timestamp moved (a replay with a fresh clock): the signature no longer holds.
        let moved = Signed::new(NOW, NOW - 600, BODY);
        assert_eq!(
            hook.check(&moved.with(BODY), NOW),
            Err(Refused::BadSignature)
        );
        // Six minutes old, correctly signed: stale.
        let stale = Signed::honest(NOW - 360);
        assert_eq!(
            hook.check(&stale.with(BODY), NOW),
            Err(Refused::StaleTimestamp(360))
        );
        // Six minutes ahead: stale too.
        let ahead = Signed::honest(NOW + 360);
        assert_eq!(
            hook.check(&ahead.with(BODY), NOW),
            Err(Refused::StaleTimestamp(-360))
        );
        // Another secret.
        let other = HookAuth::Hmac {
            secret: b"whsec_other".to_vec(),
        };
        let good = now.with(BODY);
        assert_eq!(other.check(&good, NOW), Err(Refused::BadSignature));
        // Missing or malformed parts.
        for broken in [
            Presented {
                signature: None,
                ..good
            },
            Presented {
                timestamp: Some("yesterday"),
                ..good
            },
            Presented {
                delivery_id: None,
                ..good
            },
            Presented {
                signature: Some("sha1=abc"),
                ..good
            },
        ] {
            assert!(matches!(
                hook.check(&broken, NOW),
                Err(Refused::MalformedSignature(_))
            ));
        }
    }

    #[test]
    fn basic_bearer_and_header_secrets_pass_only_when_equal() {
        let basic = HookAuth::Basic {
            username: "shop".into(),
            password: "s3cret".into(),
        };
        let with = |authorization| Presented {
            authorization: Some(authorization),
            ..Presented::default()
        };
        // "shop:s3cret" and "shop:wrong".
        assert!(basic.check(&with("Basic c2hvcDpzM2NyZXQ="), NOW).is_ok());
        assert_eq!(
            basic.check(&with("basic c2hvcDp3cm9uZw=="), NOW),
            Err(Refused::BadCredentials)
        );
        assert!(matches!(
            basic.check(&Presented::default(), NOW),
            Err(Refused::MissingCredentials(_))
        ));
        let bearer = HookAuth::Bearer {
            token: "tok_123".into(),
        };
        assert!(bearer.check(&with("Bearer tok_123"), NOW).is_ok());
        assert_eq!(
            bearer.check(&with("Bearer tok_1234"), NOW),
            Err(Refused::BadCredentials)
        );
        assert!(matches!(
            bearer.check(&with("Basic tok_123"), NOW),
            Err(Refused::MissingCredentials(_))
        ));
        let header = HookAuth::Header {
            name: "X-Shop-Secret".into(),
            secret: "hdr".into(),
        };
        let named = |value| Presented {
            named_header: Some(value),
            ..Presented::default()
        };
        assert!(header.check(&named("hdr"), NOW).is_ok());
        assert_eq!(
            header.check(&named("hd"), NOW),
            Err(Refused::BadCredentials)
        );
        assert!(HookAuth::None.check(&Presented::default(), NOW).is_ok());
    }

    #[test]
    fn a_hook_never_prints_its_secret() {
        let hook = HookAuth::Header {
            name: "X-Shop-Secret".into(),
            secret: "hdr-secret".into(),
        };
        assert_eq!(format!("{hook:?}"), "header");
    }
}
