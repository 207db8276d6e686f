//! Request bodies made safe for the audit trail: secrets replaced, the rest cut to 2,000
//! characters.
//!
//! A value is redacted when its key names a secret (password, token, secret, key, credentials,
//! …, in any case and with `_`/`-` ignored), or when the value itself looks like one of our API
//! keys or a JWT, wherever it sits. Bodies that are not JSON are not recorded, only their size.

use serde_json::Value;

/// Longest recorded body, in characters.
pub const MAX_BODY_CHARS: usize = 2_000;
/// What replaces a secret.
pub const REDACTED: &str = "[REDACTED]";

/// A key containing one of these anywhere names a secret.
const SECRET_KEY_PARTS: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "privatekey",
    "credential",
    "authorization",
    "connectionstring",
    // A REST datasource's API key (`apiKeyValue`): `apikey` alone is only a suffix rule.
    "apikeyvalue",
    "cookie",
    "signature",
];
/// Short markers that would match innocent words (`monkey`, `mapping`) anywhere: whole key only,
/// or as the suffix for `apikey` (`x-api-key`, but not `apiKeyTitle`).
const SECRET_KEYS_EXACT: &[&str] = &["key", "otp", "pin", "sessionid"];

fn is_secret_key(key: &str) -> bool {
    let normalized: String = key
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    SECRET_KEYS_EXACT.contains(&normalized.as_str())
        || normalized.ends_with("apikey")
        || SECRET_KEY_PARTS
            .iter()
            .any(|part| normalized.contains(part))
}

fn looks_like_secret(text: &str) -> bool {
    let api_key = text.starts_with("jet_") && text.len() >= 36;
    let jwt = text.starts_with("eyJ") && text.matches('.').count() == 2;
    api_key || jwt
}

fn scrub(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map.iter_mut() {
                if is_secret_key(key) {
                    *inner = Value::String(REDACTED.into());
                } else {
                    scrub(inner);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(scrub),
        Value::String(text) if looks_like_secret(text) => *text = REDACTED.into(),
        _ => {}
    }
}

/// The body as the audit trail keeps it, or `None` for an empty body.
pub fn redact_body(body: &[u8]) -> Option<String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    let Ok(mut value) = serde_json::from_slice::<Value>(body) else {
        return Some(format!("[non-JSON body of {} bytes]", body.len()));
    };
    scrub(&mut value);
    let text = value.to_string();
    if text.chars().count() <= MAX_BODY_CHARS {
        return Some(text);
    }
    let cut: String = text.chars().take(MAX_BODY_CHARS).collect();
    Some(format!("{cut}…[truncated]"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_wherever_they_are() {
        let body = br#"{"apiKeyTitle":"ci","password":"hunter2","nested":{"client_secret":"s","Access-Token":"t","list":[{"privateKey":"k"}]},
            "note":"jet_0123456789abcdef0123456789abcdef0123","jwt":"eyJhbGciOi.eyJzdWIi.c2ln","key":"k","x-api-key":"xk","keyboard":"qwerty","monkey":"ok","mapping":"m"}"#;
        let kept = redact_body(body).unwrap();
        for secret in [
            "hunter2", "\"s\"", "\"t\"", "\"k\"", "\"xk\"", "jet_0123", "eyJhbGci",
        ] {
            assert!(!kept.contains(secret), "{secret} survived: {kept}");
        }
        assert!(kept.contains("\"apiKeyTitle\":\"ci\""));
        assert!(
            kept.contains("qwerty") && kept.contains("\"monkey\":\"ok\"") && kept.contains("\"m\""),
            "{kept}"
        );
    }

    #[test]
    fn long_bodies_are_truncated_and_others_summarised() {
        let long = format!("{{\"text\":\"{}\"}}", "x".repeat(5000));
        let kept = redact_body(long.as_bytes()).unwrap();
        assert!(kept.ends_with("…[truncated]"));
        assert!(kept.chars().count() <= MAX_BODY_CHARS + 20);
        assert_eq!(
            redact_body(b"password=hunter2").unwrap(),
            "[non-JSON body of 16 bytes]"
        );
        assert_eq!(redact_body(b"  "), None);
    }
}
