//! Compact JWS parsing: `base64url(header).base64url(payload).base64url(signature)`.
//!
//! Only splitting and decoding happen here; which algorithm and key are acceptable is decided by
//! the verifier. The header is parsed into a strict struct: an `alg` or `kid` of the wrong JSON
//! type is malformed, not ignored.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use crate::error::Rejection;

/// Tokens longer than this are refused before any decoding (Firebase ID tokens are ~1 KB).
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

/// The JOSE header fields we read.
#[derive(Debug, Deserialize)]
pub struct Header {
    /// Signature algorithm, e.g. `RS256`.
    pub alg: String,
    /// Key id: which key of the set signed the token.
    pub kid: Option<String>,
}

/// A token split into its parts, signature decoded, payload still encoded.
#[derive(Debug)]
pub struct Jws<'a> {
    /// The decoded header.
    pub header: Header,
    /// `header.payload` exactly as received: the bytes the signature covers.
    pub signing_input: &'a str,
    /// The payload part, base64url.
    payload_b64: &'a str,
    /// The decoded signature.
    pub signature: Vec<u8>,
}

impl<'a> Jws<'a> {
    /// Splits and decodes `token`; any structural problem is [`Rejection::Malformed`].
    pub fn parse(token: &'a str) -> Result<Self, Rejection> {
        if token.is_empty() || token.len() > MAX_TOKEN_LEN {
            return Err(Rejection::Malformed);
        }
        let mut parts = token.split('.');
        let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Rejection::Malformed);
        };
        let header_bytes = decode(header_b64)?;
        let header: Header =
            serde_json::from_slice(&header_bytes).map_err(|_| Rejection::Malformed)?;
        let signature = decode(signature_b64)?;
        let signing_input = &token[..header_b64.len() + 1 + payload_b64.len()];
        Ok(Jws {
            header,
            signing_input,
            payload_b64,
            signature,
        })
    }

    /// The decoded payload bytes. Call only after the signature has been verified.
    pub fn payload(&self) -> Result<Vec<u8>, Rejection> {
        decode(self.payload_b64)
    }
}

fn decode(part: &str) -> Result<Vec<u8>, Rejection> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| Rejection::Malformed)
}

/// Encodes bytes as unpadded base64url (for minting local tokens).
pub fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structural_defects_are_malformed() {
        let header = encode(br#"{"alg":"RS256","kid":"k"}"#);
        let cases = [
            ("empty", String::new()),
            ("two parts", format!("{header}.e30")),
            ("four parts", format!("{header}.e30.c2ln.extra")),
            ("header not base64url", "***.e30.c2ln".to_string()),
            ("header not JSON", format!("{}.e30.c2ln", encode(b"nope"))),
            (
                "alg of wrong type",
                format!("{}.e30.c2ln", encode(br#"{"alg":256}"#)),
            ),
            ("signature not base64url", format!("{header}.e30.!!")),
            ("too long", "a".repeat(MAX_TOKEN_LEN + 1)),
        ];
        for (name, token) in cases {
            assert_eq!(
                Jws::parse(&token).unwrap_err(),
                Rejection::Malformed,
                "{name}"
            );
        }
    }

    #[test]
    fn signing_input_is_header_dot_payload() {
        let header = encode(br#"{"alg":"RS256","kid":"k"}"#);
        let token = format!("{header}.e30.c2ln");
        let jws = Jws::parse(&token).unwrap();
        assert_eq!(jws.signing_input, format!("{header}.e30"));
        assert_eq!(jws.signature, b"sig");
        assert_eq!(jws.payload().unwrap(), b"{}");
        assert_eq!(jws.header.kid.as_deref(), Some("k"));
    }
}
