//! The sealed form of one secret field: `{v: 1, kid, nonce, ct}` (nonce and ciphertext in
//! standard base64), AES-256-GCM with a random 96-bit nonce per seal.
//!
//! The associated data is [`SecretSlot`]: the kind of owner, the tenant, the owner and the
//! field. It is not
//! stored; the opener rebuilds it from where the envelope was found, so an envelope read from
//! any other place fails authentication.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::aead::{Aad, NONCE_LEN, Nonce};
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::SecretError;
use super::keyring::KeyRing;

/// The envelope format version.
pub const VERSION: u8 = 1;

/// One sealed secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    /// Format version ([`VERSION`]).
    pub v: u8,
    /// The sealing key's id.
    pub kid: String,
    /// The nonce, base64.
    pub nonce: String,
    /// Ciphertext and tag, base64.
    pub ct: String,
}

/// Where a secret lives: the associated data of its envelope.
#[derive(Debug, Clone, Copy)]
pub struct SecretSlot<'a> {
    /// The kind of object that owns the secret (`datasource`, `webhook`): part of the
    /// associated data, so a datasource's envelope never opens as a webhook's.
    pub owner_kind: &'static str,
    /// The tenant.
    pub tenant_id: Uuid,
    /// The owning object.
    pub owner_id: Uuid,
    /// The field of the owner.
    pub field: &'a str,
}

impl<'a> SecretSlot<'a> {
    /// A datasource's secret option `field`.
    pub fn datasource(tenant_id: Uuid, datasource_id: Uuid, field: &'a str) -> Self {
        SecretSlot {
            owner_kind: "datasource",
            tenant_id,
            owner_id: datasource_id,
            field,
        }
    }

    fn associated_data(&self) -> Vec<u8> {
        // For datasources this is, byte for byte, the format envelopes were sealed with before
        // other kinds of owner existed, so stored envelopes keep opening.
        format!(
            "jet-admin {} secret v{VERSION}\0{}\0{}\0{}",
            self.owner_kind, self.tenant_id, self.owner_id, self.field
        )
        .into_bytes()
    }
}

impl KeyRing {
    /// Seals `plaintext` for `slot` under the active key.
    pub fn seal(&self, slot: SecretSlot<'_>, plaintext: &[u8]) -> Result<Envelope, SecretError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| SecretError::Random)?;
        let key = self.active();
        let mut sealed = plaintext.to_vec();
        key.aead()
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(slot.associated_data()),
                &mut sealed,
            )
            .map_err(|_| SecretError::Random)?;
        Ok(Envelope {
            v: VERSION,
            kid: key.id().0.clone(),
            nonce: STANDARD.encode(nonce),
            ct: STANDARD.encode(sealed),
        })
    }

    /// Opens `envelope` found at `slot`, with whichever ring key sealed it.
    pub fn open(&self, slot: SecretSlot<'_>, envelope: &Envelope) -> Result<Vec<u8>, SecretError> {
        if envelope.v != VERSION {
            return Err(SecretError::Malformed(format!(
                "version {} (expected {VERSION})",
                envelope.v
            )));
        }
        let key = self
            .find(&envelope.kid)
            .ok_or_else(|| SecretError::UnknownKey(envelope.kid.clone()))?;
        let nonce: [u8; NONCE_LEN] = STANDARD
            .decode(&envelope.nonce)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| SecretError::Malformed("nonce".into()))?;
        let mut sealed = STANDARD
            .decode(&envelope.ct)
            .map_err(|_| SecretError::Malformed("ciphertext".into()))?;
        let plaintext = key
            .aead()
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(slot.associated_data()),
                &mut sealed,
            )
            .map_err(|_| SecretError::Forged(envelope.kid.clone()))?;
        Ok(plaintext.to_vec())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::Key;

    fn key(byte: u8) -> Key {
        Key::from_bytes([byte; 32])
    }

    fn slot(tenant: u128, datasource: u128, field: &str) -> SecretSlot<'_> {
        SecretSlot::datasource(Uuid::from_u128(tenant), Uuid::from_u128(datasource), field)
    }

    #[test]
    fn a_datasource_envelope_does_not_open_as_another_kind_of_owner() {
        let ring = KeyRing::new(key(1), vec![]).unwrap();
        let sealed = ring.seal(slot(1, 2, "secret"), b"hunter2").unwrap();
        let webhook = SecretSlot {
            owner_kind: "webhook",
            ..slot(1, 2, "secret")
        };
        assert!(matches!(
            ring.open(webhook, &sealed),
            Err(SecretError::Forged(_))
        ));
    }

    #[test]
    fn seals_and_opens_with_fresh_nonces() {
        let ring = KeyRing::new(key(1), vec![]).unwrap();
        let a = ring.seal(slot(1, 2, "password"), b"hunter2").unwrap();
        let b = ring.seal(slot(1, 2, "password"), b"hunter2").unwrap();
        assert_ne!(a.nonce, b.nonce);
        assert!(!a.ct.contains("hunter2"));
        assert_eq!(ring.open(slot(1, 2, "password"), &a).unwrap(), b"hunter2");
    }

    #[test]
    fn an_envelope_moved_to_another_row_tenant_or_field_does_not_open() {
        let ring = KeyRing::new(key(1), vec![]).unwrap();
        let sealed = ring.seal(slot(1, 2, "password"), b"hunter2").unwrap();
        for elsewhere in [
            slot(1, 3, "password"),
            slot(9, 2, "password"),
            slot(1, 2, "token"),
        ] {
            assert!(matches!(
                ring.open(elsewhere, &sealed),
                Err(SecretError::Forged(_))
            ));
        }
    }

    #[test]
    fn previous_keys_open_and_unknown_keys_are_named() {
        let old = KeyRing::new(key(1), vec![]).unwrap();
        let sealed = old.seal(slot(1, 2, "f"), b"x").unwrap();
        let rotated = KeyRing::new(key(2), vec![key(1)]).unwrap();
        assert_eq!(rotated.open(slot(1, 2, "f"), &sealed).unwrap(), b"x");
        let forgot = KeyRing::new(key(2), vec![]).unwrap();
        assert_eq!(
            forgot.open(slot(1, 2, "f"), &sealed),
            Err(SecretError::UnknownKey(sealed.kid.clone()))
        );
    }

    #[test]
    fn tampering_is_detected() {
        let ring = KeyRing::new(key(1), vec![]).unwrap();
        let mut sealed = ring.seal(slot(1, 2, "f"), b"secret").unwrap();
        let mut bytes = STANDARD.decode(&sealed.ct).unwrap();
        bytes[0] ^= 1;
        sealed.ct = STANDARD.encode(bytes);
        assert!(matches!(
            ring.open(slot(1, 2, "f"), &sealed),
            Err(SecretError::Forged(_))
        ));
        sealed.nonce = "short".into();
        assert!(matches!(
            ring.open(slot(1, 2, "f"), &sealed),
            Err(SecretError::Malformed(_))
        ));
    }
}
