//! Driver and server messages with every secret cut out.
//!
//! A driver error may echo a connection string, a password or a header; every message that
//! leaves a connector passes through a [`Scrubber`] built from the datasource's secret strings
//! ([`crate::options::OpenOptions::secret_strings`]). Each secret is cut in its raw form and in
//! its URL-encoded form (how it appears inside a connection URL).

use crate::options::MASK;

/// Cuts known secrets out of text.
#[derive(Clone, Default)]
pub struct Scrubber {
    /// Longest first, so a secret containing another is cut whole.
    needles: Vec<String>,
}

impl std::fmt::Debug for Scrubber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Scrubber({} needles)", self.needles.len())
    }
}

impl Scrubber {
    /// A scrubber for `secrets`.
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Self {
        let mut needles = Vec::new();
        for secret in secrets {
            if secret.is_empty() {
                continue;
            }
            let encoded = url_encode(&secret);
            if encoded != secret {
                needles.push(encoded);
            }
            needles.push(secret);
        }
        needles.sort_by_key(|needle| std::cmp::Reverse(needle.len()));
        needles.dedup();
        Scrubber { needles }
    }

    /// `text` with every secret replaced by the mask.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_string();
        for needle in &self.needles {
            if out.contains(needle.as_str()) {
                out = out.replace(needle.as_str(), MASK);
            }
        }
        out
    }
}

/// Percent-encodes everything outside RFC 3986's unreserved set.
pub fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_raw_and_url_encoded_secrets_longest_first() {
        let scrubber = Scrubber::new(["p@ss word".to_string(), "p@ss".to_string(), String::new()]);
        let text = "connect postgres://u:p%40ss%20word@h failed; password p@ss word; p@ss";
        let scrubbed = scrubber.scrub(text);
        assert!(
            !scrubbed.contains("p@ss") && !scrubbed.contains("p%40ss"),
            "{scrubbed}"
        );
        assert_eq!(scrubbed.matches(MASK).count(), 3);
        assert_eq!(Scrubber::new([]).scrub("plain"), "plain");
    }
}
