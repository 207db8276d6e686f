//! The key ring: the active key seals, the active and previous keys open.
//!
//! A key is written as standard base64 of 32 bytes, optionally prefixed with an explicit id
//! (`2026-12:BASE64`). Without one, its id is derived from the key (the first 8 bytes of
//! SHA-256 over a label and the key, in hex), so the same key always has the same id and an id
//! reveals nothing usable about the key.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::aead::{AES_256_GCM, LessSafeKey, UnboundKey};
use ring::digest::{SHA256, digest};

/// A key's id, as stored in every envelope it sealed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyId(pub String);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

const KEY_ID_LABEL: &[u8] = b"jet-admin datasource key id\0";
const MAX_KEY_ID: usize = 64;

/// One AES-256-GCM key and its id. `Debug` shows the id only.
pub struct Key {
    id: KeyId,
    aead: LessSafeKey,
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Why a key's text was refused. Never echoes the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyParseError {
    /// Not 32 bytes of standard base64.
    #[error("expected 32 bytes in standard base64, optionally prefixed by `id:`")]
    NotAKey,
    /// The explicit id is empty, too long, or has characters other than `A-Za-z0-9._-`.
    #[error("a key id is 1 to 64 characters of A-Z a-z 0-9 . _ -")]
    BadId,
}

impl Key {
    /// A key from its 32 bytes, with the derived id.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        let mut labelled = KEY_ID_LABEL.to_vec();
        labelled.extend_from_slice(&bytes);
        let id = hex::encode(&digest(&SHA256, &labelled).as_ref()[..8]);
        Self::with_id(KeyId(id), bytes)
    }

    fn with_id(id: KeyId, bytes: [u8; 32]) -> Self {
        // 32 bytes is exactly AES-256's key length, the one input `UnboundKey::new` refuses
        // otherwise; fall back is impossible, so the match keeps the code panic-free.
        let aead = match UnboundKey::new(&AES_256_GCM, &bytes) {
            Ok(unbound) => LessSafeKey::new(unbound),
            Err(_) => unreachable_key(),
        };
        Key { id, aead }
    }

    /// Parses `BASE64` or `id:BASE64`.
    pub fn parse(text: &str) -> Result<Self, KeyParseError> {
        let text = text.trim();
        let (id, encoded) = match text.split_once(':') {
            Some((id, encoded)) => (Some(id), encoded),
            None => (None, text),
        };
        let bytes: [u8; 32] = STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or(KeyParseError::NotAKey)?;
        match id {
            None => Ok(Self::from_bytes(bytes)),
            Some(id) if valid_id(id) => Ok(Self::with_id(KeyId(id.to_string()), bytes)),
            Some(_) => Err(KeyParseError::BadId),
        }
    }

    /// The key's id.
    pub fn id(&self) -> &KeyId {
        &self.id
    }

    pub(crate) fn aead(&self) -> &LessSafeKey {
        &self.aead
    }
}

#[allow(clippy::panic)]
fn unreachable_key() -> ! {
    panic!("AES-256-GCM refused a 32-byte key")
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_KEY_ID
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The active key and the previous keys still accepted for opening.
#[derive(Debug)]
pub struct KeyRing {
    active: Key,
    previous: Vec<Key>,
}

/// Why a key ring was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyRingError {
    /// Two keys share an id (two different keys would make envelopes ambiguous).
    #[error("two keys have the id `{0}`")]
    DuplicateId(String),
}

impl KeyRing {
    /// A ring sealing with `active` and opening with it and `previous`.
    pub fn new(active: Key, previous: Vec<Key>) -> Result<Self, KeyRingError> {
        let mut seen = vec![active.id.clone()];
        for key in &previous {
            if seen.contains(&key.id) {
                return Err(KeyRingError::DuplicateId(key.id.0.clone()));
            }
            seen.push(key.id.clone());
        }
        Ok(KeyRing { active, previous })
    }

    /// The key that seals.
    pub fn active(&self) -> &Key {
        &self.active
    }

    /// The key with id `id`, active or previous.
    pub fn find(&self, id: &str) -> Option<&Key> {
        std::iter::once(&self.active)
            .chain(&self.previous)
            .find(|key| key.id.0 == id)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const KEY_A: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    #[test]
    fn derived_ids_are_stable_and_explicit_ids_are_kept() {
        let a = Key::parse(KEY_A).unwrap();
        assert_eq!(a.id(), Key::parse(KEY_A).unwrap().id());
        assert_eq!(a.id().0.len(), 16);
        let named = Key::parse(&format!("2026-12:{KEY_A}")).unwrap();
        assert_eq!(named.id().0, "2026-12");
    }

    #[test]
    fn bad_keys_are_refused_without_echoing_them() {
        assert_eq!(Key::parse("c2hvcnQ=").unwrap_err(), KeyParseError::NotAKey);
        assert_eq!(
            Key::parse(&format!("bad id:{KEY_A}")).unwrap_err(),
            KeyParseError::BadId
        );
        let shown = format!("{:?}", Key::parse(KEY_A).unwrap());
        assert!(!shown.contains(KEY_A) && shown.contains("id"));
    }

    #[test]
    fn a_ring_refuses_duplicate_ids() {
        let error =
            KeyRing::new(Key::parse(KEY_A).unwrap(), vec![Key::parse(KEY_A).unwrap()]).unwrap_err();
        assert!(matches!(error, KeyRingError::DuplicateId(_)));
    }
}
