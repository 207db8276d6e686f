//! Resolved API keys, cached so an authorized request with a key does not look the key up (and
//! compare its hash) in the database every time.
//!
//! Keyed by the SHA-256 of the presented key ([`digest`]; the secret itself is not kept), as
//! part of the key's tenant: a change to a tenant's keys (disable, delete, roles) drops them in
//! every process through the change bus (`access_sync`); `JET_ACCESS_CACHE_SECS` bounds the
//! staleness only while the bus is down. Only keys that resolved are cached: an unknown key is
//! looked up every time, so a brand-new key works at once.

use rbac::api_keys::ResolvedKey;

use crate::tenant_cache::TenantCache;

/// The SHA-256 of a presented key.
pub type Digest = [u8; 32];

/// Resolved keys by the digest of their secret.
pub type KeyCache = TenantCache<Digest, ResolvedKey>;

/// The cache key of the presented key `raw`.
pub fn digest(raw: &str) -> Digest {
    let mut out = [0u8; 32];
    out.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, raw.as_bytes()).as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_key_one_digest() {
        let raw = "jet_0123456789abcdef";
        assert_eq!(digest(raw), digest(raw));
        assert_ne!(digest(raw), digest("jet_0123456789abcdee"));
    }
}
