//! Parsing the `Authorization` header into the kind of credential it carries.
//!
//! Accepted forms: `Bearer <ID token>`, `api_key <key>`, and `Bearer jet_…` (an API key sent with
//! the common scheme). Scheme names are case-insensitive. API keys are resolved by the `rbac`
//! crate; ID tokens by [`crate::TokenVerifier`].

use crate::error::Error;

/// Prefix of every API key the platform issues.
pub const API_KEY_PREFIX: &str = "jet_";

/// The credential a request presents.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// A Firebase or local ID token.
    IdToken(String),
    /// A raw API key.
    ApiKey(String),
}

impl std::fmt::Debug for Credentials {
    // Never print the secret itself: Debug output ends up in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::IdToken(_) => f.write_str("IdToken(..)"),
            Credentials::ApiKey(_) => f.write_str("ApiKey(..)"),
        }
    }
}

impl Credentials {
    /// Parses an `Authorization` header value.
    pub fn parse(header: &str) -> Result<Self, Error> {
        let (scheme, value) = header
            .trim()
            .split_once(' ')
            .ok_or(Error::MalformedAuthorization)?;
        let value = value.trim();
        if value.is_empty() || value.contains(char::is_whitespace) {
            return Err(Error::MalformedAuthorization);
        }
        if scheme.eq_ignore_ascii_case("api_key") {
            Ok(Credentials::ApiKey(value.to_string()))
        } else if scheme.eq_ignore_ascii_case("bearer") {
            if value.starts_with(API_KEY_PREFIX) {
                Ok(Credentials::ApiKey(value.to_string()))
            } else {
                Ok(Credentials::IdToken(value.to_string()))
            }
        } else {
            Err(Error::MalformedAuthorization)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_parse_to_the_right_credential() {
        let cases: [(&str, Option<Credentials>); 10] = [
            (
                "Bearer abc.def.ghi",
                Some(Credentials::IdToken("abc.def.ghi".into())),
            ),
            ("bearer abc", Some(Credentials::IdToken("abc".into()))),
            (
                "api_key jet_0123",
                Some(Credentials::ApiKey("jet_0123".into())),
            ),
            (
                "API_KEY jet_0123",
                Some(Credentials::ApiKey("jet_0123".into())),
            ),
            (
                "Bearer jet_0123",
                Some(Credentials::ApiKey("jet_0123".into())),
            ),
            ("Bearer", None),
            ("Bearer ", None),
            ("Basic dXNlcjpwYXNz", None),
            ("Bearer a b", None),
            ("", None),
        ];
        for (header, expected) in cases {
            assert_eq!(Credentials::parse(header).ok(), expected, "{header:?}");
        }
    }

    #[test]
    fn debug_output_never_contains_the_secret() {
        let printed = format!("{:?}", Credentials::ApiKey("jet_secret".into()));
        assert!(!printed.contains("secret"));
    }
}
