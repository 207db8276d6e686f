//! The claims of an ID token, strictly typed, and the rules every token must pass.
//!
//! The rules are Google's documented checks for Firebase ID tokens; local-identity tokens pass the
//! same ones with their own issuer and audience. Parsing is strict on purpose: an `exp` sent as a
//! string fails deserialization instead of being skipped (the bug `jsonwebtoken` < 10.3 had).

use serde::Deserialize;

use crate::error::{Error, Rejection};

/// Longest `sub` Firebase allows.
pub const MAX_SUBJECT_LEN: usize = 128;

/// Claims of an ID token. Times are Unix seconds.
#[derive(Debug, Clone, Deserialize)]
pub struct Claims {
    /// Issuer.
    pub iss: String,
    /// Audience: one string (Firebase never sends an array).
    pub aud: String,
    /// Subject: the user's stable id at the identity provider.
    pub sub: String,
    /// Expiry.
    pub exp: i64,
    /// Issued at.
    pub iat: i64,
    /// When the user authenticated.
    pub auth_time: i64,
    /// The user's e-mail address, when the provider has one.
    #[serde(default)]
    pub email: Option<String>,
    /// Whether the provider verified that address.
    #[serde(default)]
    pub email_verified: Option<bool>,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Profile picture URL.
    #[serde(default)]
    pub picture: Option<String>,
}

/// What a token must say about who issued it and for whom.
#[derive(Debug, Clone)]
pub struct ClaimRules {
    /// Required `iss`.
    pub issuer: String,
    /// Required `aud`.
    pub audience: String,
    /// Allowed clock difference for `iat` and `auth_time`, in seconds.
    pub clock_skew_secs: i64,
}

impl Claims {
    /// Parses claims from the (already signature-checked) payload.
    pub fn from_json(payload: &[u8]) -> Result<Self, Rejection> {
        serde_json::from_slice(payload).map_err(|_| Rejection::InvalidClaims)
    }

    /// Applies every rule at time `now` (Unix seconds).
    pub fn check(&self, rules: &ClaimRules, now: i64) -> Result<(), Error> {
        if self.exp <= now {
            return Err(Error::Expired);
        }
        if self.iat > now.saturating_add(rules.clock_skew_secs) {
            return Err(Rejection::IssuedInFuture.into());
        }
        if self.auth_time > now.saturating_add(rules.clock_skew_secs) {
            return Err(Rejection::AuthTimeInFuture.into());
        }
        if self.aud != rules.audience {
            return Err(Rejection::WrongAudience.into());
        }
        if self.iss != rules.issuer {
            return Err(Rejection::WrongIssuer.into());
        }
        if self.sub.is_empty() || self.sub.chars().count() > MAX_SUBJECT_LEN {
            return Err(Rejection::InvalidSubject.into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_800_000_000;

    fn rules() -> ClaimRules {
        ClaimRules {
            issuer: "https://securetoken.google.com/demo".into(),
            audience: "demo".into(),
            clock_skew_secs: 300,
        }
    }

    fn valid() -> serde_json::Value {
        json!({
            "iss": "https://securetoken.google.com/demo", "aud": "demo", "sub": "user-1",
            "exp": NOW + 3600, "iat": NOW - 10, "auth_time": NOW - 10, "email": "a@example.com"
        })
    }

    fn outcome(patch: serde_json::Value) -> Result<(), String> {
        let mut claims = valid();
        for (key, value) in patch.as_object().unwrap() {
            if value.is_null() {
                claims.as_object_mut().unwrap().remove(key);
            } else {
                claims[key] = value.clone();
            }
        }
        let payload = serde_json::to_vec(&claims).unwrap();
        let parsed = Claims::from_json(&payload).map_err(|r| format!("{r:?}"))?;
        parsed.check(&rules(), NOW).map_err(|e| match e {
            Error::Rejected(r) => format!("{r:?}"),
            other => other.to_string(),
        })
    }

    #[test]
    fn every_rule_is_enforced() {
        let cases: Vec<(&str, serde_json::Value, Result<(), &str>)> = vec![
            ("valid", json!({}), Ok(())),
            ("expired", json!({"exp": NOW - 1}), Err("token expired")),
            (
                "expires exactly now",
                json!({"exp": NOW}),
                Err("token expired"),
            ),
            (
                "exp as a string",
                json!({"exp": (NOW + 3600).to_string()}),
                Err("InvalidClaims"),
            ),
            ("exp missing", json!({"exp": null}), Err("InvalidClaims")),
            ("iat within skew", json!({"iat": NOW + 299}), Ok(())),
            (
                "iat in the future",
                json!({"iat": NOW + 301}),
                Err("IssuedInFuture"),
            ),
            ("iat missing", json!({"iat": null}), Err("InvalidClaims")),
            (
                "auth_time in the future",
                json!({"auth_time": NOW + 301}),
                Err("AuthTimeInFuture"),
            ),
            (
                "auth_time missing",
                json!({"auth_time": null}),
                Err("InvalidClaims"),
            ),
            (
                "wrong audience",
                json!({"aud": "other"}),
                Err("WrongAudience"),
            ),
            (
                "audience as an array",
                json!({"aud": ["demo"]}),
                Err("InvalidClaims"),
            ),
            (
                "wrong issuer",
                json!({"iss": "https://securetoken.google.com/other"}),
                Err("WrongIssuer"),
            ),
            ("empty subject", json!({"sub": ""}), Err("InvalidSubject")),
            ("128-char subject", json!({"sub": "s".repeat(128)}), Ok(())),
            (
                "129-char subject",
                json!({"sub": "s".repeat(129)}),
                Err("InvalidSubject"),
            ),
            (
                "subject as a number",
                json!({"sub": 7}),
                Err("InvalidClaims"),
            ),
        ];
        for (name, patch, expected) in cases {
            let expected = expected.map_err(str::to_string);
            assert_eq!(outcome(patch), expected, "case: {name}");
        }
    }
}
